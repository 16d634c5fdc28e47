//! Password accounts of the /api/v1 front door, their refresh tokens and blocked access-token
//! ids.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::found;
use crate::error::{Error, Result, conflict_on_unique};
use crate::records::AuditRow;
use crate::store::Store;

/// A /api/v1 user: argon2 password hash, organisation and capability flags.
#[derive(Debug, Clone, Default)]
pub struct UserRow {
    /// Its id.
    pub id: i64,
    /// The acting user's name, when a user acted.
    pub username: String,
    /// The email address.
    pub email: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// `superuser`, `admin` or `user`.
    pub role: String,
    /// Whether it may be used.
    pub is_active: bool,
    /// The organisation it belongs to.
    pub org_id: Option<String>,
    /// The organisation's /api/v1 id (read only; `org_id` is what is stored).
    pub org_num: Option<i64>,
    /// Set (and `id` 0) when a service account acts through this row; never stored.
    pub service_account_id: Option<i64>,
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
    /// Sessions from before this are refused.
    pub tokens_invalidated_at: Option<i64>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

const USER_COLUMNS: &str = "id, username, email, password_hash, role, is_active, org_id, \
     (SELECT o.id FROM v1_organizations o WHERE o.org_id = users.org_id) AS org_num, can_create_ca, \
     can_create_cert, can_revoke_cert, can_export_private_key, can_delete_ca, tokens_invalidated_at, created_at, \
     updated_at";

/// The window of the login rate limit.
const LOGIN_WINDOW_SECS: i64 = 60;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds $1..$10 of an insert or update: email, password hash, role, active flag, organisation
/// and the five capability flags, in that order.
fn bind_account<'q>(q: AnyQuery<'q>, u: &'q UserRow) -> AnyQuery<'q> {
    q.bind(&u.email)
        .bind(&u.password_hash)
        .bind(&u.role)
        .bind(i64::from(u.is_active))
        .bind(&u.org_id)
        .bind(i64::from(u.can_create_ca))
        .bind(i64::from(u.can_create_cert))
        .bind(i64::from(u.can_revoke_cert))
        .bind(i64::from(u.can_export_private_key))
        .bind(i64::from(u.can_delete_ca))
}

fn user_of(r: &AnyRow) -> Result<UserRow> {
    let flag = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        is_active: flag("is_active")?,
        org_id: r.try_get("org_id")?,
        org_num: r.try_get("org_num")?,
        service_account_id: None,
        can_create_ca: flag("can_create_ca")?,
        can_create_cert: flag("can_create_cert")?,
        can_revoke_cert: flag("can_revoke_cert")?,
        can_export_private_key: flag("can_export_private_key")?,
        can_delete_ca: flag("can_delete_ca")?,
        tokens_invalidated_at: r.try_get("tokens_invalidated_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// True until the first /api/v1 user exists; stays false once one has, even after every
    /// user is deleted.
    pub async fn first_user_bootstrap_open(&self) -> Result<bool> {
        let n: i64 = sqlx::query("SELECT (SELECT COUNT(*) FROM v1_first_user) + (SELECT COUNT(*) FROM users) AS n")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(n == 0)
    }

    /// Stores a new user with its audit entry; returns the assigned id. Any first user, however
    /// made, closes the first-user bootstrap for good. `first`: this is the anonymous bootstrap,
    /// which succeeds once only (Conflict afterwards).
    pub async fn insert_user(&self, u: &UserRow, audit: &AuditRow, first: bool) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        if first {
            sqlx::query("INSERT INTO v1_first_user (id) VALUES (1)")
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique("the first user"))?;
        } else {
            sqlx::query("INSERT INTO v1_first_user (id) VALUES (1) ON CONFLICT DO NOTHING").execute(&mut *tx).await?;
        }
        let row = bind_account(
            sqlx::query(
                "INSERT INTO users (email, password_hash, role, is_active, org_id, can_create_ca, can_create_cert, \
                 can_revoke_cert, can_export_private_key, can_delete_ca, username, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            ),
            u,
        )
        .bind(&u.username)
        .bind(u.created_at)
        .bind(u.updated_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_on_unique("a user with this username or email"))?;
        let id: i64 = row.try_get("id")?;
        let audit = AuditRow { resource: format!("user:{id}"), ..audit.clone() };
        crate::audit::append(&mut tx, &[&audit]).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A user by id.
    pub async fn get_user(&self, id: i64) -> Result<UserRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        user_of(&r)
    }

    /// The user with this username or, when `by_email`, this email address.
    pub async fn find_user(&self, value: &str, by_email: bool) -> Result<UserRow> {
        let column = if by_email { "email" } else { "username" };
        // Built from constants only.
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1")))
            .bind(value)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        user_of(&r)
    }

    /// Ends every session of the user: access tokens issued before `at` stop working and all
    /// refresh tokens are revoked.
    pub async fn invalidate_sessions(&self, user_id: i64, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET tokens_invalidated_at = $1, updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a refresh token (its hash).
    pub async fn insert_refresh_token(&self, token_hash: &str, user_id: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, expires_at, revoked) VALUES ($1, $2, $3, 0)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes a live refresh token and returns its user, in one statement so a token is
    /// used at most once even under concurrent refreshes.
    pub async fn take_refresh_token(&self, token_hash: &str, now: i64) -> Result<i64> {
        let r = sqlx::query(
            "UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = $1 AND revoked = 0 AND expires_at > $2 \
             RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::NotFound)?;
        Ok(r.try_get("user_id")?)
    }

    /// The owner of a refresh token (live or not).
    pub async fn refresh_token_owner(&self, token_hash: &str) -> Result<i64> {
        let r = sqlx::query("SELECT user_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(r.try_get("user_id")?)
    }

    /// Logout: blocks the access token id until it expires and revokes the refresh token.
    pub async fn end_session(&self, jti: &str, jti_expires_at: i64, refresh_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO blocked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(jti_expires_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = $1")
            .bind(refresh_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a signed-out access token is blocked.
    pub async fn is_access_token_blocked(&self, jti: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 AS one FROM blocked_access_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }
}

impl Store {
    /// Users in id order, `skip` then at most `limit`.
    /// The members of a Certus organisation, in id order.
    pub async fn list_org_users(&self, org_id: &str) -> Result<Vec<UserRow>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY id")))
                .bind(org_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(user_of).collect()
    }

    /// Users in id order, a page at a time.
    pub async fn list_users(&self, skip: i64, limit: i64) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2"
        )))
        .bind(limit)
        .bind(skip)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_of).collect()
    }

    /// Writes every changeable field of the user, with its audit entry; `end_sessions` also
    /// revokes the user's refresh tokens (password change, deactivation).
    pub async fn update_user(&self, u: &UserRow, end_sessions: bool, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = bind_account(
            sqlx::query(
                "UPDATE users SET email = $1, password_hash = $2, role = $3, is_active = $4, org_id = $5, \
                 can_create_ca = $6, can_create_cert = $7, can_revoke_cert = $8, can_export_private_key = $9, \
                 can_delete_ca = $10, tokens_invalidated_at = $11, updated_at = $12 WHERE id = $13",
            ),
            u,
        )
        .bind(u.tokens_invalidated_at)
        .bind(u.updated_at)
        .bind(u.id)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a user with this email"))?;
        found(&done)?;
        if end_sessions {
            sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1")
                .bind(u.id)
                .execute(&mut *tx)
                .await?;
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the user and its refresh tokens, with the audit entry.
    pub async fn delete_user(&self, id: i64, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Deletes refresh tokens and blocked token ids that expired before `now`: neither can
    /// matter any more (an expired access token is refused on its `exp` alone).
    pub async fn sweep_expired_sessions(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let refresh =
            sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        let blocked =
            sqlx::query("DELETE FROM blocked_access_tokens WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        let attempts = sqlx::query("DELETE FROM login_attempts WHERE at <= $1")
            .bind(now - LOGIN_WINDOW_SECS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(refresh.rows_affected() + blocked.rows_affected() + attempts.rows_affected())
    }

    /// Records a login attempt from `client` and returns how many it made in the last minute,
    /// this one included (all nodes count into the same rows).
    pub async fn count_login_attempt(&self, client: &str, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO login_attempts (client, at) VALUES ($1, $2)")
            .bind(client)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE client = $1 AND at > $2")
            .bind(client)
            .bind(now - LOGIN_WINDOW_SECS)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
