//! The store over sqlx's `Any` driver: SQLite (embedded default: one file in the data directory,
//! WAL, synchronous=FULL) or PostgreSQL, with the same SQL for both.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Arguments, Encode, Executor, Row, Type};

use crate::issuance::{DoorId, IssuanceRecord};
use crate::records::*;
use crate::{Error, Result, conflict_on_unique, migrate};

/// Which database is behind the `Any` pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQL text with `$n` placeholders and its arguments, built together so numbering and binding
/// cannot drift. (sqlx's own `QueryBuilder` writes `?` for `Any`, which PostgreSQL rejects.)
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), args: AnyArguments::default(), count: 0 }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(crate) fn bind<'q, T: Encode<'q, Any> + Type<Any> + 'q>(&mut self, value: T) -> &mut Self {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        // Encoding into Any's buffer only fails for types Any cannot carry, which do not compile.
        let _ = self.args.add(value);
        self
    }

    /// `(v, v, ...), (v, ...)`: one parenthesised group per row, `bind_row` binding its values.
    pub(crate) fn values<R>(&mut self, rows: &[R], mut bind_row: impl FnMut(&mut ValuesRow<'_>, &R)) -> &mut Self {
        self.push(" VALUES ");
        for (i, row) in rows.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            bind_row(&mut ValuesRow { sql: self, first: true }, row);
            self.push(")");
        }
        self
    }

    pub(crate) fn build(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
    }
}

pub(crate) struct ValuesRow<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl ValuesRow<'_> {
    pub(crate) fn bind<'q, T: Encode<'q, Any> + Type<Any> + 'q>(&mut self, value: T) -> &mut Self {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql.bind(value);
        self
    }
}

/// Queries assembled only from the column constants below, never from input.
macro_rules! sql {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    crl_locks: crate::crl_build::LocalLocks,
    issuance: tokio::sync::mpsc::Sender<crate::group_commit::Job>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn join(list: &[String]) -> String {
    list.join("\n")
}

fn split(text: String) -> Vec<String> {
    if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_owned).collect() }
}

impl Store {
    /// Opens (creating if needed) the SQLite database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config("database URL must start with sqlite: or postgres:".into()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // FULL: an acknowledged write survives power loss, not only a crash.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                      PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        migrate::run(&pool, backend).await?;
        let issuance = crate::group_commit::spawn(pool.clone());
        Ok(Store { pool, backend, issuance, crl_locks: Default::default() })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- organisations, tenants, tokens ----

    /// Creates the first organisation, tenant and superuser token in one transaction. Returns
    /// false (and writes nothing) when the database already holds an organisation, so that
    /// several nodes sharing a database bootstrap exactly once.
    pub async fn bootstrap(&self, org_name: &str, tenant: &TenantRow, token: &TokenRow) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
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

