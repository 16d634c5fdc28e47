//! How one issuance is written: the certificate, the subject's sealed key if kept, a new CA when
//! the certificate is a CA's, the front door's own attributes, and the audit entry, all in one
//! transaction through group commit (`group_commit.rs`). A batch is written with one multi-row
//! INSERT per table; if anything in it fails, it is redone with each record in its own savepoint,
//! so one failing record (say, a duplicate) fails only its caller.

use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::Mutex;

use crate::cas::insert_ca_row;
use crate::db::Tx;
use crate::error::{Error, Result};
use crate::group_commit::Job;
use crate::records::{AuditRow, CertRow, DoorId, DoorRecord, IssuanceRecord, KeyRow};
use crate::store::Store;

impl Store {
    /// Records an issuance whole (certificate, kept key, new CA, the door's record, audit entry)
    /// through group commit: returns once the batch holding it is durably committed, with the
    /// record and the door's integer id if it numbers its records.
    pub async fn record_issuance(&self, record: IssuanceRecord) -> Result<(IssuanceRecord, DoorId)> {
        let writer = self.issuance.get_or_init(|| {
            let conn = Arc::new(Mutex::new(WriterConn { pool: self.pool().clone(), conn: None }));
            let observer = self.batch_observer.clone();
            crate::group_commit::spawn(move |batch| {
                if let Some(observe) = observer.get() {
                    observe(batch.len());
                }
                let conn = conn.clone();
                // Batches are written one after another, so the lock is never contended.
                async move { write_batch(&mut *conn.lock().await, batch).await }
            })
        });
        let (done, result) = tokio::sync::oneshot::channel();
        writer.send(Job { record, done }).await.map_err(|_| Error::Commit("writer stopped".into()))?;
        result.await.map_err(|_| Error::Commit("writer stopped".into()))?
    }
}

/// The group-commit writer's own connection, always the same one: SQLite empties a connection's
/// page cache whenever another connection wrote since its last transaction, so batches written
/// through whichever pooled connection was free re-read their index pages each time. Taken out of
/// the pool on first use, and again after a batch failed (in case the connection broke).
struct WriterConn {
    pool: AnyPool,
    conn: Option<AnyConnection>,
}

impl WriterConn {
    async fn get(&mut self) -> Result<&mut AnyConnection> {
        Ok(match &mut self.conn {
            Some(conn) => conn,
            slot @ None => slot.insert(self.pool.acquire().await?.detach()),
        })
    }
}

/// Writes a batch and answers each caller.
async fn write_batch(writer: &mut WriterConn, batch: Vec<Job>) {
    let results = write(writer, &batch).await;
    for (job, result) in batch.into_iter().zip(results) {
        let _ = job.done.send(result.map(|id| (job.record, id)));
    }
}

async fn write(writer: &mut WriterConn, batch: &[Job]) -> Vec<Result<DoorId>> {
    let conn = match writer.get().await {
        Ok(conn) => conn,
        Err(e) => return batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    };
    let results = match write_all(conn, batch).await {
        Ok(ids) => return ids.into_iter().map(Ok).collect(),
        Err(e) if batch.len() == 1 => vec![Err(e)],
        // Something in the batch is bad: redo it item by item to fail only that one.
        Err(_) => write_each(conn, batch).await,
    };
    writer.conn = None;
    results
}

