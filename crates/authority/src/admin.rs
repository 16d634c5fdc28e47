//! The superuser's tenant and token administration.

use certus_store::TenantRow;

use crate::auth::{Caller, DEFAULT_ORG, Scope, fresh_token, token_row};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, new_id};

/// A native API token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// A native API token as listed (never its secret).
#[derive(Debug, Clone)]
pub struct TokenView {
    /// Its id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Acts in every tenant.
    pub superuser: bool,
    /// When it was made.
    pub created_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Only on creation: the token itself, shown once.
    pub token: Option<String>,
}

impl TokenView {
    fn from_row(row: certus_store::TokenRow, token: Option<String>) -> Self {
        TokenView {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            superuser: row.superuser,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            token,
        }
    }
}

impl Authority {
    /// Creates a tenant.
    pub async fn create_tenant(&self, caller: &Caller, name: &str) -> Result<TenantRow> {
        caller.require_superuser()?;
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(Error::malformed("name must be 1 to 128 characters"));
        }
        let tenant = TenantRow {
            id: new_id("tnt"),
            org_id: format!("org_{DEFAULT_ORG}"),
            name: name.to_owned(),
            created_at: self.now_secs(),
        };
        let audit = self.audit_row(caller, "tenant.create", &tenant.id, format!("name={name}"));
        self.store.insert_tenant(&tenant, &audit).await?;
        Ok(tenant)
    }

    /// Every tenant.
    pub async fn list_tenants(&self, caller: &Caller) -> Result<Vec<TenantRow>> {
        caller.require_superuser()?;
        Ok(self.store.list_tenants().await?)
    }

    /// Makes a native API token; its secret is shown once.
    pub async fn create_token(&self, caller: &Caller, req: NewToken) -> Result<TokenView> {
        caller.require_superuser()?;
        if req.name.trim().is_empty() {
            return Err(Error::malformed("name must not be empty"));
        }
        if req.scopes.is_empty() {
            return Err(Error::malformed("scopes must name at least one of pki:issue, pki:admin"));
        }
        let scopes = req
            .scopes
            .iter()
            .map(|s| {
                Scope::from_name(s)
                    .ok_or_else(|| Error::malformed(format!("unknown scope {s:?}; use pki:issue or pki:admin")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.store.get_tenant(&req.tenant_id).await.not_found_as("tenant")?;
        let token = fresh_token();
        let row = token_row(&token, &req.tenant_id, req.name.trim(), &scopes, false, self.now_secs());
        let audit =
            self.audit_row(caller, "token.create", &row.id, format!("tenant={} scopes={}", row.tenant_id, row.scopes));
        self.store.insert_token(&row, &audit).await?;
        Ok(TokenView::from_row(row, Some(token)))
    }

    /// Every native API token.
    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<TokenView>> {
        caller.require_superuser()?;
        Ok(self.store.list_tokens().await?.into_iter().map(|r| TokenView::from_row(r, None)).collect())
    }

    /// Revokes a native API token.
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<TokenView> {
        caller.require_superuser()?;
        let row = self.store.get_token(id).await.not_found_as("token")?;
        // Locking everyone out is never what the caller meant.
        if row.superuser && row.revoked_at.is_none() {
            let others = self.store.list_tokens().await?;
            if !others.iter().any(|t| t.superuser && t.revoked_at.is_none() && t.id != row.id) {
                return Err(Error::conflict("this is the last superuser token; it cannot be revoked"));
            }
        }
        let audit = self.audit_row(caller, "token.revoke", id, String::new());
        let revoked = self.store.revoke_token(id, self.now_secs(), &audit).await?;
        self.tokens.forget(&id.to_owned());
        if !revoked {
            return Err(Error::conflict("token is already revoked"));
        }
        let row = self.store.get_token(&row.id).await?;
        Ok(TokenView::from_row(row, None))
    }
}
