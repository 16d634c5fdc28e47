//! Certificates of /api/v1: server-made keys or CSRs, by certificate type (server, client,
//! dual_purpose, ca) with the reference's SAN defaults and rules, revocation, key export and
//! renewal. Each is a Certus certificate of its CA's tenant, so native lists, CRLs and OCSP see
//! it.

use std::net::IpAddr;
use std::sync::Arc;

use certus_kms::KeySpec;
use certus_store::{DoorRecord, FastPkiCa, FastPkiCert, FastPkiCertRow, KeyRow, UserRow};
use certus_x509::{
    CertProfile, KeyKind, KeyUsageBit, PublicKeyData, RevocationReason, Subject, SubjectAttr, csr_from_pem,
    parse_certificate, parse_csr,
};

use super::access::{Action, caller_in, creator_of, is_superuser, require};
use super::dn::{format_subject_dn, parse_subject_dn};
use super::policy::Requested;
use crate::error::{Error, ErrorDetail, Result};
use crate::policy::normalize_dns_name;
use crate::{Authority, generate_key};

pub(super) const CERT_KEY_SIZE: i64 = 2048;
pub(super) const CERT_DAYS: i64 = 365;
/// Renewal refusals carry these codes (the reference's `{"detail": {"code", "message"}}`).
const CSR_REQUIRED: &str = "csr_required_for_csr_origin_cert";
const CSR_NOT_ALLOWED: &str = "csr_not_allowed_for_server_key_cert";

fn renewal_refused(code: &'static str, message: &str) -> Error {
    Error::policy(message).with_detail(ErrorDetail { with_message: true, ..ErrorDetail::code(code) })
}

const SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
const CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// The reference's certificate types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateType {
    /// serverAuth.
    Server,
    /// clientAuth.
    Client,
    /// A CA certificate.
    Ca,
    /// serverAuth and clientAuth.
    DualPurpose,
}

impl CertificateType {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::Ca => "ca",
            Self::DualPurpose => "dual_purpose",
        }
    }

    /// The value with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Server, Self::Client, Self::Ca, Self::DualPurpose].into_iter().find(|t| t.name() == name)
    }

    /// basicConstraints, keyUsage and EKU of the type. keyEncipherment only for RSA keys (it
    /// means nothing for EC or Ed25519 keys, and linters reject it there).
    fn profile(self, rsa: bool) -> CertProfile {
        let mut key_usage = vec![KeyUsageBit::DigitalSignature];
        if rsa {
            key_usage.push(KeyUsageBit::KeyEncipherment);
        }
        let eku: &[&[u64]] = match self {
            Self::Server => &[SERVER_AUTH],
            Self::Client => &[CLIENT_AUTH],
            Self::DualPurpose => &[SERVER_AUTH, CLIENT_AUTH],
            Self::Ca => {
                key_usage.extend([KeyUsageBit::KeyCertSign, KeyUsageBit::CrlSign]);
                &[]
            }
        };
        CertProfile::Custom {
            is_ca: self == Self::Ca,
            key_usage,
            extended_key_usage: eku.iter().map(|o| o.to_vec()).collect(),
        }
    }
}

/// A certificate to create through /api/v1.
#[derive(Debug, Clone)]
pub struct NewFastPkiCert {
    /// commonName.
    pub common_name: String,
    /// The subject DN.
    pub subject_dn: String,
    /// The certificate type.
    pub certificate_type: CertificateType,
    /// Key size in bits.
    pub key_size: Option<i64>,
    /// Validity in days.
    pub valid_days: Option<i64>,
    /// Return the private key (server-made keys only).
    pub include_private_key: Option<bool>,
    /// DNS SANs.
    pub san_dns_names: Option<Vec<String>>,
    /// IP SANs.
    pub san_ip_addresses: Option<Vec<String>>,
    /// Email SANs.
    pub san_email_addresses: Option<Vec<String>>,
}

