//! ACME directories, accounts, external account binding keys, orders, authorizations and
//! replay nonces. Lists and objects the protocol carries as JSON (identifiers, contacts,
//! problem documents) are stored as the JSON text the authority made.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Sql, Tx};
use crate::error::{Error, Result, conflict_on_unique, found};
use crate::exec::Exec;
use crate::records::AuditRow;
use crate::store::Store;

/// Where an ACME directory issues: a role, or a CA with an issuance profile, of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeDirectoryRow {
    /// The URL segment, unique across tenants.
    pub name: String,
    /// The tenant it issues into.
    pub tenant_id: String,
    /// The role whose policy applies, or
    pub role_name: Option<String>,
    /// a CA ...
    pub ca_id: Option<String>,
    /// ... with an issuance profile.
    pub profile_id: Option<String>,
    /// JSON array of the issuance profile ids a newOrder may name.
    pub profiles_json: String,
    /// New accounts must be bound to an EAB key.
    pub require_eab: bool,
    /// Terms an account must agree to, if any.
    pub terms_of_service: Option<String>,
    /// When it was made.
    pub created_at: i64,
}

/// An ACME account: one key in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAccountRow {
    /// Its id (the last segment of its URL).
    pub id: String,
    /// Its directory.
    pub directory: String,
    /// RFC 7638 thumbprint of its key, base64url.
    pub thumbprint: String,
    /// Its public key, JWK JSON.
    pub jwk: String,
    /// `valid`, `deactivated` or `revoked`.
    pub status: String,
    /// JSON array of contact URLs.
    pub contact_json: String,
    /// The EAB key it was bound with.
    pub eab_kid: Option<String>,
    /// When it was made.
    pub created_at: i64,
}

/// An EAB key of a directory (the HMAC key is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeEabKeyRow {
    /// Its key id.
    pub kid: String,
    /// Its directory.
    pub directory: String,
    /// The account bound with it, once used.
    pub account_id: Option<String>,
    /// When it was made.
    pub created_at: i64,
    /// When it was used.
    pub bound_at: Option<i64>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOrderRow {
    /// Its id.
    pub id: String,
    /// The account that placed it.
    pub account_id: String,
    /// `pending`, `ready`, `processing`, `valid` or `invalid`.
    pub status: String,
    /// JSON array of `{"type", "value"}`.
    pub identifiers_json: String,
    /// The issuance profile asked for.
    pub profile: Option<String>,
    /// The ARI certificate id of the certificate this order replaces.
    pub replaces: Option<String>,
    /// When it expires.
    pub expires_at: i64,
    /// Why it became invalid: a problem document, JSON.
    pub error_json: Option<String>,
    /// Its certificate, once valid.
    pub certificate_id: Option<String>,
    /// When it was placed.
    pub created_at: i64,
}

/// An authorization of one identifier of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAuthzRow {
    /// Its id.
    pub id: String,
    /// Its order.
    pub order_id: String,
    /// `dns` or `ip`.
    pub id_type: String,
    /// The name or address (a wildcard without its `*.`).
    pub id_value: String,
    /// The order named `*.` + `id_value`.
    pub wildcard: bool,
    /// `pending`, `processing`, `valid`, `invalid` or `deactivated`.
    pub status: String,
    /// The token all of its challenges share.
    pub token: String,
    /// The challenge the client chose to answer.
    pub chall_type: Option<String>,
    /// When that challenge was validated.
    pub validated_at: Option<i64>,
    /// Why it failed: a problem document, JSON.
    pub error_json: Option<String>,
    /// When it expires.
    pub expires_at: i64,
}

const DIRECTORY_COLUMNS: &str = "SELECT name, tenant_id, role_name, ca_id, profile_id, profiles, require_eab, \
                                 terms_of_service, created_at FROM acme_directories";
const ACCOUNT_COLUMNS: &str =
    "SELECT id, directory, thumbprint, jwk, status, contact, eab_kid, created_at FROM acme_accounts";
const ORDER_COLUMNS: &str = "SELECT id, account_id, status, identifiers, profile, replaces, expires_at, error, \
                             certificate_id, created_at FROM acme_orders";
const AUTHZ_COLUMNS: &str = "SELECT id, order_id, id_type, id_value, wildcard, status, token, chall_type, \
                             validated_at, error, expires_at FROM acme_authzs";

fn directory_row(r: &AnyRow) -> Result<AcmeDirectoryRow> {
    Ok(AcmeDirectoryRow {
        name: r.try_get("name")?,
        tenant_id: r.try_get("tenant_id")?,
        role_name: r.try_get("role_name")?,
        ca_id: r.try_get("ca_id")?,
        profile_id: r.try_get("profile_id")?,
        profiles_json: r.try_get("profiles")?,
        require_eab: r.try_get::<i64, _>("require_eab")? != 0,
        terms_of_service: r.try_get("terms_of_service")?,
        created_at: r.try_get("created_at")?,
    })
}

