//! `certificates/validate`: builds a path from a certificate through the supplied chain to a
//! trust anchor or one of the tenant's CAs, and checks signatures, validity and revocation.

use certus_x509::{CertInfo, certs_from_pem, parse_certificate, verify_issued_by};

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::{Authority, serial_key};

const MAX_PATH: usize = 10;

/// A chain to validate.
#[derive(Debug, Clone, Default)]
pub struct ValidateRequest {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// Intermediate certificates, PEM.
    pub chain_pem: Option<String>,
    /// Also check revocation against Certus's own records.
    pub check_revocation: bool,
}

/// What a chain validation found.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Whether the chain is valid.
    pub valid: bool,
    /// Every signature of the chain verifies up to a trust anchor.
    pub chain_valid: bool,
    /// Every certificate of the chain is within its validity.
    pub not_expired: bool,
    /// No certificate of the chain is revoked.
    pub not_revoked: bool,
    /// Id of the trust anchor or tenant CA the path ends at.
    pub trusted_anchor: Option<String>,
    /// Why the certificate is not valid, one line per failed check.
    pub errors: Vec<String>,
}

struct Anchor {
    id: String,
    der: Vec<u8>,
    /// The tenant CA id, when the anchor is one of ours (its revocations are known).
    ca_id: Option<String>,
}

impl Authority {
    /// Validates a chain against the tenant's trust anchors.
    pub async fn validate(&self, caller: &Caller, req: ValidateRequest) -> Result<Validation> {
        let mut given = certs_from_pem(&req.certificate_pem)?;
        let leaf = given.remove(0);
        let mut pool = given;
        // An empty or blank chain_pem is no chain, as clients that always send the field mean it.
        if let Some(chain) = req.chain_pem.as_deref().filter(|c| !c.trim().is_empty()) {
            pool.extend(certs_from_pem(chain)?);
        }
        let leaf_info = parse_certificate(&leaf)?;
        for der in &pool {
            parse_certificate(der).map_err(|e| Error::malformed(format!("chain_pem: {e}")))?;
        }
        let mut anchors: Vec<Anchor> = self
            .store
            .list_trust_anchors(&caller.tenant_id)
            .await?
            .into_iter()
            .map(|t| Anchor { id: t.id, der: t.cert_der, ca_id: None })
            .collect();
        let cas = self.store.list_cas(&caller.tenant_id).await?;
        anchors.extend(cas.iter().map(|c| Anchor {
            id: c.id.clone(),
            der: c.cert_der.clone(),
            ca_id: Some(c.id.clone()),
        }));

        let now = self.now_secs();
        let within = |i: &CertInfo| i.not_before.unix_timestamp() <= now && now <= i.not_after.unix_timestamp();
        let mut out = Validation { not_expired: within(&leaf_info), not_revoked: true, ..Default::default() };
        if !out.not_expired {
            out.errors.push("certificate is outside its validity period".into());
        }

        // Walk up: at each step prefer an anchor, then an unused certificate from the chain.
        let mut path: Vec<(Vec<u8>, Option<&Anchor>)> = vec![(leaf.clone(), None)];
        let mut trusted: Option<&Anchor> = anchors.iter().find(|a| a.der == leaf);
        while trusted.is_none() && path.len() <= MAX_PATH {
            let current = path.last().map(|p| p.0.clone()).unwrap_or_default();
            if let Some(anchor) = anchors.iter().find(|a| verify_issued_by(&current, &a.der)) {
                path.push((anchor.der.clone(), Some(anchor)));
                trusted = Some(anchor);
            } else if let Some(next) =
                pool.iter().find(|c| !path.iter().any(|p| &p.0 == *c) && verify_issued_by(&current, c))
            {
                path.push((next.clone(), None));
            } else {
                break;
            }
        }
        out.trusted_anchor = trusted.map(|a| a.id.clone());
        out.chain_valid = trusted.is_some();
        if trusted.is_none() {
            out.errors.push("no path to a trust anchor or tenant CA".into());
        }
        for (der, _) in path.iter().skip(1) {
            let info = parse_certificate(der)?;
            if !info.is_ca {
                out.chain_valid = false;
                out.errors.push(format!("issuer {} is not a CA", info.subject));
            }
            if !within(&info) {
                out.chain_valid = false;
                out.errors.push(format!("issuer {} is outside its validity period", info.subject));
            }
        }
        if req.check_revocation {
            for pair in path.windows(2) {
                let (child, issuer) = (&pair[0].0, &pair[1].0);
                let Some(ca_id) = anchors
                    .iter()
                    .find(|a| &a.der == issuer)
                    .and_then(|a| a.ca_id.as_ref())
                    .or_else(|| cas.iter().find(|c| &c.cert_der == issuer).map(|c| &c.id))
                else {
                    continue;
                };
                let serial = serial_key(&parse_certificate(child)?.serial);
                if let Some(Some(_)) = self.store.revocation_of(ca_id, &serial).await? {
                    out.not_revoked = false;
                    out.errors.push(format!("certificate with serial {serial} is revoked"));
                }
            }
        }
        out.valid = out.chain_valid && out.not_expired && out.not_revoked;
        Ok(out)
    }
}
