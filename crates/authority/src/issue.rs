//! Leaf issuance: `issue` (server-made key), `sign` (caller's CSR) and `renew`, all through one
//! fixed sequence: validate → reserve serial → build and sign → store → audit.

use std::net::IpAddr;
use std::sync::Arc;

use certus_kms::{KeySpec, SoftwareKey};
use certus_store::{CaRow, CertRow, DoorRecord, KeyRow, RoleRow};
use certus_x509::{
    CertProfile, CertSpec, KeyInfo, KeyKind, KeyUsageBit, PemLabel, PublicKeyData, Subject, csr_from_pem,
    parse_certificate, parse_csr,
};
use time::{Duration, OffsetDateTime};

use crate::auth::{Caller, Scope};
use crate::ca::IssuerUrls;
use crate::error::{Error, NotFoundAs, Result};
use crate::pipeline::{AuditIntent, Order, Signer, Template};
use crate::policy::{check_names, format_duration, parse_duration};
use crate::profiles::{Profile, Validity};
use crate::{Authority, generate_key, serial_display};

/// Lifetime of a leaf when the request names no TTL (capped by the role's max_ttl).
const DEFAULT_LEAF_TTL_SECS: i64 = 30 * 86_400;

/// A leaf with a server-made key, under a role.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    /// commonName.
    pub common_name: Option<String>,
    /// DNS SANs.
    pub alt_names: Vec<String>,
    /// IP SANs.
    pub ip_sans: Vec<String>,
    /// Lifetime, in the duration grammar.
    pub ttl: Option<String>,
}

/// A leaf for the caller's CSR, under a role.
#[derive(Debug, Clone, Default)]
pub struct SignRequest {
    /// The CSR, PEM.
    pub csr_pem: String,
    /// Lifetime, in the duration grammar.
    pub ttl: Option<String>,
    /// Optional overrides of the CSR's names.
    pub common_name: Option<String>,
    /// DNS SANs.
    pub alt_names: Option<Vec<String>>,
    /// IP SANs.
    pub ip_sans: Option<Vec<String>>,
}

/// A newly issued certificate. `private_key_pem` is present only when Certus made the key,
/// and is returned this once.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub certificate_id: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM: returned once, when Certus made it.
    pub private_key_pem: Option<String>,
    /// The issuing CA's chain, issuing CA first.
    pub ca_chain: Vec<String>,
    /// The serial, `1A:2B:…`.
    pub serial_number: String,
    /// notAfter.
    pub not_after: i64,
}

/// Everything decided about a leaf before a key is involved.
pub(crate) struct LeafPlan {
    pub ca: CaRow,
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub email_addresses: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The lifetime asked for, before the CA's notAfter cut it.
    pub lifetime_secs: i64,
    pub role_name: Option<String>,
    pub subject: Subject,
    pub profile: CertProfile,
    /// Where the certificate points relying parties (default: Certus's URLs for the CA).
    pub issuer_urls: Option<IssuerUrls>,
}

/// What a CSR asks for beyond names, for profiles that honour it.
#[derive(Default)]
pub(crate) struct Requested {
    pub key_usage: Option<Vec<KeyUsageBit>>,
    pub extended_key_usage: Vec<String>,
}

fn parse_ips(list: &[String]) -> Result<Vec<IpAddr>> {
    list.iter().map(|s| s.trim().parse().map_err(|_| Error::malformed(format!("{s:?} is not an IP address")))).collect()
}

impl Authority {
    /// Issues a leaf with a server-made key under a role.
    pub async fn issue(&self, caller: &Caller, role_name: &str, req: IssueRequest) -> Result<Issued> {
        caller.require(Scope::Issue)?;
        let role = self.role_for_issuance(&caller.tenant_id, role_name).await?;
        let ips = parse_ips(&req.ip_sans)?;
        let mut plan =
            self.plan_for_role(caller, &role, req.common_name, req.alt_names, ips, req.ttl.as_deref()).await?;
        let spec =
            KeySpec::from_type_and_size(role.key_type.as_deref().unwrap_or("rsa"), role.key_bits.map(|b| b as u32))?;
        self.apply_role_profile(&caller.tenant_id, &role, &mut plan, &key_info_of(spec), &Requested::default()).await?;
        let key = Arc::new(generate_key(spec).await?);
        let keep = role.store_private_keys.then_some(&*key);
        let mut issued = self.sign_leaf_with(caller, plan, key.clone(), keep).await?;
        issued.private_key_pem = Some(key.private_key_pem().to_owned());
        Ok(issued)
    }

