//! VICAL services: their signing configuration (written with the service and its dependencies in
//! one transaction) and the VICALs they published.

use sqlx::Row;

use super::ServiceRow;
use crate::error::{Error, Result, conflict_on_unique};
use crate::records::AuditRow;
use crate::store::Store;

/// How a VICAL service signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicalServiceRow {
    /// The tenant.
    pub tenant_id: String,
    /// The service.
    pub service_id: String,
    /// The KMS key that signs (`org.tenant.kms.name`).
    pub signing_key_path: String,
    /// The store entry holding the signer certificate (`org.tenant.store.id`).
    pub signer_entry_path: String,
}

/// A published VICAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicalRow {
    /// The tenant.
    pub tenant_id: String,
    /// The VICAL service.
    pub service_id: String,
    /// Its `vicalIssueID`.
    pub issue_id: i64,
    /// The COSE_Sign1, as served.
    pub cose: Vec<u8>,
    /// How many IACAs it lists.
    pub entry_count: i64,
    /// When it was published.
    pub created_at: i64,
}

impl Store {
    /// Creates a VICAL service: the service, its signing configuration and its dependencies,
    /// with the audit entry, together or not at all.
    pub async fn insert_vical_service(
        &self,
        service: &ServiceRow,
        config: &VicalServiceRow,
        dependencies: &[String],
        audit: &AuditRow,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO services (tenant_id, id, type, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&service.tenant_id)
            .bind(&service.id)
            .bind(&service.service_type)
            .bind(service.created_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("a service with this id"))?;
        sqlx::query(
            "INSERT INTO vical_services (tenant_id, service_id, signing_key_path, signer_entry_path) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&config.tenant_id)
        .bind(&config.service_id)
        .bind(&config.signing_key_path)
        .bind(&config.signer_entry_path)
        .execute(&mut *tx)
        .await?;
        for d in dependencies {
            sqlx::query("INSERT INTO service_dependencies (tenant_id, service_id, dependency) VALUES ($1, $2, $3)")
                .bind(&service.tenant_id)
                .bind(&service.id)
                .bind(d)
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique("this dependency"))?;
        }
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A VICAL service's signing configuration.
    pub async fn vical_service(&self, tenant_id: &str, service_id: &str) -> Result<VicalServiceRow> {
        let r = sqlx::query(
            "SELECT signing_key_path, signer_entry_path FROM vical_services WHERE tenant_id = $1 AND service_id = $2",
        )
        .bind(tenant_id)
        .bind(service_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::NotFound)?;
        Ok(VicalServiceRow {
            tenant_id: tenant_id.to_owned(),
            service_id: service_id.to_owned(),
            signing_key_path: r.try_get("signing_key_path")?,
            signer_entry_path: r.try_get("signer_entry_path")?,
        })
    }

    /// Stores a published VICAL with its audit entry; an issue id already taken (a concurrent
    /// publication) is a Conflict.
    pub async fn insert_vical(&self, v: &VicalRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO vicals (tenant_id, service_id, issue_id, cose, entry_count, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&v.tenant_id)
        .bind(&v.service_id)
        .bind(v.issue_id)
        .bind(&v.cose)
        .bind(v.entry_count)
        .bind(v.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a VICAL with this issue id (published concurrently; publish again)"))?;
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest VICAL of a service, if it published any.
    pub async fn latest_vical(&self, tenant_id: &str, service_id: &str) -> Result<Option<VicalRow>> {
        let r = sqlx::query(
            "SELECT issue_id, cose, entry_count, created_at FROM vicals WHERE tenant_id = $1 AND service_id = $2 \
             ORDER BY issue_id DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(service_id)
        .fetch_optional(self.pool())
        .await?;
        r.map(|r| {
            Ok(VicalRow {
                tenant_id: tenant_id.to_owned(),
                service_id: service_id.to_owned(),
                issue_id: r.try_get("issue_id")?,
                cose: r.try_get("cose")?,
                entry_count: r.try_get("entry_count")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }
}
