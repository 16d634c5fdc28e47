//! The issuing routes' rate limit: fixed one-minute windows counted in the database, so every
//! node sharing it enforces one limit.

use crate::Authority;
use crate::error::Result;

impl Authority {
    /// Counts one issuing request against each bucket (a token's digest, a client address).
    /// `None` when every bucket is within `per_minute`; otherwise the seconds until the window
    /// ends, for `Retry-After`.
    pub async fn issue_allowed(&self, buckets: &[String], per_minute: u64) -> Result<Option<u64>> {
        let now = self.now_secs();
        let minute = now.div_euclid(60);
        let mut over = false;
        for bucket in buckets {
            let hits = self.store.count_in_window(bucket, minute).await?;
            over |= u64::try_from(hits).unwrap_or(u64::MAX) > per_minute;
        }
        Ok(over.then(|| u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60)))
    }

    /// Forgets finished windows.
    pub async fn sweep_rate_windows(&self) -> Result<u64> {
        Ok(self.store.sweep_rate_windows(self.now_secs().div_euclid(60)).await?)
    }
}
