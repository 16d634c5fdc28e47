//! How one issuance is written: the certificate, the subject's sealed key if kept, a new CA when
//! the certificate is a CA's, the front door's own attributes, and the audit entry, all in one
//! transaction through group commit (`group_commit.rs`). The writes are made against [`Exec`],
//! so the same code runs on SQLite's writer thread (`sqlite_writer.rs`) and on PostgreSQL's
//! (`postgres_writer.rs`). A batch is written with one INSERT per table (per row on SQLite's own
//! connection); if anything in it fails, it is redone with each record in its own savepoint,
//! so one failing record (say, a duplicate) fails only its caller.

use tokio::sync::oneshot;

use crate::cas::insert_ca_row;
use crate::db::Sql;
use crate::error::{Error, Result};
use crate::exec::Exec;
use crate::group_commit::{Job, all_failed};
use crate::records::{AuditRow, CertRow, DoorId, DoorRecord, IssuanceRecord, KeyRow};
use crate::store::Store;

impl Store {
    /// Records an issuance whole (certificate, kept key, new CA, the door's record, audit entry)
    /// through group commit: returns once the batch holding it is durably committed, with the
    /// record and the door's integer id if it numbers its records.
    pub async fn record_issuance(&self, record: IssuanceRecord) -> Result<(IssuanceRecord, DoorId)> {
        let (done, result) = oneshot::channel();
        let stopped = || Error::Unavailable("the issuance writer stopped".into());
        self.issuance.send(Job { record, done }).await.map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

/// Writes a batch on `conn`, opening its transaction with `begin`; one result per record.
pub(crate) async fn write<E: Exec>(conn: &mut E, begin: &str, batch: &[Job]) -> Vec<Result<DoorId>> {
    match write_all(conn, begin, batch).await {
        Ok(ids) => ids.into_iter().map(Ok).collect(),
        Err(e) if batch.len() == 1 => vec![Err(e)],
        // Something in the batch is bad: redo it item by item to fail only that one.
        Err(_) => write_each(conn, begin, batch).await,
    }
}

/// The fast path: the whole batch, one commit.
async fn write_all<E: Exec>(conn: &mut E, begin: &str, batch: &[Job]) -> Result<Vec<DoorId>> {
    conn.run(Sql::new(begin)).await?;
    let written = write_records(conn, batch).await;
    finish(conn, written).await
}

/// One INSERT per table for the whole batch (door records, rare on the hot path, one by one).
async fn write_records<E: Exec>(tx: &mut E, batch: &[Job]) -> Result<Vec<DoorId>> {
    let keys: Vec<&KeyRow> = batch.iter().filter_map(|j| j.record.key.as_ref()).collect();
    let certs: Vec<&CertRow> = batch.iter().map(|j| &j.record.cert).collect();
    let audits: Vec<&AuditRow> = batch.iter().map(|j| &j.record.audit).collect();
    crate::keys::insert_keys(tx, &keys).await?;
    for ca in batch.iter().filter_map(|j| j.record.ca.as_ref()) {
        insert_ca_row(tx, ca).await?;
    }
    crate::certificates::insert_certificates(tx, &certs).await?;
    let mut ids = Vec::with_capacity(batch.len());
    for job in batch {
        ids.push(write_door(tx, &job.record).await?);
    }
    crate::audit::append(tx, &audits).await?;
    crate::webhooks::announce_issued(tx, &certs).await?;
    Ok(ids)
}

/// The careful path: each item in its own savepoint.
async fn write_each<E: Exec>(conn: &mut E, begin: &str, batch: &[Job]) -> Vec<Result<DoorId>> {
    if let Err(e) = conn.run(Sql::new(begin)).await {
        return all_failed(batch, &e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(in_savepoint(conn, &job.record).await);
    }
    match finish(conn, Ok(())).await {
        Ok(()) => results,
        Err(e) => all_failed(batch, &e),
    }
}

async fn in_savepoint<E: Exec>(tx: &mut E, record: &IssuanceRecord) -> Result<DoorId> {
    tx.run(Sql::new("SAVEPOINT item")).await?;
    let written = write_one(tx, record).await;
    if written.is_err() {
        tx.run(Sql::new("ROLLBACK TO item")).await?;
    }
    tx.run(Sql::new("RELEASE item")).await?;
    written
}

/// Commits what was `written`, or rolls it back if writing failed.
async fn finish<E: Exec, T>(conn: &mut E, written: Result<T>) -> Result<T> {
    let failed = match written {
        Ok(value) => match conn.run(Sql::new("COMMIT")).await {
            Ok(_) => return Ok(value),
            Err(e) => e.batch_failure(),
        },
        Err(e) => e,
    };
    // Ends the transaction whatever state it is in; an error here only says none was open.
    let _ = conn.run(Sql::new("ROLLBACK")).await;
    Err(failed)
}

/// One issuance, whole, in the caller's transaction.
async fn write_one<E: Exec>(tx: &mut E, record: &IssuanceRecord) -> Result<DoorId> {
    if let Some(key) = &record.key {
        crate::keys::insert_keys(tx, &[key]).await?;
    }
    if let Some(ca) = &record.ca {
        insert_ca_row(tx, ca).await?;
    }
    crate::certificates::insert_certificates(tx, &[&record.cert]).await?;
    let id = write_door(tx, record).await?;
    crate::audit::append(tx, &[&record.audit]).await?;
    crate::webhooks::announce_issued(tx, &[&record.cert]).await?;
    Ok(id)
}

/// Writes the door's record of one issuance; returns the door's integer id, if any.
pub(crate) async fn write_door<E: Exec>(tx: &mut E, record: &IssuanceRecord) -> Result<DoorId> {
    let cert = &record.cert;
    match &record.door {
        DoorRecord::None => Ok(None),
        DoorRecord::CsrSigned { tenant_id, csr_id } => {
            let done = tx
                .run(
                    Sql::new(
                        "UPDATE csrs SET status = 'signed', certificate_id = $1, updated_at = $2 \
                         WHERE tenant_id = $3 AND id = $4 AND status = 'approved'",
                    )
                    .arg(&cert.id)
                    .arg(cert.created_at)
                    .arg(tenant_id)
                    .arg(csr_id),
                )
                .await?;
            if done != 1 {
                return Err(Error::Changed("the CSR was signed or changed concurrently".into()));
            }
            Ok(None)
        }
        DoorRecord::FastPkiCertificate(fastpki) => {
            Ok(Some(crate::fastpki::insert_certificate_attrs(tx, cert, fastpki).await?))
        }
        DoorRecord::FastPkiCa(fastpki) => {
            let ca = record.ca.as_ref().ok_or_else(|| Error::Changed("a /api/v1 CA record needs its CA".into()))?;
            Ok(Some(crate::fastpki::insert_ca_attrs(tx, ca, fastpki).await?))
        }
        DoorRecord::StoreEntries(entries) => {
            for e in entries {
                crate::mdl::insert_store_entry(tx, e).await?;
            }
            Ok(None)
        }
        DoorRecord::ReissuedCa { ca_id, replaces_serial } => {
            let done = tx
                .run(
                    Sql::new(
                        "UPDATE cas SET cert_der = $1, serial = $2, valid_from = $3, valid_until = $4 \
                         WHERE tenant_id = $5 AND id = $6 AND serial = $7",
                    )
                    .arg(&cert.cert_der)
                    .arg(&cert.serial)
                    .arg(cert.not_before)
                    .arg(cert.not_after)
                    .arg(&cert.tenant_id)
                    .arg(ca_id)
                    .arg(replaces_serial),
                )
                .await?;
            if done != 1 {
                return Err(Error::Changed("the CA was reissued or changed concurrently".into()));
            }
            Ok(None)
        }
        DoorRecord::AcmeOrder { order_id } => {
            crate::acme::complete_order(tx, order_id, &cert.id).await?;
            Ok(None)
        }
        DoorRecord::OcspResponder(r) => {
            tx.run(
                Sql::new(
                    "INSERT INTO ocsp_responders (ca_id, key_id, cert_der, not_after, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (ca_id) DO UPDATE SET key_id = excluded.key_id, cert_der = excluded.cert_der, \
                     not_after = excluded.not_after, created_at = excluded.created_at \
                     WHERE excluded.not_after > ocsp_responders.not_after",
                )
                .arg(&r.ca_id)
                .arg(&r.key_id)
                .arg(&r.cert_der)
                .arg(r.not_after)
                .arg(r.created_at),
            )
            .await?;
            Ok(None)
        }
    }
}
