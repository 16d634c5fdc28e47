//! Key records: sealed software keys and references to keys on a PKCS#11 token.

use sqlx::Row;

use crate::db::Sql;
use crate::error::{Error, Result};
use crate::exec::Exec;
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

pub(crate) async fn insert_key(tx: &mut impl Exec, k: &KeyRow) -> Result<()> {
    insert_keys(tx, &[k]).await
}

pub(crate) async fn insert_keys<E: Exec>(tx: &mut E, keys: &[&KeyRow]) -> Result<()> {
    for chunk in keys.chunks(E::ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO keys (id, tenant_id, spec, backend, sealed, created_at)");
        sql.values(chunk, |row, k| {
            row.bind(&k.id).bind(&k.tenant_id).bind(&k.spec).bind(&k.backend).bind(&k.sealed).bind(k.created_at);
        });
        tx.run(sql).await?;
    }
    Ok(())
}
