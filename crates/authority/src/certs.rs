//! The certificate inventory: list, get, import, private-key export and revocation.

use base64::Engine;
use certus_kms::SoftwareKey;
use certus_store::{CertOrder, CertQuery, CertRow};
use certus_x509::{RevocationReason, certs_from_pem, parse_certificate, parse_serial, verify_issued_by};

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::policy::parse_duration;
use crate::{Authority, new_ordered_id, serial_key};

/// A certificate of the inventory.
pub type CertView = CertRow;

pub(crate) const DEFAULT_PAGE: i64 = 50;
pub(crate) const MAX_PAGE: i64 = 1000;

/// Filters and paging of the certificate list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// The CA.
    pub ca_id: Option<String>,
    /// Only certificates expiring within this duration.
    pub expiring_within: Option<String>,
    /// List revoked certificates too.
    pub include_revoked: bool,
    /// How many at most.
    pub limit: Option<i64>,
    /// Where the next page starts.
    pub cursor: Option<String>,
    /// Only certificates with a name (CN or SAN) starting with this, any case.
    pub name: Option<String>,
    /// Only the certificate with this serial (hex, colons allowed).
    pub serial: Option<String>,
    /// Only certificates in this state.
    pub state: Option<certus_store::CertState>,
}

/// A page of certificates and the cursor of the next.
#[derive(Debug, Clone)]
pub struct CertPage {
    /// The certificates of this page.
    pub data: Vec<CertRow>,
    /// Where the next page starts.
    pub cursor: Option<String>,
    /// Whether a next page exists.
    pub has_more: bool,
}

/// A certificate (and optional key) to import into the inventory.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM: returned once, when Certus made it.
    pub private_key_pem: Option<String>,
    /// Intermediate certificates, PEM.
    pub chain_pem: Option<String>,
}

/// What a revocation recorded.
#[derive(Debug, Clone)]
pub struct RevokeResult {
    /// The certificate.
    pub certificate_id: String,
    /// The serial, hex.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: i64,
    /// The revocation reason.
    pub reason: RevocationReason,
}

fn order_tag(order: CertOrder) -> &'static str {
    match order {
        CertOrder::Newest => "n",
        CertOrder::ExpiringFirst => "e",
    }
}

