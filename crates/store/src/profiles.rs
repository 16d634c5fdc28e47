//! Issuance profiles.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, conflict_on_unique, found};
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Stores a profile.
    pub async fn insert_profile(&self, p: &ProfileRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO profiles (tenant_id, id, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.tenant_id)
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.body)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a profile with this id"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a profile.
    pub async fn update_profile(&self, p: &ProfileRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE profiles SET name = $3, body = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
                .bind(&p.tenant_id)
                .bind(&p.id)
                .bind(&p.name)
                .bind(&p.body)
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A profile of the tenant.
    pub async fn get_profile(&self, tenant_id: &str, id: &str) -> Result<ProfileRow> {
        sqlx::query(sql!("{PROFILE_COLUMNS} WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| profile_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// The tenant's profiles.
    pub async fn list_profiles(&self, tenant_id: &str) -> Result<Vec<ProfileRow>> {
        let rows = sqlx::query(sql!("{PROFILE_COLUMNS} WHERE tenant_id = $1 ORDER BY id"))
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(profile_row).collect()
    }

    /// Deletes a profile unless a role still names it (then `Conflict`), atomically.
    pub async fn delete_profile(&self, tenant_id: &str, id: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let users: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM roles WHERE tenant_id = $1 AND profile_id = $2) + \
             (SELECT COUNT(*) FROM cas WHERE tenant_id = $1 AND profile_id = $2)",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if users > 0 {
            return Err(Error::Conflict(format!("profile {id} is still used by {users} CA(s) or role(s)")));
        }
        let done = sqlx::query("DELETE FROM profiles WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}

const PROFILE_COLUMNS: &str = "SELECT tenant_id, id, name, body, created_at, updated_at FROM profiles";

fn profile_row(r: &AnyRow) -> Result<ProfileRow> {
    Ok(ProfileRow {
        tenant_id: r.try_get("tenant_id")?,
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}
