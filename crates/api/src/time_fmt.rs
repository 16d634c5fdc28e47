//! RFC 3339 UTC timestamps for responses (`2026-04-23T14:00:00Z`).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn rfc3339_opt(secs: Option<i64>) -> Option<String> {
    secs.map(rfc3339)
}
