//! Issuance roles.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{flag, join, split};
use crate::error::{Error, Result, conflict_on_unique, found};
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Stores a role.
    pub async fn insert_role(&self, role: &RoleRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO roles (tenant_id, name, ca_id, allowed_domains, allow_subdomains, allow_ip_sans, max_ttl_secs, \
             key_type, key_bits, require_cn, store_private_keys, created_at, updated_at, profile_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&role.tenant_id)
        .bind(&role.name)
        .bind(&role.ca_id)
        .bind(join(&role.allowed_domains))
        .bind(role.allow_subdomains as i64)
        .bind(role.allow_ip_sans as i64)
        .bind(role.max_ttl_secs)
        .bind(&role.key_type)
        .bind(role.key_bits)
        .bind(role.require_cn as i64)
        .bind(role.store_private_keys as i64)
        .bind(role.created_at)
        .bind(role.updated_at)
        .bind(&role.profile_id)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a role with this name"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a role.
    pub async fn update_role(&self, role: &RoleRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE roles SET ca_id = $3, allowed_domains = $4, allow_subdomains = $5, allow_ip_sans = $6, \
             max_ttl_secs = $7, key_type = $8, key_bits = $9, require_cn = $10, store_private_keys = $11, updated_at = $12, \
             profile_id = $13 WHERE tenant_id = $1 AND name = $2",
        )
        .bind(&role.tenant_id)
        .bind(&role.name)
        .bind(&role.ca_id)
        .bind(join(&role.allowed_domains))
        .bind(role.allow_subdomains as i64)
        .bind(role.allow_ip_sans as i64)
        .bind(role.max_ttl_secs)
        .bind(&role.key_type)
        .bind(role.key_bits)
        .bind(role.require_cn as i64)
        .bind(role.store_private_keys as i64)
        .bind(role.updated_at)
        .bind(&role.profile_id)
        .execute(&mut *tx)
        .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A role of the tenant.
    pub async fn get_role(&self, tenant_id: &str, name: &str) -> Result<RoleRow> {
        sqlx::query(sql!("{ROLE_COLUMNS} WHERE tenant_id = $1 AND name = $2"))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .map(|r| role_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// The tenant's roles.
    pub async fn list_roles(&self, tenant_id: &str) -> Result<Vec<RoleRow>> {
        let rows = sqlx::query(sql!("{ROLE_COLUMNS} WHERE tenant_id = $1 ORDER BY name"))
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(role_row).collect()
    }

    /// Deletes a role.
    pub async fn delete_role(&self, tenant_id: &str, name: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}

const ROLE_COLUMNS: &str = "SELECT tenant_id, name, ca_id, allowed_domains, allow_subdomains, allow_ip_sans, \
     max_ttl_secs, key_type, key_bits, require_cn, store_private_keys, created_at, updated_at, profile_id FROM roles";

fn role_row(r: &AnyRow) -> Result<RoleRow> {
    Ok(RoleRow {
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        ca_id: r.try_get("ca_id")?,
        allowed_domains: split(r.try_get("allowed_domains")?),
        allow_subdomains: flag(r, "allow_subdomains")?,
        allow_ip_sans: flag(r, "allow_ip_sans")?,
        max_ttl_secs: r.try_get("max_ttl_secs")?,
        key_type: r.try_get("key_type")?,
        key_bits: r.try_get("key_bits")?,
        require_cn: flag(r, "require_cn")?,
        store_private_keys: flag(r, "store_private_keys")?,
        profile_id: r.try_get("profile_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}
