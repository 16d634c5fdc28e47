//! What one issuance writes, and how it is written: the certificate, the subject's sealed key if
//! kept, a new CA when the certificate is a CA's, the front door's own attributes, and the audit
//! entry, all in one transaction through group commit (`group_commit.rs`).

use crate::fastpki::{FastPkiCaRow, FastPkiCertRow};
use crate::mdl::StoreEntryRow;
use crate::records::{AuditRow, CaRow, CertRow, KeyRow, ResponderRow};
use crate::sql::Tx;
use crate::{Error, Result, conflict_on_unique};

/// One issuance, recorded whole or not at all.
#[derive(Debug, Clone)]
pub struct IssuanceRecord {
    pub cert: CertRow,
    /// The subject's key, sealed, when Certus keeps it.
    pub key: Option<KeyRow>,
    /// The CA this certificate makes (a root, an intermediate, an IACA).
    pub ca: Option<CaRow>,
    pub door: DoorRecord,
    pub audit: AuditRow,
}

/// What a front door records beside the certificate.
#[derive(Debug, Clone, Default)]
pub enum DoorRecord {
    #[default]
    None,
    /// The approved CSR this certificate was signed for: it becomes `signed`, or, if it is no
    /// longer approved, nothing is recorded.
    CsrSigned { tenant_id: String, csr_id: String },
    /// /api/v1's attributes of a certificate; records its integer id.
    FastPkiCertificate(FastPkiCertRow),
    /// /api/v1's attributes of a new CA (an intermediate also stops its parent signing leaves);
    /// records its integer id.
    FastPkiCa(FastPkiCaRow),
    /// The mDL door's X.509 store entries for this certificate.
    StoreEntries(Vec<StoreEntryRow>),
    /// The CA's delegated OCSP responder (the newest one wins).
    OcspResponder(ResponderRow),
}

/// The integer id a front door's record got, if it numbers its records.
pub type DoorId = Option<i64>;

/// Writes the CA row of a new CA (its key is written before, its certificate after).
pub(crate) async fn insert_ca_row(tx: &mut Tx<'_>, ca: &CaRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO cas (id, tenant_id, name, common_name, ca_type, parent_ca_id, key_id, key_type, key_size, \
             cert_der, serial, valid_from, valid_until, is_active, created_at, profile_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&ca.id)
    .bind(&ca.tenant_id)
    .bind(&ca.name)
    .bind(&ca.common_name)
    .bind(&ca.ca_type)
    .bind(&ca.parent_ca_id)
    .bind(&ca.key_id)
    .bind(&ca.key_type)
    .bind(ca.key_size)
    .bind(&ca.cert_der)
    .bind(&ca.serial)
    .bind(ca.valid_from)
    .bind(ca.valid_until)
    .bind(ca.is_active as i64)
    .bind(ca.created_at)
    .bind(&ca.profile_id)
    .execute(&mut **tx)
    .await
    .map_err(conflict_on_unique("a CA with this name"))?;
    Ok(())
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
