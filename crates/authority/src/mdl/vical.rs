//! VICAL publishing (ISO/IEC 18013-5 Annex C; walt.id's `vical-service`): a service names a KMS
//! key and the store entry of its signer certificate, which Certus must have issued with the
//! VICAL-signer EKU and at most 1187 days of life. Publishing collects the `vical-entry` IACAs of
//! the stores it depends on, encodes them as CBOR and signs a COSE_Sign1; `vicalIssueID` grows
//! with each publication. The latest VICAL is public, as a relying party fetches it.

use std::sync::Arc;

use certus_kms::{Key, KeySpec};
use certus_store::{ServiceRow, VicalRow, VicalServiceRow};
use certus_x509::{CertInfo, CoseAlg, Vical, VicalEntry, certs_from_pem, parse_certificate};
use serde_json::Value;

use super::{MdlService, Target};
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, serial_key};

/// The VICAL signer's extended key usage (ISO/IEC 18013-5 Annex B).
const VICAL_SIGNER_EKU: &str = "1.0.18013.5.1.8";
/// The longest a VICAL signer certificate may live.
const VICAL_SIGNER_MAX_DAYS: i64 = 1187;
/// A provider name is a label, not a document.
const MAX_PROVIDER_CHARS: usize = 256;

/// A VICAL service to create.
#[derive(Debug, Clone, Default)]
pub struct NewVicalService {
    /// The KMS key that signs (`org.tenant.kms.name`).
    pub signing_key_id: String,
    /// The store entry of the signer certificate (`org.tenant.store.id`).
    pub signer_certificate_id: String,
    /// KMS and X.509 store services (`org.tenant.service`); the stores' `vical-entry` IACAs are
    /// what it publishes.
    pub dependencies: Vec<String>,
}

/// What a publication made.
#[derive(Debug, Clone)]
pub struct VicalPublished {
    /// `org.tenant.service.<issue id>`.
    pub version_path: String,
    /// Its `vicalIssueID`.
    pub issue_id: i64,
    /// How many IACAs it lists.
    pub entry_count: usize,
}

fn cose_alg(spec: KeySpec) -> Result<CoseAlg> {
    match spec {
        KeySpec::EcP256 => Ok(CoseAlg::Es256),
        KeySpec::EcP384 => Ok(CoseAlg::Es384),
        KeySpec::EcP521 => Ok(CoseAlg::Es512),
        KeySpec::Ed25519 => Ok(CoseAlg::EdDsa),
        _ => Err(Error::malformed("signingKeyId: a VICAL is signed with an EC (P-256/384/521) or Ed25519 key")),
    }
}

/// The signer certificate's rules, checked at creation and again at each publication.
fn check_signer(info: &CertInfo, key: &Key, now: i64) -> Result<()> {
    let field = "signerCertificateId";
    if !info.extended_key_usage.iter().any(|o| o == VICAL_SIGNER_EKU) {
        return Err(Error::malformed(format!(
            "{field}: the certificate lacks the VICAL signer EKU {VICAL_SIGNER_EKU}"
        )));
    }
    let (from, to) = (info.not_before.unix_timestamp(), info.not_after.unix_timestamp());
    if to - from > VICAL_SIGNER_MAX_DAYS * 86_400 {
        return Err(Error::malformed(format!("{field}: a VICAL signer lives at most {VICAL_SIGNER_MAX_DAYS} days")));
    }
    if now < from || now >= to {
        return Err(Error::policy(format!("{field}: the signer certificate is not valid now")));
    }
    if info.public_key_bits != certus_x509::PublicKeyData::der_bytes(key) {
        return Err(Error::malformed(format!("{field}: the certificate is not for the key signingKeyId names")));
    }
    Ok(())
}

