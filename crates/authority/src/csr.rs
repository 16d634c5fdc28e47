//! The CSR approval workflow: import → pending → approved/rejected → signed. Also CSRs that
//! Certus generates itself, whose key stays in the KMS.

use std::net::IpAddr;
use std::sync::Arc;

use certus_kms::KeySpec;
use certus_store::CsrRow;
use certus_x509::{PemLabel, Subject, build_csr, csr_from_pem, parse_csr, to_pem};

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::issue::Issued;
use crate::{Authority, generate_key, new_id};

/// Default lifetime of a certificate signed from an approved CSR.
const DEFAULT_CSR_VALIDITY_DAYS: i64 = 365;

/// A CSR of the workflow, with its PEM.
#[derive(Debug, Clone)]
pub struct CsrView {
    /// The stored record.
    pub row: CsrRow,
    /// The CSR, PEM.
    pub csr_pem: String,
}

/// What to put in a CSR Certus makes (its key stays in the KMS).
#[derive(Debug, Clone, Default)]
pub struct GenerateCsr {
    /// commonName.
    pub common_name: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// countryName.
    pub country: Option<String>,
    /// DNS SANs.
    pub san_dns: Vec<String>,
    /// IP SANs.
    pub san_ip: Vec<String>,
    /// Key type: `rsa`, `ec` or `ed25519`.
    pub key_type: Option<String>,
    /// Key size in bits.
    pub key_size: Option<u32>,
}