/// A CSR to sign through /api/v1.
#[derive(Debug, Clone)]
pub struct SignFastPkiCsr {
    /// The CSR, PEM.
    pub csr: String,
    /// The certificate type.
    pub certificate_type: CertificateType,
    /// The CA.
    pub ca_id: Option<i64>,
    /// The CA, by name.
    pub ca_name: Option<String>,
    /// Validity in days.
    pub valid_days: Option<i64>,
    /// commonName.
    pub common_name: Option<String>,
    /// The subject DN.
    pub subject_dn: Option<String>,
    /// DNS SANs.
    pub san_dns_names: Option<Vec<String>>,
    /// IP SANs.
    pub san_ip_addresses: Option<Vec<String>>,
    /// Email SANs.
    pub san_email_addresses: Option<Vec<String>>,
}

/// A certificate as /api/v1 shows it; `private_key` only where the route returns one.
#[derive(Debug, Clone)]
pub struct FastPkiCertView {
    /// The certificate with its /api/v1 attributes.
    pub cert: FastPkiCert,
    /// The private key, PEM, when returned.
    pub private_key: Option<String>,
    /// The certificates renewed from this one.
    pub renewed_to_ids: Vec<i64>,
}

/// The SANs of a certificate after the type's rules and defaults.
struct Names {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    emails: Vec<String>,
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split_once('.').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        }
        None => false,
    }
}

/// The reference's SAN rules (violations are 400 here, as its documents say): servers take DNS
/// and IP names, clients email addresses, dual-purpose all three; a `ca` certificate has none.
/// Servers and dual-purpose get the CN as DNS name when given none; clients their CN as email
/// address when it is one.
fn names_for(
    t: CertificateType,
    cn: &str,
    dns: Option<Vec<String>>,
    ips: Option<Vec<String>>,
    emails: Option<Vec<String>>,
) -> Result<Names> {
    let (mut dns, ips, mut emails) = (dns.unwrap_or_default(), ips.unwrap_or_default(), emails.unwrap_or_default());
    match t {
        CertificateType::Ca => return Ok(Names { dns: vec![], ips: vec![], emails: vec![] }),
        CertificateType::Server if !emails.is_empty() => {
            return Err(Error::policy("Email SANs are not allowed for server certificates"));
        }
        CertificateType::Client if !dns.is_empty() => {
            return Err(Error::policy("DNS SANs are not allowed for client certificates"));
        }
        CertificateType::Client if !ips.is_empty() => {
            return Err(Error::policy("IP SANs are not allowed for client certificates"));
        }
        _ => {}
    }
    let ips = ips
        .iter()
        .map(|s| {
            s.trim().parse().map_err(|_| Error::policy(format!("'{s}' does not appear to be an IPv4 or IPv6 address")))
        })
        .collect::<Result<Vec<IpAddr>>>()?;
    if matches!(t, CertificateType::Server | CertificateType::DualPurpose) && dns.is_empty() {
        dns.push(cn.to_owned());
    }
    if t == CertificateType::Client && emails.is_empty() && looks_like_email(cn) {
        emails.push(cn.to_owned());
    }
    let dns = dns
        .iter()
        .map(|d| normalize_dns_name(d).map_err(|e| Error::policy(format!("DNS SAN: {}", e.message))))
        .collect::<Result<Vec<_>>>()?;
    if let Some(bad) = emails.iter().find(|e| !looks_like_email(e) || !e.is_ascii()) {
        return Err(Error::policy(format!("{bad:?} is not a valid email address")));
    }
    Ok(Names { dns, ips, emails })
}

fn valid_days_or_default(days: Option<i64>) -> Result<i64> {
    match days.filter(|&d| d != 0).unwrap_or(CERT_DAYS) {
        d if d < 0 => Err(Error::policy("valid_days must be positive")),
        d if d > 36_500 => Err(Error::policy("valid_days must be at most 36500")),
        d => Ok(d),
    }
}

/// What a leaf is signed for: a key Certus made (kept or not) or a requester's public key.
enum LeafKey {
    Generated { key: Arc<certus_kms::SoftwareKey>, keep: bool },
    Requested(Arc<dyn certus_x509::PublicKeyData + Send + Sync>),
}

/// Everything decided about a /api/v1 certificate before it is signed.
struct LeafOrder {
    ca: FastPkiCa,
    certificate_type: CertificateType,
    common_name: String,
    subject_dn: String,
    names: Names,
    valid_days: i64,
    key_size: i64,
    is_rsa: bool,
    is_csr_origin: bool,
    renewed_from_id: Option<i64>,
}

