//! Service accounts: non-human principals of one organisation, managed by its admins (and
//! superusers). They act as users with their own capability flags, through tokens of the form
//! `fpki_sa_<public_id>.<secret>` (only an HMAC of the secret is stored, compared in constant
//! time), and issue only what their issuance policy allows.

use certus_store::{AuditRow, ServiceAccountRow, ServiceTokenRow, UserRow};

use super::access::{actor_of, creator_of, is_superuser};
use super::policy::{IssuancePolicy, IssuancePolicyView, Requested};
use crate::Authority;
use crate::error::{Error, ErrorDetail, Result};

const TOKEN_PREFIX: &str = "fpki_sa_";
/// Domain separation from the other uses of the KEK's MAC key.
const TOKEN_CONTEXT: &[u8] = b"certus-api-v1-service-token\0";

/// Fields of a new or changed service account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountPatch {
    /// Its name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The organisation's /api/v1 id.
    pub organization_id: Option<i64>,
    /// Whether it is disabled.
    pub disabled: Option<bool>,
    /// May create CAs.
    pub can_create_ca: Option<bool>,
    /// May issue certificates.
    pub can_create_cert: Option<bool>,
    /// May revoke certificates.
    pub can_revoke_cert: Option<bool>,
    /// May export private keys.
    pub can_export_private_key: Option<bool>,
    /// May delete CAs.
    pub can_delete_ca: Option<bool>,
}

/// A token as listed; `token` is the secret, present once, at creation.
#[derive(Debug, Clone)]
pub struct ServiceToken {
    /// The stored record.
    pub row: ServiceTokenRow,
    /// The token, shown once.
    pub token: Option<String>,
}

fn is_admin(user: &UserRow) -> bool {
    is_superuser(user) || user.role == "admin"
}

impl Authority {
    fn digest(&self, secret: &str) -> String {
        hex::encode(self.kek.mac(&[TOKEN_CONTEXT, secret.as_bytes()].concat()))
    }

    async fn account_audit(&self, caller: &UserRow, action: &str, sa: &ServiceAccountRow, detail: String) -> AuditRow {
        let tenant_id = self.store.fastpki_org_of(&sa.org_id).await.ok().map(|o| o.tenant_id);
        AuditRow {
            at: self.now_secs(),
            tenant_id,
            actor: actor_of(caller),
            action: action.to_owned(),
            resource: format!("service_account:{}", sa.id),
            detail,
        }
    }

