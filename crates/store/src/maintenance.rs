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

    /// Everything sealed under the KEK, software keys and webhook secrets: (what, id, sealed
    /// bytes); each is sealed with its id as AAD.
    pub async fn sealed_secrets(&self) -> Result<Vec<(Sealed, String, Vec<u8>)>> {
        let mut out = Vec::new();
        for kind in [Sealed::Key, Sealed::WebhookSecret] {
            let sql = match kind {
                Sealed::Key => "SELECT id, sealed FROM keys WHERE backend = 'software' ORDER BY id",
                Sealed::WebhookSecret => "SELECT id, secret_sealed AS sealed FROM webhooks ORDER BY id",
            };
            for r in sqlx::query(sql).fetch_all(self.pool()).await? {
                out.push((kind, r.try_get("id")?, r.try_get("sealed")?));
            }
        }
        Ok(out)
    }

    /// Replaces sealed bytes if they are still `old`; false if they changed meanwhile.
    pub async fn reseal(&self, kind: Sealed, id: &str, old: &[u8], new: &[u8]) -> Result<bool> {
        let sql = match kind {
            Sealed::Key => "UPDATE keys SET sealed = $1 WHERE id = $2 AND sealed = $3",
            Sealed::WebhookSecret => "UPDATE webhooks SET secret_sealed = $1 WHERE id = $2 AND secret_sealed = $3",
        };
        let done = sqlx::query(sql).bind(new).bind(id).bind(old).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }
}

/// What a sealed secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// A software private key.
    Key,
    /// A webhook's HMAC secret.
    WebhookSecret,
}
