//! Operator commands on a data directory: `backup`, `restore` and `kek rotate`.

use std::io::Write;
use std::path::{Path, PathBuf};

use certus_kms::Kek;
use certus_store::{AuditCheck, AuditRow, Store};

use crate::DatabaseArgs;
use crate::anyhow_lite::{self, Context};

/// How many keys a rotation re-seals between progress lines.
const PROGRESS_EVERY: usize = 10;

/// `certus backup --to FILE`: an online, consistent snapshot of the SQLite database.
pub(crate) async fn backup(db: &DatabaseArgs, to: &Path) -> anyhow_lite::Result<bool> {
    let store = db.open().await?;
    store.backup_to(to).await.context("taking the backup")?;
    store.close().await;
    println!("backup written to {} (the KEK is not in it: keep a copy of the kek file apart)", to.display());
    Ok(true)
}

/// `certus restore --from FILE`: the snapshot becomes the database of an empty data directory;
/// it is then opened (migrated if older) and its audit chain verified.
pub(crate) async fn restore(data_dir: &Path, from: &Path) -> anyhow_lite::Result<bool> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let db_path = data_dir.join("certus.db");
    if db_path.exists() {
        return Err(anyhow_lite::Error::from(format!(
            "{} exists; restore into an empty data directory",
            db_path.display()
        )));
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir).context("creating the data directory")?;
    let mut source = std::fs::File::open(from).context("opening the backup")?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&db_path)
        .context("creating the database")?;
    std::io::copy(&mut source, &mut target).context("copying the backup")?;
    target.sync_all().context("syncing the database")?;
    let store = Store::open(&db_path).await.context("opening the restored database")?;
    let check = store.verify_audit_chain().await.context("reading the audit log")?;
    store.close().await;
    match check {
        AuditCheck::Intact { entries } => {
            println!("restored into {}; audit log intact ({entries} entries)", db_path.display());
            println!("put the KEK that sealed its keys at {} (or pass --kek-file)", data_dir.join("kek").display());
            Ok(true)
        }
        AuditCheck::Broken { seq, reason, .. } => {
            println!("restored, but the audit log is broken at entry {seq}: {reason}");
            Ok(false)
        }
    }
}

/// `certus kek rotate`: re-seals every software key under a new KEK. The new KEK is written to
/// `<kek>.next` first; each key is re-sealed in its own compare-and-swap update; a server
/// started meanwhile opens keys under either KEK. Once every key is re-sealed, an audit entry
/// is written and `<kek>.next` atomically replaces `<kek>`. Killed at any point, running it
/// again resumes with the same new KEK. Stop the servers first, so none seals a new key under
/// the old KEK while it runs.
pub(crate) async fn rotate_kek(db: &DatabaseArgs, kek_file: Option<PathBuf>) -> anyhow_lite::Result<bool> {
    let path = kek_file.unwrap_or_else(|| db.data_dir.join("kek"));
    let current = Kek::load_existing(&path)
        .context("reading the KEK")?
        .ok_or_else(|| anyhow_lite::Error::from(format!("no KEK at {}", path.display())))?;
    let next_path = Kek::next_path(&path);
    let next = match Kek::load_existing(&next_path).context("reading the next KEK")? {
        Some(next) => {
            println!("resuming the rotation to {}", next_path.display());
            next
        }
        None => Kek::create(&next_path).context("creating the next KEK")?,
    };
    let store = db.open().await?;
    let keys = store.sealed_secrets().await.context("listing sealed keys and secrets")?;
    let (mut resealed, mut already) = (0usize, 0usize);
    for (i, (kind, id, sealed)) in keys.iter().enumerate() {
        if next.open_own(id.as_bytes(), sealed).is_ok() {
            already += 1;
        } else {
            let plain = current.open_own(id.as_bytes(), sealed).map_err(|_| {
                anyhow_lite::Error::from(format!("key {id} opens under neither the current nor the next KEK"))
            })?;
            let new = next.seal(id.as_bytes(), &plain);
            if !store.reseal(*kind, id, sealed, &new).await.context("re-sealing a key")? {
                return Err(anyhow_lite::Error::from(format!("key {id} changed during the rotation; run it again")));
            }
            resealed += 1;
        }
        if (i + 1) % PROGRESS_EVERY == 0 {
            println!("progress {}/{}", i + 1, keys.len());
            let _ = std::io::stdout().flush();
        }
    }
    let audit = AuditRow {
        at: time::OffsetDateTime::now_utc().unix_timestamp(),
        tenant_id: None,
        actor: "cli".into(),
        action: "kek.rotate".into(),
        resource: "kek".into(),
        detail: format!("keys={} resealed={resealed} already={already}", keys.len()),
    };
    store.append_audit(&audit).await.context("writing the audit entry")?;
    store.close().await;
    std::fs::rename(&next_path, &path).context("putting the new KEK in place")?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    println!("rotated: {} keys under the new KEK ({resealed} re-sealed now, {already} before)", keys.len());
    Ok(true)
}
