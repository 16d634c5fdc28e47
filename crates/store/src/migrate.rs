//! Numbered, embedded migrations; a migration never changes after it ships.

use sqlx::SqlitePool;

const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_revocation_and_lists_at_scale.sql")),
];

pub async fn run(pool: &SqlitePool) -> crate::Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS certus_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .execute(pool)
        .await?;
    for (version, sql) in SQLITE_MIGRATIONS {
        let mut tx = pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM certus_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO certus_migrations (version, applied_at) VALUES ($1, strftime('%s','now'))")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
