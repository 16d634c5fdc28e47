//! Certificate authorities: roots and intermediates, each with a KMS-held key.

use std::sync::Arc;

use certus_kms::{Key, KeySpec};
use certus_store::{CaRow, DoorRecord};
use certus_x509::{CertProfile, CertSpec, PublicKeyData, Subject, SubjectAttr, parse_certificate};
use time::Duration;

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::pipeline::{AuditIntent, Order, Signer, Template};
use crate::{Authority, generate_key, new_id, new_ordered_id};

/// A CA to create.
#[derive(Debug, Clone, Default)]
pub struct NewCa {
    /// Its name.
    pub name: String,
    /// commonName.
    pub common_name: String,
    /// `root` or `intermediate`.
    pub ca_type: String,
    /// The issuing CA, for an intermediate.
    pub parent_ca_id: Option<String>,
    /// Key type: `rsa`, `ec` or `ed25519`.
    pub key_type: Option<String>,
    /// Key size in bits.
    pub key_size: Option<u32>,
    /// Validity in days.
    pub validity_days: Option<i64>,
    /// Optional pathLenConstraint for an intermediate (default 0: it signs only leaves).
    pub path_length: Option<u8>,
    /// `software` (default: sealed under the KEK) or `pkcs11` (generated on the token).
    pub key_store: Option<String>,
    /// A chosen id (letters, digits, `.`, `_`, `-`); default `ca_<random>`.
    pub id: Option<String>,
    /// organizationalUnitName.
    pub organization_unit: Option<String>,
    /// stateOrProvinceName.
    pub state: Option<String>,
    /// localityName.
    pub locality: Option<String>,
    /// Lifetime in seconds, instead of `validity_days`.
    pub validity_secs: Option<i64>,
    /// A fixed notAfter (Unix seconds), instead of a lifetime.
    pub not_after: Option<i64>,
    /// Default issuance profile for certificates this CA signs (must exist).
    pub profile_id: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// countryName.
    pub country: Option<String>,
    /// The order of the subject's attributes (default: C, ST, L, O, OU, CN).
    pub subject_order: Vec<SubjectAttr>,
    /// With no `path_length`, leave the CA unconstrained (otherwise intermediates get 0).
    pub path_length_unconstrained: bool,
    /// Where an intermediate points relying parties for its parent's CRL and certificate
    /// (default: Certus's own URLs for the parent).
    pub issuer_urls: Option<IssuerUrls>,
}

/// CRL distribution point and caIssuers URL written into a certificate.
#[derive(Debug, Clone)]
pub struct IssuerUrls {
    pub crl: String,
    pub ca_issuers: String,
}

/// A CA as the API shows it.
#[derive(Debug, Clone)]
pub struct CaView {
    /// The stored record.
    pub row: CaRow,
    /// pathLenConstraint.
    pub path_length: Option<u32>,
    /// How many certificates the CA has signed.
    pub certificates_issued: i64,
}

pub(crate) const ROOT_DEFAULT_DAYS: i64 = 3650;
pub(crate) const INTERMEDIATE_DEFAULT_DAYS: i64 = 1825;
const MAX_DAYS: i64 = 36_500;

pub(crate) fn ca_create_detail(row: &CaRow) -> String {
    format!("type={} cn={} key={}", row.ca_type, row.common_name, row.key_type)
}

impl Authority {
    /// Creates a root or intermediate CA.
    pub async fn create_ca(&self, caller: &Caller, req: NewCa) -> Result<CaView> {
        let order = self.prepare_ca(caller, req).await?;
        let id = order.new_ca.as_ref().map(|ca| ca.id.clone()).unwrap_or_default();
        self.issue_certificate(caller, order).await?;
        self.ca_view(&caller.tenant_id, &id).await
    }

