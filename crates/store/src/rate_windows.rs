//! Fixed-window request counters shared by every node (the issuing routes' rate limit).

use sqlx::Row;

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Counts one request for `bucket` in the window starting at `minute` (a Unix time divided
    /// by 60) and returns the window's count so far.
    pub async fn count_in_window(&self, bucket: &str, minute: i64) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO rate_windows (bucket, minute, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, minute) DO UPDATE SET hits = rate_windows.hits + 1 RETURNING hits",
        )
        .bind(bucket)
        .bind(minute)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("hits")?)
    }

    /// Forgets windows before `minute`.
    pub async fn sweep_rate_windows(&self, minute: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM rate_windows WHERE minute < $1").bind(minute).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
