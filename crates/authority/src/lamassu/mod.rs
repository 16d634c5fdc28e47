//! Signing a CSR against a CA under an issuance profile, with no role: the profile alone says
//! what the certificate holds. Also the certificate-status changes that front door offers
//! (revoke by serial, release a certificateHold).

mod signature;

use certus_x509::{csr_from_pem, parse_csr, parse_serial};
use serde_json::Value;

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::issue::{Issued, LeafPlan, Requested, apply_profile};
use crate::policy::normalize_dns_name;
use crate::profiles::{Profile, Validity};
use crate::{Authority, CertView, serial_key};

/// Which profile signs: inline beats an id, and an id beats the CA's default.
#[derive(Debug, Clone)]
pub enum ProfileChoice {
    /// A profile given in the request.
    Inline(Value),
    /// A stored profile, by id.
    Id(String),
    /// The CA's default profile.
    CaDefault,
}

/// Whose metadata a patch changes.
#[derive(Debug, Clone, Copy)]
pub enum MetadataTarget<'a> {
    /// A CA, by id.
    Ca(&'a str),
    /// A certificate, by serial (hex).
    Certificate(&'a str),
}

impl Authority {
    /// Signs a CSR with a CA under an issuance profile.
    pub async fn sign_with_profile(
        &self,
        caller: &Caller,
        ca_id: &str,
        csr_pem: &str,
        choice: ProfileChoice,
    ) -> Result<Issued> {
        caller.require(Scope::Issue)?;
        let csr = parse_csr(&csr_from_pem(csr_pem)?)?;
        let (plan, spki) = self.plan_csr_for_profile(caller, ca_id, &csr, choice).await?;
        self.sign_leaf_with(caller, plan, spki, None).await
    }

    /// Server-side key generation (`POST /certificates`): Certus makes a key of `spec`, plans
    /// the certificate for `subject` under the profile, and keeps the key sealed (the product's
    /// `MANAGED` certificates).
    pub async fn create_with_profile(
        &self,
        caller: &Caller,
        ca_id: &str,
        subject: certus_x509::Subject,
        spec: certus_kms::KeySpec,
        choice: ProfileChoice,
    ) -> Result<Issued> {
        caller.require(Scope::Issue)?;
        crate::policy::check_subject(&subject)?;
        let key = std::sync::Arc::new(crate::generate_key(spec).await?);
        let request = certus_x509::CsrInfo {
            common_name: subject.common_name.clone(),
            subject: String::new(),
            subject_fields: subject,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            emails: Vec::new(),
            key: crate::issue::key_info_of(spec),
            spki_der: key.spki_der(),
            key_usage: None,
            extended_key_usage: Vec::new(),
        };
        let (plan, subject_key) = self.plan_csr_for_profile(caller, ca_id, &request, choice).await?;
        self.sign_leaf_with(caller, plan, subject_key, Some(&key)).await
    }

    /// Deletes an orphan certificate (one whose issuer is not a CA of the tenant), as the
    /// product allows; certificates of a CA Certus holds stay.
    pub async fn delete_orphan_certificate(&self, caller: &Caller, serial: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let cert = self.certificate_by_serial(caller, serial).await?;
        if cert.issuer_ca_id.is_some() {
            return Err(Error::malformed("cannot delete certificate: issuer CA still exists"));
        }
        let audit = self.audit_row(caller, "certificate.delete", &cert.id, format!("serial={}", cert.serial));
        self.store.delete_orphan_certificate(&caller.tenant_id, &cert.id, &audit).await.not_found_as("certificate")
    }

    /// What an issuance profile makes of a parsed CSR under a CA: the plan and the key to
    /// certify.
    pub(crate) async fn plan_csr_for_profile(
        &self,
        caller: &Caller,
        ca_id: &str,
        csr: &certus_x509::CsrInfo,
        choice: ProfileChoice,
    ) -> Result<(LeafPlan, std::sync::Arc<dyn certus_x509::PublicKeyData + Send + Sync>)> {
        let ca = self.usable_ca(&caller.tenant_id, ca_id).await?;
        let profile = match choice {
            ProfileChoice::Inline(v) => {
                let id = if v.get("id").is_some() { None } else { Some("inline") };
                Profile::from_json(&v, id)?
            }
            ProfileChoice::Id(id) => self.profile(&caller.tenant_id, &id).await?,
            ProfileChoice::CaDefault => {
                let id = ca
                    .profile_id
                    .clone()
                    .ok_or_else(|| Error::not_found("issuance profile not found: the CA has none"))?;
                self.profile(&caller.tenant_id, &id).await?
            }
        };
        // Only SANs are ever copied from a CSR's extensions, and only when the profile says so.
        let (dns, ips) = if profile.honor_extensions {
            let dns = csr.dns_names.iter().map(|d| normalize_dns_name(d)).collect::<Result<Vec<_>>>()?;
            (dns, csr.ip_addresses.clone())
        } else {
            (Vec::new(), Vec::new())
        };
        let lifetime = match profile.validity {
            Validity::Duration { secs, .. } => secs,
            Validity::Time { at, .. } => at - self.now_secs(),
        };
        let mut plan = self.plan_without_role(ca, csr.subject_fields.common_name.clone(), dns, ips, lifetime.max(1));
        plan.subject = csr.subject_fields.clone();
        let requested =
            Requested { key_usage: csr.key_usage.clone(), extended_key_usage: csr.extended_key_usage.clone() };
        apply_profile(&profile, &mut plan, &csr.key, &requested)?;
        plan.common_name = plan.subject.common_name.clone();
        let spki = crate::policy::csr_subject_key(csr)?;
        Ok((plan, spki))
    }

    /// The tenant's certificate with this serial (hex, any case, colons optional).
    pub async fn certificate_by_serial(&self, caller: &Caller, serial: &str) -> Result<CertView> {
        let bytes = parse_serial(serial).ok_or_else(|| Error::malformed(format!("serial {serial:?} is not hex")))?;
        let found = self.store.certificates_by_serial(&caller.tenant_id, &serial_key(&bytes)).await?;
        found
            .iter()
            .find(|c| c.issuer_ca_id.is_some())
            .or(found.first())
            .cloned()
            .ok_or_else(|| Error::not_found("certificate not found"))
    }

    /// The tenant's CA and certificate metadata documents, by CA id or `serial:<hex serial>`.
    pub async fn resource_metadata(&self, caller: &Caller) -> Result<std::collections::HashMap<String, Value>> {
        let stored = self.store.tenant_metadata(&caller.tenant_id).await?;
        Ok(stored.into_iter().filter_map(|(id, text)| Some((id, serde_json::from_str(&text).ok()?))).collect())
    }

    /// Applies RFC 6902 `patches` to a CA's metadata (`ca_id`) or a certificate's (`serial`);
    /// returns the new document. The result must stay a JSON object.
    pub async fn patch_metadata(&self, caller: &Caller, target: MetadataTarget<'_>, patches: Value) -> Result<Value> {
        caller.require(Scope::Admin)?;
        let resource = match target {
            MetadataTarget::Ca(id) => self.store.get_ca(&caller.tenant_id, id).await.not_found_as("CA")?.id,
            MetadataTarget::Certificate(serial) => {
                format!("serial:{}", self.certificate_by_serial(caller, serial).await?.serial)
            }
        };
        let patch: json_patch::Patch = serde_json::from_value(patches)
            .map_err(|e| Error::malformed(format!("patches must be RFC 6902 operations: {e}")))?;
        // Optimistic: a concurrent change makes the write miss, and the patch is applied again.
        for _ in 0..3 {
            let old = self.store.metadata_of(&caller.tenant_id, &resource).await?;
            let mut doc: Value = match &old {
                Some(text) => serde_json::from_str(text).map_err(Error::internal)?,
                None => Value::Object(Default::default()),
            };
            json_patch::patch(&mut doc, &patch).map_err(|e| Error::malformed(format!("patch: {e}")))?;
            if !doc.is_object() {
                return Err(Error::malformed("metadata must stay a JSON object"));
            }
            let new = doc.to_string();
            if new.len() > 64 * 1024 {
                return Err(Error::malformed("metadata is limited to 64 KiB"));
            }
            let audit = self.audit_row(caller, "metadata.patch", &resource, String::new());
            if self.store.replace_metadata(&caller.tenant_id, &resource, old.as_deref(), &new, &audit).await? {
                return Ok(doc);
            }
        }
        Err(Error::conflict("the metadata changed concurrently; try again"))
    }

    /// Takes a certificate off hold: only a certificateHold revocation can be undone.
    pub async fn release_hold(&self, caller: &Caller, serial: &str) -> Result<CertView> {
        caller.require(Scope::Admin)?;
        let cert = self.certificate_by_serial(caller, serial).await?;
        match cert.revocation_reason.as_deref() {
            None => return Err(Error::policy("the certificate is not revoked")),
            Some("certificate_hold") => {}
            Some(other) => {
                return Err(Error::policy(format!("a certificate revoked for {other} cannot become active again")));
            }
        }
        let audit = self.audit_row(caller, "certificate.release_hold", &cert.id, format!("serial={}", cert.serial));
        if !self.store.release_hold(&caller.tenant_id, &cert.id, &audit).await.not_found_as("certificate")? {
            return Err(Error::conflict("the certificate changed concurrently"));
        }
        self.store.get_certificate(&caller.tenant_id, &cert.id).await.not_found_as("certificate")
    }
}

impl Authority {
    /// Deletes a CA as Lamassu allows: only an expired, revoked or keyless one (`CA Status
    /// inconsistent` otherwise), and never with `cascade` (Lamassu's default configuration
    /// refuses it). The CA is retired, not erased: its certificates stay in the inventory, its
    /// CRL and OCSP answers stay served.
    pub async fn delete_ca_lamassu(&self, caller: &Caller, id: &str, cascade: bool) -> Result<()> {
        caller.require(Scope::Admin)?;
        if cascade {
            return Err(Error::forbidden("cascade delete operations are not allowed by configuration"));
        }
        let ca = self.store.get_ca(&caller.tenant_id, id).await.not_found_as("CA")?;
        if !ca.is_active {
            return Err(Error::not_found("CA not found"));
        }
        let keyless = ca.key_store == crate::KEYLESS;
        if !keyless && !ca.revoked && ca.valid_until > self.now_secs() {
            return Err(Error::policy("CA Status inconsistent"));
        }
        let audit = self.audit_row(caller, "ca.delete", id, format!("cn={}", ca.common_name));
        self.store.retire_ca(&caller.tenant_id, id, &audit).await.not_found_as("CA")?;
        self.cas.clear();
        Ok(())
    }
}

impl Authority {
    /// Reissues a CA as Lamassu does: the same key, a new certificate; its lifetime from the
    /// profile given (inline beats an id; it must be a CA profile), else the current one.
    pub async fn reissue_ca_lamassu(&self, caller: &Caller, id: &str, choice: ProfileChoice) -> Result<crate::CaView> {
        let profile = match choice {
            ProfileChoice::Inline(v) => Some(Profile::from_json(&v, Some("inline"))?),
            ProfileChoice::Id(pid) => Some(self.profile(&caller.tenant_id, &pid).await?),
            ProfileChoice::CaDefault => None,
        };
        let lifetime = match profile {
            None => None,
            Some(p) if !p.sign_as_ca => {
                return Err(Error::malformed("the issuance profile of a CA certificate must have sign_as_ca"));
            }
            Some(p) => Some(match p.validity {
                Validity::Duration { secs, .. } => secs,
                Validity::Time { at, .. } => at - self.now_secs(),
            }),
        };
        self.reissue_ca(caller, id, lifetime).await
    }
}
