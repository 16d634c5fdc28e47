//! Roles: named issuance policies bound to one CA.

use certus_kms::KeySpec;
use certus_store::RoleRow;

use crate::Authority;
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::policy::{normalize_dns_name, parse_duration};

/// A role as the API shows it.
pub type RoleView = RoleRow;

/// Fields of a role create (all set) or patch (only the `Some` ones change).
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    /// The CA.
    pub ca_id: Option<String>,
    /// Domains names must fall under.
    pub allowed_domains: Option<Vec<String>>,
    /// Whether subdomains of the allowed domains are allowed.
    pub allow_subdomains: Option<bool>,
    /// Whether IP SANs are allowed.
    pub allow_ip_sans: Option<bool>,
    /// `Some(None)` clears the cap.
    pub max_ttl: Option<Option<String>>,
    /// Key type: `rsa`, `ec` or `ed25519`.
    pub key_type: Option<Option<String>>,
    /// Required key size.
    pub key_bits: Option<Option<u32>>,
    /// Whether a commonName is required.
    pub require_cn: Option<bool>,
    /// Keep server-made keys (sealed).
    pub store_private_keys: Option<bool>,
    /// `Some(None)` detaches the profile.
    pub profile_id: Option<Option<String>>,
}

impl Authority {
    /// Creates a role.
    pub async fn create_role(&self, caller: &Caller, name: &str, fields: RolePatch) -> Result<RoleView> {
        caller.require(Scope::Admin)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 128 || name.contains('/') {
            return Err(Error::malformed("name is required (1 to 128 characters, no '/')"));
        }
        let ca_id = fields.ca_id.clone().ok_or_else(|| Error::malformed("ca_id is required"))?;
        let now = self.now_secs();
        let mut role = RoleRow {
            tenant_id: caller.tenant_id.clone(),
            name: name.to_owned(),
            ca_id,
            allowed_domains: vec![],
            allow_subdomains: false,
            allow_ip_sans: false,
            max_ttl_secs: None,
            key_type: None,
            key_bits: None,
            require_cn: true,
            store_private_keys: false,
            profile_id: None,
            created_at: now,
            updated_at: now,
        };
        apply(&mut role, fields)?;
        self.check_role_refs(&caller.tenant_id, &role).await?;
        self.store
            .insert_role(&role, &self.audit_row(caller, "role.create", name, format!("ca={}", role.ca_id)))
            .await?;
        Ok(role)
    }

    /// Changes a role.
    pub async fn update_role(&self, caller: &Caller, name: &str, fields: RolePatch) -> Result<RoleView> {
        caller.require(Scope::Admin)?;
        let mut role = self.store.get_role(&caller.tenant_id, name).await.not_found_as("role")?;
        apply(&mut role, fields)?;
        role.updated_at = self.now_secs();
        self.check_role_refs(&caller.tenant_id, &role).await?;
        let audit = self.audit_row(caller, "role.update", name, String::new());
        self.store.update_role(&role, &audit).await.not_found_as("role")?;
        self.roles.forget(&(caller.tenant_id.clone(), name.to_owned()));
        Ok(role)
    }

    /// The CA and profile a role names must exist in the tenant.
    async fn check_role_refs(&self, tenant_id: &str, role: &RoleRow) -> Result<()> {
        self.store.get_ca(tenant_id, &role.ca_id).await.not_found_as("CA")?;
        if let Some(profile) = &role.profile_id {
            self.store.get_profile(tenant_id, profile).await.not_found_as("profile")?;
        }
        Ok(())
    }

    /// A role as issuance reads it (through the short-lived cache).
    pub(crate) async fn role_for_issuance(&self, tenant_id: &str, name: &str) -> Result<RoleRow> {
        let key = (tenant_id.to_owned(), name.to_owned());
        if let Some(role) = self.roles.get(&key) {
            return Ok(role);
        }
        let role = self.store.get_role(tenant_id, name).await.not_found_as("role")?;
        self.roles.put(key, role.clone());
        Ok(role)
    }

    /// A role of the tenant.
    pub async fn get_role(&self, caller: &Caller, name: &str) -> Result<RoleView> {
        self.store.get_role(&caller.tenant_id, name).await.not_found_as("role")
    }

    /// The tenant's roles.
    pub async fn list_roles(&self, caller: &Caller) -> Result<Vec<RoleView>> {
        Ok(self.store.list_roles(&caller.tenant_id).await?)
    }

    /// Deletes a role.
    pub async fn delete_role(&self, caller: &Caller, name: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "role.delete", name, String::new());
        self.store.delete_role(&caller.tenant_id, name, &audit).await.not_found_as("role")?;
        self.roles.forget(&(caller.tenant_id.clone(), name.to_owned()));
        Ok(())
    }
}

/// Validates and applies the given fields.
fn apply(role: &mut RoleRow, f: RolePatch) -> Result<()> {
    if let Some(ca) = f.ca_id {
        role.ca_id = ca;
    }
    if let Some(domains) = f.allowed_domains {
        role.allowed_domains = domains
            .iter()
            .map(|d| {
                // Validate the pattern as a name with its globs replaced by a letter.
                normalize_dns_name(&d.replace('*', "x"))
                    .map(|_| d.trim().trim_end_matches('.').to_ascii_lowercase())
                    .map_err(|_| Error::malformed(format!("allowed_domains entry {d:?} is not a domain pattern")))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(v) = f.allow_subdomains {
        role.allow_subdomains = v;
    }
    if let Some(v) = f.allow_ip_sans {
        role.allow_ip_sans = v;
    }
    if let Some(ttl) = f.max_ttl {
        role.max_ttl_secs = ttl.as_deref().map(|t| parse_duration("max_ttl", t)).transpose()?;
    }
    if let Some(kt) = f.key_type {
        role.key_type = kt.filter(|t| t != "any");
    }
    if let Some(bits) = f.key_bits {
        role.key_bits = bits.filter(|b| *b != 0).map(i64::from);
    }
    if let Some(v) = f.require_cn {
        role.require_cn = v;
    }
    if let Some(v) = f.store_private_keys {
        role.store_private_keys = v;
    }
    if let Some(p) = f.profile_id {
        role.profile_id = p.filter(|id| !id.is_empty());
    }
    if let Some(kt) = &role.key_type {
        KeySpec::from_type_and_size(kt, role.key_bits.map(|b| b as u32))
            .map_err(|e| Error::malformed(format!("key_type/key_bits: {e}")))?;
    } else if role.key_bits.is_some() {
        return Err(Error::malformed("key_bits needs a key_type"));
    }
    Ok(())
}
