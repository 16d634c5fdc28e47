//! Password accounts and sessions for the /api/v1 front door: argon2id password hashes, HS256
//! access tokens (15 minutes) signed under a KEK-derived key, rotating refresh tokens (24 hours,
//! stored as SHA-256), logout by blocking the token id, and "log out everywhere".

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use certus_store::{AuditRow, UserRow};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fastpki::actor_of;
use crate::{Authority, new_uuid};

/// How long an /api/v1 access token lives.
pub const ACCESS_TOKEN_MINUTES: i64 = 15;
pub(crate) const REFRESH_TOKEN_MINUTES: i64 = 1440;
/// The id a superuser API token acts under; user ids start at 1.
const API_TOKEN_USER_ID: i64 = 0;
const ROLES: [&str; 3] = ["superuser", "admin", "user"];
/// Domain separation: the KEK's MAC key also signs list bookmarks.
const JWT_CONTEXT: &[u8] = b"certus-api-v1-jwt\0";

/// Who may create users without signing in (see `Authority::with_registration`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    pub first_user: bool,
    pub open: bool,
}

/// A request to create a user; capability flags are honoured at creation (the reference
/// implementation drops them).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// The user name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// The password (stored as argon2).
    pub password: String,
    /// `superuser`, `admin` or `user`.
    pub role: Option<String>,
    /// Whether the user may sign in.
    pub is_active: Option<bool>,
    /// May create CAs.
    pub can_create_ca: bool,
    /// May issue certificates.
    pub can_create_cert: bool,
    /// May revoke certificates.
    pub can_revoke_cert: bool,
    /// May export private keys.
    pub can_export_private_key: bool,
    /// May delete CAs.
    pub can_delete_ca: bool,
    /// The /api/v1 id of the organisation to join.
    pub organization_id: Option<i64>,
}

impl NewUser {
    fn grants_capabilities(&self) -> bool {
        self.can_create_ca
            || self.can_create_cert
            || self.can_revoke_cert
            || self.can_export_private_key
            || self.can_delete_ca
    }
}

/// An access and a refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token (single use).
    pub refresh_token: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Claims {
    pub sub: String,
    pub id: i64,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// A valid access token and its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: UserRow,
    /// The token id.
    pub jti: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

/// Argon2 takes tens of milliseconds by design: both directions run off the async runtime.
pub(crate) async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    crate::blocking(move || hash_password_now(&password)).await
}

pub(crate) async fn password_matches(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    crate::blocking(move || Ok(password_matches_now(&password, &phc))).await.unwrap_or(false)
}

fn hash_password_now(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&certus_kms::random_bytes::<16>()).map_err(Error::internal)?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map_err(Error::internal)?.to_string())
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 { Err(Error::malformed("password: Min 8 chars")) } else { Ok(()) }
}

fn check_email(email: &str) -> Result<()> {
    if email.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.')) {
        Ok(())
    } else {
        Err(Error::malformed("email: not a valid email address"))
    }
}

fn password_matches_now(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Who a superuser API token acts as on /api/v1.
pub(crate) fn api_token_superuser() -> UserRow {
    UserRow {
        id: API_TOKEN_USER_ID,
        username: "certus-api-token".into(),
        role: "superuser".into(),
        is_active: true,
        ..Default::default()
    }
}

fn no_session_to_end(session: &Session) -> Result<()> {
    if session.user.id == API_TOKEN_USER_ID {
        return Err(Error::policy("an API token has no session to end; revoke it through /v1/admin/tokens"));
    }
    Ok(())
}

/// A hash no password is checked against for real: stands in for a missing user.
pub(crate) fn unknown_user_hash() -> &'static String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password_now(&hex::encode(certus_kms::random_bytes::<16>())).unwrap_or_default())
}

fn refresh_hash(token: &str) -> String {
    hex::encode(certus_kms::sha256(token.as_bytes()))
}

impl crate::Authority {
    fn user_audit(&self, actor: &str, action: &str, user: &str, tenant_id: Option<String>) -> AuditRow {
        AuditRow {
            at: self.now_secs(),
            tenant_id,
            actor: actor.to_owned(),
            action: action.to_owned(),
            resource: user.to_owned(),
            detail: String::new(),
        }
    }
}

