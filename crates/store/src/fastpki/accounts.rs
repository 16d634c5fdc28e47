//! Service accounts of the /api/v1 front door, their tokens and issuance policies.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, conflict_on_unique, found};
use crate::records::AuditRow;
use crate::store::Store;

/// A /api/v1 service account: a non-human principal of one organisation.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountRow {
    /// Its id.
    pub id: i64,
    /// The organisation it belongs to.
    pub org_id: String,
    /// The organisation's /api/v1 id (read only).
    pub org_num: Option<i64>,
    /// Its name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// May create CAs.
    pub can_create_ca: bool,
    /// May issue certificates.
    pub can_create_cert: bool,
    /// May revoke certificates.
    pub can_revoke_cert: bool,
    /// May export private keys.
    pub can_export_private_key: bool,
    /// May delete CAs.
    pub can_delete_ca: bool,
    /// The /api/v1 user who made it.
    pub created_by_user_id: Option<i64>,
    /// When it was disabled, if it is.
    pub disabled_at: Option<i64>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// A service-account token: only an HMAC of its secret is stored.
#[derive(Debug, Clone, Default)]
pub struct ServiceTokenRow {
    /// Its id.
    pub id: i64,
    /// The service account it belongs to.
    pub service_account_id: i64,
    /// The public half of the token, to find it by.
    pub public_id: String,
    /// Hex HMAC of the secret; the secret itself is never stored.
    pub digest: String,
    /// Its name.
    pub name: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it was last used.
    pub last_used_at: Option<i64>,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

const ACCOUNT_COLUMNS: &str = "SELECT a.id, a.org_id, (SELECT o.id FROM v1_organizations o WHERE o.org_id = a.org_id) \
     AS org_num, a.name, a.description, a.can_create_ca, a.can_create_cert, a.can_revoke_cert, \
     a.can_export_private_key, a.can_delete_ca, a.created_by_user_id, a.disabled_at, a.created_at, a.updated_at \
     FROM v1_service_accounts a";

const TOKEN_COLUMNS: &str = "SELECT id, service_account_id, public_id, digest, name, created_at, last_used_at, \
     expires_at, revoked FROM v1_service_account_tokens";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds $1..$8 of an insert or update: name, description, the five capability flags and
/// disabled_at, in that order.
fn bind_account<'q>(q: AnyQuery<'q>, a: &'q ServiceAccountRow) -> AnyQuery<'q> {
    q.bind(&a.name)
        .bind(&a.description)
        .bind(i64::from(a.can_create_ca))
        .bind(i64::from(a.can_create_cert))
        .bind(i64::from(a.can_revoke_cert))
        .bind(i64::from(a.can_export_private_key))
        .bind(i64::from(a.can_delete_ca))
        .bind(a.disabled_at)
}

fn account_of(r: &AnyRow) -> Result<ServiceAccountRow> {
    let flag = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
    Ok(ServiceAccountRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        org_num: r.try_get("org_num")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        can_create_ca: flag("can_create_ca")?,
        can_create_cert: flag("can_create_cert")?,
        can_revoke_cert: flag("can_revoke_cert")?,
        can_export_private_key: flag("can_export_private_key")?,
        can_delete_ca: flag("can_delete_ca")?,
        created_by_user_id: r.try_get("created_by_user_id")?,
        disabled_at: r.try_get("disabled_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn token_of(r: &AnyRow) -> Result<ServiceTokenRow> {
    Ok(ServiceTokenRow {
        id: r.try_get("id")?,
        service_account_id: r.try_get("service_account_id")?,
        public_id: r.try_get("public_id")?,
        digest: r.try_get("digest")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
    })
}

impl Store {
    /// Stores a service account, with its audit entry.
    pub async fn insert_service_account(&self, a: &ServiceAccountRow, audit: &AuditRow) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let row = bind_account(
            sqlx::query(
                "INSERT INTO v1_service_accounts (name, description, can_create_ca, can_create_cert, \
                 can_revoke_cert, can_export_private_key, can_delete_ca, disabled_at, org_id, created_by_user_id, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            ),
            a,
        )
        .bind(&a.org_id)
        .bind(a.created_by_user_id)
        .bind(a.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_on_unique("a service account with this name in the organization"))?;
        let id: i64 = row.try_get("id")?;
        let audit = AuditRow { resource: format!("service_account:{id}"), ..audit.clone() };
        crate::audit::append(&mut tx, &[&audit]).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A service account.
    pub async fn get_service_account(&self, id: i64) -> Result<ServiceAccountRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        account_of(&r)
    }

    /// All service accounts, or those of one Certus organisation, in id order.
    pub async fn list_service_accounts(&self, org_id: Option<&str>) -> Result<Vec<ServiceAccountRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_COLUMNS} WHERE ($1 IS NULL OR a.org_id = $1) ORDER BY a.id"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(account_of).collect()
    }

    /// Changes a service account, with its audit entry.
    pub async fn update_service_account(&self, a: &ServiceAccountRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = bind_account(
            sqlx::query(
                "UPDATE v1_service_accounts SET name = $1, description = $2, can_create_ca = $3, \
                 can_create_cert = $4, can_revoke_cert = $5, can_export_private_key = $6, can_delete_ca = $7, \
                 disabled_at = $8, updated_at = $9 WHERE id = $10",
            ),
            a,
        )
        .bind(a.updated_at)
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a service account with this name in the organization"))?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the account with its tokens and policy.
    pub async fn delete_service_account(&self, id: i64, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM v1_service_account_tokens WHERE service_account_id = $1",
            "DELETE FROM v1_issuance_policies WHERE service_account_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        found(&sqlx::query("DELETE FROM v1_service_accounts WHERE id = $1").bind(id).execute(&mut *tx).await?)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a service-account token (its HMAC).
    pub async fn insert_service_token(&self, t: &ServiceTokenRow, audit: &AuditRow) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO v1_service_account_tokens (service_account_id, public_id, digest, name, created_at, \
             expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, 0) RETURNING id",
        )
        .bind(t.service_account_id)
        .bind(&t.public_id)
        .bind(&t.digest)
        .bind(&t.name)
        .bind(t.created_at)
        .bind(t.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A service account's tokens.
    pub async fn list_service_tokens(&self, account: i64) -> Result<Vec<ServiceTokenRow>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_COLUMNS} WHERE service_account_id = $1 ORDER BY id")))
                .bind(account)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(token_of).collect()
    }

    /// A service-account token by its public id.
    pub async fn find_service_token(&self, public_id: &str) -> Result<ServiceTokenRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_COLUMNS} WHERE public_id = $1")))
            .bind(public_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        token_of(&r)
    }

