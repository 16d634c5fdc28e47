//! Organisations and membership. An /api/v1 organisation is a Certus organisation whose one
//! tenant (`default`) holds its CAs and certificates, so its native API tokens see them too.

use certus_store::{AuditRow, FastPkiOrgRow, TenantRow, UserRow};

use super::access::{actor_of, is_superuser};
use crate::error::{Error, Result};
use crate::{Authority, new_id};

impl crate::Authority {
    fn org_audit(&self, caller: &UserRow, action: &str, org: &FastPkiOrgRow, detail: String) -> AuditRow {
        AuditRow {
            at: self.now_secs(),
            tenant_id: Some(org.tenant_id.clone()),
            actor: actor_of(caller),
            action: action.to_owned(),
            resource: format!("org:{}", org.id),
            detail,
        }
    }
}

fn duplicate_name(e: certus_store::Error) -> Error {
    match e {
        certus_store::Error::Conflict(_) => Error::policy("Organization with this name already exists"),
        other => other.into(),
    }
}

impl Authority {
    pub(crate) async fn fastpki_org_or_400(&self, id: i64) -> Result<FastPkiOrgRow> {
        match self.store.get_fastpki_org(id).await {
            Err(certus_store::Error::NotFound) => Err(Error::policy(format!("Organization with ID {id} not found"))),
            other => Ok(other?),
        }
    }

    async fn fastpki_org_or_404(&self, id: i64) -> Result<FastPkiOrgRow> {
        match self.store.get_fastpki_org(id).await {
            Err(certus_store::Error::NotFound) => Err(Error::not_found("Organization not found")),
            other => Ok(other?),
        }
    }

    /// The tenant an organisation-less resource lives in: the bootstrap `default.default`.
    pub(crate) async fn bootstrap_tenant_id(&self) -> Result<String> {
        Ok(self.store.find_tenant(crate::auth::DEFAULT_ORG, crate::auth::DEFAULT_TENANT).await?.id)
    }

    /// Creates an organisation (and its tenant).
    pub async fn create_org(&self, caller: &UserRow, name: &str, description: Option<String>) -> Result<FastPkiOrgRow> {
        if !is_superuser(caller) && caller.role != "admin" {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        let name = super::clean_name("Organization name", name)?;
        if name == crate::auth::DEFAULT_ORG {
            return Err(Error::policy("Organization with this name already exists"));
        }
        let org_id = new_id("org");
        let tenant = TenantRow {
            id: new_id("tnt"),
            org_id: org_id.clone(),
            name: crate::auth::DEFAULT_TENANT.to_owned(),
            created_at: self.now_secs(),
        };
        let probe = FastPkiOrgRow { tenant_id: tenant.id.clone(), ..Default::default() };
        let audit = self.org_audit(caller, "org_create", &probe, format!("Created organization '{name}'"));
        self.store
            .insert_fastpki_org(&org_id, &name, &tenant, description.as_deref(), &audit)
            .await
            .map_err(duplicate_name)
    }

    /// Superusers see every organisation; everyone else their own, if any.
    pub async fn list_orgs(&self, caller: &UserRow) -> Result<Vec<FastPkiOrgRow>> {
        if is_superuser(caller) {
            return Ok(self.store.list_fastpki_orgs().await?);
        }
        match &caller.org_id {
            Some(org) => Ok(self.store.fastpki_org_of(org).await.map(|o| vec![o]).unwrap_or_default()),
            None => Ok(vec![]),
        }
    }

    /// Members and superusers only; a non-member is refused before existence is checked, so
    /// ids cannot be probed.
    pub async fn read_org(&self, caller: &UserRow, id: i64) -> Result<FastPkiOrgRow> {
        if !is_superuser(caller) && caller.org_num != Some(id) {
            return Err(Error::forbidden("You don't have permission to access this organization"));
        }
        self.fastpki_org_or_404(id).await
    }

    /// Renames or redescribes an organisation.
    pub async fn update_org(
        &self,
        caller: &UserRow,
        id: i64,
        name: Option<&str>,
        description: Option<String>,
    ) -> Result<FastPkiOrgRow> {
        let admin_here = caller.role == "admin" && caller.org_num == Some(id);
        if !(is_superuser(caller) || admin_here) {
            return Err(Error::forbidden("You don't have permission to update this organization"));
        }
        let mut org = self.fastpki_org_or_404(id).await?;
        if let Some(name) = name {
            org.name = super::clean_name("Organization name", name)?;
        }
        if description.is_some() {
            org.description = description;
        }
        org.updated_at = self.now_secs();
        self.store.update_fastpki_org(&org).await.map_err(duplicate_name)?;
        self.fastpki_org_or_404(id).await
    }

    /// Deletes an organisation (its CAs stay on record for relying parties).
    pub async fn delete_org(&self, caller: &UserRow, id: i64) -> Result<()> {
        if !is_superuser(caller) {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        let org = self.fastpki_org_or_404(id).await?;
        let audit = self.org_audit(caller, "org_delete", &org, format!("Deleted organization '{}'", org.name));
        match self.store.delete_fastpki_org(&org, &audit).await {
            Err(certus_store::Error::Conflict(m)) => Err(Error::policy(m)),
            other => Ok(other?),
        }
    }

    /// Superusers add anyone; an organisation's admin adds users who belong to no organisation
    /// (never takes them from another one, which the reference allows).
    pub async fn add_org_user(&self, caller: &UserRow, id: i64, user_id: i64) -> Result<UserRow> {
        let org = self.fastpki_org_or_404(id).await?;
        let mut user = self.user_or_404(user_id).await?;
        let admin_here = caller.role == "admin" && caller.org_num == Some(id);
        let free = user.org_id.is_none() || user.org_id.as_deref() == Some(&org.org_id);
        if !(is_superuser(caller) || (admin_here && free)) {
            return Err(Error::forbidden("You don't have permission to add users to this organization"));
        }
        user.org_id = Some(org.org_id.clone());
        user.updated_at = self.now_secs();
        let audit = self.org_audit(caller, "org_add_user", &org, format!("Added user '{}'", user.username));
        self.store.update_user(&user, false, &audit).await?;
        self.user_or_404(user_id).await
    }

    /// Superusers, or an admin of the organisation removing one of its members.
    pub async fn remove_org_user(&self, caller: &UserRow, id: i64, user_id: i64) -> Result<UserRow> {
        let org = self.fastpki_org_or_404(id).await?;
        let mut user = self.user_or_404(user_id).await?;
        if !is_superuser(caller) {
            if !(caller.role == "admin" && caller.org_num == Some(id)) {
                return Err(Error::forbidden("You don't have permission to access this organization"));
            }
            if user.org_id.as_deref() != Some(&org.org_id) {
                return Err(Error::forbidden("You don't have permission to remove this user"));
            }
        }
        user.org_id = None;
        user.updated_at = self.now_secs();
        let audit = self.org_audit(caller, "org_remove_user", &org, format!("Removed user '{}'", user.username));
        self.store.update_user(&user, false, &audit).await?;
        self.user_or_404(user_id).await
    }

    /// An organisation's members.
    pub async fn list_org_users(&self, caller: &UserRow, id: i64) -> Result<Vec<UserRow>> {
        let org = self.fastpki_org_or_404(id).await?;
        if !is_superuser(caller) && caller.org_num != Some(id) {
            return Err(Error::forbidden("You don't have permission to access this organization"));
        }
        Ok(self.store.list_org_users(&org.org_id).await?)
    }
}