/// The fast path: one multi-row INSERT per table and one commit for the whole batch (door
/// records, rare on the hot path, are written one by one).
async fn write_all(conn: &mut AnyConnection, batch: &[Job]) -> Result<Vec<DoorId>> {
    let mut tx = conn.begin().await?;
    let keys: Vec<&KeyRow> = batch.iter().filter_map(|j| j.record.key.as_ref()).collect();
    let certs: Vec<&CertRow> = batch.iter().map(|j| &j.record.cert).collect();
    let audits: Vec<&AuditRow> = batch.iter().map(|j| &j.record.audit).collect();
    crate::keys::insert_keys(&mut tx, &keys).await?;
    for ca in batch.iter().filter_map(|j| j.record.ca.as_ref()) {
        insert_ca_row(&mut tx, ca).await?;
    }
    crate::certificates::insert_certificates(&mut tx, &certs).await?;
    let mut ids = Vec::with_capacity(batch.len());
    for job in batch {
        ids.push(write_door(&mut tx, &job.record).await?);
    }
    crate::audit::insert_audits(&mut tx, &audits).await?;
    crate::webhooks::announce_issued(&mut tx, &certs).await?;
    tx.commit().await.map_err(|e| Error::Commit(e.to_string()))?;
    Ok(ids)
}

/// One issuance, whole, in the caller's transaction.
async fn write_one(tx: &mut crate::db::Tx<'_>, record: &IssuanceRecord) -> Result<DoorId> {
    if let Some(key) = &record.key {
        crate::keys::insert_key(tx, key).await?;
    }
    if let Some(ca) = &record.ca {
        insert_ca_row(tx, ca).await?;
    }
    crate::certificates::insert_certificate(tx, &record.cert).await?;
    let id = write_door(tx, record).await?;
    crate::audit::insert_audit(tx, &record.audit).await?;
    crate::webhooks::announce_issued(tx, &[&record.cert]).await?;
    Ok(id)
}

/// The careful path: each item in its own savepoint.
async fn write_each(conn: &mut AnyConnection, batch: &[Job]) -> Vec<Result<DoorId>> {
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let item = async {
            sqlx::query("SAVEPOINT item").execute(&mut *tx).await?;
            let written = write_one(&mut tx, &job.record).await;
            if written.is_err() {
                sqlx::query("ROLLBACK TO item").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE item").execute(&mut *tx).await?;
            written
        }
        .await;
        results.push(item);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    }
}

/// Writes the door's record of one issuance; returns the door's integer id, if any.
pub(crate) async fn write_door(tx: &mut Tx<'_>, record: &IssuanceRecord) -> Result<DoorId> {
    let cert = &record.cert;
    match &record.door {
        DoorRecord::None => Ok(None),
        DoorRecord::CsrSigned { tenant_id, csr_id } => {
            let done = sqlx::query(
                "UPDATE csrs SET status = 'signed', certificate_id = $1, updated_at = $2 \
                 WHERE tenant_id = $3 AND id = $4 AND status = 'approved'",
            )
            .bind(&cert.id)
            .bind(cert.created_at)
            .bind(tenant_id)
            .bind(csr_id)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() != 1 {
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
            let done = sqlx::query(
                "UPDATE cas SET cert_der = $1, serial = $2, valid_from = $3, valid_until = $4 \
                 WHERE tenant_id = $5 AND id = $6 AND serial = $7",
            )
            .bind(&cert.cert_der)
            .bind(&cert.serial)
            .bind(cert.not_before)
            .bind(cert.not_after)
            .bind(&cert.tenant_id)
            .bind(ca_id)
            .bind(replaces_serial)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Changed("the CA was reissued or changed concurrently".into()));
            }
            Ok(None)
        }
        DoorRecord::AcmeOrder { order_id } => {
            crate::acme::complete_order(tx, order_id, &cert.id).await?;
            Ok(None)
        }
        DoorRecord::OcspResponder(r) => {
            sqlx::query(
                "INSERT INTO ocsp_responders (ca_id, key_id, cert_der, not_after, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (ca_id) DO UPDATE SET key_id = excluded.key_id, cert_der = excluded.cert_der, \
                 not_after = excluded.not_after, created_at = excluded.created_at \
                 WHERE excluded.not_after > ocsp_responders.not_after",
            )
            .bind(&r.ca_id)
            .bind(&r.key_id)
            .bind(&r.cert_der)
            .bind(r.not_after)
            .bind(r.created_at)
            .execute(&mut **tx)
            .await?;
            Ok(None)
        }
    }
}
