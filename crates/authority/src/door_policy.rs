//! Whose rules a protocol door issues under: an EST label or an ACME directory names a role, or
//! a CA with an issuance profile, of its tenant; this plans a CSR under either.

use std::sync::Arc;

use certus_kms::KeySpec;
use certus_x509::PublicKeyData;

use crate::Authority;
use crate::auth::Caller;
use crate::error::{Error, NotFoundAs, Result};
use crate::issue::LeafPlan;

/// Whose rules a protocol door (EST label, ACME directory) issues under: a role, or a CA with
/// an issuance profile.
#[derive(Debug, Clone)]
pub(crate) enum DoorPolicy {
    Role(String),
    Profile { ca_id: String, profile_id: String },
}

impl DoorPolicy {
    /// From a stored record's `role_name`, `ca_id` and `profile_id`.
    pub(crate) fn of(role: &Option<String>, ca_id: &Option<String>, profile_id: &Option<String>) -> Result<Self> {
        match (role, ca_id, profile_id) {
            (Some(role), None, None) => Ok(DoorPolicy::Role(role.clone())),
            (None, Some(ca), Some(profile)) => {
                Ok(DoorPolicy::Profile { ca_id: ca.clone(), profile_id: profile.clone() })
            }
            _ => Err(Error::malformed("give either role, or ca_id and profile_id")),
        }
    }
}

impl Authority {
    /// Checks that a door policy's role, or CA and profile, exist in the tenant.
    pub(crate) async fn check_door_policy(&self, tenant_id: &str, policy: &DoorPolicy) -> Result<()> {
        match policy {
            DoorPolicy::Role(role) => {
                self.store.get_role(tenant_id, role).await.not_found_as("role")?;
            }
            DoorPolicy::Profile { ca_id, profile_id } => {
                self.usable_ca(tenant_id, ca_id).await?;
                self.profile(tenant_id, profile_id).await?;
            }
        }
        Ok(())
    }

    /// What a door policy makes of a CSR: the plan and the key to certify. `profile_id`
    /// replaces the policy's issuance profile when given. `names_proven` (ACME: the CSR's names
    /// are the validated identifiers) certifies exactly those names, whatever the profile says
    /// about copying SANs, and lets a role's certificate go without a common name (ACME clients
    /// send none; the SAN is then critical).
    pub(crate) async fn plan_csr_by_policy(
        &self,
        caller: &Caller,
        policy: &DoorPolicy,
        csr: &certus_x509::CsrInfo,
        profile_id: Option<&str>,
        names_proven: bool,
    ) -> Result<(LeafPlan, Arc<dyn PublicKeyData + Send + Sync>)> {
        match policy {
            DoorPolicy::Role(role) => {
                let mut role = self.role_for_issuance(&caller.tenant_id, role).await?;
                if let Some(id) = profile_id {
                    role.profile_id = Some(id.to_owned());
                }
                role.require_cn &= !names_proven;
                self.plan_csr_for_role(caller, &role, csr, None).await
            }
            DoorPolicy::Profile { ca_id, profile_id: own } => {
                let id = profile_id.unwrap_or(own).to_owned();
                let choice = crate::lamassu::ProfileChoice::Id(id);
                let (mut plan, key) = self.plan_csr_for_profile(caller, ca_id, csr, choice).await?;
                if names_proven {
                    plan.dns_names = csr.dns_names.clone();
                    plan.ip_addresses = csr.ip_addresses.clone();
                }
                Ok((plan, key))
            }
        }
    }

    /// The CA a door policy issues from.
    pub(crate) async fn door_policy_ca(&self, tenant_id: &str, policy: &DoorPolicy) -> Result<String> {
        match policy {
            DoorPolicy::Role(role) => Ok(self.role_for_issuance(tenant_id, role).await?.ca_id),
            DoorPolicy::Profile { ca_id, .. } => Ok(ca_id.clone()),
        }
    }

    /// The key type a door policy's role fixes (a profile leaves it to the client: `None`).
    pub(crate) async fn door_policy_key_spec(&self, tenant_id: &str, policy: &DoorPolicy) -> Result<Option<KeySpec>> {
        let DoorPolicy::Role(role) = policy else { return Ok(None) };
        let role = self.role_for_issuance(tenant_id, role).await?;
        match role.key_type.as_deref() {
            None | Some("any") => Ok(None),
            Some(t) => Ok(Some(KeySpec::from_type_and_size(t, role.key_bits.map(|b| b as u32))?)),
        }
    }
}