    /// Signs the caller's CSR under a role.
    pub async fn sign_csr(&self, caller: &Caller, role_name: &str, req: SignRequest) -> Result<Issued> {
        caller.require(Scope::Issue)?;
        let role = self.role_for_issuance(&caller.tenant_id, role_name).await?;
        let csr = parse_csr(&csr_from_pem(&req.csr_pem)?)?;
        let (plan, spki) = self.plan_csr_for_role(caller, &role, &csr, Some(&req)).await?;
        self.sign_leaf_with(caller, plan, spki, None).await
    }

    /// What a role makes of a parsed CSR (with a request's overrides of its names and TTL, if
    /// any): the plan and the key to certify.
    pub(crate) async fn plan_csr_for_role(
        &self,
        caller: &Caller,
        role: &RoleRow,
        csr: &certus_x509::CsrInfo,
        req: Option<&SignRequest>,
    ) -> Result<(LeafPlan, Arc<dyn PublicKeyData + Send + Sync>)> {
        check_key_against_role(&csr.key, role)?;
        let ips = match req.and_then(|r| r.ip_sans.as_ref()) {
            Some(list) => parse_ips(list)?,
            None => csr.ip_addresses.clone(),
        };
        let cn = req.and_then(|r| r.common_name.clone()).or(csr.common_name.clone());
        let alt = req.and_then(|r| r.alt_names.clone()).unwrap_or(csr.dns_names.clone());
        let ttl = req.and_then(|r| r.ttl.as_deref());
        let mut plan = self.plan_for_role(caller, role, cn, alt, ips, ttl).await?;
        let requested =
            Requested { key_usage: csr.key_usage.clone(), extended_key_usage: csr.extended_key_usage.clone() };
        self.apply_role_profile(&caller.tenant_id, role, &mut plan, &csr.key, &requested).await?;
        let spki = crate::policy::csr_subject_key(csr)?;
        Ok((plan, spki))
    }

    /// Re-issues a certificate with the same subject and SANs and a new key; the old one stays
    /// valid until it expires.
    pub async fn renew(&self, caller: &Caller, cert_id: &str, ttl: Option<&str>) -> Result<Issued> {
        caller.require(Scope::Issue)?;
        let old = self.store.get_certificate(&caller.tenant_id, cert_id).await.not_found_as("certificate")?;
        if old.revoked_at.is_some() {
            return Err(Error::conflict("a revoked certificate cannot be renewed; issue a new one"));
        }
        let ca_id = match (&old.issuer_ca_id, old.source.as_str()) {
            (Some(ca), "issued") => ca.clone(),
            _ => return Err(Error::policy("only leaf certificates issued by a Certus CA can be renewed")),
        };
        let info = parse_certificate(&old.cert_der).map_err(Error::internal)?;
        let role = match &old.role_name {
            Some(name) => self.store.get_role(&caller.tenant_id, name).await.ok(),
            None => None,
        };
        let spec = key_spec_of(&info.key)?;
        let plan = match &role {
            Some(role) => {
                let mut plan = self
                    .plan_for_role(
                        caller,
                        role,
                        info.common_name.clone(),
                        info.dns_names.clone(),
                        info.ip_addresses.clone(),
                        ttl,
                    )
                    .await?;
                self.apply_role_profile(&caller.tenant_id, role, &mut plan, &key_info_of(spec), &Requested::default())
                    .await?;
                plan
            }
            None => {
                let lifetime =
                    ttl.map(|t| parse_duration("ttl", t)).transpose()?.unwrap_or(old.not_after - old.not_before);
                let ca = self.usable_ca(&caller.tenant_id, &ca_id).await?;
                self.plan_without_role(
                    ca,
                    info.common_name.clone(),
                    info.dns_names.clone(),
                    info.ip_addresses.clone(),
                    lifetime,
                )
            }
        };
        let key = Arc::new(generate_key(spec).await?);
        let store_key = role.as_ref().map(|r| r.store_private_keys).unwrap_or(old.key_id.is_some());
        // One audit entry, in the issuance's transaction: the renewal, naming what it renews.
        let audited = ("certificate.renew", format!("renews={cert_id}"));
        let mut issued = self.sign_leaf_as(caller, plan, key.clone(), store_key.then_some(&*key), audited).await?;
        issued.private_key_pem = Some(key.private_key_pem().to_owned());
        Ok(issued)
    }