impl Authority {
    async fn fastpki_cert_or_404(&self, id: i64) -> Result<FastPkiCert> {
        match self.store.get_fastpki_certificate(id).await {
            Err(certus_store::Error::NotFound) => Err(Error::not_found(format!("Certificate with ID {id} not found"))),
            other => Ok(other?),
        }
    }

    async fn fastpki_cert_for(&self, user: &UserRow, id: i64, action: Action) -> Result<FastPkiCert> {
        let cert = self.fastpki_cert_or_404(id).await?;
        require(user, cert.org_num, action)?;
        Ok(cert)
    }

    /// `POST /certificates/?ca_id=`: a key made here (its PEM returned unless
    /// `include_private_key` is false, in which case it is not kept either).
    pub async fn create_fastpki_certificate(
        &self,
        user: &UserRow,
        ca_id: i64,
        req: NewFastPkiCert,
    ) -> Result<FastPkiCertView> {
        let ca = self.fastpki_ca_for(user, ca_id, Action::CreateCert).await?;
        let names = names_for(
            req.certificate_type,
            &req.common_name,
            req.san_dns_names,
            req.san_ip_addresses,
            req.san_email_addresses,
        )?;
        let key_size = req.key_size.filter(|&k| k != 0).unwrap_or(CERT_KEY_SIZE);
        let spec = KeySpec::from_type_and_size("rsa", u32::try_from(key_size).ok())
            .map_err(|_| Error::policy(format!("key_size must be 2048, 3072 or 4096 bits, not {key_size}")))?;
        let order = LeafOrder {
            ca,
            certificate_type: req.certificate_type,
            common_name: req.common_name,
            subject_dn: req.subject_dn,
            names,
            valid_days: valid_days_or_default(req.valid_days)?,
            key_size,
            is_rsa: true,
            is_csr_origin: false,
            renewed_from_id: None,
        };
        let subject = self.admit(user, &order).await?;
        let key = Arc::new(generate_key(spec).await?);
        let keep = req.include_private_key.unwrap_or(true);
        self.sign_fastpki_leaf(user, order, subject, LeafKey::Generated { key, keep }).await
    }

    /// `POST /certificates/sign-csr`: the CSR's subject, SANs and key, unless the request
    /// overrides them (an explicit empty list overrides too). Never returns a key.
    pub async fn sign_fastpki_csr(&self, user: &UserRow, req: SignFastPkiCsr) -> Result<FastPkiCertView> {
        let ca = match (req.ca_id, &req.ca_name) {
            (Some(id), _) => self.fastpki_ca_for(user, id, Action::CreateCert).await?,
            (None, Some(name)) => {
                let tenant = match (is_superuser(user), user.org_num) {
                    (true, _) => None,
                    (false, Some(org)) => Some(self.store.get_fastpki_org(org).await?.tenant_id),
                    (false, None) => return Err(Error::not_found(format!("CA '{name}' not found"))),
                };
                let ca = match self.store.find_fastpki_ca(tenant.as_deref(), name).await {
                    Err(certus_store::Error::NotFound) => {
                        return Err(Error::not_found(format!("CA '{name}' not found")));
                    }
                    other => other?,
                };
                require(user, ca.org_num, Action::CreateCert)?;
                ca
            }
            (None, None) => return Err(Error::policy("Either ca_id or ca_name must be provided")),
        };
        let csr = read_csr(&req.csr)?;
        let key = crate::policy::csr_subject_key(&csr)?;
        let common_name = req
            .common_name
            .or_else(|| csr.common_name.clone())
            .ok_or_else(|| Error::policy("No common name in CSR or request"))?;
        let subject_dn = req.subject_dn.unwrap_or_else(|| format_subject_dn(&csr.subject_fields));
        let ips = req.san_ip_addresses.unwrap_or_else(|| csr.ip_addresses.iter().map(|i| i.to_string()).collect());
        let names = names_for(
            req.certificate_type,
            &common_name,
            Some(req.san_dns_names.unwrap_or(csr.dns_names.clone())),
            Some(ips),
            Some(req.san_email_addresses.unwrap_or(csr.emails.clone())),
        )?;
        let order = LeafOrder {
            ca,
            certificate_type: req.certificate_type,
            common_name,
            subject_dn,
            names,
            valid_days: valid_days_or_default(req.valid_days)?,
            key_size: i64::from(csr.key.bits),
            is_rsa: csr.key.kind == KeyKind::Rsa,
            is_csr_origin: true,
            renewed_from_id: None,
        };
        let subject = self.admit(user, &order).await?;
        self.sign_fastpki_leaf(user, order, subject, LeafKey::Requested(key)).await
    }