    /// Validates a CA request and makes its key: the pipeline order for its certificate.
    pub(crate) async fn prepare_ca(&self, caller: &Caller, req: NewCa) -> Result<Order> {
        caller.require(Scope::Admin)?;
        // 1. Validate everything before any key is made.
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.len() > 128 {
            return Err(Error::malformed("name is required (1 to 128 characters)"));
        }
        let common_name = req.common_name.trim().to_owned();
        if common_name.is_empty() || common_name.len() > 64 {
            return Err(Error::malformed("common_name is required (1 to 64 characters, RFC 5280 ub-common-name)"));
        }
        let is_root = match req.ca_type.as_str() {
            "root" => true,
            "intermediate" => false,
            other => return Err(Error::malformed(format!("ca_type must be root or intermediate, not {other:?}"))),
        };
        let key_type = req.key_type.as_deref().unwrap_or("rsa");
        let spec_key = KeySpec::from_type_and_size(key_type, req.key_size)?;
        let days = req.validity_days.unwrap_or(if is_root { ROOT_DEFAULT_DAYS } else { INTERMEDIATE_DEFAULT_DAYS });
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(Error::malformed(format!("validity_days must be between 1 and {MAX_DAYS}")));
        }
        let lifetime = match (req.validity_secs, req.not_after) {
            (Some(secs), _) if secs <= 0 || secs > MAX_DAYS * 86_400 => {
                return Err(Error::malformed("the CA validity must be positive and at most 100 years"));
            }
            (Some(secs), _) => Duration::seconds(secs),
            (None, Some(at)) if at <= self.now().unix_timestamp() => {
                return Err(Error::malformed("the CA expiration time is in the past"));
            }
            (None, Some(at)) => crate::from_secs(at) - self.now(),
            (None, None) => Duration::days(days),
        };
        let id = match &req.id {
            Some(id)
                if id.is_empty()
                    || id.len() > 64
                    || !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
            {
                return Err(Error::malformed("id must be 1 to 64 letters, digits, '.', '_' or '-'"));
            }
            Some(id) => id.clone(),
            None => new_id("ca"),
        };
        if let Some(profile) = &req.profile_id {
            self.store.get_profile(&caller.tenant_id, profile).await.not_found_as("profile")?;
        }
        let parent = match (is_root, &req.parent_ca_id) {
            (true, Some(_)) => return Err(Error::malformed("parent_ca_id is only for intermediates")),
            (true, None) => None,
            (false, None) => return Err(Error::malformed("parent_ca_id is required for an intermediate")),
            (false, Some(id)) => Some(self.usable_ca(&caller.tenant_id, id).await?),
        };
        let parent_path_len = match &parent {
            Some(p) => parse_certificate(&p.cert_der).map_err(Error::internal)?.path_len,
            None => None,
        };
        let path_len = match req.path_length {
            Some(n) => Some(n),
            None if is_root || req.path_length_unconstrained => None,
            None => Some(0),
        };
        if let (Some(limit), Some(len)) = (parent_path_len, path_len)
            && u32::from(len) >= limit
        {
            return Err(Error::policy(format!(
                "parent CA allows {limit} CA level(s) below it; path_length must be less than {limit}"
            )));
        }
        let subject = Subject {
            common_name: Some(common_name.clone()),
            organization: req.organization.clone(),
            country: req.country.clone(),
            organization_unit: req.organization_unit.clone(),
            state: req.state.clone(),
            locality: req.locality.clone(),
            order: req.subject_order.clone(),
        };
        crate::policy::check_subject(&subject)?;
        let not_before = self.now();
        let not_after = not_before + lifetime;

        // 2. Key (in software, sealed, or on the token), serial, certificate.
        let (key, key_row) = match req.key_store.as_deref().unwrap_or("software") {
            "software" => {
                let key = generate_key(spec_key).await?;
                let row = self.seal_key(&caller.tenant_id, &key);
                (Key::Software(key), row)
            }
            "pkcs11" => self.generate_hsm_key(&caller.tenant_id, spec_key).await?,
            other => return Err(Error::malformed(format!("key_store must be software or pkcs11, not {other:?}"))),
        };
        let key = Arc::new(key);
        let subject_key: Arc<dyn PublicKeyData + Send + Sync> = key.clone();
        let mut spec = CertSpec {
            serial: [0; 20],
            subject,
            dns_names: vec![],
            ip_addresses: vec![],
            email_addresses: vec![],
            not_before,
            not_after,
            profile: CertProfile::SubCa { path_len },
            crl_url: None,
            ca_issuers_url: None,
            ocsp_url: None,
        };
        let signer = match &parent {
            None => {
                if path_len.is_none() {
                    spec.profile = CertProfile::RootCa;
                }
                Signer::SelfSigned(key)
            }
            Some(parent) => {
                let urls = self.issuer_urls(&parent.id, req.issuer_urls.as_ref());
                // A CA cannot certify beyond its own lifetime (RFC 5280 §6.1.3 checks each link).
                spec.not_after = not_after.min(crate::from_secs(parent.valid_until));
                spec.crl_url = Some(urls.crl);
                spec.ca_issuers_url = Some(urls.ca_issuers);
                spec.ocsp_url = Some(self.ocsp_url());
                let parent_key = self.load_key(&caller.tenant_id, &parent.key_id).await?;
                Signer::Ca { ca: parent.clone(), key: parent_key }
            }
        };