    /// Applies the role's name, IP and TTL rules.
    pub(crate) async fn plan_for_role(
        &self,
        caller: &Caller,
        role: &RoleRow,
        common_name: Option<String>,
        alt_names: Vec<String>,
        mut ips: Vec<IpAddr>,
        ttl: Option<&str>,
    ) -> Result<LeafPlan> {
        let common_name = common_name.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if role.require_cn && common_name.is_none() {
            return Err(Error::policy("common_name is required by this role (require_cn)"));
        }
        // Every name goes into the SAN; an address among them is an IP SAN (a dNSName holding
        // one misleads).
        let mut dns = Vec::new();
        for name in common_name.iter().chain(&alt_names) {
            match name.trim().parse::<IpAddr>() {
                Ok(ip) if !ips.contains(&ip) => ips.push(ip),
                Ok(_) => {}
                Err(_) => dns.push(name.clone()),
            }
        }
        let dns = check_names(&dns, &ips, &role.allowed_domains, role.allow_subdomains, role.allow_ip_sans)?;
        if dns.is_empty() && ips.is_empty() {
            return Err(Error::policy("a certificate needs a common_name or at least one alt_name or ip_san"));
        }
        // The CN is written as its SAN entry is (no trailing dot, an address in canonical form),
        // but in the case it was given: names compare case-insensitively, and listings and
        // filters show the CN as the requester wrote it.
        let common_name = common_name.map(|cn| match cn.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => cn.trim_end_matches('.').to_owned(),
        });
        let requested = ttl.map(|t| parse_duration("ttl", t)).transpose()?;
        let lifetime = match (requested, role.max_ttl_secs) {
            (Some(t), Some(max)) if t > max => {
                return Err(Error::policy(format!(
                    "ttl {} exceeds the role's max_ttl {}",
                    format_duration(t),
                    format_duration(max)
                )));
            }
            (Some(t), _) => t,
            (None, Some(max)) => max.min(DEFAULT_LEAF_TTL_SECS),
            (None, None) => DEFAULT_LEAF_TTL_SECS,
        };
        let ca = self.usable_ca(&caller.tenant_id, &role.ca_id).await?;
        let mut plan = self.plan_without_role(ca, common_name, dns, ips, lifetime);
        plan.role_name = Some(role.name.clone());
        Ok(plan)
    }

    pub(crate) fn plan_without_role(
        &self,
        ca: CaRow,
        common_name: Option<String>,
        dns_names: Vec<String>,
        ip_addresses: Vec<IpAddr>,
        lifetime_secs: i64,
    ) -> LeafPlan {
        let not_before = self.now();
        // A leaf never outlives its issuer.
        let not_after = (not_before + Duration::seconds(lifetime_secs)).min(crate::from_secs(ca.valid_until));
        let subject = Subject { common_name: common_name.clone(), ..Default::default() };
        LeafPlan {
            ca,
            common_name,
            dns_names,
            ip_addresses,
            email_addresses: Vec::new(),
            not_before,
            not_after,
            lifetime_secs,
            role_name: None,
            subject,
            profile: CertProfile::TlsLeaf,
            issuer_urls: None,
        }
    }

    /// Applies the role's issuance profile, if it names one, on top of the role's own rules.
    pub(crate) async fn apply_role_profile(
        &self,
        tenant_id: &str,
        role: &RoleRow,
        plan: &mut LeafPlan,
        key: &KeyInfo,
        requested: &Requested,
    ) -> Result<()> {
        let Some(profile_id) = &role.profile_id else { return Ok(()) };
        let p = self.profile(tenant_id, profile_id).await?;
        apply_profile(&p, plan, key, requested)
    }
}