    /// Everything that can refuse an order before a key is made or anything signed: the CA's
    /// leaf switch, the common name, the subject and (for service accounts) the issuance policy.
    /// Returns the subject to sign.
    async fn admit(&self, user: &UserRow, order: &LeafOrder) -> Result<Subject> {
        if !order.ca.fastpki.allow_leaf_certs {
            return Err(Error::policy(format!("CA {} does not allow leaf certificate issuance", order.ca.fastpki.id)));
        }
        super::check_text("common_name", &order.common_name).map_err(|e| Error::policy(e.message))?;
        if order.common_name.is_empty() || order.common_name.chars().count() > 64 {
            return Err(Error::policy("common_name must be 1 to 64 characters"));
        }
        let mut subject = parse_subject_dn(&order.subject_dn)?;
        if subject.common_name.is_none() {
            subject.set(SubjectAttr::CommonName, order.common_name.clone());
            subject.order.push(SubjectAttr::CommonName);
        }
        let requested = Requested {
            ca_id: order.ca.fastpki.id,
            certificate_type: order.certificate_type.name(),
            common_name: &order.common_name,
            dns: &order.names.dns,
            ips: &order.names.ips,
            emails: &order.names.emails,
            valid_days: order.valid_days,
        };
        self.check_issuance_policy(user, &requested).await?;
        Ok(subject)
    }

    /// Signs and records an admitted leaf (its key sealed if kept), with its audit entry,
    /// atomically.
    async fn sign_fastpki_leaf(
        &self,
        user: &UserRow,
        order: LeafOrder,
        subject: Subject,
        key: LeafKey,
    ) -> Result<FastPkiCertView> {
        let ca_row = self.usable_ca(&order.ca.ca.tenant_id, &order.ca.ca.id).await?;
        let mut plan = self.plan_without_role(
            ca_row,
            Some(order.common_name.clone()),
            order.names.dns.clone(),
            order.names.ips.clone(),
            order.valid_days * 86_400,
        );
        plan.subject = subject;
        plan.email_addresses = order.names.emails.clone();
        plan.profile = order.certificate_type.profile(order.is_rsa);
        plan.issuer_urls = Some(self.fastpki_issuer_urls(&order.ca));
        let caller = caller_in(user, &order.ca.ca.tenant_id);
        let (subject_key, key_row, key_pem): (Arc<dyn PublicKeyData + Send + Sync>, Option<KeyRow>, Option<String>) =
            match key {
                LeafKey::Generated { key, keep } => {
                    let row = keep.then(|| self.seal_key(&caller.tenant_id, &key));
                    let pem = keep.then(|| key.private_key_pem().to_owned());
                    (key, row, pem)
                }
                LeafKey::Requested(spki) => (spki, None, None),
            };
        let fastpki = FastPkiCertRow {
            id: 0,
            ca_num: order.ca.fastpki.id,
            certificate_type: order.certificate_type.name().into(),
            subject_dn: order.subject_dn.clone(),
            key_size: order.key_size,
            valid_days: order.valid_days,
            is_csr_origin: order.is_csr_origin,
            renewed_from_id: order.renewed_from_id,
            created_by_user_id: creator_of(user),
            created_by_service_account_id: user.service_account_id,
            updated_at: plan.not_before.unix_timestamp(),
        };
        let what = match (order.renewed_from_id, order.is_csr_origin) {
            (Some(from), _) => format!("Renewed certificate '{}' from #{from}", order.common_name),
            (None, true) => format!("Signed CSR for '{}'", order.common_name),
            (None, false) => format!("Created certificate '{}'", order.common_name),
        };
        let key_id = key_row.as_ref().map(|k| k.id.clone());
        let door = DoorRecord::FastPkiCertificate(fastpki);
        let mut leaf = self.leaf_order(&caller, &plan, subject_key, key_row, key_id, door).await?;
        let ca_id = order.ca.ca.id.clone();
        leaf.audit.detail = Box::new(move |row| format!("{what}; ca={ca_id} serial={}", row.serial));
        let signed = self.issue_certificate(&caller, leaf).await?;
        let id = signed.door_id.ok_or_else(|| Error::internal("a /api/v1 certificate got no id"))?;
        Ok(FastPkiCertView { cert: self.fastpki_cert_or_404(id).await?, private_key: key_pem, renewed_to_ids: vec![] })
    }

