//! Operator maintenance: an online SQLite backup, and the key re-sealing a KEK rotation does.

use std::path::Path;

use sqlx::Row;

use crate::db::Backend;
use crate::error::{Error, Result};
use crate::store::Store;

impl Store {
    /// A consistent snapshot of the SQLite database in `to` (created 0600; it must not exist),
    /// taken while the server keeps serving: `VACUUM INTO` reads one transaction's view.
    /// PostgreSQL is backed up with its own tools (pg_dump), not here.
    pub async fn backup_to(&self, to: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(Error::Config("back up PostgreSQL with pg_dump (see docs/operations.md)".into()));
        }
        {
            use std::os::unix::fs::OpenOptionsExt;
            // VACUUM INTO accepts an empty file, which lets the snapshot be private from birth.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(to)
                .map_err(|e| Error::Config(format!("{}: {e}", to.display())))?;
        }
        let target = to.to_str().ok_or_else(|| Error::Config("the backup path must be UTF-8".into()))?;
        if let Err(e) = sqlx::query("VACUUM INTO $1").bind(target).execute(self.pool()).await {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        Ok(())
    }

    /// Every key sealed under the KEK: (id, sealed bytes).
    pub async fn software_keys(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query("SELECT id, sealed FROM keys WHERE backend = 'software' ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("sealed")?))).collect()
    }

    /// Replaces a key's sealed bytes if they are still `old`; false if they changed meanwhile.
    pub async fn reseal_key(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool> {
        let done = sqlx::query("UPDATE keys SET sealed = $1 WHERE id = $2 AND sealed = $3")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