/// Applies an issuance profile to a planned certificate: key algorithm first, then validity (the
/// shorter of plan and profile wins, and past the CA's notAfter is an error, not a cut), subject,
/// key usage, EKU and the CA flag.
pub(crate) fn apply_profile(p: &Profile, plan: &mut LeafPlan, key: &KeyInfo, requested: &Requested) -> Result<()> {
    p.check_key(key)?;
    let by_profile = match &p.validity {
        Validity::Duration { secs, .. } => plan.not_before + Duration::seconds(*secs),
        Validity::Time { at, .. } => crate::from_secs(*at),
    };
    if by_profile <= plan.not_before {
        return Err(Error::policy(format!("profile {}: validity.time is already past", p.id)));
    }
    let not_after = (plan.not_before + Duration::seconds(plan.lifetime_secs)).min(by_profile);
    if not_after > crate::from_secs(plan.ca.valid_until) {
        return Err(Error::policy(format!(
            "profile {}: the certificate would outlive its CA ({}); shorten the validity",
            p.id,
            crate::rfc3339(plan.ca.valid_until)
        )));
    }
    plan.not_after = not_after;
    plan.subject = p.subject_for(&plan.subject);
    let mut key_usage: Vec<KeyUsageBit> = if p.honor_key_usage {
        requested.key_usage.clone().unwrap_or_default()
    } else {
        p.key_usage.iter().copied().collect()
    };
    // A profile written for RSA keys (keyEncipherment) also serves EC and Ed25519 keys: the bits
    // that mean nothing for this key are dropped before the lint sees them (docs/decisions.md).
    key_usage.retain(|bit| certus_x509::key_usage_applies(key.kind, *bit));
    let extended_key_usage = if p.honor_extended_key_usages {
        requested.extended_key_usage.iter().map(|o| o.split('.').filter_map(|a| a.parse().ok()).collect()).collect()
    } else {
        p.eku_arcs()
    };
    plan.profile = CertProfile::Custom { is_ca: p.sign_as_ca, key_usage, extended_key_usage };
    Ok(())
}

impl Authority {
    /// Signs the planned leaf for `subject_key` and records it, with `keep_key` sealed if
    /// given, in one transaction.
    pub(crate) async fn sign_leaf_with(
        &self,
        caller: &Caller,
        plan: LeafPlan,
        subject_key: Arc<dyn PublicKeyData + Send + Sync>,
        keep_key: Option<&SoftwareKey>,
    ) -> Result<Issued> {
        self.sign_leaf_as(caller, plan, subject_key, keep_key, ("certificate.issue", String::new())).await
    }