/// Cursors are opaque to clients: base64url of `order:sort-key:id`.
fn encode_cursor(order: CertOrder, row: &CertRow) -> String {
    let key = match order {
        CertOrder::Newest => row.created_at,
        CertOrder::ExpiringFirst => row.not_after,
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{key}:{}", order_tag(order), row.id))
}

fn decode_cursor(order: CertOrder, text: &str) -> Result<(i64, String)> {
    let bad = || Error::malformed("cursor is not one this server returned for this query");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, ':');
    let (Some(tag), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if tag != order_tag(order) {
        return Err(bad());
    }
    Ok((key.parse().map_err(|_| bad())?, id.to_owned()))
}

impl Authority {
    /// A page of the tenant's certificates.
    pub async fn list_certificates(&self, caller: &Caller, req: ListRequest) -> Result<CertPage> {
        let limit = req.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::malformed(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let now = self.now_secs();
        // An expiry window lists soonest-expiring first; everything else newest first.
        let order = if req.expiring_within.is_some() { CertOrder::ExpiringFirst } else { CertOrder::Newest };
        let query = CertQuery {
            order,
            issuer_ca_id: req.ca_id,
            not_after_before: req
                .expiring_within
                .as_deref()
                .map(|t| parse_duration("expiring_within", t))
                .transpose()?
                .map(|d| now + d),
            now,
            include_revoked: req.include_revoked || req.state == Some(certus_store::CertState::Revoked),
            state: req.state,
            name_prefix: req.name.map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty()),
            serial: req
                .serial
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse_serial(s).map(|b| serial_key(&b)).ok_or_else(|| Error::malformed("serial is not hex")))
                .transpose()?,
            after: req.cursor.as_deref().map(|c| decode_cursor(order, c)).transpose()?,
            limit: limit + 1,
        };
        let mut data = self.store.list_certificates(&caller.tenant_id, &query).await?;
        let has_more = data.len() as i64 > limit;
        data.truncate(limit as usize);
        let cursor = if has_more { data.last().map(|r| encode_cursor(order, r)) } else { None };
        Ok(CertPage { data, cursor, has_more })
    }

    /// A certificate of the tenant.
    pub async fn get_certificate(&self, caller: &Caller, id: &str) -> Result<CertView> {
        self.store.get_certificate(&caller.tenant_id, id).await.not_found_as("certificate")
    }

    /// Tracks a certificate issued elsewhere (or re-imports one of ours), with an optional key
    /// that must match it and an optional chain.
    pub async fn import_certificate(&self, caller: &Caller, req: ImportRequest) -> Result<CertView> {
        caller.require(Scope::Admin)?;
        let ders = certs_from_pem(&req.certificate_pem)?;
        let [der] = ders.as_slice() else {
            return Err(Error::malformed(
                "certificate_pem must hold exactly one certificate (put the rest in chain_pem)",
            ));
        };
        let info = parse_certificate(der)?;
        if let Some(chain) = req.chain_pem.as_deref().filter(|c| !c.trim().is_empty()) {
            for c in certs_from_pem(chain)? {
                parse_certificate(&c)?;
            }
        }
        let key = match req.private_key_pem.as_ref().filter(|k| !k.trim().is_empty()) {
            Some(pem) => {
                let key = SoftwareKey::from_pem(pem)?;
                if key.spki_der() != info.spki_der {
                    return Err(Error::malformed("private_key_pem does not match the certificate's public key"));
                }
                Some(key)
            }
            None => None,
        };
        // Link the certificate to the tenant CA that signed it, so revocation reaches its CRL.
        let issuer =
            self.store.list_cas(&caller.tenant_id).await?.into_iter().find(|ca| verify_issued_by(der, &ca.cert_der));
        let key_row = key.as_ref().map(|k| self.seal_key(&caller.tenant_id, k));
        let mut sans = info.dns_names.clone();
        sans.extend(info.ip_addresses.iter().map(|ip| ip.to_string()));
        let row = CertRow {
            id: new_ordered_id("cert"),
            tenant_id: caller.tenant_id.clone(),
            issuer_ca_id: issuer.map(|ca| ca.id),
            serial: serial_key(&info.serial),
            common_name: info.common_name.clone(),
            sans,
            not_before: info.not_before.unix_timestamp(),
            not_after: info.not_after.unix_timestamp(),
            cert_der: der.clone(),
            chain_pem: req.chain_pem.clone().filter(|c| !c.trim().is_empty()),
            key_id: key_row.as_ref().map(|k| k.id.clone()),
            role_name: None,
            source: "imported".into(),
            revoked_at: None,
            revocation_reason: None,
            created_at: self.now_secs(),
        };
        let detail = format!("serial={} key={}", row.serial, key_row.is_some());
        let audit = self.audit_row(caller, "certificate.import", &row.id, detail);
        self.store.insert_certificate(&row, key_row.as_ref(), &audit).await?;
        Ok(row)
    }

    /// The stored private key of a certificate: only where the role kept it (or it was imported
    /// with one), with the admin scope, and always audited.
    pub async fn export_private_key(&self, caller: &Caller, id: &str) -> Result<String> {
        caller.require(Scope::Admin)?;
        let cert = self.store.get_certificate(&caller.tenant_id, id).await.not_found_as("certificate")?;
        kms_key_stays(&cert)?;
        let key_id = cert.key_id.ok_or_else(|| {
            Error::not_found("no private key is stored for this certificate (the role does not store keys)")
        })?;
        let key = self.unseal_key(&caller.tenant_id, &key_id).await?;
        let Some(pem) = key.private_key_pem() else {
            return Err(Error::conflict("this key is held on a PKCS#11 token and can never be exported"));
        };
        if cert.source == "ca" {
            return Err(Error::forbidden("CA private keys are not exported through the native API"));
        }
        self.audit_before_release(caller, "certificate.private_key_export", id, format!("key={key_id}")).await?;
        Ok(pem.to_owned())
    }

    /// Revokes by serial (any of `1A:2B`, `1a2b`) and rebuilds the issuer's CRL at once.
    pub async fn revoke(&self, caller: &Caller, serial_text: &str, reason: Option<&str>) -> Result<RevokeResult> {
        caller.require(Scope::Admin)?;
        let reason = native_reason(reason)?;
        let serial = parse_serial(serial_text)
            .ok_or_else(|| Error::malformed(format!("serial_number {serial_text:?} is not hex")))?;
        let matches = self.store.certificates_by_serial(&caller.tenant_id, &serial_key(&serial)).await?;
        // Prefer the record our own CA issued, then any other.
        let cert = matches
            .iter()
            .find(|c| c.issuer_ca_id.is_some())
            .or(matches.first())
            .ok_or_else(|| Error::not_found(format!("no certificate with serial {serial_text}")))?;
        self.revoke_row(caller, cert, reason, String::new()).await
    }

    /// Revokes a stored certificate of the caller's tenant and rebuilds its issuer's delta CRL;
    /// `note` is added to the audit entry.
    pub(crate) async fn revoke_row(
        &self,
        caller: &Caller,
        cert: &CertRow,
        reason: RevocationReason,
        note: String,
    ) -> Result<RevokeResult> {
        let already = || Error::conflict("certificate is already revoked");
        if cert.revoked_at.is_some() {
            return Err(already());
        }
        let at = self.now_secs();
        // The status change, its audit entry and the CRL/OCSP invalidation commit together.
        let detail = format!("serial={} reason={}{note}", cert.serial, reason.name());
        let audit = self.audit_row(caller, "certificate.revoke", &cert.id, detail);
        if !self.store.revoke_certificate(&caller.tenant_id, &cert.id, at, reason.name(), &audit).await? {
            return Err(already());
        }
        if cert.source == "ca" {
            // An intermediate was revoked: stop signing with it here at once.
            self.cas.clear();
        }
        if let Some(ca_id) = &cert.issuer_ca_id {
            // Only the delta is rebuilt now; the complete CRL is rebuilt when next fetched. The
            // revocation is recorded either way, and a failed build is retried on fetch.
            if let Err(e) = self.rebuild_delta(&caller.tenant_id, ca_id).await {
                tracing::error!(error = %e, ca_id, "delta CRL rebuild after revocation failed");
            }
        }
        Ok(RevokeResult { certificate_id: cert.id.clone(), serial: cert.serial.clone(), revoked_at: at, reason })
    }
}

