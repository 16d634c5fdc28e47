//! What the metrics read of the inventory at scrape time: certificates expiring soon per
//! issuing CA, every CA's notAfter, and when each CA's complete CRL was built.

use sqlx::Row;

use crate::error::Result;
use crate::store::Store;

/// The expiry windows counted, in days.
const WINDOWS: [(&str, i64); 2] = [("7d", 7), ("30d", 30)];

/// Inventory figures across all tenants.
#[derive(Debug, Clone, Default)]
pub struct InventoryGauges {
    /// (issuing CA id, window name, unrevoked certificates expiring within it).
    pub expiring: Vec<(String, &'static str, i64)>,
    /// (CA id, its notAfter).
    pub ca_not_after: Vec<(String, i64)>,
    /// (CA id, thisUpdate of its complete CRL).
    pub crl_this_update: Vec<(String, i64)>,
}

impl Store {
    /// Reads the inventory gauges as of `now`.
    pub async fn inventory_gauges(&self, now: i64) -> Result<InventoryGauges> {
        let mut out = InventoryGauges::default();
        for (name, days) in WINDOWS {
            let rows = sqlx::query(
                "SELECT issuer_ca_id, COUNT(*) AS n FROM certificates \
                 WHERE issuer_ca_id IS NOT NULL AND revoked_at IS NULL AND not_after > $1 AND not_after <= $2 \
                 GROUP BY issuer_ca_id",
            )
            .bind(now)
            .bind(now + days * 86_400)
            .fetch_all(self.pool())
            .await?;
            for r in rows {
                out.expiring.push((r.try_get("issuer_ca_id")?, name, r.try_get("n")?));
            }
        }
        for r in sqlx::query("SELECT id, valid_until FROM cas").fetch_all(self.pool()).await? {
            out.ca_not_after.push((r.try_get("id")?, r.try_get("valid_until")?));
        }
        for r in sqlx::query("SELECT ca_id, this_update FROM crls").fetch_all(self.pool()).await? {
            out.crl_this_update.push((r.try_get("ca_id")?, r.try_get("this_update")?));
        }
        Ok(out)
    }
}
