//! Organisations, tenants and API tokens.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Tx, flag};
use crate::error::{Error, Result, conflict_on_unique};
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Creates the first organisation, tenant and superuser token in one transaction. Returns
    /// false (and writes nothing) when the database already holds an organisation, so that
    /// several nodes sharing a database bootstrap exactly once.
    pub async fn bootstrap(&self, org_name: &str, tenant: &TenantRow, token: &TokenRow) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&mut *tx).await?;
        if existing > 0 {
            return Ok(false);
        }
        let inserted = sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.org_id)
            .bind(org_name)
            .bind(tenant.created_at)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Ok(false),
            other => other?,
        };
        insert_tenant(&mut tx, tenant).await?;
        insert_token(&mut tx, token).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a tenant.
    pub async fn insert_tenant(&self, tenant: &TenantRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_tenant(&mut tx, tenant).await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant.
    pub async fn get_tenant(&self, id: &str) -> Result<TenantRow> {
        sqlx::query("SELECT id, org_id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| tenant_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// Every tenant.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        let rows = sqlx::query("SELECT id, org_id, name, created_at FROM tenants ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(tenant_row).collect()
    }

    /// Stores a native API token.
    pub async fn insert_token(&self, token: &TokenRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_token(&mut tx, token).await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A native API token.
    pub async fn get_token(&self, id: &str) -> Result<TokenRow> {
        sqlx::query(sql!("{TOKEN_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| token_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// Every native API token.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(sql!("{TOKEN_COLUMNS} ORDER BY created_at, id")).fetch_all(self.pool()).await?;
        rows.iter().map(token_row).collect()
    }

    /// Revokes a native API token; false if it already was.
    pub async fn revoke_token(&self, id: &str, at: i64, audit: &AuditRow) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(crate) async fn insert_tenant(tx: &mut Tx<'_>, t: &TenantRow) -> Result<()> {
    sqlx::query("INSERT INTO tenants (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&t.id)
        .bind(&t.org_id)
        .bind(&t.name)
        .bind(t.created_at)
        .execute(&mut **tx)
        .await
        .map_err(conflict_on_unique("a tenant with this name"))?;
    Ok(())
}

async fn insert_token(tx: &mut Tx<'_>, t: &TokenRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, tenant_id, name, secret_hash, scopes, superuser, created_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&t.id)
    .bind(&t.tenant_id)
    .bind(&t.name)
    .bind(&t.secret_hash)
    .bind(&t.scopes)
    .bind(t.superuser as i64)
    .bind(t.created_at)
    .bind(t.revoked_at)
    .execute(&mut **tx)
    .await
    .map_err(conflict_on_unique("a token with this id"))?;
    Ok(())
}

const TOKEN_COLUMNS: &str =
    "SELECT id, tenant_id, name, secret_hash, scopes, superuser, created_at, revoked_at FROM api_tokens";

fn tenant_row(r: &AnyRow) -> Result<TenantRow> {
    Ok(TenantRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
    })
}

fn token_row(r: &AnyRow) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        secret_hash: r.try_get("secret_hash")?,
        scopes: r.try_get("scopes")?,
        superuser: flag(r, "superuser")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}