    /// Superusers list every certificate; others their organisation's (none without one).
    pub async fn list_fastpki_certificates(&self, user: &UserRow, ca_id: Option<i64>) -> Result<Vec<FastPkiCert>> {
        if is_superuser(user) {
            self.adopt_fastpki_records(None).await?;
            return Ok(self.store.list_fastpki_certificates(None, ca_id).await?);
        }
        let Some(org) = user.org_num else { return Ok(vec![]) };
        let tenant = self.store.get_fastpki_org(org).await?.tenant_id;
        self.adopt_fastpki_records(Some(&tenant)).await?;
        Ok(self.store.list_fastpki_certificates(Some(&tenant), ca_id).await?)
    }

    /// A certificate by its /api/v1 id.
    pub async fn read_fastpki_certificate(&self, user: &UserRow, id: i64) -> Result<FastPkiCertView> {
        let cert = self.fastpki_cert_for(user, id, Action::Read).await?;
        let renewed_to_ids = self.store.fastpki_renewals_of(id).await?;
        Ok(FastPkiCertView { cert, private_key: None, renewed_to_ids })
    }

    /// The stored key (None when none was kept), with the export right; audited either way.
    pub async fn export_fastpki_certificate_key(&self, user: &UserRow, id: i64) -> Result<FastPkiCertView> {
        let cert = self.fastpki_cert_for(user, id, Action::ExportPrivateKey).await?;
        crate::certs::kms_key_stays(&cert.cert)?;
        let pem = match &cert.cert.key_id {
            Some(key_id) => self.unseal_key(&cert.cert.tenant_id, key_id).await?.private_key_pem().map(str::to_owned),
            None => None,
        };
        let caller = caller_in(user, &cert.cert.tenant_id);
        let detail = format!("key={}", cert.cert.key_id.as_deref().unwrap_or("none"));
        self.audit_before_release(&caller, "certificate.private_key_export", &cert.cert.id, detail).await?;
        Ok(FastPkiCertView { cert, private_key: pem, renewed_to_ids: vec![] })
    }

    /// Revokes (409 when already revoked). The reason is free text here: a recognisable RFC 5280
    /// reason ("Key compromise", "superseded", …) is encoded in CRLs and OCSP, anything else is
    /// `unspecified`; the text itself goes into the audit entry.
    pub async fn revoke_fastpki_certificate(
        &self,
        user: &UserRow,
        id: i64,
        reason: Option<&str>,
    ) -> Result<FastPkiCertView> {
        let cert = self.fastpki_cert_for(user, id, Action::RevokeCert).await?;
        if cert.cert.revoked_at.is_some() {
            return Err(Error::conflict("Certificate is already revoked"));
        }
        let caller = caller_in(user, &cert.cert.tenant_id);
        let code = reason.and_then(RevocationReason::from_text).unwrap_or(RevocationReason::Unspecified);
        let note = reason.map(|r| format!(" text={r:?}")).unwrap_or_default();
        match self.revoke_row(&caller, &cert.cert, code, note).await {
            Err(e) if e.kind == crate::ErrorKind::Conflict => {
                return Err(Error::conflict("Certificate is already revoked"));
            }
            other => other?,
        };
        self.read_fastpki_certificate(user, id).await
    }