        // 3. The CA row; the pipeline fills in its certificate, serial and validity, and records
        //    the key, the CA and its certificate in one transaction.
        let row = CaRow {
            id: id.clone(),
            tenant_id: caller.tenant_id.clone(),
            name,
            common_name: common_name.clone(),
            ca_type: req.ca_type.clone(),
            parent_ca_id: parent.as_ref().map(|p| p.id.clone()),
            key_id: key_row.id.clone(),
            key_type: spec_key.key_type().to_owned(),
            key_size: i64::from(spec_key.bits()),
            cert_der: Vec::new(),
            serial: String::new(),
            valid_from: 0,
            valid_until: 0,
            is_active: true,
            created_at: not_before.unix_timestamp(),
            revoked: false,
            key_store: key_row.backend.clone(),
            profile_id: req.profile_id.clone(),
        };
        let detail = ca_create_detail(&row);
        Ok(Order {
            template: Template::Cert(spec),
            signer,
            subject_key,
            key_id: Some(key_row.id.clone()),
            kept_key: Some(key_row),
            role_name: None,
            listed_name: None,
            source: "ca",
            new_ca: Some(row),
            door: DoorRecord::None,
            audit: AuditIntent { action: "ca.create", resource: Some(id), detail: Box::new(move |_| detail) },
        })
    }

    /// The URLs a certificate signed by CA `ca_id` points relying parties to: `chosen` if the
    /// front door has its own, else Certus's.
    pub(crate) fn issuer_urls(&self, ca_id: &str, chosen: Option<&IssuerUrls>) -> IssuerUrls {
        chosen
            .cloned()
            .unwrap_or_else(|| IssuerUrls { crl: self.crl_url(ca_id), ca_issuers: self.ca_issuers_url(ca_id) })
    }

    /// Revokes a CA: its certificate goes into its parent's CRL and OCSP (a root's into its own),
    /// every certificate it issued is revoked with it (its own CRL, which stays served, lists
    /// them), and it signs nothing more. One transaction, one audit entry.
    pub async fn revoke_ca(&self, caller: &Caller, id: &str, reason: Option<&str>) -> Result<CaView> {
        caller.require(Scope::Admin)?;
        let reason = crate::certs::native_reason(reason)?;
        let ca = self.store.get_ca(&caller.tenant_id, id).await.not_found_as("CA")?;
        if ca.revoked {
            return Err(Error::conflict("the CA is already revoked"));
        }
        let own = self
            .store
            .certificates_by_serial(&caller.tenant_id, &ca.serial)
            .await?
            .into_iter()
            .find(|c| c.cert_der == ca.cert_der)
            .ok_or_else(|| Error::internal("the CA's certificate is not in the inventory"))?;
        let at = self.now_secs();
        let audit = self.audit_row(caller, "ca.revoke", id, format!("serial={} reason={}", ca.serial, reason.name()));
        let (revoked, with_it) =
            self.store.revoke_ca(&caller.tenant_id, id, &own.id, at, reason.name(), &audit).await?;
        if !revoked {
            return Err(Error::conflict("the CA is already revoked"));
        }
        tracing::info!(ca = id, certificates = with_it, "CA revoked");
        self.cas.clear();
        for crl_of in [own.issuer_ca_id.as_deref(), Some(id)].into_iter().flatten() {
            if let Err(e) = self.rebuild_delta(&caller.tenant_id, crl_of).await {
                tracing::error!(error = %e, ca_id = crl_of, "delta CRL rebuild after a CA revocation failed");
            }
        }
        self.ca_view(&caller.tenant_id, id).await
    }

    /// Sets the CA's default issuance profile (which must exist).
    pub async fn set_ca_profile(&self, caller: &Caller, id: &str, profile_id: &str) -> Result<CaView> {
        caller.require(Scope::Admin)?;
        self.store.get_ca(&caller.tenant_id, id).await.not_found_as("CA")?;
        self.store.get_profile(&caller.tenant_id, profile_id).await.not_found_as("profile")?;
        let audit = self.audit_row(caller, "ca.profile", id, format!("profile={profile_id}"));
        self.store.set_ca_profile(&caller.tenant_id, id, Some(profile_id), &audit).await.not_found_as("CA")?;
        self.cas.forget(&(caller.tenant_id.clone(), id.to_owned()));
        self.ca_view(&caller.tenant_id, id).await
    }

    /// A CA of the tenant.
    pub async fn get_ca(&self, caller: &Caller, id: &str) -> Result<CaView> {
        self.ca_view(&caller.tenant_id, id).await
    }

    /// The tenant's CAs.
    pub async fn list_cas(&self, caller: &Caller) -> Result<Vec<CaView>> {
        let mut out = Vec::new();
        for row in self.store.list_cas(&caller.tenant_id).await? {
            out.push(self.view(row).await?);
        }
        Ok(out)
    }

    /// The CA certificate (DER) for relying parties; no token needed.
    pub async fn public_ca_certificate(&self, id: &str) -> Result<Vec<u8>> {
        Ok(self.store.get_ca_public(id).await.not_found_as("CA")?.cert_der)
    }

    async fn ca_view(&self, tenant_id: &str, id: &str) -> Result<CaView> {
        self.view(self.store.get_ca(tenant_id, id).await.not_found_as("CA")?).await
    }

    async fn view(&self, row: CaRow) -> Result<CaView> {
        let info = parse_certificate(&row.cert_der).map_err(Error::internal)?;
        let certificates_issued = self.store.count_issued(&row.id).await?;
        Ok(CaView { row, path_length: info.path_len, certificates_issued })
    }

    /// A CA of this tenant that can sign now: active, within its validity, not revoked.
    pub(crate) async fn usable_ca(&self, tenant_id: &str, id: &str) -> Result<CaRow> {
        let key = (tenant_id.to_owned(), id.to_owned());
        let ca = match self.cas.get(&key) {
            Some(ca) => ca,
            None => {
                let ca = self.store.get_ca(tenant_id, id).await.not_found_as("CA")?;
                self.cas.put(key, ca.clone());
                ca
            }
        };
        crate::pipeline::can_sign(&ca, self.now().unix_timestamp())?;
        if ca.ca_type == "iaca" {
            return Err(Error::policy(format!("CA {id} is an IACA: it signs only Document Signers (ISO/IEC 18013-5)")));
        }
        Ok(ca)
    }

    /// PEM of the CA and each of its ancestors, issuing CA first (the `ca_chain` of responses).
    pub(crate) async fn chain_pems(&self, tenant_id: &str, ca: &CaRow) -> Result<Arc<Vec<String>>> {
        if let Some(chain) = self.chains.get(&ca.id) {
            return Ok(chain);
        }
        let mut chain = vec![certus_x509::to_pem(certus_x509::PemLabel::Certificate, &ca.cert_der)];
        let mut next = ca.parent_ca_id.clone();
        while let Some(id) = next {
            let parent = self.store.get_ca(tenant_id, &id).await?;
            chain.push(certus_x509::to_pem(certus_x509::PemLabel::Certificate, &parent.cert_der));
            next = parent.parent_ca_id;
            if chain.len() > 16 {
                return Err(Error::internal("CA hierarchy deeper than 16"));
            }
        }
        let chain = Arc::new(chain);
        self.chains.put(ca.id.clone(), chain.clone());
        Ok(chain)
    }
}

