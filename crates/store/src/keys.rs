//! Key records: sealed software keys and references to keys on a PKCS#11 token.

use sqlx::Row;

use crate::db::{Sql, Tx};
use crate::error::{Error, Result};
use crate::records::*;
use crate::store::Store;

impl Store {
    /// A key record of the tenant.
    pub async fn get_key(&self, tenant_id: &str, id: &str) -> Result<KeyRow> {
        sqlx::query(
            "SELECT id, tenant_id, spec, backend, sealed, created_at FROM keys WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| -> Result<KeyRow> {
            Ok(KeyRow {
                id: r.try_get("id")?,
                tenant_id: r.try_get("tenant_id")?,
                spec: r.try_get("spec")?,
                backend: r.try_get("backend")?,
                sealed: r.try_get("sealed")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()?
        .ok_or(Error::NotFound)
    }
}

pub(crate) async fn insert_key(tx: &mut Tx<'_>, k: &KeyRow) -> Result<()> {
    insert_keys(tx, &[k]).await
}

pub(crate) async fn insert_keys(tx: &mut Tx<'_>, keys: &[&KeyRow]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("INSERT INTO keys (id, tenant_id, spec, backend, sealed, created_at)");
    sql.values(keys, |row, k| {
        row.bind(k.id.clone())
            .bind(k.tenant_id.clone())
            .bind(k.spec.clone())
            .bind(k.backend.clone())
            .bind(k.sealed.clone())
            .bind(k.created_at);
    });
    sql.build().execute(&mut **tx).await?;
    Ok(())
}