    /// A new certificate with the old one's CN, subject, SANs, CA, type and validity; the old
    /// one stays valid. Server-made keys are replaced by a new key; CSR-born certificates need
    /// a new CSR.
    pub async fn renew_fastpki_certificate(
        &self,
        user: &UserRow,
        id: i64,
        csr: Option<&str>,
    ) -> Result<FastPkiCertView> {
        let old = self.fastpki_cert_for(user, id, Action::CreateCert).await?;
        let ca = self.fastpki_ca_or_404(old.fastpki.ca_num).await?;
        require(user, ca.org_num, Action::CreateCert)?;
        let info = parse_certificate(&old.cert.cert_der)?;
        let certificate_type = CertificateType::from_name(&old.fastpki.certificate_type)
            .ok_or_else(|| Error::internal("stored certificate type is unknown"))?;
        let names = Names { dns: info.dns_names.clone(), ips: info.ip_addresses.clone(), emails: info.emails.clone() };
        let mut order = LeafOrder {
            ca,
            certificate_type,
            common_name: old.cert.common_name.clone().unwrap_or_default(),
            subject_dn: old.fastpki.subject_dn.clone(),
            names,
            valid_days: old.fastpki.valid_days,
            key_size: old.fastpki.key_size,
            is_rsa: true,
            is_csr_origin: old.fastpki.is_csr_origin,
            renewed_from_id: Some(id),
        };
        let key = match (old.fastpki.is_csr_origin, csr) {
            (true, None) => {
                return Err(renewal_refused(CSR_REQUIRED, "renewing a certificate issued from a CSR needs a new CSR"));
            }
            (false, Some(_)) => {
                return Err(renewal_refused(
                    CSR_NOT_ALLOWED,
                    "this certificate's key was made by the server; renew it without a CSR",
                ));
            }
            (true, Some(pem)) => {
                let csr = read_csr(pem)?;
                order.key_size = i64::from(csr.key.bits);
                order.is_rsa = csr.key.kind == KeyKind::Rsa;
                Some(LeafKey::Requested(crate::policy::csr_subject_key(&csr)?))
            }
            // A new key, made once the order is admitted.
            (false, None) => None,
        };
        let subject = self.admit(user, &order).await?;
        let key = match key {
            Some(key) => key,
            None => {
                let spec = KeySpec::from_type_and_size("rsa", u32::try_from(old.fastpki.key_size).ok())?;
                LeafKey::Generated { key: Arc::new(generate_key(spec).await?), keep: old.cert.key_id.is_some() }
            }
        };
        self.sign_fastpki_leaf(user, order, subject, key).await
    }
}

/// A PEM CSR whose signature verifies; 400 "Invalid CSR: …" or "CSR signature verification
/// failed" otherwise.
fn read_csr(pem: &str) -> Result<certus_x509::CsrInfo> {
    csr_from_pem(pem).and_then(|der| parse_csr(&der)).map_err(|e| match e {
        certus_x509::Error::CsrSignature => Error::policy("CSR signature verification failed"),
        other => Error::policy(format!("Invalid CSR: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_rules_by_type() {
        let n = names_for(CertificateType::Server, "api.example.com", None, None, None).unwrap();
        assert_eq!(n.dns, vec!["api.example.com"]);
        let n = names_for(CertificateType::Client, "alice@example.com", None, None, None).unwrap();
        assert_eq!(n.emails, vec!["alice@example.com"]);
        assert!(names_for(CertificateType::Client, "alice", None, None, None).unwrap().emails.is_empty());
        let e = names_for(CertificateType::Server, "a.example", None, None, Some(vec!["a@b.c".into()])).err().unwrap();
        assert_eq!(e.message, "Email SANs are not allowed for server certificates");
        let e = names_for(CertificateType::Client, "a", Some(vec!["a.example".into()]), None, None).err().unwrap();
        assert_eq!(e.message, "DNS SANs are not allowed for client certificates");
        let e = names_for(CertificateType::Client, "a", None, Some(vec!["10.0.0.1".into()]), None).err().unwrap();
        assert_eq!(e.message, "IP SANs are not allowed for client certificates");
        let e = names_for(CertificateType::Server, "a.example", None, Some(vec!["x".into()]), None).err().unwrap();
        assert!(e.message.contains("does not appear to be an IPv4 or IPv6 address"));
        let n = names_for(CertificateType::Ca, "Sub", Some(vec!["a.example".into()]), None, None).unwrap();
        assert!(n.dns.is_empty());
    }
}
