//! Numbered, embedded migrations, one folder per backend with the same schema; a migration never
//! changes after it ships. On PostgreSQL an advisory lock makes nodes starting together migrate
//! one at a time.

use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::db::Backend;

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_revocation_and_lists_at_scale.sql")),
    (3, include_str!("../migrations/sqlite/0003_key_backends.sql")),
    (4, include_str!("../migrations/sqlite/0004_issuance_profiles.sql")),
    (5, include_str!("../migrations/sqlite/0005_ca_profiles.sql")),
    (6, include_str!("../migrations/sqlite/0006_audit_chain.sql")),
    (7, include_str!("../migrations/sqlite/0007_services_and_stores.sql")),
    (8, include_str!("../migrations/sqlite/0008_users.sql")),
    (9, include_str!("../migrations/sqlite/0009_api_v1_records.sql")),
    (10, include_str!("../migrations/sqlite/0010_rate_windows.sql")),
    (11, include_str!("../migrations/sqlite/0011_est.sql")),
    (12, include_str!("../migrations/sqlite/0012_certificates_by_key.sql")),
    (13, include_str!("../migrations/sqlite/0013_acme.sql")),
    (14, include_str!("../migrations/sqlite/0014_webhooks.sql")),
    (15, include_str!("../migrations/sqlite/0015_resource_metadata.sql")),
    (16, include_str!("../migrations/sqlite/0016_console.sql")),
    (17, include_str!("../migrations/sqlite/0017_vicals.sql")),
    (18, include_str!("../migrations/sqlite/0018_crl_index.sql")),
    (19, include_str!("../migrations/sqlite/0019_serial_index.sql")),
    (20, include_str!("../migrations/sqlite/0020_acme_unfinished_orders.sql")),
];

const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_revocation_and_lists_at_scale.sql")),
    (3, include_str!("../migrations/postgres/0003_key_backends.sql")),
    (4, include_str!("../migrations/postgres/0004_issuance_profiles.sql")),
    (5, include_str!("../migrations/postgres/0005_ca_profiles.sql")),
    (6, include_str!("../migrations/postgres/0006_audit_chain.sql")),
    (7, include_str!("../migrations/postgres/0007_services_and_stores.sql")),
    (8, include_str!("../migrations/postgres/0008_users.sql")),
    (9, include_str!("../migrations/postgres/0009_api_v1_records.sql")),
    (10, include_str!("../migrations/postgres/0010_rate_windows.sql")),
    (11, include_str!("../migrations/postgres/0011_est.sql")),
    (12, include_str!("../migrations/postgres/0012_certificates_by_key.sql")),
    (13, include_str!("../migrations/postgres/0013_acme.sql")),
    (14, include_str!("../migrations/postgres/0014_webhooks.sql")),
    (15, include_str!("../migrations/postgres/0015_resource_metadata.sql")),
    (16, include_str!("../migrations/postgres/0016_console.sql")),
    (17, include_str!("../migrations/postgres/0017_vicals.sql")),
    (18, include_str!("../migrations/postgres/0018_crl_index.sql")),
    (19, include_str!("../migrations/postgres/0019_serial_index.sql")),
    (20, include_str!("../migrations/postgres/0020_acme_unfinished_orders.sql")),
];

/// Key of the PostgreSQL advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x4345_5254_5553; // "CERTUS"

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> crate::error::Result<()> {
    let mut conn = pool.acquire().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    let result = apply(&mut conn, backend).await;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    result
}

async fn apply(conn: &mut AnyConnection, backend: Backend) -> crate::error::Result<()> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS certus_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let migrations = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    for (version, sql) in migrations {
        let mut tx = conn.begin().await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT version FROM certus_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        sqlx::query("INSERT INTO certus_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