fn account_row(r: &AnyRow) -> Result<AcmeAccountRow> {
    Ok(AcmeAccountRow {
        id: r.try_get("id")?,
        directory: r.try_get("directory")?,
        thumbprint: r.try_get("thumbprint")?,
        jwk: r.try_get("jwk")?,
        status: r.try_get("status")?,
        contact_json: r.try_get("contact")?,
        eab_kid: r.try_get("eab_kid")?,
        created_at: r.try_get("created_at")?,
    })
}

fn order_row(r: &AnyRow) -> Result<AcmeOrderRow> {
    Ok(AcmeOrderRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        status: r.try_get("status")?,
        identifiers_json: r.try_get("identifiers")?,
        profile: r.try_get("profile")?,
        replaces: r.try_get("replaces")?,
        expires_at: r.try_get("expires_at")?,
        error_json: r.try_get("error")?,
        certificate_id: r.try_get("certificate_id")?,
        created_at: r.try_get("created_at")?,
    })
}

fn authz_row(r: &AnyRow) -> Result<AcmeAuthzRow> {
    Ok(AcmeAuthzRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        id_type: r.try_get("id_type")?,
        id_value: r.try_get("id_value")?,
        wildcard: r.try_get::<i64, _>("wildcard")? != 0,
        status: r.try_get("status")?,
        token: r.try_get("token")?,
        chall_type: r.try_get("chall_type")?,
        validated_at: r.try_get("validated_at")?,
        error_json: r.try_get("error")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    /// Stores a directory with its audit entry.
    pub async fn insert_acme_directory(&self, d: &AcmeDirectoryRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO acme_directories (name, tenant_id, role_name, ca_id, profile_id, profiles, require_eab, \
             terms_of_service, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&d.name)
        .bind(&d.tenant_id)
        .bind(&d.role_name)
        .bind(&d.ca_id)
        .bind(&d.profile_id)
        .bind(&d.profiles_json)
        .bind(d.require_eab as i64)
        .bind(&d.terms_of_service)
        .bind(d.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("an ACME directory with this name"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A directory, whatever its tenant (the ACME routes find the tenant through it).
    pub async fn acme_directory(&self, name: &str) -> Result<AcmeDirectoryRow> {
        let sql = format!("{DIRECTORY_COLUMNS} WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(self.pool()).await?;
        row.as_ref().map(directory_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The tenant's directories.
    pub async fn list_acme_directories(&self, tenant_id: &str) -> Result<Vec<AcmeDirectoryRow>> {
        let sql = format!("{DIRECTORY_COLUMNS} WHERE tenant_id = $1 ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).fetch_all(self.pool()).await?;
        rows.iter().map(directory_row).collect()
    }

    /// Deletes a directory of the tenant with its accounts, keys and orders (not their
    /// certificates).
    pub async fn delete_acme_directory(&self, tenant_id: &str, name: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM acme_directories WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a nonce as used: true the first time, false if any node used it before.
    pub async fn use_acme_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool> {
        let done =
            sqlx::query("INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
                .bind(nonce)
                .bind(expires_at)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets used nonces past their expiry (they would be refused as expired anyway).
    pub async fn sweep_acme_nonces(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM acme_nonces WHERE expires_at <= $1").bind(now).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }

    /// Stores a new account with its audit entry, binding it to `eab_kid` (which must be
    /// unused) if given. `Conflict` if the key has an account or the EAB key was used.
    pub async fn insert_acme_account(&self, a: &AcmeAccountRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(kid) = &a.eab_kid {
            let done = sqlx::query(
                "UPDATE acme_eab_keys SET account_id = $1, bound_at = $2 \
                 WHERE kid = $3 AND directory = $4 AND account_id IS NULL",
            )
            .bind(&a.id)
            .bind(a.created_at)
            .bind(kid)
            .bind(&a.directory)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Conflict("the EAB key is unknown or already used".into()));
            }
        }
        sqlx::query(
            "INSERT INTO acme_accounts (id, directory, thumbprint, jwk, status, contact, eab_kid, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.id)
        .bind(&a.directory)
        .bind(&a.thumbprint)
        .bind(&a.jwk)
        .bind(&a.status)
        .bind(&a.contact_json)
        .bind(&a.eab_kid)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("an account with this key"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account by id.
    pub async fn acme_account(&self, id: &str) -> Result<AcmeAccountRow> {
        let sql = format!("{ACCOUNT_COLUMNS} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(account_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The account of a key in a directory.
    pub async fn acme_account_by_key(&self, directory: &str, thumbprint: &str) -> Result<AcmeAccountRow> {
        let sql = format!("{ACCOUNT_COLUMNS} WHERE directory = $1 AND thumbprint = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(directory).bind(thumbprint).fetch_optional(self.pool()).await?;
        row.as_ref().map(account_row).transpose()?.ok_or(Error::NotFound)
    }

    /// Changes an account's contacts or status (with an audit entry when given).
    pub async fn update_acme_account(
        &self,
        id: &str,
        status: &str,
        contact_json: &str,
        audit: Option<&AuditRow>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE acme_accounts SET status = $1, contact = $2 WHERE id = $3")
            .bind(status)
            .bind(contact_json)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        if let Some(audit) = audit {
            crate::audit::append(&mut tx, &[audit]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rolls an account over to a new key, if it still has `old_thumbprint`. `Conflict` if
    /// another account has the new key or the key changed meanwhile.
    pub async fn change_acme_account_key(
        &self,
        id: &str,
        old_thumbprint: &str,
        thumbprint: &str,
        jwk: &str,
        audit: &AuditRow,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE acme_accounts SET thumbprint = $1, jwk = $2 WHERE id = $3 AND thumbprint = $4")
            .bind(thumbprint)
            .bind(jwk)
            .bind(id)
            .bind(old_thumbprint)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("an account with the new key"))?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict("the account's key changed meanwhile".into()));
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores an EAB key id with its audit entry.
    pub async fn insert_acme_eab_key(&self, k: &AcmeEabKeyRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO acme_eab_keys (kid, directory, created_at) VALUES ($1, $2, $3)")
            .bind(&k.kid)
            .bind(&k.directory)
            .bind(k.created_at)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A directory's EAB keys, newest first.
    pub async fn list_acme_eab_keys(&self, directory: &str) -> Result<Vec<AcmeEabKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, directory, account_id, created_at, bound_at FROM acme_eab_keys \
             WHERE directory = $1 ORDER BY created_at DESC, kid",
        )
        .bind(directory)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AcmeEabKeyRow {
                    kid: r.try_get("kid")?,
                    directory: r.try_get("directory")?,
                    account_id: r.try_get("account_id")?,
                    created_at: r.try_get("created_at")?,
                    bound_at: r.try_get("bound_at")?,
                })
            })
            .collect()
    }

    /// An unused EAB key of a directory exists.
    pub async fn acme_eab_key_unused(&self, directory: &str, kid: &str) -> Result<bool> {
        let row =
            sqlx::query("SELECT 1 AS one FROM acme_eab_keys WHERE directory = $1 AND kid = $2 AND account_id IS NULL")
                .bind(directory)
                .bind(kid)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Stores an order with its authorizations. `Conflict` if another order already replaces
    /// the same certificate: one finalized, or one still open. An invalid or expired unfinished
    /// order gives up its claim (it can no longer replace anything; one left processing by a
    /// crash included), so a client whose first replacement failed can send `replaces` again.
    pub async fn insert_acme_order(&self, o: &AcmeOrderRow, authzs: &[AcmeAuthzRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(replaces) = &o.replaces {
            sqlx::query(
                "UPDATE acme_orders SET replaces = NULL WHERE replaces = $1 \
                 AND (status = 'invalid' OR (status <> 'valid' AND expires_at <= $2))",
            )
            .bind(replaces)
            .bind(o.created_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO acme_orders (id, account_id, status, identifiers, profile, replaces, expires_at, error, \
             certificate_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&o.id)
        .bind(&o.account_id)
        .bind(&o.status)
        .bind(&o.identifiers_json)
        .bind(&o.profile)
        .bind(&o.replaces)
        .bind(o.expires_at)
        .bind(&o.error_json)
        .bind(&o.certificate_id)
        .bind(o.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("an order replacing this certificate"))?;
        for a in authzs {
            sqlx::query(
                "INSERT INTO acme_authzs (id, order_id, id_type, id_value, wildcard, status, token, chall_type, \
                 validated_at, error, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&a.id)
            .bind(&a.order_id)
            .bind(&a.id_type)
            .bind(&a.id_value)
            .bind(a.wildcard as i64)
            .bind(&a.status)
            .bind(&a.token)
            .bind(&a.chall_type)
            .bind(a.validated_at)
            .bind(&a.error_json)
            .bind(a.expires_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many orders created after `created_after` the account has not finished (pending,
    /// ready or processing). Orders expire a fixed time after creation: the caller passes now
    /// minus that time, and the count reads only the account's recent orders.
    pub async fn count_unfinished_acme_orders(&self, account_id: &str, created_after: i64) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM acme_orders WHERE account_id = $1 AND created_at > $2 \
             AND status IN ('pending', 'ready', 'processing')",
        )
        .bind(account_id)
        .bind(created_after)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Deletes at most `limit` orders that expired before `before` without a certificate (and
    /// their authorizations); returns how many. Valid orders are kept: they say which account
    /// a certificate was issued to.
    pub async fn sweep_acme_orders(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM acme_orders WHERE id IN (SELECT id FROM acme_orders \
             WHERE status <> 'valid' AND expires_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// An order by id.
    pub async fn acme_order(&self, id: &str) -> Result<AcmeOrderRow> {
        let sql = format!("{ORDER_COLUMNS} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(order_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The order a certificate was issued for.
    pub async fn acme_order_by_certificate(&self, certificate_id: &str) -> Result<AcmeOrderRow> {
        let sql = format!("{ORDER_COLUMNS} WHERE certificate_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(certificate_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(order_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The order that replaces a certificate (by its ARI id).
    pub async fn acme_order_replacing(&self, ari_id: &str) -> Result<AcmeOrderRow> {
        let sql = format!("{ORDER_COLUMNS} WHERE replaces = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ari_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(order_row).transpose()?.ok_or(Error::NotFound)
    }

    /// An account's order ids, oldest first, at most `limit` from `offset`.
    pub async fn acme_order_ids(&self, account_id: &str, offset: i64, limit: i64) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT id FROM acme_orders WHERE account_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3")
                .bind(account_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Moves an order from status `from` to `to` (with its problem document when failing);
    /// false if it was not in `from`.
    pub async fn set_acme_order_status(
        &self,
        id: &str,
        from: &str,
        to: &str,
        error_json: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE acme_orders SET status = $1, error = $2 WHERE id = $3 AND status = $4")
            .bind(to)
            .bind(error_json)
            .bind(id)
            .bind(from)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An authorization by id.
    pub async fn acme_authz(&self, id: &str) -> Result<AcmeAuthzRow> {
        let sql = format!("{AUTHZ_COLUMNS} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(authz_row).transpose()?.ok_or(Error::NotFound)
    }

    /// An order's authorizations, in the order of its identifiers.
    pub async fn acme_authzs_of_order(&self, order_id: &str) -> Result<Vec<AcmeAuthzRow>> {
        let sql = format!("{AUTHZ_COLUMNS} WHERE order_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(order_id).fetch_all(self.pool()).await?;
        rows.iter().map(authz_row).collect()
    }

    /// Starts validating a pending authorization with the chosen challenge; false if it was
    /// no longer pending (another request started it).
    pub async fn start_acme_authz(&self, id: &str, chall_type: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE acme_authzs SET status = 'processing', chall_type = $1 WHERE id = $2 AND status = 'pending'",
        )
        .bind(chall_type)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends an authorization from `from` with `to` (`valid`, `invalid` or `deactivated`) and
    /// carries its order along in the same transaction: any invalid authorization makes a
    /// pending order invalid; all valid make it ready.
    pub async fn finish_acme_authz(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        at: i64,
        error_json: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let authz = {
            let sql = format!("{AUTHZ_COLUMNS} WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await?;
            row.as_ref().map(authz_row).transpose()?.ok_or(Error::NotFound)?
        };
        if !from.contains(&authz.status.as_str()) {
            return Ok(false);
        }
        let validated_at = (to == "valid").then_some(at);
        sqlx::query("UPDATE acme_authzs SET status = $1, validated_at = $2, error = $3 WHERE id = $4")
            .bind(to)
            .bind(validated_at)
            .bind(error_json)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        settle_order(&mut tx, &authz.order_id, error_json).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Moves a pending order to `invalid` (any authorization not valid and finished) or `ready`
/// (all valid).
async fn settle_order(tx: &mut Tx<'_>, order_id: &str, error_json: Option<&str>) -> Result<()> {
    let rows =
        sqlx::query("SELECT status FROM acme_authzs WHERE order_id = $1").bind(order_id).fetch_all(&mut **tx).await?;
    let statuses: Vec<String> = rows.iter().map(|r| r.try_get("status")).collect::<std::result::Result<_, _>>()?;
    let next = if statuses.iter().any(|s| s == "invalid" || s == "deactivated") {
        "invalid"
    } else if statuses.iter().all(|s| s == "valid") {
        "ready"
    } else {
        return Ok(());
    };
    sqlx::query("UPDATE acme_orders SET status = $1, error = $2 WHERE id = $3 AND status = 'pending'")
        .bind(next)
        .bind(if next == "invalid" { error_json } else { None })
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a finalized order's certificate (in the issuance's transaction): the order must
/// still be `processing`.
pub(crate) async fn complete_order(tx: &mut impl Exec, order_id: &str, certificate_id: &str) -> Result<()> {
    let sql = Sql::new(
        "UPDATE acme_orders SET status = 'valid', certificate_id = $1 WHERE id = $2 AND status = 'processing'",
    )
    .arg(certificate_id)
    .arg(order_id);
    if tx.run(sql).await? != 1 {
        return Err(Error::Changed("the order was finalized or changed concurrently".into()));
    }
    Ok(())
}