    /// Records that a token was used.
    pub async fn touch_service_token(&self, id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE v1_service_account_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes a service-account token.
    pub async fn revoke_service_token(&self, account: i64, id: i64, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE v1_service_account_tokens SET revoked = 1 WHERE service_account_id = $1 AND id = $2")
                .bind(account)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account's issuance policy (JSON), if it has one.
    pub async fn get_issuance_policy(&self, account: i64) -> Result<Option<(String, i64, i64)>> {
        let r =
            sqlx::query("SELECT body, created_at, updated_at FROM v1_issuance_policies WHERE service_account_id = $1")
                .bind(account)
                .fetch_optional(self.pool())
                .await?;
        r.map(|r| Ok((r.try_get("body")?, r.try_get("created_at")?, r.try_get("updated_at")?))).transpose()
    }

    /// Sets a service account's issuance policy.
    pub async fn put_issuance_policy(&self, account: i64, body: &str, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE v1_issuance_policies SET body = $1, updated_at = $2 WHERE service_account_id = $3")
                .bind(body)
                .bind(at)
                .bind(account)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO v1_issuance_policies (service_account_id, body, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(account)
            .bind(body)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a service account's issuance policy.
    pub async fn delete_issuance_policy(&self, account: i64) -> Result<()> {
        found(
            &sqlx::query("DELETE FROM v1_issuance_policies WHERE service_account_id = $1")
                .bind(account)
                .execute(self.pool())
                .await?,
        )
    }
}
