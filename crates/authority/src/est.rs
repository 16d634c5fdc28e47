//! EST (RFC 7030 as corrected by RFC 8951): labels that map `/.well-known/est/{label}` onto a
//! role, or a CA plus an issuance profile, of one tenant; their Basic credentials; and
//! enrollment, re-enrollment (by the device's current certificate), server key generation and
//! approval through the CSR workflow. Every certificate goes through the one pipeline.

use std::sync::Arc;

use certus_kms::KeySpec;
use certus_store::{CsrRow, EstLabelRow};
use certus_x509::{CsrInfo, WantedKey, parse_certificate, parse_csr, verify_issued_by};

use crate::auth::{Caller, Scope};
use crate::door_policy::DoorPolicy;
use crate::error::{Error, NotFoundAs, Result};
use crate::issue::{LeafPlan, key_info_of};
use crate::{Authority, generate_key, new_id, serial_key};

/// A new label.
#[derive(Debug, Clone, Default)]
pub struct NewEstLabel {
    /// The URL segment: 1 to 64 lower-case letters, digits, '-' or '_'.
    pub label: String,
    /// The role whose policy applies; or
    pub role: Option<String>,
    /// a CA and
    pub ca_id: Option<String>,
    /// an issuance profile.
    pub profile_id: Option<String>,
    /// Enrollments wait for approval in the CSR workflow.
    pub require_approval: bool,
    /// A re-enrollment revokes the certificate it replaces (superseded).
    pub revoke_on_reenroll: bool,
    /// Also answer at `/.well-known/est/…`.
    pub default: bool,
}

/// Who is enrolling.
#[derive(Debug, Clone)]
pub enum EstAuth {
    /// HTTP Basic, with a credential of the label.
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// A Certus API token with `pki:issue` in the label's tenant.
    Bearer(String),
    /// Nothing usable.
    None,
}

/// What an enrollment came to.
#[derive(Debug, Clone)]
pub enum EstOutcome {
    /// The certificate, DER.
    Issued(Vec<u8>),
    /// Waiting for approval; retry the same request later.
    Pending,
    /// An admin rejected it, with this reason.
    Rejected(String),
}

/// A certificate with the key Certus generated for it (`serverkeygen`).
#[derive(Debug, Clone)]
pub struct EstServerKey {
    /// The private key, PKCS#8 DER.
    pub pkcs8_der: Vec<u8>,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
}

/// How long a device is told to wait before retrying a pending enrollment.
pub const EST_RETRY_AFTER_SECS: u64 = 30;

impl Authority {
    /// Creates a label of the caller's tenant.
    pub async fn create_est_label(&self, caller: &Caller, new: NewEstLabel) -> Result<EstLabelRow> {
        caller.require(Scope::Admin)?;
        let label = new.label.trim();
        if label.is_empty()
            || label.len() > 64
            || !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            || ["cacerts", "simpleenroll", "simplereenroll", "serverkeygen", "csrattrs", "fullcmc"].contains(&label)
        {
            return Err(Error::malformed(
                "label must be 1 to 64 lower-case letters, digits, '-' or '_', and not an EST operation name",
            ));
        }
        let policy = DoorPolicy::of(&new.role, &new.ca_id, &new.profile_id)?;
        self.check_door_policy(&caller.tenant_id, &policy).await?;
        let row = EstLabelRow {
            label: label.to_owned(),
            tenant_id: caller.tenant_id.clone(),
            role_name: new.role,
            ca_id: new.ca_id,
            profile_id: new.profile_id,
            require_approval: new.require_approval,
            revoke_on_reenroll: new.revoke_on_reenroll,
            is_default: new.default,
            created_at: self.now_secs(),
        };
        let audit = self.audit_row(caller, "est.label.create", &row.label, String::new());
        self.store.insert_est_label(&row, &audit).await?;
        Ok(row)
    }

    /// The tenant's labels.
    pub async fn list_est_labels(&self, caller: &Caller) -> Result<Vec<EstLabelRow>> {
        Ok(self.store.list_est_labels(&caller.tenant_id).await?)
    }

    /// A label of the caller's tenant.
    pub async fn get_est_label(&self, caller: &Caller, label: &str) -> Result<EstLabelRow> {
        let row = self.store.est_label(label).await.not_found_as("EST label")?;
        if row.tenant_id != caller.tenant_id {
            return Err(Error::not_found("EST label not found"));
        }
        Ok(row)
    }