impl Authority {
    /// The tenant that files a user's audit entries under the user's organisation (none: only
    /// superusers read them).
    async fn audit_tenant(&self, user: &UserRow) -> Option<String> {
        let org = user.org_id.as_deref()?;
        self.store.fastpki_org_of(org).await.ok().map(|o| o.tenant_id)
    }

    /// Creates a user. While no user exists anyone may create one with any role (first-user
    /// bootstrap, unless switched off); afterwards only a signed-in caller may (or anyone, for a
    /// plain user without organisation or capabilities, when registration is open), and only a
    /// superuser may create admins and superusers. `caller` is `None` for an unauthenticated
    /// request.
    pub async fn create_user(&self, caller: Option<&UserRow>, new: NewUser) -> Result<UserRow> {
        let role = new.role.clone().unwrap_or_else(|| "user".into());
        if !ROLES.contains(&role.as_str()) {
            return Err(Error::malformed("role must be superuser, admin or user"));
        }
        check_password(&new.password)?;
        check_email(&new.email)?;
        let bootstrapping = self.registration.first_user && self.store.first_user_bootstrap_open().await?;
        if !bootstrapping {
            match caller {
                None if role != "user" => {
                    return Err(Error::forbidden("Not enough permissions to create admin or superuser accounts"));
                }
                None if !self.registration.open => {
                    return Err(Error::forbidden("Unauthenticated registration is disabled"));
                }
                None if new.organization_id.is_some() => {
                    return Err(Error::forbidden("Not enough permissions to change organization assignment"));
                }
                None if new.grants_capabilities() => {
                    return Err(Error::forbidden("Not enough permissions to change capabilities"));
                }
                None => {}
                Some(c) if role != "user" && c.role != "superuser" => {
                    return Err(Error::forbidden("Not enough permissions to create admin or superuser accounts"));
                }
                Some(_) => {}
            }
        }
        // Only a superuser places users in any organisation; others in their own (or none).
        let org = match new.organization_id {
            None => None,
            Some(num) => Some(self.fastpki_org_or_400(num).await?),
        };
        // The number the caller gave is echoed back, as the record holds it.
        let org_num = org.as_ref().map(|o| o.id);
        let org_id = org.map(|o| o.org_id);
        if let Some(c) = caller
            && c.role != "superuser"
        {
            if org_id.is_some() && org_id != c.org_id {
                return Err(Error::forbidden("Not enough permissions to change organization assignment"));
            }
            let same_org_admin = c.role == "admin" && c.org_id.is_some() && c.org_id == org_id;
            if new.grants_capabilities() && !same_org_admin {
                return Err(Error::forbidden("Not enough permissions to change capabilities"));
            }
        }
        for (value, by_email, taken) in
            [(&new.username, false, "Username already registered"), (&new.email, true, "Email already registered")]
        {
            match self.store.find_user(value, by_email).await {
                Ok(_) => return Err(Error::policy(taken)),
                Err(certus_store::Error::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let now = self.now_secs();
        let mut row = UserRow {
            id: 0,
            username: new.username,
            email: new.email,
            password_hash: hash_password(&new.password).await?,
            role,
            is_active: new.is_active.unwrap_or(true),
            org_id,
            org_num,
            service_account_id: None,
            can_create_ca: new.can_create_ca,
            can_create_cert: new.can_create_cert,
            can_revoke_cert: new.can_revoke_cert,
            can_export_private_key: new.can_export_private_key,
            can_delete_ca: new.can_delete_ca,
            tokens_invalidated_at: None,
            created_at: now,
            updated_at: now,
        };
        let actor = caller.map_or_else(|| "anonymous".to_owned(), actor_of);
        let audit = self.user_audit(&actor, "user_create", "user", self.audit_tenant(&row).await);
        // Two anonymous first-user requests may both have seen an empty table; one wins.
        let first = bootstrapping && caller.is_none();
        row.id = match self.store.insert_user(&row, &audit, first).await {
            Err(certus_store::Error::Conflict(what)) if what == "the first user" => {
                return Err(Error::forbidden(if row.role == "user" {
                    "Unauthenticated registration is disabled"
                } else {
                    "Not enough permissions to create admin or superuser accounts"
                }));
            }
            other => other?,
        };
        Ok(row)
    }

    /// Counts a login attempt from `client` (its address); false once it has made more than
    /// `per_minute` in the last minute. Every node counts into the same database rows.
    pub async fn login_allowed(&self, client: &str, per_minute: usize) -> Result<bool> {
        let made = self.store.count_login_attempt(client, self.now_secs()).await?;
        Ok(usize::try_from(made).unwrap_or(usize::MAX) <= per_minute)
    }

    /// OAuth2 password login. Wrong password, unknown and inactive users get the same answer.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair> {
        let user = self.password_login(username, password).await?;
        self.new_session(&user).await
    }

    /// Checks a user's password, audited either way (the /api/v1 login and the console's).
    pub(crate) async fn password_login(&self, username: &str, password: &str) -> Result<UserRow> {
        let user = match self.store.find_user(username, false).await {
            Ok(u) => Some(u),
            Err(certus_store::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        // An unknown user costs one argon2 run too, so timing does not tell which names exist.
        let phc = user.as_ref().map_or_else(|| unknown_user_hash().as_str(), |u| u.password_hash.as_str());
        let password_ok = password_matches(password, phc).await;
        let Some(user) = user.filter(|u| u.is_active && password_ok) else {
            let audit = self.user_audit("anonymous", "login_failure", &format!("username:{username}"), None);
            self.store.append_audit(&audit).await?;
            return Err(Error::unauthorized("Incorrect username or password"));
        };
        let audit = self.user_audit(&actor_of(&user), "login_success", "session", self.audit_tenant(&user).await);
        self.store.append_audit(&audit).await?;
        Ok(user)
    }

    async fn new_session(&self, user: &UserRow) -> Result<TokenPair> {
        let now = self.now_secs();
        let claims = Claims {
            sub: user.username.clone(),
            id: user.id,
            role: user.role.clone(),
            exp: now + ACCESS_TOKEN_MINUTES * 60,
            iat: now,
            jti: new_uuid(),
        };
        let refresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(certus_kms::random_bytes::<36>());
        self.store.insert_refresh_token(&refresh_hash(&refresh), user.id, now + REFRESH_TOKEN_MINUTES * 60).await?;
        Ok(TokenPair { access_token: self.sign_jwt(&claims)?, refresh_token: refresh })
    }

    /// Rotates a refresh token: the presented one is spent, a new pair is returned.
    pub async fn refresh_session(&self, refresh_token: &str) -> Result<TokenPair> {
        let user_id = match self.store.take_refresh_token(&refresh_hash(refresh_token), self.now_secs()).await {
            Ok(id) => id,
            Err(certus_store::Error::NotFound) => return Err(Error::unauthorized("Invalid or expired refresh token")),
            Err(e) => return Err(e.into()),
        };
        let user = self.store.get_user(user_id).await?;
        if !user.is_active {
            return Err(Error::unauthorized("User not found or inactive"));
        }
        self.new_session(&user).await
    }

    /// Logout: the access token stops working now and the refresh token is revoked.
    pub async fn logout(&self, session: &Session, refresh_token: &str) -> Result<()> {
        no_session_to_end(session)?;
        let hash = refresh_hash(refresh_token);
        match self.store.refresh_token_owner(&hash).await {
            Ok(owner) if owner == session.user.id => {}
            Ok(_) | Err(certus_store::Error::NotFound) => {
                return Err(Error::forbidden("Refresh token does not belong to current user"));
            }
            Err(e) => return Err(e.into()),
        }
        self.store.end_session(&session.jti, session.exp, &hash).await?;
        Ok(())
    }

    /// Forgets expired refresh tokens, blocked token ids and console sessions (run by the
    /// periodic sweeper).
    pub async fn sweep_expired_sessions(&self) -> Result<u64> {
        let api = self.store.sweep_expired_sessions(self.now_secs()).await?;
        Ok(api + self.sweep_console_sessions().await?)
    }

    /// Ends every session of the caller.
    pub async fn invalidate_sessions(&self, session: &Session) -> Result<()> {
        no_session_to_end(session)?;
        self.store.invalidate_sessions(session.user.id, self.now_secs()).await?;
        Ok(())
    }

    /// Checks an access token: signature, expiry, blocklist, user, and sessions invalidated
    /// after it was issued. An inactive user is reported separately, as the reference does.
    /// A Certus superuser API token (such as the bootstrap token) is accepted too, as an
    /// organisation-less superuser with id 0 that no user row has.
    pub async fn session_of(&self, token: &str) -> Result<Session> {
        let invalid = || Error::unauthorized("Could not validate credentials");
        if !token.contains('.') {
            return match self.authenticate(Some(token)).await {
                Ok(caller) if caller.superuser => {
                    Ok(Session { user: api_token_superuser(), jti: caller.token_id, exp: i64::MAX })
                }
                _ => Err(invalid()),
            };
        }
        let claims = self.verify_jwt(token).ok_or_else(invalid)?;
        if claims.exp <= self.now_secs() || self.store.is_access_token_blocked(&claims.jti).await? {
            return Err(invalid());
        }
        let user = match self.store.get_user(claims.id).await {
            Ok(u) => u,
            Err(certus_store::Error::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        // Whole seconds on both sides: a token from the same second as the invalidation is
        // already void.
        if user.tokens_invalidated_at.is_some_and(|at| claims.iat <= at) {
            return Err(invalid());
        }
        if !user.is_active {
            return Err(Error::policy("Inactive user"));
        }
        Ok(Session { user, jti: claims.jti, exp: claims.exp })
    }

    fn sign_jwt(&self, claims: &Claims) -> Result<String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64.encode(serde_json::to_vec(claims).map_err(Error::internal)?);
        let input = format!("{header}.{payload}");
        let tag = self.kek.mac(&[JWT_CONTEXT, input.as_bytes()].concat());
        Ok(format!("{input}.{}", b64.encode(tag)))
    }

    fn verify_jwt(&self, token: &str) -> Option<Claims> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (input, tag) = token.rsplit_once('.')?;
        let (header, payload) = input.split_once('.')?;
        let header: serde_json::Value = serde_json::from_slice(&b64.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return None;
        }
        if !self.kek.verify_mac(&[JWT_CONTEXT, input.as_bytes()].concat(), &b64.decode(tag).ok()?) {
            return None;
        }
        serde_json::from_slice(&b64.decode(payload).ok()?).ok()
    }
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Email address.
    pub email: Option<String>,
    /// The password (stored as argon2).
    pub password: Option<String>,
    /// `superuser`, `admin` or `user`.
    pub role: Option<String>,
    /// Whether the user may sign in.
    pub is_active: Option<bool>,
    /// May create CAs.
    pub can_create_ca: Option<bool>,
    /// May issue certificates.
    pub can_create_cert: Option<bool>,
    /// May revoke certificates.
    pub can_revoke_cert: Option<bool>,
    /// May export private keys.
    pub can_export_private_key: Option<bool>,
    /// May delete CAs.
    pub can_delete_ca: Option<bool>,
    /// The /api/v1 id of a new organisation (superusers only); leaving one is done through
    /// the organisation's membership route.
    pub organization_id: Option<i64>,
}

impl UserPatch {
    fn touches_capabilities(&self) -> bool {
        [
            self.can_create_ca,
            self.can_create_cert,
            self.can_revoke_cert,
            self.can_export_private_key,
            self.can_delete_ca,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// An admin manages the users of its own organisation; one without an organisation only itself.
fn admin_manages(caller: &UserRow, target: &UserRow) -> bool {
    caller.role == "admin" && (caller.id == target.id || (caller.org_id.is_some() && caller.org_id == target.org_id))
}

impl Authority {
    pub(crate) async fn user_or_404(&self, id: i64) -> Result<UserRow> {
        match self.store.get_user(id).await {
            Err(certus_store::Error::NotFound) => Err(Error::not_found("User not found")),
            other => Ok(other?),
        }
    }

    /// Users the caller may see.
    pub async fn list_users(&self, caller: &UserRow, skip: i64, limit: i64) -> Result<Vec<UserRow>> {
        if caller.role != "superuser" {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        Ok(self.store.list_users(skip.max(0), limit.clamp(0, 1000)).await?)
    }

    /// Superusers read anyone, admins the users of their organisation, users themselves.
    pub async fn read_user(&self, caller: &UserRow, id: i64) -> Result<UserRow> {
        let target = self.user_or_404(id).await?;
        if caller.role == "superuser" || caller.id == id || admin_manages(caller, &target) {
            Ok(target)
        } else {
            Err(Error::forbidden("Not enough permissions"))
        }
    }

    /// Applies a patch with the documented checks, in the documented order. Unlike the
    /// reference, an admin cannot change the email or password of users outside its organisation.
    pub async fn patch_user(&self, caller: &UserRow, id: i64, patch: UserPatch) -> Result<UserRow> {
        let mut user = self.user_or_404(id).await?;
        let superuser = caller.role == "superuser";
        if (patch.role.is_some() || patch.is_active.is_some()) && !superuser {
            return Err(Error::forbidden("Not enough permissions to change role or activation status"));
        }
        let same_org_admin = caller.role == "admin" && caller.org_id.is_some() && caller.org_id == user.org_id;
        if patch.touches_capabilities() && !superuser && !same_org_admin {
            return Err(Error::forbidden("Not enough permissions to change capabilities"));
        }
        if patch.organization_id.is_some_and(|n| user.org_num != Some(n)) && !superuser {
            return Err(Error::forbidden("Not enough permissions to change organization assignment"));
        }
        if !superuser && caller.id != id && !admin_manages(caller, &user) {
            return Err(Error::forbidden("Not enough permissions"));
        }
        if superuser && caller.id == id && patch.role.as_deref().is_some_and(|r| r != "superuser") {
            return Err(Error::forbidden("Superusers cannot downgrade themselves"));
        }
        if let Some(role) = &patch.role
            && !ROLES.contains(&role.as_str())
        {
            return Err(Error::malformed("role must be superuser, admin or user"));
        }
        if let Some(n) = patch.organization_id {
            user.org_id = Some(self.fastpki_org_or_400(n).await?.org_id);
        }
        let now = self.now_secs();
        let mut end_sessions = false;
        if let Some(email) = patch.email {
            check_email(&email)?;
            if email != user.email {
                match self.store.find_user(&email, true).await {
                    Ok(_) => return Err(Error::policy("Email already registered")),
                    Err(certus_store::Error::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            user.email = email;
        }
        if let Some(password) = patch.password {
            check_password(&password)?;
            user.password_hash = hash_password(&password).await?;
            end_sessions = true;
        }
        if let Some(active) = patch.is_active {
            end_sessions |= user.is_active && !active;
            user.is_active = active;
        }
        user.role = patch.role.unwrap_or(user.role);
        user.can_create_ca = patch.can_create_ca.unwrap_or(user.can_create_ca);
        user.can_create_cert = patch.can_create_cert.unwrap_or(user.can_create_cert);
        user.can_revoke_cert = patch.can_revoke_cert.unwrap_or(user.can_revoke_cert);
        user.can_export_private_key = patch.can_export_private_key.unwrap_or(user.can_export_private_key);
        user.can_delete_ca = patch.can_delete_ca.unwrap_or(user.can_delete_ca);
        if end_sessions {
            user.tokens_invalidated_at = Some(now);
        }
        user.updated_at = now;
        let audit =
            self.user_audit(&actor_of(caller), "user_update", &format!("user:{id}"), self.audit_tenant(&user).await);
        self.store.update_user(&user, end_sessions, &audit).await?;
        self.user_or_404(id).await
    }

    /// Superusers delete users, never themselves.
    pub async fn delete_user(&self, caller: &UserRow, id: i64) -> Result<()> {
        if caller.role != "superuser" {
            return Err(Error::forbidden("The user doesn't have sufficient privileges"));
        }
        if caller.id == id {
            return Err(Error::policy("Superusers cannot delete themselves"));
        }
        let user = self.user_or_404(id).await?;
        let audit =
            self.user_audit(&actor_of(caller), "user_delete", &format!("user:{id}"), self.audit_tenant(&user).await);
        Ok(self.store.delete_user(id, &audit).await?)
    }
}
