//! Who may do what in /api/v1: superusers everything; everyone else only inside their own
//! organisation, where admins may do everything, users read and do what their capability flags
//! allow. A resource outside any organisation (made by an organisation-less superuser) is for
//! superusers only. Unlike the reference, creating a resource grants nothing beyond these rules
//! (the documents name only capability, admin role and superuser), and a user without an
//! organisation sees nothing rather than everything.

use certus_store::UserRow;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Read,
    CreateCa,
    CreateCert,
    RevokeCert,
    ExportPrivateKey,
    DeleteCa,
}

pub(crate) fn is_superuser(user: &UserRow) -> bool {
    user.role == "superuser"
}

/// Whether `user` may perform `action` on something in organisation `org` (its /api/v1 id;
/// None for the bootstrap tenant).
pub(crate) fn allowed(user: &UserRow, org: Option<i64>, action: Action) -> bool {
    if is_superuser(user) {
        return true;
    }
    let Some(org) = org else { return false };
    if user.org_num != Some(org) {
        return false;
    }
    if user.role == "admin" {
        return true;
    }
    match action {
        Action::Read => true,
        Action::CreateCa => user.can_create_ca,
        Action::CreateCert => user.can_create_cert,
        Action::RevokeCert => user.can_revoke_cert,
        Action::ExportPrivateKey => user.can_export_private_key,
        Action::DeleteCa => user.can_delete_ca,
    }
}

pub(crate) fn require(user: &UserRow, org: Option<i64>, action: Action) -> Result<()> {
    if allowed(user, org, action) { Ok(()) } else { Err(Error::forbidden("Insufficient permissions")) }
}

/// How the audit log names a /api/v1 actor.
pub(crate) fn actor_of(user: &UserRow) -> String {
    match (user.service_account_id, user.id) {
        (Some(sa), _) => format!("service_account:{sa}"),
        (None, 0) => "api-token:superuser".into(),
        (None, id) => format!("user:{id}"),
    }
}

/// The user id a record names as its creator (none for API tokens and service accounts).
pub(crate) fn creator_of(user: &UserRow) -> Option<i64> {
    Some(user.id).filter(|&id| id != 0 && user.service_account_id.is_none())
}

/// The engine-level caller a permitted /api/v1 request acts as, inside one tenant.
pub(crate) fn caller_in(user: &UserRow, tenant_id: &str) -> Caller {
    Caller {
        token_id: actor_of(user),
        tenant_id: tenant_id.to_owned(),
        scopes: vec![Scope::Issue, Scope::Admin],
        superuser: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: &str, org: Option<i64>) -> UserRow {
        UserRow { id: 7, role: role.into(), org_num: org, ..Default::default() }
    }

    #[test]
    fn the_permission_model() {
        let all = [
            Action::Read,
            Action::CreateCa,
            Action::CreateCert,
            Action::RevokeCert,
            Action::ExportPrivateKey,
            Action::DeleteCa,
        ];
        for a in all {
            assert!(allowed(&user("superuser", None), None, a));
            assert!(allowed(&user("admin", Some(1)), Some(1), a));
            assert!(!allowed(&user("admin", Some(1)), Some(2), a));
            assert!(!allowed(&user("admin", None), None, a), "org-less admins see nothing");
            assert!(!allowed(&user("user", None), None, a));
        }
        let plain = user("user", Some(1));
        assert!(allowed(&plain, Some(1), Action::Read));
        assert!(!allowed(&plain, Some(2), Action::Read));
        for a in &all[1..] {
            assert!(!allowed(&plain, Some(1), *a), "{a:?} needs its flag");
        }
        let capable = UserRow {
            can_create_ca: true,
            can_create_cert: true,
            can_revoke_cert: true,
            can_export_private_key: true,
            can_delete_ca: true,
            ..plain
        };
        for a in all {
            assert!(allowed(&capable, Some(1), a));
            assert!(!allowed(&capable, Some(2), a));
        }
    }
}