    /// Deletes a label of the caller's tenant, with its credentials.
    pub async fn delete_est_label(&self, caller: &Caller, label: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "est.label.delete", label, String::new());
        self.store.delete_est_label(&caller.tenant_id, label, &audit).await.not_found_as("EST label")
    }

    /// Makes a Basic credential for a label; the password is returned this once and stored
    /// as argon2.
    pub async fn create_est_credential(
        &self,
        caller: &Caller,
        label: &str,
        username: Option<String>,
    ) -> Result<(String, String)> {
        caller.require(Scope::Admin)?;
        let row = self.get_est_label(caller, label).await?;
        let username = username.map(|u| u.trim().to_owned()).unwrap_or_else(|| new_id("est"));
        if username.is_empty()
            || username.len() > 128
            || username.contains(':')
            || username.chars().any(char::is_control)
        {
            return Err(Error::malformed("username must be 1 to 128 characters, without ':' or control characters"));
        }
        let password = hex::encode(certus_kms::random_bytes::<16>());
        let hash = crate::users::hash_password(&password).await?;
        let audit = self.audit_row(caller, "est.credential.create", &row.label, format!("username={username}"));
        self.store.insert_est_credential(&row.label, &username, &hash, self.now_secs(), &audit).await?;
        Ok((username, password))
    }

    /// The label an EST URL names (`None`: the default label).
    pub async fn est_label(&self, label: Option<&str>) -> Result<EstLabelRow> {
        match label {
            Some(l) => self.store.est_label(l).await.not_found_as("EST label"),
            None => self.store.default_est_label().await.not_found_as("default EST label"),
        }
    }

    /// Checks an enrollment's credentials against the label: a Basic credential of the label,
    /// or an API token of its tenant with `pki:issue`. An unknown username costs an argon2 run
    /// too, so timing does not tell which exist.
    pub async fn est_caller(&self, label: &EstLabelRow, auth: EstAuth) -> Result<Caller> {
        match auth {
            EstAuth::Basic { username, password } => {
                let hash = match self.store.est_credential(&label.label, &username).await {
                    Ok(h) => Some(h),
                    Err(certus_store::Error::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                let phc = hash.as_deref().unwrap_or(crate::users::unknown_user_hash().as_str());
                if !crate::users::password_matches(&password, phc).await || hash.is_none() {
                    return Err(Error::unauthorized("wrong username or password"));
                }
                Ok(Caller {
                    token_id: format!("est:{}:{username}", label.label),
                    tenant_id: label.tenant_id.clone(),
                    scopes: vec![Scope::Issue],
                    superuser: false,
                })
            }
            EstAuth::Bearer(token) => {
                let caller = self.authenticate(Some(&token)).await?;
                caller.require(Scope::Issue)?;
                if caller.tenant_id != label.tenant_id && !caller.superuser {
                    return Err(Error::forbidden("the token belongs to another tenant"));
                }
                Ok(Caller { tenant_id: label.tenant_id.clone(), ..caller })
            }
            EstAuth::None => Err(Error::unauthorized("EST enrollment needs HTTP Basic credentials or a bearer token")),
        }
    }

    /// The label's CA chain, DER, issuing CA first (`cacerts`).
    pub async fn est_ca_chain(&self, label: &EstLabelRow) -> Result<Vec<Vec<u8>>> {
        let ca_id = self.est_ca_id(label).await?;
        let ca = self.store.get_ca(&label.tenant_id, &ca_id).await.not_found_as("CA")?;
        let pems = self.chain_pems(&label.tenant_id, &ca).await?;
        pems.iter().map(|p| Ok(certus_x509::certs_from_pem(p)?.swap_remove(0))).collect()
    }

    /// The key the label's policy wants (`csrattrs`).
    pub async fn est_wanted_key(&self, label: &EstLabelRow) -> Result<WantedKey> {
        Ok(match self.est_key_spec(label).await? {
            Some(KeySpec::EcP256) => WantedKey::Ec(256),
            Some(KeySpec::EcP384) => WantedKey::Ec(384),
            Some(KeySpec::EcP521) => WantedKey::Ec(521),
            Some(KeySpec::Ed25519) => WantedKey::Ed25519,
            Some(_) => WantedKey::Rsa,
            None => WantedKey::Any,
        })
    }

    /// `simpleenroll`: signs the CSR under the label's policy, or queues it for approval.
    pub async fn est_enroll(&self, label: &EstLabelRow, caller: &Caller, csr_der: &[u8]) -> Result<EstOutcome> {
        let csr = parse_csr(csr_der)?;
        if !label.require_approval {
            let (plan, key) = self.est_plan(label, caller, &csr).await?;
            let issued = self.sign_leaf_with(caller, plan, key, None).await?;
            return Ok(EstOutcome::Issued(der_of(&issued)?));
        }
        let digest = hex::encode(certus_kms::sha256(csr_der));
        let csr_id = match self.store.est_pending_csr(&label.label, &digest).await {
            Ok(id) => id,
            Err(certus_store::Error::NotFound) => {
                // Refuse now what the policy would refuse after approval.
                self.est_plan(label, caller, &csr).await?;
                self.queue_est_csr(label, caller, &csr, csr_der, &digest).await?;
                return Ok(EstOutcome::Pending);
            }
            Err(e) => return Err(e.into()),
        };
        let row = self.store.get_csr(&label.tenant_id, &csr_id).await.not_found_as("CSR")?;
        match row.status.as_str() {
            "pending" => Ok(EstOutcome::Pending),
            "rejected" => Ok(EstOutcome::Rejected(row.reject_reason.unwrap_or_else(|| "rejected".into()))),
            "signed" => {
                let id = row.certificate_id.ok_or_else(|| Error::internal("a signed CSR without its certificate"))?;
                Ok(EstOutcome::Issued(self.issued_der(caller, &id).await?))
            }
            _ => {
                let (plan, key) = self.est_plan(label, caller, &csr).await?;
                let issued = self.sign_leaf_for_csr(caller, plan, key, &row).await?;
                Ok(EstOutcome::Issued(der_of(&issued)?))
            }
        }
    }

    /// `simplereenroll`: the device proves itself with its current certificate (the TLS client
    /// certificate, `client_chain[0]`), which must be this label's CA's, in the inventory,
    /// unrevoked and unexpired; the CSR must keep its subject and SANs (RFC 7030 §4.2.2).
    pub async fn est_reenroll(&self, label: &EstLabelRow, client_chain: &[Vec<u8>], csr_der: &[u8]) -> Result<Vec<u8>> {
        let current_der = client_chain.first().ok_or_else(|| {
            Error::unauthorized("re-enrollment needs the current certificate as the TLS client certificate")
        })?;
        let ca_id = self.est_ca_id(label).await?;
        let ca = self.store.get_ca(&label.tenant_id, &ca_id).await.not_found_as("CA")?;
        let current =
            parse_certificate(current_der).map_err(|_| Error::unauthorized("unreadable client certificate"))?;
        let stored = self.store.certificates_by_serial(&label.tenant_id, &serial_key(&current.serial)).await?;
        let stored = stored
            .into_iter()
            .find(|c| c.issuer_ca_id.as_deref() == Some(ca.id.as_str()) && c.cert_der == *current_der)
            .filter(|_| verify_issued_by(current_der, &ca.cert_der))
            .ok_or_else(|| Error::forbidden("the client certificate is not one this label's CA issued"))?;
        let now = self.now();
        if stored.revoked_at.is_some() {
            return Err(Error::forbidden("the client certificate is revoked"));
        }
        if now < current.not_before || now >= current.not_after {
            return Err(Error::forbidden("the client certificate is not valid now"));
        }
        let csr = parse_csr(csr_der)?;
        // The same subject, and no name the current certificate lacks (a CSR that leaves out
        // the SAN its CN became is the same request).
        let held: Vec<String> = current
            .dns_names
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .chain(current.ip_addresses.iter().map(|ip| ip.to_string()))
            .collect();
        let asked = csr
            .dns_names
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .chain(csr.ip_addresses.iter().map(|ip| ip.to_string()));
        if csr.subject_fields.common_name != current.subject_fields.common_name
            || asked.into_iter().any(|n| !held.contains(&n))
        {
            return Err(Error::policy("a re-enrollment keeps the subject and SANs of the current certificate"));
        }
        let caller = Caller {
            token_id: format!("est:{}:reenroll:{}", label.label, stored.serial),
            tenant_id: label.tenant_id.clone(),
            scopes: vec![Scope::Issue],
            superuser: false,
        };
        let (plan, key) = self.est_plan(label, &caller, &csr).await?;
        let issued = self.sign_leaf_with(&caller, plan, key, None).await?;
        if label.revoke_on_reenroll {
            let reason = certus_x509::RevocationReason::Superseded;
            let note = format!(" replaced_by={}", issued.certificate_id);
            self.revoke_row(&caller, &stored, reason, note).await?;
        }
        der_of(&issued)
    }

    /// `serverkeygen`: Certus makes the key (of the type the policy wants) and certifies it for
    /// the CSR's names. Not on labels that wait for approval: the key would wait with it.
    pub async fn est_server_keygen(
        &self,
        label: &EstLabelRow,
        caller: &Caller,
        csr_der: &[u8],
    ) -> Result<EstServerKey> {
        if label.require_approval {
            return Err(Error::policy("serverkeygen is not offered on a label that requires approval"));
        }
        let csr = parse_csr(csr_der)?;
        let spec = self.est_key_spec(label).await?.unwrap_or(KeySpec::EcP256);
        let key = Arc::new(generate_key(spec).await?);
        let with_new_key = CsrInfo { key: key_info_of(spec), spki_der: key.spki_der(), ..csr };
        let (plan, subject_key) = self.est_plan(label, caller, &with_new_key).await?;
        let issued = self.sign_leaf_with(caller, plan, subject_key, None).await?;
        let pkcs8_der = certus_x509::private_key_der_from_pem(key.private_key_pem())?;
        Ok(EstServerKey { pkcs8_der, certificate_der: der_of(&issued)? })
    }

    /// The plan the label's role or profile makes of a CSR, and the key to certify.
    async fn est_plan(
        &self,
        label: &EstLabelRow,
        caller: &Caller,
        csr: &CsrInfo,
    ) -> Result<(LeafPlan, Arc<dyn certus_x509::PublicKeyData + Send + Sync>)> {
        self.plan_csr_by_policy(caller, &label_policy(label)?, csr, None, false).await
    }

    async fn est_ca_id(&self, label: &EstLabelRow) -> Result<String> {
        self.door_policy_ca(&label.tenant_id, &label_policy(label)?).await
    }

    /// The key type a label's role fixes (a profile leaves it to the device: `None`).
    async fn est_key_spec(&self, label: &EstLabelRow) -> Result<Option<KeySpec>> {
        self.door_policy_key_spec(&label.tenant_id, &label_policy(label)?).await
    }

    /// The DER of a certificate issued earlier (an approved enrollment asked again).
    async fn issued_der(&self, caller: &Caller, certificate_id: &str) -> Result<Vec<u8>> {
        Ok(self.store.get_certificate(&caller.tenant_id, certificate_id).await.not_found_as("certificate")?.cert_der)
    }

    async fn queue_est_csr(
        &self,
        label: &EstLabelRow,
        caller: &Caller,
        csr: &CsrInfo,
        csr_der: &[u8],
        digest: &str,
    ) -> Result<()> {
        let mut sans = csr.dns_names.clone();
        sans.extend(csr.ip_addresses.iter().map(|ip| ip.to_string()));
        let now = self.now_secs();
        let row = CsrRow {
            id: new_id("csr"),
            tenant_id: label.tenant_id.clone(),
            csr_der: csr_der.to_vec(),
            common_name: csr.common_name.clone(),
            sans,
            key_type: csr.key.kind.type_name().to_owned(),
            key_bits: i64::from(csr.key.bits),
            status: "pending".into(),
            reject_reason: None,
            key_id: None,
            certificate_id: None,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit_row(caller, "est.enroll.pending", &row.id, format!("label={}", label.label));
        match self.store.insert_est_pending(&label.label, digest, &row, &audit).await {
            // The same CSR sent twice at once: the other request queued it.
            Err(certus_store::Error::Conflict(_)) => Ok(()),
            other => Ok(other?),
        }
    }
}

fn label_policy(label: &EstLabelRow) -> Result<DoorPolicy> {
    DoorPolicy::of(&label.role_name, &label.ca_id, &label.profile_id)
}

/// The DER of a certificate just issued, from the PEM the pipeline returned.
fn der_of(issued: &crate::issue::Issued) -> Result<Vec<u8>> {
    Ok(certus_x509::certs_from_pem(&issued.certificate_pem)?.swap_remove(0))
}