/// A walt.id KMS key never leaves Certus, whichever door asks for the key of a certificate made
/// for it.
pub(crate) fn kms_key_stays(cert: &CertRow) -> Result<()> {
    if cert.source == "mdl" {
        return Err(Error::forbidden("this certificate's key is a KMS key, which is never exported"));
    }
    Ok(())
}

/// The native API's revocation reason (snake_case names; default unspecified).
pub(crate) fn native_reason(reason: Option<&str>) -> Result<RevocationReason> {
    match reason {
        None => Ok(RevocationReason::Unspecified),
        Some(r) => RevocationReason::from_name(r).ok_or_else(|| {
            let names: Vec<_> = RevocationReason::ALL.iter().map(|r| r.name()).collect();
            Error::malformed(format!("unknown reason {r:?}; use one of {}", names.join(", ")))
        }),
    }
}

/// Where a certificate stands, by the one rule every door shows in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Within its validity and not revoked.
    Active,
    /// Revoked (whether or not it has also expired).
    Revoked,
    /// Past its notAfter.
    Expired,
}

impl CertStatus {
    /// Revoked wins over expired; a certificate is expired from its notAfter second on.
    pub fn of(revoked: bool, not_after: i64, now: i64) -> Self {
        if revoked {
            CertStatus::Revoked
        } else if not_after <= now {
            CertStatus::Expired
        } else {
            CertStatus::Active
        }
    }
}