/// `docType` and `certificateProfile` of a store entry's complementary metadata.
fn entry_metadata(metadata: Option<&str>) -> (Vec<String>, Vec<String>) {
    let meta: Value = metadata.and_then(|m| serde_json::from_str(m).ok()).unwrap_or(Value::Null);
    let list = |k: &str| -> Vec<String> {
        match meta.get(k) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    (list("docType"), list("certificateProfile"))
}

impl Authority {
    /// Creates a VICAL service: its key, signer certificate and dependencies are checked, then
    /// written with the service in one transaction.
    pub async fn create_vical_service(&self, caller: &Caller, path: &str, new: NewVicalService) -> Result<MdlService> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, path).await?;
        let service_id = t.service()?.to_owned();
        if t.child.is_some() {
            return Err(Error::malformed("a service path is org.tenant.service"));
        }
        let mut dependencies = Vec::new();
        for d in &new.dependencies {
            let dt = self.resolve_target(caller, d).await?;
            if dt.tenant_id != t.tenant_id || dt.child.is_some() {
                return Err(Error::malformed("dependencies: each is a service of the same tenant: org.tenant.service"));
            }
            let dep = self.store.get_service(&dt.tenant_id, dt.service()?).await.not_found_as("dependency service")?;
            if !["kms", "x509-store"].contains(&dep.service_type.as_str()) {
                return Err(Error::malformed("dependencies: a VICAL service depends on kms and x509-store services"));
            }
            dependencies.push(dep.id);
        }
        let key = self.vical_key(caller, &t, &new.signing_key_id).await?;
        cose_alg(key.spec())?;
        let (der, info) = self.vical_signer(caller, &t, &new.signer_certificate_id).await?;
        check_signer(&info, &key, self.now_secs())?;
        let held = self.store.certificates_by_serial(&t.tenant_id, &serial_key(&info.serial)).await?;
        if !held.iter().any(|c| c.cert_der == der) {
            return Err(Error::malformed("signerCertificateId: the signer certificate must be one Certus issued"));
        }
        let service = ServiceRow {
            tenant_id: t.tenant_id.clone(),
            id: service_id.clone(),
            service_type: "vical-service".into(),
            created_at: self.now_secs(),
        };
        let config = VicalServiceRow {
            tenant_id: t.tenant_id.clone(),
            service_id,
            signing_key_path: new.signing_key_id.clone(),
            signer_entry_path: new.signer_certificate_id.clone(),
        };
        let audit = self.audit_row(caller, "service.create", path, "type=vical-service".into());
        self.store.insert_vical_service(&service, &config, &dependencies, &audit).await?;
        Ok(MdlService { path: path.to_owned(), service_type: "vical-service".into() })
    }

    /// The signing key, which must belong to the service's tenant.
    async fn vical_key(&self, caller: &Caller, t: &Target, key_path: &str) -> Result<Arc<Key>> {
        if self.resolve_target(caller, key_path).await?.tenant_id != t.tenant_id {
            return Err(Error::malformed("signingKeyId: the key must belong to the service's tenant"));
        }
        self.kms_key(caller, key_path).await
    }

    /// The signer certificate from its store entry (of the service's tenant).
    async fn vical_signer(&self, caller: &Caller, t: &Target, entry_path: &str) -> Result<(Vec<u8>, CertInfo)> {
        let e = self.resolve_target(caller, entry_path).await?;
        let (Some(store), Some(entry)) = (e.service.as_deref(), e.child.as_deref()) else {
            return Err(Error::malformed("signerCertificateId: a store entry, org.tenant.store.id"));
        };
        if e.tenant_id != t.tenant_id {
            return Err(Error::malformed("signerCertificateId: the entry must belong to the service's tenant"));
        }
        self.service_of(&e, "x509-store").await?;
        let row = self
            .store
            .store_entries(&e.tenant_id, store)
            .await?
            .into_iter()
            .find(|r| r.entry_id == entry)
            .ok_or_else(|| Error::not_found("signerCertificateId: no such store entry"))?;
        let der = certs_from_pem(&row.pem)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::malformed("signerCertificateId: the entry holds no certificate"))?;
        let info = parse_certificate(&der)?;
        Ok((der, info))
    }

    /// Builds, signs and stores the next VICAL of the service.
    pub async fn publish_vical(&self, caller: &Caller, path: &str, provider: &str) -> Result<VicalPublished> {
        caller.require(Scope::Admin)?;
        let provider = provider.trim();
        if provider.is_empty()
            || provider.chars().count() > MAX_PROVIDER_CHARS
            || provider.chars().any(char::is_control)
        {
            return Err(Error::malformed(format!("vicalProvider: 1 to {MAX_PROVIDER_CHARS} characters of text")));
        }
        let t = self.resolve_target(caller, path).await?;
        let service = self.service_of(&t, "vical-service").await?;
        let config = self.store.vical_service(&t.tenant_id, &service.id).await.not_found_as("VICAL service")?;
        let key = self.vical_key(caller, &t, &config.signing_key_path).await?;
        let (signer_der, signer) = self.vical_signer(caller, &t, &config.signer_entry_path).await?;
        let now = self.now_secs();
        check_signer(&signer, &key, now)?;
        let entries = self.vical_entries(&t.tenant_id, &service.id).await?;
        let entry_count = entries.len();
        let issue_id = self.store.latest_vical(&t.tenant_id, &service.id).await?.map_or(1, |v| v.issue_id + 1);
        let vical = Vical {
            provider: provider.to_owned(),
            date: time::OffsetDateTime::from_unix_timestamp(now).map_err(Error::internal)?,
            issue_id: u64::try_from(issue_id).map_err(Error::internal)?,
            entries,
        };
        let payload = certus_x509::vical_payload(&vical)?;
        let alg = cose_alg(key.spec())?;
        let cose = certus_x509::cose_sign1(payload, alg, &signer_der, |tbs| {
            let der = certus_x509::SigningKey::sign(&*key, tbs).map_err(|e| e.to_string())?;
            certus_kms::raw_signature(key.spec(), &der).map_err(|e| e.to_string())
        })?;
        let row = VicalRow {
            tenant_id: t.tenant_id.clone(),
            service_id: service.id.clone(),
            issue_id,
            cose,
            entry_count: i64::try_from(entry_count).map_err(Error::internal)?,
            created_at: now,
        };
        let audit = self.audit_row(caller, "vical.publish", path, format!("issue={issue_id} entries={entry_count}"));
        self.store.insert_vical(&row, &audit).await?;
        Ok(VicalPublished { version_path: format!("{}.{}.{issue_id}", t.prefix, service.id), issue_id, entry_count })
    }

    /// The `vical-entry` IACAs of the stores the service depends on, each certificate once.
    async fn vical_entries(&self, tenant_id: &str, service_id: &str) -> Result<Vec<VicalEntry>> {
        let mut entries: Vec<VicalEntry> = Vec::new();
        for dep in self.store.dependencies(tenant_id, service_id).await? {
            let kind = self.store.get_service(tenant_id, &dep).await.not_found_as("dependency service")?.service_type;
            if kind != "x509-store" {
                continue;
            }
            for row in self.store.store_entries(tenant_id, &dep).await? {
                if row.entry_type != "vical-entry" {
                    continue;
                }
                let Some(der) = certs_from_pem(&row.pem)?.into_iter().next() else { continue };
                if entries.iter().any(|e| e.certificate_der == der) {
                    continue;
                }
                let (doc_types, certificate_profiles) = entry_metadata(row.metadata.as_deref());
                entries.push(VicalEntry { certificate_der: der, doc_types, certificate_profiles });
            }
        }
        Ok(entries)
    }

    /// The latest VICAL of a service, for anyone: `org.tenant.service`.
    pub async fn latest_vical(&self, path: &str) -> Result<VicalRow> {
        let parts: Vec<&str> = path.split('.').collect();
        let [org, tenant, service] = parts[..] else {
            return Err(Error::malformed("the path is org.tenant.vicalService"));
        };
        let t = self.store.find_tenant(org, tenant).await.not_found_as("VICAL service")?;
        let s = self.store.get_service(&t.id, service).await.not_found_as("VICAL service")?;
        if s.service_type != "vical-service" {
            return Err(Error::not_found("VICAL service not found"));
        }
        self.store.latest_vical(&t.id, service).await?.ok_or_else(|| Error::not_found("no VICAL published yet"))
    }
}

#[cfg(test)]
mod tests {
    use super::entry_metadata;

    #[test]
    fn metadata_lists_take_a_string_or_an_array() {
        let (d, p) = entry_metadata(Some(r#"{"docType": ["org.iso.18013.5.1.mDL"], "certificateProfile": "x"}"#));
        assert_eq!((d, p), (vec!["org.iso.18013.5.1.mDL".to_owned()], vec!["x".to_owned()]));
        assert_eq!(entry_metadata(None), (vec![], vec![]));
        assert_eq!(entry_metadata(Some("not json")), (vec![], vec![]));
    }
}