impl Authority {
    /// Queues a CSR for approval.
    pub async fn import_csr(&self, caller: &Caller, pem: &str) -> Result<CsrView> {
        caller.require(Scope::Issue)?;
        let der = csr_from_pem(pem)?;
        let info = parse_csr(&der)?;
        // Nothing enters the queue that signing would refuse for its own sake.
        crate::policy::minimum_key_strength(&info.key)?;
        crate::policy::check_subject(&info.subject_fields)?;
        self.check_san_count(info.dns_names.len() + info.ip_addresses.len() + info.emails.len())?;
        let mut sans = info.dns_names.clone();
        sans.extend(info.ip_addresses.iter().map(|ip| ip.to_string()));
        let now = self.now_secs();
        let row = CsrRow {
            id: new_id("csr"),
            tenant_id: caller.tenant_id.clone(),
            csr_der: der,
            common_name: info.common_name,
            sans,
            key_type: info.key.kind.type_name().to_owned(),
            key_bits: i64::from(info.key.bits),
            status: "pending".into(),
            reject_reason: None,
            key_id: None,
            certificate_id: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_csr(&row, None, &self.audit_row(caller, "csr.import", &row.id, String::new())).await?;
        Ok(view(row))
    }

    /// Makes a CSR with a new key kept in the KMS.
    pub async fn generate_csr(&self, caller: &Caller, req: GenerateCsr) -> Result<CsrView> {
        caller.require(Scope::Issue)?;
        let cn = req.common_name.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if cn.is_none() && req.san_dns.is_empty() && req.san_ip.is_empty() {
            return Err(Error::malformed("subject.common_name or a SAN is required"));
        }
        let dns = req.san_dns.iter().map(|d| crate::policy::normalize_dns_name(d)).collect::<Result<Vec<_>>>()?;
        let ips = req
            .san_ip
            .iter()
            .map(|s| s.parse::<IpAddr>().map_err(|_| Error::malformed(format!("{s:?} is not an IP address"))))
            .collect::<Result<Vec<_>>>()?;
        self.check_san_count(dns.len() + ips.len())?;
        let spec = KeySpec::from_type_and_size(req.key_type.as_deref().unwrap_or("rsa"), req.key_size)?;
        let subject = Subject {
            common_name: cn.clone(),
            organization: req.organization,
            country: req.country,
            ..Default::default()
        };
        crate::policy::check_subject(&subject)?;
        let key = Arc::new(generate_key(spec).await?);
        let k = key.clone();
        let (d, i) = (dns.clone(), ips.clone());
        let der = crate::blocking(move || Ok(build_csr(&subject, &d, &i, &*k)?)).await?;
        let key_row = self.seal_key(&caller.tenant_id, &key);
        let mut sans = dns;
        sans.extend(ips.iter().map(|ip| ip.to_string()));
        let now = self.now_secs();
        let row = CsrRow {
            id: new_id("csr"),
            tenant_id: caller.tenant_id.clone(),
            csr_der: der,
            common_name: cn,
            sans,
            key_type: spec.key_type().to_owned(),
            key_bits: i64::from(spec.bits()),
            status: "pending".into(),
            reject_reason: None,
            key_id: Some(key_row.id.clone()),
            certificate_id: None,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit_row(caller, "csr.generate", &row.id, format!("key={}", key_row.id));
        self.store.insert_csr(&row, Some(&key_row), &audit).await?;
        Ok(view(row))
    }

    /// A CSR of the tenant.
    pub async fn get_csr(&self, caller: &Caller, id: &str) -> Result<CsrView> {
        Ok(view(self.store.get_csr(&caller.tenant_id, id).await.not_found_as("CSR")?))
    }

    /// Approves a pending CSR.
    pub async fn approve_csr(&self, caller: &Caller, id: &str) -> Result<CsrView> {
        self.decide_csr(caller, id, "approved", None).await
    }

    /// Rejects a pending CSR, with a reason.
    pub async fn reject_csr(&self, caller: &Caller, id: &str, reason: Option<String>) -> Result<CsrView> {
        self.decide_csr(caller, id, "rejected", reason).await
    }

    async fn decide_csr(&self, caller: &Caller, id: &str, to: &str, reason: Option<String>) -> Result<CsrView> {
        caller.require(Scope::Admin)?;
        let csr = self.store.get_csr(&caller.tenant_id, id).await.not_found_as("CSR")?;
        let audit =
            self.audit_row(caller, &format!("csr.{}", &to[..to.len() - 1]), id, reason.clone().unwrap_or_default());
        if !self.store.transition_csr(&caller.tenant_id, id, "pending", to, reason.as_deref(), &audit).await? {
            return Err(Error::conflict(format!("CSR is {}, not pending", csr.status)));
        }
        self.get_csr(caller, id).await
    }

    /// Signs an approved CSR with a CA of the tenant. The CSR's own names are used as they are:
    /// the human approval is the policy check.
    pub async fn sign_approved_csr(
        &self,
        caller: &Caller,
        id: &str,
        ca_id: &str,
        validity_days: Option<i64>,
    ) -> Result<(CsrView, Issued)> {
        caller.require(Scope::Admin)?;
        let csr = self.store.get_csr(&caller.tenant_id, id).await.not_found_as("CSR")?;
        if csr.status != "approved" {
            return Err(Error::conflict(format!("CSR is {}; only an approved CSR can be signed", csr.status)));
        }
        let days = validity_days.unwrap_or(DEFAULT_CSR_VALIDITY_DAYS);
        if !(1..=3650).contains(&days) {
            return Err(Error::malformed("validity_days must be between 1 and 3650"));
        }
        let ca = self.usable_ca(&caller.tenant_id, ca_id).await?;
        let info = parse_csr(&csr.csr_der)?;
        let spki = crate::policy::csr_subject_key(&info)?;
        let dns = info.dns_names.iter().map(|d| crate::policy::normalize_dns_name(d)).collect::<Result<Vec<_>>>()?;
        let plan = self.plan_without_role(ca, info.common_name.clone(), dns, info.ip_addresses.clone(), days * 86_400);
        let issued = self.sign_leaf_for_csr(caller, plan, spki, &csr).await?;
        let csr = self.get_csr(caller, id).await?;
        Ok((csr, issued))
    }
}

fn view(row: CsrRow) -> CsrView {
    let csr_pem = to_pem(PemLabel::CertificateRequest, &row.csr_der);
    CsrView { row, csr_pem }
}