    pub async fn insert_tenant(&self, tenant: &TenantRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_tenant(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_tenant(&self, id: &str) -> Result<TenantRow> {
        sqlx::query("SELECT id, org_id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| tenant_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        let rows = sqlx::query("SELECT id, org_id, name, created_at FROM tenants ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_row).collect()
    }

    pub async fn insert_token(&self, token: &TokenRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_token(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_token(&self, id: &str) -> Result<TokenRow> {
        sqlx::query(sql!("{TOKEN_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| token_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(sql!("{TOKEN_COLUMNS} ORDER BY created_at, id")).fetch_all(&self.pool).await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn revoke_token(&self, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- keys ----

    pub async fn get_key(&self, tenant_id: &str, id: &str) -> Result<KeyRow> {
        sqlx::query(
            "SELECT id, tenant_id, spec, backend, sealed, created_at FROM keys WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| -> Result<KeyRow> {
            Ok(KeyRow {
                id: r.try_get("id")?,
                tenant_id: r.try_get("tenant_id")?,
                spec: r.try_get("spec")?,
                backend: r.try_get("backend")?,
                sealed: r.try_get("sealed")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()?
        .ok_or(Error::NotFound)
    }

    // ---- CAs and CRLs ----

    /// Records a CA Certus did not issue (given with its key): the key if new, the CA, its
    /// certificate in the inventory and the audit entry, in one transaction.
    pub async fn register_ca(&self, ca: &CaRow, key: Option<&KeyRow>, cert: &CertRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key {
            insert_key(&mut tx, key).await?;
        }
        crate::issuance::insert_ca_row(&mut tx, ca).await?;
        insert_certificate(&mut tx, cert).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_ca(&self, tenant_id: &str, id: &str) -> Result<CaRow> {
        sqlx::query(sql!("{CA_COLUMNS} WHERE c.tenant_id = $1 AND c.id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| ca_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// For the public CRL and CA-certificate downloads, which carry no token: CA ids are random
    /// and globally unique, and what they expose is public by design.
    pub async fn get_ca_public(&self, id: &str) -> Result<CaRow> {
        sqlx::query(sql!("{CA_COLUMNS} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| ca_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    pub async fn list_cas(&self, tenant_id: &str) -> Result<Vec<CaRow>> {
        let rows = sqlx::query(sql!("{CA_COLUMNS} WHERE c.tenant_id = $1 ORDER BY c.created_at, c.id"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ca_row).collect()
    }

    /// Sets (or clears) a CA's default issuance profile.
    pub async fn set_ca_profile(&self, tenant_id: &str, ca_id: &str, profile_id: Option<&str>) -> Result<()> {
        let done = sqlx::query("UPDATE cas SET profile_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(profile_id)
            .bind(tenant_id)
            .bind(ca_id)
            .execute(&self.pool)
            .await?;
        crate::found(&done)
    }

    /// Ids of CAs whose stored CRL is missing or was produced before `stale_before`.
    pub async fn cas_with_stale_crl(&self, stale_before: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM cas c LEFT JOIN crls r ON r.ca_id = c.id \
             WHERE r.ca_id IS NULL OR r.this_update < $1",
        )
        .bind(stale_before)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The stored complete CRL (`delta` false) or delta CRL (`delta` true) of a CA.
    pub async fn get_crl(&self, ca_id: &str, delta: bool) -> Result<Option<CrlRow>> {
        let query = if delta {
            "SELECT ca_id, crl_number, der, this_update, next_update, epoch, base_number FROM delta_crls WHERE ca_id = $1"
        } else {
            "SELECT ca_id, crl_number, der, this_update, next_update, epoch, NULL AS base_number FROM crls WHERE ca_id = $1"
        };
        sqlx::query(query)
            .bind(ca_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| -> Result<CrlRow> {
                Ok(CrlRow {
                    ca_id: r.try_get("ca_id")?,
                    crl_number: r.try_get("crl_number")?,
                    der: r.try_get("der")?,
                    this_update: r.try_get("this_update")?,
                    next_update: r.try_get("next_update")?,
                    epoch: r.try_get("epoch")?,
                    base_number: r.try_get("base_number")?,
                })
            })
            .transpose()
    }

    /// Keeps the CRL with the highest number, so concurrent rebuilds never go backwards.
    pub async fn store_crl(&self, crl: &CrlRow) -> Result<()> {
        store_crl(&self.pool, crl).await
    }

    /// Starts building a CRL for `ca_id`; see [`crate::CrlBuild`].
    pub async fn begin_crl_build(&self, ca_id: &str) -> Result<crate::CrlBuild> {
        crate::crl_build::begin(&self.pool, self.backend, &self.crl_locks, ca_id).await
    }
}

pub(crate) async fn store_crl<'e, E: Executor<'e, Database = Any>>(executor: E, crl: &CrlRow) -> Result<()> {
    let query = match crl.base_number {
        None => {
            "INSERT INTO crls (ca_id, crl_number, der, this_update, next_update, epoch) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (ca_id) DO UPDATE SET crl_number = excluded.crl_number, der = excluded.der, \
                 this_update = excluded.this_update, next_update = excluded.next_update, epoch = excluded.epoch \
                 WHERE excluded.crl_number > crls.crl_number"
        }
        Some(_) => {
            "INSERT INTO delta_crls (ca_id, crl_number, der, this_update, next_update, epoch, base_number) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (ca_id) DO UPDATE SET crl_number = excluded.crl_number, der = excluded.der, \
                 this_update = excluded.this_update, next_update = excluded.next_update, epoch = excluded.epoch, \
                 base_number = excluded.base_number WHERE excluded.crl_number > delta_crls.crl_number"
        }
    };
    let mut q = sqlx::query(query)
        .bind(&crl.ca_id)
        .bind(crl.crl_number)
        .bind(&crl.der)
        .bind(crl.this_update)
        .bind(crl.next_update)
        .bind(crl.epoch);
    if let Some(base) = crl.base_number {
        q = q.bind(base);
    }
    q.execute(executor).await?;
    Ok(())
}

impl Store {
    /// Certificates of a CA revoked at or after `since` that have not yet expired at `now`
    /// (RFC 5280 §3.3 lets expired entries drop off the CRL). `since` 0 gives a complete CRL's
    /// entries; a later time, a delta CRL's. Reads the (issuer_ca_id, revoked_at) index range.
    pub async fn revoked_for_ca(&self, ca_id: &str, since: i64, now: i64) -> Result<Vec<RevokedEntry>> {
        revoked_for_ca(&self.pool, ca_id, since, now).await
    }

    // ---- roles ----

    pub async fn insert_role(&self, role: &RoleRow) -> Result<()> {
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
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("a role with this name"))?;
        Ok(())
    }

    pub async fn update_role(&self, role: &RoleRow) -> Result<()> {
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
        .execute(&self.pool)
        .await?;
        crate::found(&done)
    }

    pub async fn get_role(&self, tenant_id: &str, name: &str) -> Result<RoleRow> {
        sqlx::query(sql!("{ROLE_COLUMNS} WHERE tenant_id = $1 AND name = $2"))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| role_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    pub async fn list_roles(&self, tenant_id: &str) -> Result<Vec<RoleRow>> {
        let rows = sqlx::query(sql!("{ROLE_COLUMNS} WHERE tenant_id = $1 ORDER BY name"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(role_row).collect()
    }

    pub async fn delete_role(&self, tenant_id: &str, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        crate::found(&done)
    }

    // ---- issuance profiles ----

    pub async fn insert_profile(&self, p: &ProfileRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO profiles (tenant_id, id, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.tenant_id)
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.body)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("a profile with this id"))?;
        Ok(())
    }

    pub async fn update_profile(&self, p: &ProfileRow) -> Result<()> {
        let done =
            sqlx::query("UPDATE profiles SET name = $3, body = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
                .bind(&p.tenant_id)
                .bind(&p.id)
                .bind(&p.name)
                .bind(&p.body)
                .bind(p.updated_at)
                .execute(&self.pool)
                .await?;
        crate::found(&done)
    }

    pub async fn get_profile(&self, tenant_id: &str, id: &str) -> Result<ProfileRow> {
        sqlx::query(sql!("{PROFILE_COLUMNS} WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| profile_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    pub async fn list_profiles(&self, tenant_id: &str) -> Result<Vec<ProfileRow>> {
        let rows = sqlx::query(sql!("{PROFILE_COLUMNS} WHERE tenant_id = $1 ORDER BY id"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(profile_row).collect()
    }

    /// Deletes a profile unless a role still names it (then `Conflict`), atomically.
    pub async fn delete_profile(&self, tenant_id: &str, id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
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
        crate::found(&done)?;
        tx.commit().await?;
        Ok(())
    }

    // ---- certificates ----

    /// Stores an issued or imported certificate and, if kept, its sealed key, atomically.
    pub async fn insert_certificate(&self, cert: &CertRow, key: Option<&KeyRow>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key {
            insert_key(&mut tx, key).await?;
        }
        insert_certificate(&mut tx, cert).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an issuance whole (certificate, kept key, new CA, the door's record, audit entry)
    /// through group commit: returns once the batch holding it is durably committed, with the
    /// door's integer id if it numbers its records.
    pub async fn record_issuance(&self, record: IssuanceRecord) -> Result<(IssuanceRecord, DoorId)> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job = crate::group_commit::Job { record, done };
        self.issuance.send(job).await.map_err(|_| Error::Commit("writer stopped".into()))?;
        result.await.map_err(|_| Error::Commit("writer stopped".into()))?
    }

    pub async fn get_certificate(&self, tenant_id: &str, id: &str) -> Result<CertRow> {
        sqlx::query(sql!("{CERT_COLUMNS} WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| cert_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// Certificates of the tenant with this serial (normally one; imports may collide).
    pub async fn certificates_by_serial(&self, tenant_id: &str, serial: &str) -> Result<Vec<CertRow>> {
        let rows = sqlx::query(sql!("{CERT_COLUMNS} WHERE tenant_id = $1 AND serial = $2 ORDER BY created_at"))
            .bind(tenant_id)
            .bind(serial)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(cert_row).collect()
    }

    pub async fn list_certificates(&self, tenant_id: &str, q: &CertQuery) -> Result<Vec<CertRow>> {
        let mut sql = Sql::new(CERT_COLUMNS);
        sql.push(" WHERE tenant_id = ").bind(tenant_id.to_owned());
        if let Some(ca) = &q.issuer_ca_id {
            sql.push(" AND issuer_ca_id = ").bind(ca.clone());
        }
        if let Some(before) = q.not_after_before {
            sql.push(" AND not_after <= ").bind(before);
            sql.push(" AND not_after > ").bind(q.now);
        }
        if !q.include_revoked {
            sql.push(" AND revoked_at IS NULL");
        }
        let (column, before, direction) = match q.order {
            CertOrder::Newest => ("created_at", "<", "DESC"),
            CertOrder::ExpiringFirst => ("not_after", ">", "ASC"),
        };
        if let Some((key, id)) = &q.after {
            sql.push(&format!(" AND ({column} {before} ")).bind(*key);
            sql.push(&format!(" OR ({column} = ")).bind(*key);
            sql.push(&format!(" AND id {before} ")).bind(id.clone());
            sql.push("))");
        }
        sql.push(&format!(" ORDER BY {column} {direction}, id {direction} LIMIT ")).bind(q.limit);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(cert_row).collect()
    }

    /// Marks a certificate revoked and bumps its CA's revocation epoch, in one transaction.
    /// Returns false if it already was revoked (nothing is changed).
    pub async fn revoke_certificate(&self, tenant_id: &str, id: &str, at: i64, reason: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2 \
             WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(reason)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE cas SET revocation_epoch = revocation_epoch + 1 \
             WHERE id = (SELECT issuer_ca_id FROM certificates WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every CA of every tenant: the OCSP responder maps CertIDs to issuers across tenants.
    pub async fn all_cas(&self) -> Result<Vec<CaRow>> {
        let rows = sqlx::query(sql!("{CA_COLUMNS} ORDER BY c.created_at, c.id")).fetch_all(&self.pool).await?;
        rows.iter().map(ca_row).collect()
    }

    /// Certificates this CA has signed (an index range count; only for views, not hot paths).
    pub async fn count_issued(&self, ca_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM certificates WHERE issuer_ca_id = $1")
            .bind(ca_id)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn count_cas(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cas").fetch_one(&self.pool).await?)
    }

    /// Changes whenever a certificate of the CA is revoked.
    pub async fn revocation_epoch(&self, ca_id: &str) -> Result<i64> {
        revocation_epoch(&self.pool, ca_id).await
    }

    pub async fn serial_status(&self, issuer_ca_id: &str, serial: &str) -> Result<SerialStatus> {
        let row = sqlx::query(
            "SELECT revoked_at, revocation_reason FROM certificates WHERE issuer_ca_id = $1 AND serial = $2",
        )
        .bind(issuer_ca_id)
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => SerialStatus::Unknown,
            Some(r) => match r.try_get::<Option<i64>, _>("revoked_at")? {
                None => SerialStatus::Good,
                Some(at) => SerialStatus::Revoked {
                    at,
                    reason: r.try_get::<Option<String>, _>("revocation_reason")?.unwrap_or_default(),
                },
            },
        })
    }

    pub async fn get_responder(&self, ca_id: &str) -> Result<Option<ResponderRow>> {
        sqlx::query("SELECT ca_id, key_id, cert_der, not_after, created_at FROM ocsp_responders WHERE ca_id = $1")
            .bind(ca_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| -> Result<ResponderRow> {
                Ok(ResponderRow {
                    ca_id: r.try_get("ca_id")?,
                    key_id: r.try_get("key_id")?,
                    cert_der: r.try_get("cert_der")?,
                    not_after: r.try_get("not_after")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .transpose()
    }

    /// Clears a certificateHold revocation (and bumps the CA's revocation epoch), atomically.
    /// False if the certificate is not on hold.
    pub async fn release_hold(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = NULL, revocation_reason = NULL \
             WHERE tenant_id = $1 AND id = $2 AND revocation_reason = 'certificate_hold'",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE cas SET revocation_epoch = revocation_epoch + 1 \
             WHERE id = (SELECT issuer_ca_id FROM certificates WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revocation state of a serial issued by one of our CAs: `None` if unknown.
    pub async fn revocation_of(&self, issuer_ca_id: &str, serial: &str) -> Result<Option<Option<i64>>> {
        let row = sqlx::query("SELECT revoked_at FROM certificates WHERE issuer_ca_id = $1 AND serial = $2")
            .bind(issuer_ca_id)
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<Option<i64>, _>("revoked_at").map_err(Error::from)).transpose()
    }

    // ---- CSRs ----

    pub async fn insert_csr(&self, csr: &CsrRow, key: Option<&KeyRow>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key {
            insert_key(&mut tx, key).await?;
        }
        sqlx::query(
            "INSERT INTO csrs (id, tenant_id, csr_der, common_name, sans, key_type, key_bits, status, reject_reason, \
             key_id, certificate_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&csr.id)
        .bind(&csr.tenant_id)
        .bind(&csr.csr_der)
        .bind(&csr.common_name)
        .bind(join(&csr.sans))
        .bind(&csr.key_type)
        .bind(csr.key_bits)
        .bind(&csr.status)
        .bind(&csr.reject_reason)
        .bind(&csr.key_id)
        .bind(&csr.certificate_id)
        .bind(csr.created_at)
        .bind(csr.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_csr(&self, tenant_id: &str, id: &str) -> Result<CsrRow> {
        sqlx::query(
            "SELECT id, tenant_id, csr_der, common_name, sans, key_type, key_bits, status, reject_reason, key_id, \
             certificate_id, created_at, updated_at FROM csrs WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| csr_row(&r))
        .transpose()?
        .ok_or(Error::NotFound)
    }

    /// Moves a CSR from `from` to `to` status; false if it was not in `from` (a concurrent
    /// decision won).
    pub async fn transition_csr(
        &self,
        tenant_id: &str,
        id: &str,
        from: &str,
        to: &str,
        reason: Option<&str>,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE csrs SET status = $1, reject_reason = $2, updated_at = $3 \
             WHERE tenant_id = $4 AND id = $5 AND status = $6",
        )
        .bind(to)
        .bind(reason)
        .bind(at)
        .bind(tenant_id)
        .bind(id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- trust anchors ----

    pub async fn insert_trust_anchor(&self, ta: &TrustAnchorRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO trust_anchors (id, tenant_id, name, cert_der, subject, not_after, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&ta.id)
        .bind(&ta.tenant_id)
        .bind(&ta.name)
        .bind(&ta.cert_der)
        .bind(&ta.subject)
        .bind(ta.not_after)
        .bind(ta.created_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("a trust anchor with this name"))?;
        Ok(())
    }

    pub async fn list_trust_anchors(&self, tenant_id: &str) -> Result<Vec<TrustAnchorRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, cert_der, subject, not_after, created_at FROM trust_anchors \
             WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TrustAnchorRow {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    name: r.try_get("name")?,
                    cert_der: r.try_get("cert_der")?,
                    subject: r.try_get("subject")?,
                    not_after: r.try_get("not_after")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn delete_trust_anchor(&self, tenant_id: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM trust_anchors WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        crate::found(&done)
    }

    // ---- audit ----

    /// Re-checks the audit log's hash chain from the first entry to the head.
    pub async fn verify_audit_chain(&self) -> Result<crate::AuditCheck> {
        crate::audit_chain::verify(&self.pool).await
    }

    pub async fn append_audit(&self, entry: &AuditRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) type Tx<'a> = sqlx::Transaction<'a, Any>;

pub(crate) async fn revocation_epoch<'e, E: Executor<'e, Database = Any>>(executor: E, ca_id: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT revocation_epoch FROM cas WHERE id = $1")
        .bind(ca_id)
        .fetch_optional(executor)
        .await?
        .ok_or(Error::NotFound)
}

pub(crate) async fn revoked_for_ca<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    ca_id: &str,
    since: i64,
    now: i64,
) -> Result<Vec<RevokedEntry>> {
    let rows = sqlx::query(
        "SELECT serial, revoked_at, revocation_reason FROM certificates \
         WHERE issuer_ca_id = $1 AND revoked_at >= $2 AND not_after > $3 ORDER BY revoked_at, serial",
    )
    .bind(ca_id)
    .bind(since)
    .bind(now)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RevokedEntry {
                serial: r.try_get("serial")?,
                revoked_at: r.try_get("revoked_at")?,
                reason: r.try_get::<Option<String>, _>("revocation_reason")?.unwrap_or_default(),
            })
        })
        .collect()
}

pub(crate) async fn insert_audit(tx: &mut Tx<'_>, entry: &AuditRow) -> Result<()> {
    insert_audits(tx, &[entry]).await
}

/// Appends audit entries to the hash chain.
pub(crate) async fn insert_audits(tx: &mut Tx<'_>, entries: &[&AuditRow]) -> Result<()> {
    crate::audit_chain::append(tx, entries).await
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

pub(crate) async fn insert_key(tx: &mut Tx<'_>, k: &KeyRow) -> Result<()> {
    insert_keys(tx, &[k]).await
}

pub(crate) async fn insert_keys(tx: &mut Tx<'_>, keys: &[&KeyRow]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("INSERT INTO keys (id, tenant_id, spec, backend, sealed, created_at)");
    sql.values(keys, |row, k| {
        row.bind(k.id.clone())
            .bind(k.tenant_id.clone())
            .bind(k.spec.clone())
            .bind(k.backend.clone())
            .bind(k.sealed.clone())
            .bind(k.created_at);
    });
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn insert_certificate(tx: &mut Tx<'_>, c: &CertRow) -> Result<()> {
    insert_certificates(tx, &[c]).await
}

/// One multi-row INSERT for any number of certificates.
pub(crate) async fn insert_certificates(tx: &mut Tx<'_>, certs: &[&CertRow]) -> Result<()> {
    if certs.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(
        "INSERT INTO certificates (id, tenant_id, issuer_ca_id, serial, common_name, sans, not_before, not_after, \
         cert_der, chain_pem, key_id, role_name, source, revoked_at, revocation_reason, created_at)",
    );
    sql.values(certs, |row, c| {
        row.bind(c.id.clone())
            .bind(c.tenant_id.clone())
            .bind(c.issuer_ca_id.clone())
            .bind(c.serial.clone())
            .bind(c.common_name.clone())
            .bind(join(&c.sans))
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(c.cert_der.clone())
            .bind(c.chain_pem.clone())
            .bind(c.key_id.clone())
            .bind(c.role_name.clone())
            .bind(c.source.clone())
            .bind(c.revoked_at)
            .bind(c.revocation_reason.clone())
            .bind(c.created_at);
    });
    sql.build().execute(&mut **tx).await.map_err(conflict_on_unique("a certificate with this issuer and serial"))?;
    Ok(())
}

const TOKEN_COLUMNS: &str =
    "SELECT id, tenant_id, name, secret_hash, scopes, superuser, created_at, revoked_at FROM api_tokens";

pub(crate) const CA_COLUMNS: &str = "SELECT c.id, c.tenant_id, c.name, c.common_name, c.ca_type, c.parent_ca_id, c.key_id, \
     c.key_type, c.key_size, c.cert_der, c.serial, c.valid_from, c.valid_until, c.is_active, c.created_at, c.profile_id, \
     CASE WHEN EXISTS (SELECT 1 FROM certificates x WHERE x.issuer_ca_id = c.parent_ca_id AND x.serial = c.serial \
             AND x.revoked_at IS NOT NULL) THEN 1 ELSE 0 END AS revoked, \
     (SELECT k.backend FROM keys k WHERE k.id = c.key_id) AS key_store FROM cas c";

const ROLE_COLUMNS: &str = "SELECT tenant_id, name, ca_id, allowed_domains, allow_subdomains, allow_ip_sans, \
     max_ttl_secs, key_type, key_bits, require_cn, store_private_keys, created_at, updated_at, profile_id FROM roles";

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

const CERT_COLUMNS: &str = "SELECT id, tenant_id, issuer_ca_id, serial, common_name, sans, not_before, not_after, \
     cert_der, chain_pem, key_id, role_name, source, revoked_at, revocation_reason, created_at FROM certificates";

fn flag(r: &AnyRow, col: &str) -> Result<bool> {
    Ok(r.try_get::<i64, _>(col)? != 0)
}

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

pub(crate) fn ca_row(r: &AnyRow) -> Result<CaRow> {
    Ok(CaRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        common_name: r.try_get("common_name")?,
        ca_type: r.try_get("ca_type")?,
        parent_ca_id: r.try_get("parent_ca_id")?,
        key_id: r.try_get("key_id")?,
        key_type: r.try_get("key_type")?,
        key_size: r.try_get("key_size")?,
        cert_der: r.try_get("cert_der")?,
        serial: r.try_get("serial")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        is_active: flag(r, "is_active")?,
        created_at: r.try_get("created_at")?,
        revoked: flag(r, "revoked")?,
        key_store: r.try_get("key_store")?,
        profile_id: r.try_get("profile_id")?,
    })
}

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

pub(crate) fn cert_row(r: &AnyRow) -> Result<CertRow> {
    Ok(CertRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        issuer_ca_id: r.try_get("issuer_ca_id")?,
        serial: r.try_get("serial")?,
        common_name: r.try_get("common_name")?,
        sans: split(r.try_get("sans")?),
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        cert_der: r.try_get("cert_der")?,
        chain_pem: r.try_get("chain_pem")?,
        key_id: r.try_get("key_id")?,
        role_name: r.try_get("role_name")?,
        source: r.try_get("source")?,
        revoked_at: r.try_get("revoked_at")?,
        revocation_reason: r.try_get("revocation_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

fn csr_row(r: &AnyRow) -> Result<CsrRow> {
    Ok(CsrRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        csr_der: r.try_get("csr_der")?,
        common_name: r.try_get("common_name")?,
        sans: split(r.try_get("sans")?),
        key_type: r.try_get("key_type")?,
        key_bits: r.try_get("key_bits")?,
        status: r.try_get("status")?,
        reject_reason: r.try_get("reject_reason")?,
        key_id: r.try_get("key_id")?,
        certificate_id: r.try_get("certificate_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}