/// The CA row and its inventory row for a CA certificate Certus did not sign through its
/// pipeline (an imported CA, a registered IACA), as `Store::register_ca` records them: a root
/// with no profile, its certificate row naming the key.
pub(crate) fn held_ca_rows(
    tenant_id: &str,
    id: &str,
    ca_type: &str,
    der: &[u8],
    info: &certus_x509::CertInfo,
    (key_id, key_store): (&str, &str),
    now: i64,
) -> (CaRow, certus_store::CertRow) {
    let serial = crate::serial_key(&info.serial);
    let common_name = info.common_name.clone().unwrap_or_default();
    let row = CaRow {
        id: id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        name: id.to_owned(),
        common_name: common_name.clone(),
        ca_type: ca_type.to_owned(),
        parent_ca_id: None,
        key_id: key_id.to_owned(),
        key_type: info.key.kind.type_name().to_owned(),
        key_size: i64::from(info.key.bits),
        cert_der: der.to_vec(),
        serial: serial.clone(),
        valid_from: info.not_before.unix_timestamp(),
        valid_until: info.not_after.unix_timestamp(),
        is_active: true,
        created_at: now,
        revoked: false,
        key_store: key_store.to_owned(),
        profile_id: None,
    };
    let cert = certus_store::CertRow {
        id: new_ordered_id("cert"),
        tenant_id: tenant_id.to_owned(),
        issuer_ca_id: None,
        serial,
        common_name: Some(common_name),
        sans: vec![],
        not_before: row.valid_from,
        not_after: row.valid_until,
        cert_der: der.to_vec(),
        chain_pem: None,
        key_id: Some(key_id.to_owned()),
        role_name: None,
        source: "ca".into(),
        revoked_at: None,
        revocation_reason: None,
        created_at: now,
    };
    (row, cert)
}