    /// As [`Self::sign_leaf_with`], audited as `action` with `note` added to the detail.
    pub(crate) async fn sign_leaf_as(
        &self,
        caller: &Caller,
        plan: LeafPlan,
        subject_key: Arc<dyn PublicKeyData + Send + Sync>,
        keep_key: Option<&SoftwareKey>,
        (action, note): (&'static str, String),
    ) -> Result<Issued> {
        let kept = keep_key.map(|k| self.seal_key(&caller.tenant_id, k));
        let key_id = kept.as_ref().map(|k| k.id.clone());
        let mut order = self.leaf_order(caller, &plan, subject_key, kept, key_id, DoorRecord::None).await?;
        if !note.is_empty() {
            let detail = std::mem::replace(&mut order.audit.detail, Box::new(|_| String::new()));
            order.audit.detail = Box::new(move |row| format!("{} {note}", detail(row)));
        }
        order.audit.action = action;
        let signed = self.issue_certificate(caller, order).await?;
        self.issued(caller, &plan, signed.cert).await
    }

    /// Signs a certificate for an approved CSR and marks the CSR signed, atomically.
    pub(crate) async fn sign_leaf_for_csr(
        &self,
        caller: &Caller,
        plan: LeafPlan,
        subject_key: Arc<dyn PublicKeyData + Send + Sync>,
        csr: &certus_store::CsrRow,
    ) -> Result<Issued> {
        let door = DoorRecord::CsrSigned { tenant_id: caller.tenant_id.clone(), csr_id: csr.id.clone() };
        let order = self.leaf_order(caller, &plan, subject_key, None, csr.key_id.clone(), door).await?;
        let signed = self.issue_certificate(caller, order).await?;
        self.issued(caller, &plan, signed.cert).await
    }

    /// The pipeline order for a planned leaf: signed by the plan's CA, pointing relying parties
    /// at the plan's (or Certus's) CRL, caIssuers and OCSP URLs.
    pub(crate) async fn leaf_order(
        &self,
        caller: &Caller,
        plan: &LeafPlan,
        subject_key: Arc<dyn PublicKeyData + Send + Sync>,
        kept_key: Option<KeyRow>,
        key_id: Option<String>,
        door: DoorRecord,
    ) -> Result<Order> {
        let urls = self.issuer_urls(&plan.ca.id, plan.issuer_urls.as_ref());
        let spec = CertSpec {
            serial: [0; 20],
            subject: plan.subject.clone(),
            dns_names: plan.dns_names.clone(),
            ip_addresses: plan.ip_addresses.clone(),
            email_addresses: plan.email_addresses.clone(),
            not_before: plan.not_before,
            not_after: plan.not_after,
            profile: plan.profile.clone(),
            crl_url: Some(urls.crl),
            ca_issuers_url: Some(urls.ca_issuers),
            ocsp_url: Some(self.ocsp_url()),
        };
        let key = self.load_key(&caller.tenant_id, &plan.ca.key_id).await?;
        let (ca_id, role) = (plan.ca.id.clone(), plan.role_name.clone().unwrap_or_else(|| "-".into()));
        let cn = plan.common_name.clone().unwrap_or_else(|| "-".into());
        Ok(Order {
            template: Template::Cert(spec),
            signer: Signer::Ca { ca: plan.ca.clone(), key },
            subject_key,
            kept_key,
            key_id,
            role_name: plan.role_name.clone(),
            listed_name: plan.common_name.clone(),
            source: "issued",
            new_ca: None,
            door,
            audit: AuditIntent {
                action: "certificate.issue",
                resource: None,
                detail: Box::new(move |row| format!("ca={ca_id} role={role} serial={} cn={cn}", row.serial)),
            },
        })
    }

    /// Renders a stored issuance.
    async fn issued(&self, caller: &Caller, plan: &LeafPlan, row: CertRow) -> Result<Issued> {
        Ok(Issued {
            certificate_pem: certus_x509::to_pem(PemLabel::Certificate, &row.cert_der),
            private_key_pem: None,
            ca_chain: self.chain_pems(&caller.tenant_id, &plan.ca).await?.to_vec(),
            serial_number: serial_display(&row.serial),
            not_after: row.not_after,
            certificate_id: row.id,
        })
    }
}

/// The role's key_type/key_bits against a CSR's key: same type; RSA at least key_bits, EC exactly.
fn check_key_against_role(key: &KeyInfo, role: &RoleRow) -> Result<()> {
    crate::policy::minimum_key_strength(key)?;
    let kind = match key.kind {
        KeyKind::Rsa => "rsa",
        KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => "ec",
        KeyKind::Ed25519 => "ed25519",
        KeyKind::Other => return Err(Error::malformed("the CSR's key algorithm is not supported")),
    };
    if let Some(want) = &role.key_type {
        if want != kind {
            return Err(Error::policy(format!("this role requires {want} keys, the CSR has an {kind} key")));
        }
        if let Some(bits) = role.key_bits {
            let ok = if kind == "rsa" { i64::from(key.bits) >= bits } else { i64::from(key.bits) == bits };
            if !ok {
                return Err(Error::policy(format!(
                    "this role requires {want} keys of {bits} bits, the CSR's key has {}",
                    key.bits
                )));
            }
        }
    }
    Ok(())
}

/// Type and size of a key Certus is about to generate, as profiles check them.
pub(crate) fn key_info_of(spec: KeySpec) -> KeyInfo {
    let kind = match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => KeyKind::Rsa,
        KeySpec::EcP256 => KeyKind::EcP256,
        KeySpec::EcP384 => KeyKind::EcP384,
        KeySpec::EcP521 => KeyKind::EcP521,
        KeySpec::Ed25519 => KeyKind::Ed25519,
    };
    KeyInfo { kind, bits: spec.bits() }
}

pub(crate) fn key_spec_of(key: &KeyInfo) -> Result<KeySpec> {
    let (t, bits) = match key.kind {
        KeyKind::Rsa => ("rsa", key.bits),
        KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => ("ec", key.bits),
        KeyKind::Ed25519 => ("ed25519", 256),
        KeyKind::Other => return Err(Error::policy("the certificate's key algorithm is not supported")),
    };
    Ok(KeySpec::from_type_and_size(t, Some(bits))?)
}
