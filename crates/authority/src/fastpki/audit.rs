//! The audit log as /api/v1 shows it: one log for the whole product, its entries named with
//! this front door's action names and numbers.

use certus_store::{FastPkiAuditQuery, FastPkiAuditRow, UserRow};

use super::access::is_superuser;
use crate::Authority;
use crate::error::{Error, Result};

/// /api/v1 action names and the engine's names for the same events (other names, such as
/// `login_success` or `org_create`, are stored as they are).
const ACTIONS: &[(&str, &[&str])] = &[
    ("ca_create", &["ca.create"]),
    ("ca_delete", &["ca.delete"]),
    ("ca_update", &["ca.update"]),
    ("ca_export_private_key", &["ca.private_key_export"]),
    ("cert_create", &["certificate.issue", "certificate.renew", "certificate.import"]),
    ("cert_revoke", &["certificate.revoke"]),
    ("cert_export_private_key", &["certificate.private_key_export"]),
];

fn fastpki_action(stored: &str) -> &str {
    ACTIONS.iter().find(|(_, names)| names.contains(&stored)).map_or(stored, |(fastpki, _)| fastpki)
}

fn stored_actions(fastpki: &str) -> Vec<String> {
    match ACTIONS.iter().find(|(name, _)| *name == fastpki) {
        Some((_, names)) => names.iter().map(|n| (*n).to_owned()).collect(),
        None => vec![fastpki.to_owned()],
    }
}

/// Filters of /api/v1's audit-log view.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The action, by name.
    pub action: Option<String>,
    /// The acting user.
    pub user_id: Option<i64>,
    /// The resource type.
    pub resource_type: Option<String>,
    /// The resource, by /api/v1 id.
    pub resource_id: Option<i64>,
    /// Only entries at or after.
    pub since: Option<i64>,
    /// Only entries before.
    pub until: Option<i64>,
    /// How many to skip.
    pub skip: i64,
    /// How many at most.
    pub limit: i64,
}

/// One audit-log entry as /api/v1 shows it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Its id.
    pub id: i64,
    /// When.
    pub at: i64,
    /// The action, by name.
    pub action: String,
    /// The acting user.
    pub user_id: Option<i64>,
    /// The user name.
    pub username: Option<String>,
    /// The organisation's /api/v1 id.
    pub organization_id: Option<i64>,
    /// The resource type.
    pub resource_type: Option<String>,
    /// The resource, by /api/v1 id.
    pub resource_id: Option<i64>,
    /// Details.
    pub detail: String,
}

impl From<FastPkiAuditRow> for AuditEntry {
    fn from(r: FastPkiAuditRow) -> Self {
        let user_id = r.actor.strip_prefix("user:").and_then(|n| n.parse().ok());
        // Entries not made by a user name their actor (an API token, "anonymous") instead.
        let username = r.username.or_else(|| user_id.is_none().then(|| r.actor.clone()));
        AuditEntry {
            id: r.id,
            at: r.at,
            action: fastpki_action(&r.action).to_owned(),
            user_id,
            username,
            organization_id: r.org_num,
            resource_type: r.resource_type,
            resource_id: r.resource_num,
            detail: r.detail,
        }
    }
}

impl Authority {
    /// Superusers read every entry, admins their organisation's (none without one), users none.
    pub async fn list_fastpki_audit(&self, user: &UserRow, f: AuditFilter) -> Result<Vec<AuditEntry>> {
        let org_id = if is_superuser(user) {
            None
        } else if user.role == "admin" {
            match &user.org_id {
                Some(org) => Some(org.clone()),
                None => return Ok(vec![]),
            }
        } else {
            return Err(Error::forbidden("Insufficient permissions"));
        };
        let q = FastPkiAuditQuery {
            org_id,
            actions: f.action.as_deref().map(stored_actions).unwrap_or_default(),
            actor: f.user_id.map(|id| format!("user:{id}")),
            resource_type: f.resource_type,
            resource_num: f.resource_id,
            since: f.since,
            until: f.until,
            skip: f.skip,
            limit: f.limit,
        };
        Ok(self.store.list_fastpki_audit(&q).await?.into_iter().map(AuditEntry::from).collect())
    }
}