/// A CA certificate made elsewhere, with its private key, to sign with in Certus.
#[derive(Debug, Clone, Default)]
pub struct ImportCa {
    /// The CA's id (a fresh one if None).
    pub id: Option<String>,
    /// The CA certificate, PEM.
    pub certificate_pem: String,
    /// Its private key, PEM (PKCS#8, SEC1 or PKCS#1). Without it the CA is held for the
    /// inventory and chains only: it signs nothing, CRLs and OCSP answers included.
    pub private_key_pem: Option<String>,
    /// The default issuance profile for what it signs.
    pub profile_id: Option<String>,
}

impl Authority {
    /// Imports a CA: its certificate must be a CA certificate valid now, its key (if given) must
    /// match; the parent is the tenant CA whose signature verifies on it (none: it is a root, or
    /// its issuer is outside Certus). The key is sealed; key (or a keyless placeholder), CA, its
    /// certificate in the inventory and the audit entry are written together.
    pub async fn import_ca(&self, caller: &Caller, req: ImportCa) -> Result<CaView> {
        caller.require(Scope::Admin)?;
        let ders = certus_x509::certs_from_pem(&req.certificate_pem)?;
        let [der] = ders.as_slice() else {
            return Err(Error::malformed("the CA certificate must be exactly one certificate"));
        };
        let info = parse_certificate(der)?;
        if !info.is_ca || !info.key_usage.contains(&certus_x509::KeyUsageBit::KeyCertSign) {
            return Err(Error::malformed("not a CA certificate: it needs basicConstraints cA and keyCertSign"));
        }
        let now = self.now_secs();
        if now >= info.not_after.unix_timestamp() {
            return Err(Error::malformed("the CA certificate has expired"));
        }
        let key = match req.private_key_pem.as_deref().filter(|k| !k.trim().is_empty()) {
            Some(pem) => {
                let key = certus_kms::SoftwareKey::from_pem(pem)?;
                if key.spki_der() != info.spki_der {
                    return Err(Error::malformed("private_key does not match the CA certificate's public key"));
                }
                Some(key)
            }
            None => None,
        };
        if let Some(profile) = &req.profile_id {
            self.store.get_profile(&caller.tenant_id, profile).await.not_found_as("issuance profile")?;
        }
        let parent = if info.self_issued {
            None
        } else {
            self.store
                .list_cas(&caller.tenant_id)
                .await?
                .into_iter()
                .find(|ca| certus_x509::verify_issued_by(der, &ca.cert_der))
        };
        let key_row = match &key {
            Some(key) => self.seal_key(&caller.tenant_id, key),
            None => certus_store::KeyRow {
                id: new_id("key"),
                tenant_id: caller.tenant_id.clone(),
                spec: format!("{}:{}", info.key.kind.type_name(), info.key.bits),
                backend: crate::KEYLESS.into(),
                sealed: Vec::new(),
                created_at: now,
            },
        };
        let id = req.id.filter(|i| !i.trim().is_empty()).unwrap_or_else(|| new_id("ca"));
        let ca_type = if info.self_issued { "root" } else { "intermediate" };
        let (mut row, mut cert) =
            held_ca_rows(&caller.tenant_id, &id, ca_type, der, &info, (&key_row.id, &key_row.backend), now);
        row.parent_ca_id = parent.map(|p| p.id);
        row.profile_id = req.profile_id.clone();
        cert.issuer_ca_id = row.parent_ca_id.clone();
        if key.is_none() {
            cert.key_id = None;
        }
        let audit = self.audit_row(caller, "ca.import", &id, ca_create_detail(&row));
        self.store.register_ca(&row, Some(&key_row), &cert, &audit).await?;
        self.view(row).await
    }
}