    /// The account if the caller manages it: superusers any, admins their organisation's
    /// (others get 404, as if it did not exist); users none (403).
    async fn managed_account(&self, caller: &UserRow, id: i64) -> Result<ServiceAccountRow> {
        if !is_admin(caller) {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        let not_found = || Error::not_found("Service account not found");
        let sa = match self.store.get_service_account(id).await {
            Err(certus_store::Error::NotFound) => return Err(not_found()),
            other => other?,
        };
        if !is_superuser(caller) && (caller.org_num.is_none() || caller.org_num != sa.org_num) {
            return Err(not_found());
        }
        Ok(sa)
    }

    /// Creates a service account.
    pub async fn create_service_account(
        &self,
        caller: &UserRow,
        req: ServiceAccountPatch,
    ) -> Result<ServiceAccountRow> {
        if !is_admin(caller) {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        let org_num = match (is_superuser(caller), req.organization_id, caller.org_num) {
            (true, Some(n), _) => n,
            (false, Some(n), own) if Some(n) != own => {
                return Err(Error::forbidden("Not enough permissions to change organization assignment"));
            }
            (_, Some(n), _) | (_, None, Some(n)) => n,
            (_, None, None) => return Err(Error::policy("organization_id is required")),
        };
        let org = self.fastpki_org_or_400(org_num).await?;
        let name = super::clean_name("name", req.name.as_deref().unwrap_or_default())?;
        let now = self.now_secs();
        let mut sa = ServiceAccountRow {
            org_id: org.org_id,
            org_num: Some(org.id),
            name,
            description: req.description,
            can_create_ca: req.can_create_ca.unwrap_or(false),
            can_create_cert: req.can_create_cert.unwrap_or(false),
            can_revoke_cert: req.can_revoke_cert.unwrap_or(false),
            can_export_private_key: req.can_export_private_key.unwrap_or(false),
            can_delete_ca: req.can_delete_ca.unwrap_or(false),
            created_by_user_id: creator_of(caller),
            disabled_at: req.disabled.unwrap_or(false).then_some(now),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let audit = self.account_audit(caller, "service_account_create", &sa, format!("Created '{}'", sa.name)).await;
        sa.id = match self.store.insert_service_account(&sa, &audit).await {
            Err(certus_store::Error::Conflict(m)) => return Err(Error::policy(format!("{m} already exists"))),
            other => other?,
        };
        Ok(sa)
    }

    /// An organisation's service accounts.
    pub async fn list_service_accounts(&self, caller: &UserRow) -> Result<Vec<ServiceAccountRow>> {
        if !is_admin(caller) {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        if is_superuser(caller) {
            return Ok(self.store.list_service_accounts(None).await?);
        }
        match &caller.org_id {
            Some(org) => Ok(self.store.list_service_accounts(Some(org)).await?),
            None => Ok(vec![]),
        }
    }

    /// A service account.
    pub async fn read_service_account(&self, caller: &UserRow, id: i64) -> Result<ServiceAccountRow> {
        self.managed_account(caller, id).await
    }

    /// Changes a service account.
    pub async fn update_service_account(
        &self,
        caller: &UserRow,
        id: i64,
        patch: ServiceAccountPatch,
    ) -> Result<ServiceAccountRow> {
        let mut sa = self.managed_account(caller, id).await?;
        if let Some(name) = patch.name {
            sa.name = super::clean_name("name", &name)?;
        }
        if patch.description.is_some() {
            sa.description = patch.description;
        }
        let now = self.now_secs();
        match patch.disabled {
            Some(true) if sa.disabled_at.is_none() => sa.disabled_at = Some(now),
            Some(false) => sa.disabled_at = None,
            _ => {}
        }
        sa.can_create_ca = patch.can_create_ca.unwrap_or(sa.can_create_ca);
        sa.can_create_cert = patch.can_create_cert.unwrap_or(sa.can_create_cert);
        sa.can_revoke_cert = patch.can_revoke_cert.unwrap_or(sa.can_revoke_cert);
        sa.can_export_private_key = patch.can_export_private_key.unwrap_or(sa.can_export_private_key);
        sa.can_delete_ca = patch.can_delete_ca.unwrap_or(sa.can_delete_ca);
        sa.updated_at = now;
        let audit = self.account_audit(caller, "service_account_update", &sa, String::new()).await;
        match self.store.update_service_account(&sa, &audit).await {
            Err(certus_store::Error::Conflict(m)) => Err(Error::policy(format!("{m} already exists"))),
            other => Ok(other.map(|_| sa)?),
        }
    }

    /// Deletes a service account.
    pub async fn delete_service_account(&self, caller: &UserRow, id: i64) -> Result<()> {
        let sa = self.managed_account(caller, id).await?;
        let audit = self.account_audit(caller, "service_account_delete", &sa, format!("Deleted '{}'", sa.name)).await;
        Ok(self.store.delete_service_account(id, &audit).await?)
    }

    /// Makes a service-account token; its secret is shown once.
    pub async fn create_service_token(
        &self,
        caller: &UserRow,
        id: i64,
        name: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<ServiceToken> {
        let sa = self.managed_account(caller, id).await?;
        if expires_at.is_some_and(|at| at <= self.now_secs()) {
            return Err(Error::policy("expires_at is in the past"));
        }
        let public_id = hex::encode(certus_kms::random_bytes::<8>());
        let secret = hex::encode(certus_kms::random_bytes::<32>());
        let mut row = ServiceTokenRow {
            service_account_id: sa.id,
            public_id: public_id.clone(),
            digest: self.digest(&secret),
            name,
            created_at: self.now_secs(),
            expires_at,
            ..Default::default()
        };
        let audit = self.account_audit(caller, "service_account_token_create", &sa, format!("token {public_id}")).await;
        row.id = self.store.insert_service_token(&row, &audit).await?;
        Ok(ServiceToken { row, token: Some(format!("{TOKEN_PREFIX}{public_id}.{secret}")) })
    }

    /// A service account's tokens.
    pub async fn list_service_tokens(&self, caller: &UserRow, id: i64) -> Result<Vec<ServiceToken>> {
        let sa = self.managed_account(caller, id).await?;
        let rows = self.store.list_service_tokens(sa.id).await?;
        Ok(rows.into_iter().map(|row| ServiceToken { row, token: None }).collect())
    }

    /// Revokes a service-account token.
    pub async fn revoke_service_token(&self, caller: &UserRow, id: i64, token_id: i64) -> Result<()> {
        let sa = self.managed_account(caller, id).await?;
        let audit = self.account_audit(caller, "service_account_token_revoke", &sa, format!("token #{token_id}")).await;
        match self.store.revoke_service_token(sa.id, token_id, &audit).await {
            Err(certus_store::Error::NotFound) => Err(Error::not_found("Token not found")),
            other => Ok(other?),
        }
    }

    /// Sets a service account's issuance policy.
    pub async fn put_issuance_policy(
        &self,
        caller: &UserRow,
        id: i64,
        body: &serde_json::Value,
    ) -> Result<IssuancePolicyView> {
        let sa = self.managed_account(caller, id).await?;
        let policy = IssuancePolicy::from_json(body)?;
        let text = serde_json::to_string(&policy).map_err(Error::internal)?;
        self.store.put_issuance_policy(sa.id, &text, self.now_secs()).await?;
        self.issuance_policy(caller, id).await
    }

    /// A service account's issuance policy.
    pub async fn issuance_policy(&self, caller: &UserRow, id: i64) -> Result<IssuancePolicyView> {
        let sa = self.managed_account(caller, id).await?;
        let (body, created_at, updated_at) =
            self.store.get_issuance_policy(sa.id).await?.ok_or_else(|| Error::not_found("Policy not found"))?;
        let policy: IssuancePolicy = serde_json::from_str(&body).map_err(Error::internal)?;
        Ok(IssuancePolicyView { policy, service_account_id: sa.id, created_at, updated_at })
    }

    /// Removes a service account's issuance policy.
    pub async fn delete_issuance_policy(&self, caller: &UserRow, id: i64) -> Result<()> {
        let sa = self.managed_account(caller, id).await?;
        match self.store.delete_issuance_policy(sa.id).await {
            Err(certus_store::Error::NotFound) => Err(Error::not_found("Policy not found")),
            other => Ok(other?),
        }
    }

    /// Whether a bearer token is a service-account token (which then must be valid).
    pub fn is_service_token(token: &str) -> bool {
        token.starts_with(TOKEN_PREFIX)
    }

    /// The principal behind a service-account token: a `user`-role row with the account's
    /// organisation and flags. Unknown, wrong, revoked and expired tokens and disabled accounts
    /// all get the same 401.
    pub async fn service_principal(&self, token: &str) -> Result<UserRow> {
        let invalid = || Error::unauthorized("Could not validate credentials");
        let (public_id, secret) =
            token.strip_prefix(TOKEN_PREFIX).and_then(|t| t.split_once('.')).ok_or_else(invalid)?;
        let row = match self.store.find_service_token(public_id).await {
            Err(certus_store::Error::NotFound) => return Err(invalid()),
            other => other?,
        };
        let now = self.now_secs();
        let presented = self.digest(secret);
        if !certus_kms::ct_eq(presented.as_bytes(), row.digest.as_bytes())
            || row.revoked
            || row.expires_at.is_some_and(|at| at <= now)
        {
            return Err(invalid());
        }
        let sa = self.store.get_service_account(row.service_account_id).await?;
        if sa.disabled_at.is_some() {
            return Err(invalid());
        }
        self.store.touch_service_token(row.id, now).await?;
        Ok(UserRow {
            id: 0,
            username: sa.name,
            role: "user".into(),
            is_active: true,
            org_id: Some(sa.org_id),
            org_num: sa.org_num,
            service_account_id: Some(sa.id),
            can_create_ca: sa.can_create_ca,
            can_create_cert: sa.can_create_cert,
            can_revoke_cert: sa.can_revoke_cert,
            can_export_private_key: sa.can_export_private_key,
            can_delete_ca: sa.can_delete_ca,
            ..Default::default()
        })
    }

    /// Service accounts issue only what their policy allows (none: 403); user tokens are not
    /// bound by policies.
    pub(crate) async fn check_issuance_policy(&self, principal: &UserRow, r: &Requested<'_>) -> Result<()> {
        let Some(sa) = principal.service_account_id else { return Ok(()) };
        let Some((body, _, _)) = self.store.get_issuance_policy(sa).await? else {
            return Err(Error::forbidden("this service account has no issuance policy")
                .with_detail(ErrorDetail::code("service_account_has_no_policy")));
        };
        let policy: IssuancePolicy = serde_json::from_str(&body).map_err(Error::internal)?;
        policy.check(r)
    }
}
