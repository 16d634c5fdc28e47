//! Records of the /api/v1 front door: its integer ids and the attributes only it has, kept
//! beside the shared organisation, tenant, CA and certificate records they point at.

pub(crate) mod accounts;
pub(crate) mod rows;

pub use rows::{FastPkiCaRow, FastPkiCertRow};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::cas::{CA_COLUMNS, ca_row};
use crate::certificates::{CERT_COLUMNS, cert_row};
use crate::db::Sql;
use crate::error::{Error, Result, conflict_on_unique, found};
use crate::exec::Exec;
use crate::records::{AuditRow, CaRow, CertRow, TenantRow};
use crate::store::Store;
use crate::tenants::insert_tenant;

/// An organisation as /api/v1 numbers it: a Certus organisation and its one tenant.
#[derive(Debug, Clone, Default)]
pub struct FastPkiOrgRow {
    /// Its id.
    pub id: i64,
    /// The organisation it belongs to.
    pub org_id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// A CA with its /api/v1 attributes and organisation number (None: the bootstrap tenant).
#[derive(Debug, Clone)]
pub struct FastPkiCa {
    /// /api/v1's attributes.
    pub fastpki: FastPkiCaRow,
    /// The shared CA record.
    pub ca: CaRow,
    /// The /api/v1 id of its organisation (None: the bootstrap tenant).
    pub org_num: Option<i64>,
    /// The v1 id of the parent CA.
    pub parent_num: Option<i64>,
}

/// A certificate with its /api/v1 attributes and organisation number.
#[derive(Debug, Clone)]
pub struct FastPkiCert {
    /// /api/v1's attributes.
    pub fastpki: FastPkiCertRow,
    /// The certificate record.
    pub cert: CertRow,
    /// The /api/v1 id of its organisation (None: the bootstrap tenant).
    pub org_num: Option<i64>,
}

/// One audit entry as /api/v1 shows it.
#[derive(Debug, Clone)]
pub struct FastPkiAuditRow {
    /// Its id.
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// The engine's action name (`certificate.issue`, …).
    pub action: String,
    /// Who acted: a token id, a user or `system`.
    pub actor: String,
    /// The acting user's name, when a user acted.
    pub username: Option<String>,
    /// The /api/v1 id of its organisation (None: the bootstrap tenant).
    pub org_num: Option<i64>,
    /// What it acted on.
    pub resource: String,
    /// The resource's /api/v1 type, when it has one.
    pub resource_type: Option<String>,
    /// The resource's /api/v1 id, when it has one.
    pub resource_num: Option<i64>,
    /// Details, as text.
    pub detail: String,
}

/// Filters of the audit-log list; `actions` are stored action names (any of them).
#[derive(Debug, Clone, Default)]
pub struct FastPkiAuditQuery {
    /// None: every organisation; Some(org_id): only entries of that Certus organisation.
    pub org_id: Option<String>,
    /// Stored action names to match (any of them).
    pub actions: Vec<String>,
    /// Who acted: a token id, a user or `system`.
    pub actor: Option<String>,
    /// The resource's /api/v1 type, when it has one.
    pub resource_type: Option<String>,
    /// The resource's /api/v1 id, when it has one.
    pub resource_num: Option<i64>,
    /// Only entries at or after.
    pub since: Option<i64>,
    /// Only entries before.
    pub until: Option<i64>,
    /// How many to skip.
    pub skip: i64,
    /// How many at most.
    pub limit: i64,
}

const ORG_COLUMNS: &str = "SELECT v.id, v.org_id, v.tenant_id, o.name, v.description, v.created_at, v.updated_at \
     FROM v1_organizations v JOIN organizations o ON o.id = v.org_id";

fn org_of(r: &AnyRow) -> Result<FastPkiOrgRow> {
    Ok(FastPkiOrgRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// CA_COLUMNS with the v1 attributes, the organisation number and the parent's number.
fn ca_select() -> String {
    CA_COLUMNS.replacen(
        "SELECT ",
        "SELECT v.id AS num, v.name AS v1_name, v.deleted_at, v.subject_dn, v.description, v.valid_days, v.path_length, v.allow_leaf_certs, \
         v.crl_base_url, v.created_by_user_id, v.created_by_service_account_id, v.updated_at AS v_updated_at, \
         (SELECT o.id FROM v1_organizations o WHERE o.tenant_id = c.tenant_id) AS org_num, \
         (SELECT p.id FROM v1_cas p WHERE p.ca_id = c.parent_ca_id) AS parent_num, ",
        1,
    ) + " JOIN v1_cas v ON v.ca_id = c.id"
}

fn fastpki_ca_of(r: &AnyRow) -> Result<FastPkiCa> {
    Ok(FastPkiCa {
        fastpki: FastPkiCaRow {
            id: r.try_get("num")?,
            name: r.try_get("v1_name")?,
            subject_dn: r.try_get("subject_dn")?,
            description: r.try_get("description")?,
            valid_days: r.try_get("valid_days")?,
            path_length: r.try_get("path_length")?,
            allow_leaf_certs: r.try_get::<i64, _>("allow_leaf_certs")? != 0,
            crl_base_url: r.try_get("crl_base_url")?,
            created_by_user_id: r.try_get("created_by_user_id")?,
            created_by_service_account_id: r.try_get("created_by_service_account_id")?,
            deleted_at: r.try_get("deleted_at")?,
            updated_at: r.try_get("v_updated_at")?,
        },
        ca: ca_row(r)?,
        org_num: r.try_get("org_num")?,
        parent_num: r.try_get("parent_num")?,
    })
}

const CERT_SELECT: &str = "SELECT v.id AS num, v.ca_num, v.certificate_type, v.subject_dn, v.key_size, v.valid_days, \
     v.is_csr_origin, v.renewed_from_id, v.created_by_user_id, v.created_by_service_account_id, \
     v.updated_at AS v_updated_at, \
     (SELECT o.id FROM v1_organizations o WHERE o.tenant_id = c.tenant_id) AS org_num, \
     c.id, c.tenant_id, c.issuer_ca_id, c.serial, c.common_name, c.sans, c.not_before, c.not_after, c.cert_der, \
     c.chain_pem, c.key_id, c.role_name, c.source, c.revoked_at, c.revocation_reason, c.created_at \
     FROM v1_certificates v JOIN certificates c ON c.id = v.cert_id";

fn fastpki_cert_of(r: &AnyRow) -> Result<FastPkiCert> {
    Ok(FastPkiCert {
        fastpki: FastPkiCertRow {
            id: r.try_get("num")?,
            ca_num: r.try_get("ca_num")?,
            certificate_type: r.try_get("certificate_type")?,
            subject_dn: r.try_get("subject_dn")?,
            key_size: r.try_get("key_size")?,
            valid_days: r.try_get("valid_days")?,
            is_csr_origin: r.try_get::<i64, _>("is_csr_origin")? != 0,
            renewed_from_id: r.try_get("renewed_from_id")?,
            created_by_user_id: r.try_get("created_by_user_id")?,
            created_by_service_account_id: r.try_get("created_by_service_account_id")?,
            updated_at: r.try_get("v_updated_at")?,
        },
        cert: cert_row(r)?,
        org_num: r.try_get("org_num")?,
    })
}

impl Store {
    /// Creates an organisation (named `name`), its tenant and its /api/v1 number, with the audit
    /// entry, in one transaction.
    pub async fn insert_fastpki_org(
        &self,
        org_id: &str,
        name: &str,
        tenant: &TenantRow,
        description: Option<&str>,
        audit: &AuditRow,
    ) -> Result<FastPkiOrgRow> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(org_id)
            .bind(name)
            .bind(tenant.created_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("Organization with this name already exists"))?;
        insert_tenant(&mut tx, tenant).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO v1_organizations (org_id, tenant_id, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(&tenant.id)
        .bind(description)
        .bind(tenant.created_at)
        .fetch_one(&mut *tx)
        .await?;
        let audit = AuditRow { resource: format!("org:{id}"), ..audit.clone() };
        crate::audit::append(&mut tx, &[&audit]).await?;
        tx.commit().await?;
        self.get_fastpki_org(id).await
    }

    /// An organisation by its /api/v1 id.
    pub async fn get_fastpki_org(&self, id: i64) -> Result<FastPkiOrgRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{ORG_COLUMNS} WHERE v.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        org_of(&r)
    }

    /// The /api/v1 organisation of a Certus organisation (NotFound for the bootstrap one).
    pub async fn fastpki_org_of(&self, org_id: &str) -> Result<FastPkiOrgRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{ORG_COLUMNS} WHERE v.org_id = $1")))
            .bind(org_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        org_of(&r)
    }

    /// Every /api/v1 organisation.
    pub async fn list_fastpki_orgs(&self) -> Result<Vec<FastPkiOrgRow>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{ORG_COLUMNS} ORDER BY o.name"))).fetch_all(self.pool()).await?;
        rows.iter().map(org_of).collect()
    }

    /// Renames or redescribes an organisation.
    pub async fn update_fastpki_org(&self, org: &FastPkiOrgRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2")
            .bind(&org.name)
            .bind(&org.org_id)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("Organization with this name already exists"))?;
        found(&done)?;
        sqlx::query("UPDATE v1_organizations SET description = $1, updated_at = $2 WHERE id = $3")
            .bind(&org.description)
            .bind(org.updated_at)
            .bind(org.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends an organisation's life in /api/v1: refused (Conflict) while users belong to it. Its
    /// CAs and certificates stay on record (their CRLs and OCSP answers keep being served) but
    /// leave /api/v1, and its name is freed.
    pub async fn delete_fastpki_org(&self, org: &FastPkiOrgRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1")
            .bind(&org.org_id)
            .fetch_one(&mut *tx)
            .await?;
        if members > 0 {
            return Err(Error::Conflict("Cannot delete organization with users. Remove all users first.".into()));
        }
        sqlx::query("DELETE FROM v1_certificates WHERE cert_id IN (SELECT id FROM certificates WHERE tenant_id = $1)")
            .bind(&org.tenant_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE cas SET is_active = 0 WHERE tenant_id = $1").bind(&org.tenant_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE v1_cas SET deleted_at = $1 WHERE tenant_id = $2 AND deleted_at IS NULL")
            .bind(audit.at)
            .bind(&org.tenant_id)
            .execute(&mut *tx)
            .await?;
        found(&sqlx::query("DELETE FROM v1_organizations WHERE id = $1").bind(org.id).execute(&mut *tx).await?)?;
        sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2")
            .bind(format!("{} (deleted {})", org.name, org.org_id))
            .bind(&org.org_id)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A CA by its /api/v1 id, deleted ones included (their slugs keep working).
    pub async fn get_fastpki_ca(&self, id: i64) -> Result<FastPkiCa> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE v.id = $1", ca_select())))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        fastpki_ca_of(&r)
    }

    /// Live CAs in id order: all of them, or those of one tenant; `parent`: only its direct
    /// children.
    pub async fn list_fastpki_cas(&self, tenant_id: Option<&str>, parent: Option<&str>) -> Result<Vec<FastPkiCa>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} WHERE v.deleted_at IS NULL AND ($1 IS NULL OR c.tenant_id = $1) AND ($2 IS NULL OR c.parent_ca_id = $2) \
             ORDER BY v.id",
            ca_select()
        )))
        .bind(tenant_id)
        .bind(parent)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(fastpki_ca_of).collect()
    }

    /// The live CA with this exact name in a tenant (or anywhere, lowest id first).
    pub async fn find_fastpki_ca(&self, tenant_id: Option<&str>, name: &str) -> Result<FastPkiCa> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} WHERE v.deleted_at IS NULL AND ($1 IS NULL OR c.tenant_id = $1) AND v.name = $2 ORDER BY v.id LIMIT 1",
            ca_select()
        )))
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::NotFound)?;
        fastpki_ca_of(&r)
    }

    /// Retires (deletes, as the doors say) a CA of the tenant: it stops signing, leaves the
    /// /api/v1 and /api/ca/v1 views, and its certificates leave /api/v1; its record, slug, CRL
    /// and OCSP answers stay for relying parties. NotFound if it is not an active CA there.
    pub async fn retire_ca(&self, tenant_id: &str, ca_id: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE cas SET is_active = 0 WHERE tenant_id = $1 AND id = $2 AND is_active = 1")
            .bind(tenant_id)
            .bind(ca_id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        sqlx::query("DELETE FROM v1_certificates WHERE ca_num IN (SELECT id FROM v1_cas WHERE ca_id = $1)")
            .bind(ca_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE v1_cas SET deleted_at = $1 WHERE ca_id = $2 AND deleted_at IS NULL")
            .bind(audit.at)
            .bind(ca_id)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A certificate by its /api/v1 id.
    pub async fn get_fastpki_certificate(&self, id: i64) -> Result<FastPkiCert> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{CERT_SELECT} WHERE v.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        fastpki_cert_of(&r)
    }

    /// Certificates in id order: all, or one tenant's; optionally only those of one CA.
    pub async fn list_fastpki_certificates(
        &self,
        tenant_id: Option<&str>,
        ca_num: Option<i64>,
    ) -> Result<Vec<FastPkiCert>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CERT_SELECT} WHERE ($1 IS NULL OR c.tenant_id = $1) AND ($2 IS NULL OR v.ca_num = $2) ORDER BY v.id"
        )))
        .bind(tenant_id)
        .bind(ca_num)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(fastpki_cert_of).collect()
    }

    /// The ids of certificates renewed from this one.
    pub async fn fastpki_renewals_of(&self, id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM v1_certificates WHERE renewed_from_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(self.pool())
            .await?)
    }

    /// Audit entries, newest first, with the /api/v1 numbers of what they name.
    pub async fn list_fastpki_audit(&self, q: &FastPkiAuditQuery) -> Result<Vec<FastPkiAuditRow>> {
        let mut sql = crate::db::Sql::new(
            "SELECT * FROM (SELECT a.id, a.at, a.action, a.actor, a.resource, a.detail, t.org_id, \
             (SELECT o.id FROM v1_organizations o WHERE o.tenant_id = a.tenant_id) AS org_num, \
             (SELECT u.username FROM users u WHERE a.actor = 'user:' || CAST(u.id AS TEXT)) AS username, \
             CASE WHEN a.resource LIKE 'user:%' THEN 'user' WHEN a.resource LIKE 'org:%' THEN 'organization' \
                  WHEN a.resource LIKE 'service_account:%' THEN 'service_account' \
                  WHEN EXISTS (SELECT 1 FROM cas x WHERE x.id = a.resource) THEN 'ca' \
                  WHEN EXISTS (SELECT 1 FROM certificates x WHERE x.id = a.resource) THEN 'certificate' \
                  ELSE NULL END AS resource_type, \
             COALESCE((SELECT x.id FROM v1_cas x WHERE x.ca_id = a.resource), \
                      (SELECT x.id FROM v1_certificates x WHERE x.cert_id = a.resource)) AS resource_num \
             FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id) e WHERE 1 = 1",
        );
        if let Some(org) = &q.org_id {
            sql.push(" AND e.org_id = ").bind(org.clone());
        }
        if !q.actions.is_empty() {
            sql.push(" AND e.action IN (");
            for (i, action) in q.actions.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).bind(action.clone());
            }
            sql.push(")");
        }
        if let Some(actor) = &q.actor {
            sql.push(" AND e.actor = ").bind(actor.clone());
        }
        if let Some(t) = &q.resource_type {
            sql.push(" AND e.resource_type = ").bind(t.clone());
        }
        if let Some(n) = q.resource_num {
            sql.push(" AND (e.resource_num = ").bind(n);
            sql.push(" OR e.resource IN (").bind(format!("user:{n}"));
            sql.push(", ").bind(format!("org:{n}"));
            sql.push(", ").bind(format!("service_account:{n}"));
            sql.push("))");
        }
        if let Some(since) = q.since {
            sql.push(" AND e.at >= ").bind(since);
        }
        if let Some(until) = q.until {
            sql.push(" AND e.at <= ").bind(until);
        }
        sql.push(" ORDER BY e.id DESC LIMIT ").bind(q.limit);
        sql.push(" OFFSET ").bind(q.skip);
        let rows = sql.build().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let resource: String = r.try_get("resource")?;
                let resource_type: Option<String> = r.try_get("resource_type")?;
                let resource_num = match r.try_get::<Option<i64>, _>("resource_num")? {
                    Some(n) => Some(n),
                    None => resource.split_once(':').and_then(|(_, n)| n.parse().ok()),
                };
                Ok(FastPkiAuditRow {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    action: r.try_get("action")?,
                    actor: r.try_get("actor")?,
                    username: r.try_get("username")?,
                    org_num: r.try_get("org_num")?,
                    resource_num: resource_type.as_ref().and(resource_num),
                    resource_type,
                    resource,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// Writes /api/v1's attributes of a new CA, in the issuance's transaction; an intermediate also
/// stops its parent from signing leaves, as the reference does. Returns the CA's /api/v1 id.
pub(crate) async fn insert_ca_attrs(tx: &mut impl Exec, ca: &CaRow, fastpki: &FastPkiCaRow) -> Result<i64> {
    let sql = Sql::new(
        "INSERT INTO v1_cas (ca_id, tenant_id, name, subject_dn, description, valid_days, path_length, \
         allow_leaf_certs, crl_base_url, created_by_user_id, created_by_service_account_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .arg(&ca.id)
    .arg(&ca.tenant_id)
    .arg(&fastpki.name)
    .arg(&fastpki.subject_dn)
    .arg(&fastpki.description)
    .arg(fastpki.valid_days)
    .arg(fastpki.path_length)
    .arg(fastpki.allow_leaf_certs)
    .arg(&fastpki.crl_base_url)
    .arg(fastpki.created_by_user_id)
    .arg(fastpki.created_by_service_account_id)
    .arg(ca.created_at);
    let id: i64 =
        tx.fetch_one(sql).await.map_err(conflict_on_unique("a live CA with this name in the organization"))?;
    if let Some(parent) = &ca.parent_ca_id {
        tx.run(
            Sql::new("UPDATE v1_cas SET allow_leaf_certs = 0, updated_at = $1 WHERE ca_id = $2")
                .arg(ca.created_at)
                .arg(parent),
        )
        .await?;
    }
    Ok(id)
}

/// Writes /api/v1's attributes of a certificate, in the issuance's transaction; returns its
/// /api/v1 id.
pub(crate) async fn insert_certificate_attrs(
    tx: &mut impl Exec,
    cert: &CertRow,
    fastpki: &FastPkiCertRow,
) -> Result<i64> {
    let sql = Sql::new(
        "INSERT INTO v1_certificates (cert_id, ca_num, certificate_type, subject_dn, key_size, valid_days, \
         is_csr_origin, renewed_from_id, created_by_user_id, created_by_service_account_id, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    )
    .arg(&cert.id)
    .arg(fastpki.ca_num)
    .arg(&fastpki.certificate_type)
    .arg(&fastpki.subject_dn)
    .arg(fastpki.key_size)
    .arg(fastpki.valid_days)
    .arg(fastpki.is_csr_origin)
    .arg(fastpki.renewed_from_id)
    .arg(fastpki.created_by_user_id)
    .arg(fastpki.created_by_service_account_id)
    .arg(cert.created_at);
    tx.fetch_one(sql).await
}

impl Store {
    /// CAs (of one tenant, or all) that /api/v1 has not numbered yet: made through other doors.
    pub async fn cas_without_fastpki_ids(&self, tenant_id: Option<&str>) -> Result<Vec<CaRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CA_COLUMNS} WHERE ($1 IS NULL OR c.tenant_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM v1_cas v WHERE v.ca_id = c.id) ORDER BY c.created_at, c.id"
        )))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ca_row).collect()
    }

    /// Certificates signed by a live /api/v1 CA that have no /api/v1 id yet, with that CA's id:
    /// leaves made through other doors (CA and OCSP responder certificates are not listed there).
    pub async fn certificates_without_fastpki_ids(&self, tenant_id: Option<&str>) -> Result<Vec<(CertRow, i64)>> {
        let select = CERT_COLUMNS.replacen(
            " FROM certificates",
            ", (SELECT v.id FROM v1_cas v WHERE v.ca_id = certificates.issuer_ca_id) AS ca_num FROM certificates",
            1,
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{select} WHERE source NOT IN ('ca', 'ocsp') AND ($1 IS NULL OR tenant_id = $1) \
             AND issuer_ca_id IN (SELECT ca_id FROM v1_cas WHERE deleted_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM v1_certificates x WHERE x.cert_id = certificates.id) ORDER BY created_at, id"
        )))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((cert_row(r)?, r.try_get("ca_num")?))).collect()
    }

    /// Gives /api/v1 ids to records other doors made. A record another node numbered first (or
    /// a CA whose name a live /api/v1 CA holds) is left as it is.
    pub async fn adopt_fastpki_records(
        &self,
        cas: &[(CaRow, FastPkiCaRow)],
        certs: &[(CertRow, FastPkiCertRow)],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (ca, fastpki) in cas {
            sqlx::query(
                "INSERT INTO v1_cas (ca_id, tenant_id, name, subject_dn, description, valid_days, path_length, \
                 allow_leaf_certs, crl_base_url, created_by_user_id, created_by_service_account_id, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, 1, NULL, NULL, NULL, $7, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&ca.id)
            .bind(&ca.tenant_id)
            .bind(&fastpki.name)
            .bind(&fastpki.subject_dn)
            .bind(fastpki.valid_days)
            .bind(fastpki.path_length)
            .bind(ca.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for (cert, fastpki) in certs {
            sqlx::query(
                "INSERT INTO v1_certificates (cert_id, ca_num, certificate_type, subject_dn, key_size, valid_days, \
                 is_csr_origin, renewed_from_id, created_by_user_id, created_by_service_account_id, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, $8, $8) ON CONFLICT DO NOTHING",
            )
            .bind(&cert.id)
            .bind(fastpki.ca_num)
            .bind(&fastpki.certificate_type)
            .bind(&fastpki.subject_dn)
            .bind(fastpki.key_size)
            .bind(fastpki.valid_days)
            .bind(i64::from(fastpki.is_csr_origin))
            .bind(cert.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