impl Authority {
    /// Reissues a CA's certificate for the same key, subject and path length: a root signs it
    /// itself, a subordinate's parent signs it. `lifetime_secs` defaults to the current
    /// certificate's lifetime. The old certificate stays in the inventory; CRLs and OCSP go on
    /// under the same name and key.
    pub async fn reissue_ca(&self, caller: &Caller, id: &str, lifetime_secs: Option<i64>) -> Result<CaView> {
        caller.require(Scope::Admin)?;
        let ca = self.store.get_ca(&caller.tenant_id, id).await.not_found_as("CA")?;
        if !ca.is_active {
            return Err(Error::not_found("CA not found"));
        }
        if ca.revoked {
            return Err(Error::policy("CA already revoked"));
        }
        let now = self.now();
        if now.unix_timestamp() >= ca.valid_until {
            return Err(Error::policy("CA is expired"));
        }
        if ca.ca_type == "iaca" {
            return Err(Error::policy("an IACA is reissued through the mDL door"));
        }
        let secs = lifetime_secs.unwrap_or(ca.valid_until - ca.valid_from);
        if secs <= 0 || secs > MAX_DAYS * 86_400 {
            return Err(Error::malformed("the CA validity must be positive and at most 100 years"));
        }
        let info = parse_certificate(&ca.cert_der).map_err(Error::internal)?;
        let key = self.load_key(&caller.tenant_id, &ca.key_id).await?;
        let subject_key: Arc<dyn PublicKeyData + Send + Sync> = key.clone();
        let mut spec = CertSpec {
            serial: [0; 20],
            subject: info.subject_fields.clone(),
            dns_names: vec![],
            ip_addresses: vec![],
            email_addresses: vec![],
            not_before: now,
            not_after: now + Duration::seconds(secs),
            profile: CertProfile::SubCa { path_len: info.path_len.and_then(|n| u8::try_from(n).ok()) },
            crl_url: None,
            ca_issuers_url: None,
            ocsp_url: None,
        };
        let signer = match &ca.parent_ca_id {
            None => {
                if info.path_len.is_none() {
                    spec.profile = CertProfile::RootCa;
                }
                Signer::SelfSigned(key)
            }
            Some(parent_id) => {
                let parent = self.usable_ca(&caller.tenant_id, parent_id).await?;
                let urls = self.issuer_urls(&parent.id, None);
                spec.not_after = spec.not_after.min(crate::from_secs(parent.valid_until));
                spec.crl_url = Some(urls.crl);
                spec.ca_issuers_url = Some(urls.ca_issuers);
                spec.ocsp_url = Some(self.ocsp_url());
                let parent_key = self.load_key(&caller.tenant_id, &parent.key_id).await?;
                Signer::Ca { ca: parent, key: parent_key }
            }
        };
        let old_serial = ca.serial.clone();
        let order = Order {
            template: Template::Cert(spec),
            signer,
            subject_key,
            key_id: Some(ca.key_id.clone()),
            kept_key: None,
            role_name: None,
            listed_name: None,
            source: "ca",
            new_ca: None,
            door: DoorRecord::ReissuedCa { ca_id: ca.id.clone(), replaces_serial: old_serial.clone() },
            audit: AuditIntent {
                action: "ca.reissue",
                resource: Some(ca.id.clone()),
                detail: Box::new(move |c| format!("serial={} replaces={old_serial}", c.serial)),
            },
        };
        self.issue_certificate(caller, order).await?;
        self.cas.clear();
        self.chains.clear();
        self.ca_view(&caller.tenant_id, id).await
    }
}
