//! ACME (RFC 8555) with renewal information (RFC 9773), profiles, external account binding and
//! IP identifiers (RFC 8738). A directory maps `/acme/{name}/…` onto a role, or a CA plus an
//! issuance profile, of one tenant; its certificates go through the one pipeline.
//!
//! `jws` checks every signed request; `account` and `order` hold the protocol's state changes;
//! `validate` proves control of identifiers (http-01, dns-01, tls-alpn-01) off the request path,
//! through `dns` when a resolver is configured.

mod account;
mod dns;
mod jws;
mod order;
mod validate;

use std::net::SocketAddr;

use base64::Engine;
use certus_store::{AcmeDirectoryRow, AcmeEabKeyRow};

use crate::auth::{Caller, Scope};
use crate::door_policy::DoorPolicy;
use crate::error::{Error, ErrorDetail, ErrorKind, NotFoundAs, Result};
use crate::{Authority, new_id};

pub use account::AccountUpdate;
pub use jws::{AcmeRequest, KeyRule};
pub use order::{OrderView, RenewalWindow, offered_challenges};

/// How long a nonce stays usable.
const NONCE_SECS: i64 = 3600;
/// A nonce: issue time (8 octets) and 12 random octets, then the first 16 octets of its MAC.
const NONCE_RAW: usize = 20;
const NONCE_TAG: usize = 16;
/// How long an order and its authorizations stay open.
const ORDER_SECS: i64 = 7 * 86_400;
/// How long an order that expired unfinished stays readable (its client may still poll it).
const EXPIRED_ORDERS_KEPT_SECS: i64 = 30 * 86_400;
/// What clients are told to wait before polling a resource that is still processing.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Where and how challenges are validated.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The DNS server to ask (dns-01 TXT records, and A/AAAA of http-01 and tls-alpn-01
    /// targets); `None`: the system's resolver.
    pub dns_resolver: Option<SocketAddr>,
    /// The port http-01 connects to.
    pub http01_port: u16,
    /// The port tls-alpn-01 connects to.
    pub tlsalpn01_port: u16,
    /// Let validation connect to loopback and link-local addresses (test setups).
    pub allow_loopback: bool,
    /// The most unfinished (pending, ready or processing) orders one account may hold; a new
    /// order past it is `rateLimited`.
    pub max_unfinished_orders: u32,
}

/// Default of [`AcmeSettings::max_unfinished_orders`]: far above what one cert-manager account
/// of a large cluster has in flight, far below what fills a disk.
pub const DEFAULT_MAX_UNFINISHED_ORDERS: u32 = 1000;

impl Default for AcmeSettings {
    fn default() -> Self {
        AcmeSettings {
            dns_resolver: None,
            http01_port: 80,
            tlsalpn01_port: 443,
            allow_loopback: false,
            max_unfinished_orders: DEFAULT_MAX_UNFINISHED_ORDERS,
        }
    }
}

/// A new directory.
#[derive(Debug, Clone, Default)]
pub struct NewAcmeDirectory {
    /// The URL segment: 1 to 64 lower-case letters, digits, '-' or '_'.
    pub name: String,
    /// The role whose policy applies; or
    pub role: Option<String>,
    /// a CA and
    pub ca_id: Option<String>,
    /// an issuance profile.
    pub profile_id: Option<String>,
    /// Further issuance profiles a newOrder may name (`meta.profiles`).
    pub profiles: Vec<String>,
    /// New accounts must be bound to an EAB key.
    pub require_eab: bool,
    /// Terms of service accounts must agree to.
    pub terms_of_service: Option<String>,
}

/// A directory as the native API shows it.
#[derive(Debug, Clone)]
pub struct AcmeDirectoryView {
    /// The stored record.
    pub row: AcmeDirectoryRow,
    /// The profiles a newOrder may name.
    pub profiles: Vec<String>,
    /// Where clients start.
    pub directory_url: String,
}

/// An ACME problem: its type (without the `urn:ietf:params:acme:error:` prefix) as the error's
/// code, so the door renders it as RFC 7807 with the right type.
pub(crate) fn problem(kind: ErrorKind, typ: &'static str, message: impl Into<String>) -> Error {
    let mut e = Error::malformed(message).with_detail(ErrorDetail::code(typ));
    e.kind = kind;
    e
}

/// The URLs of a directory's resources.
#[derive(Debug, Clone)]
pub struct AcmeUrls {
    base: String,
}

impl AcmeUrls {
    /// `{public_url}/acme/{name}`.
    pub fn new(public_url: &str, directory: &str) -> Self {
        AcmeUrls { base: format!("{public_url}/acme/{directory}") }
    }
    /// A resource under the directory: `new-order`, `order/{id}`, …
    pub fn at(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
    /// The directory itself.
    pub fn directory(&self) -> String {
        self.at("directory")
    }
    /// An account's URL (its `kid`).
    pub fn account(&self, id: &str) -> String {
        self.at(&format!("account/{id}"))
    }
}

impl Authority {
    /// Sets how challenges are validated.
    pub fn with_acme(mut self, settings: AcmeSettings) -> Self {
        self.acme = std::sync::Arc::new(settings);
        self
    }

    /// The URLs of a directory.
    pub fn acme_urls(&self, directory: &str) -> AcmeUrls {
        AcmeUrls::new(&self.public_url, directory)
    }

    /// Creates a directory of the caller's tenant.
    pub async fn create_acme_directory(&self, caller: &Caller, new: NewAcmeDirectory) -> Result<AcmeDirectoryView> {
        caller.require(Scope::Admin)?;
        let name = new.name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Error::malformed("name must be 1 to 64 lower-case letters, digits, '-' or '_'"));
        }
        let policy = DoorPolicy::of(&new.role, &new.ca_id, &new.profile_id)?;
        self.check_door_policy(&caller.tenant_id, &policy).await?;
        let mut profiles = Vec::new();
        for p in new.profile_id.iter().chain(&new.profiles) {
            self.profile(&caller.tenant_id, p).await?;
            if !profiles.contains(p) {
                profiles.push(p.clone());
            }
        }
        if let Some(tos) = &new.terms_of_service
            && !(tos.starts_with("https://") || tos.starts_with("http://"))
        {
            return Err(Error::malformed("terms_of_service must be an http(s) URL"));
        }
        let row = AcmeDirectoryRow {
            name: name.to_owned(),
            tenant_id: caller.tenant_id.clone(),
            role_name: new.role,
            ca_id: new.ca_id,
            profile_id: new.profile_id,
            profiles_json: serde_json::to_string(&profiles).map_err(Error::internal)?,
            require_eab: new.require_eab,
            terms_of_service: new.terms_of_service,
            created_at: self.now_secs(),
        };
        let audit = self.audit_row(caller, "acme.directory.create", &row.name, String::new());
        self.store.insert_acme_directory(&row, &audit).await?;
        self.acme_directory_view(row)
    }

    /// The tenant's directories.
    pub async fn list_acme_directories(&self, caller: &Caller) -> Result<Vec<AcmeDirectoryView>> {
        let rows = self.store.list_acme_directories(&caller.tenant_id).await?;
        rows.into_iter().map(|r| self.acme_directory_view(r)).collect()
    }

    /// A directory of the caller's tenant.
    pub async fn get_acme_directory(&self, caller: &Caller, name: &str) -> Result<AcmeDirectoryView> {
        let row = self.tenant_acme_directory(caller, name).await?;
        self.acme_directory_view(row)
    }

    /// Deletes a directory of the caller's tenant with its accounts and orders; certificates stay.
    pub async fn delete_acme_directory(&self, caller: &Caller, name: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "acme.directory.delete", name, String::new());
        self.store.delete_acme_directory(&caller.tenant_id, name, &audit).await.not_found_as("ACME directory")
    }

    /// Makes a single-use EAB key for a directory: `(kid, hmac_key base64url)`. The HMAC key
    /// is derived from the KEK and the kid, so it is shown this once and never stored.
    pub async fn create_acme_eab_key(&self, caller: &Caller, directory: &str) -> Result<(String, String)> {
        caller.require(Scope::Admin)?;
        let row = self.tenant_acme_directory(caller, directory).await?;
        let kid = new_id("eab");
        let key = AcmeEabKeyRow {
            kid: kid.clone(),
            directory: row.name.clone(),
            account_id: None,
            created_at: self.now_secs(),
            bound_at: None,
        };
        let audit = self.audit_row(caller, "acme.eab.create", &row.name, format!("kid={kid}"));
        self.store.insert_acme_eab_key(&key, &audit).await?;
        let hmac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.eab_hmac_key(&kid));
        Ok((kid, hmac))
    }

    /// A directory's EAB keys, with the accounts bound to them.
    pub async fn list_acme_eab_keys(&self, caller: &Caller, directory: &str) -> Result<Vec<AcmeEabKeyRow>> {
        let row = self.tenant_acme_directory(caller, directory).await?;
        Ok(self.store.list_acme_eab_keys(&row.name).await?)
    }

    /// A directory by name, for the ACME routes (any tenant: the name is the key).
    pub async fn acme_directory(&self, name: &str) -> Result<AcmeDirectoryView> {
        let row = self.store.acme_directory(name).await.not_found_as("ACME directory")?;
        self.acme_directory_view(row)
    }

    /// A fresh replay nonce, good once on any node for an hour. Nonces cost no write: each is
    /// its issue time and random bytes under a KEK MAC; the store remembers only used ones.
    pub fn acme_new_nonce(&self) -> String {
        let mut raw = Vec::with_capacity(NONCE_RAW + NONCE_TAG);
        raw.extend_from_slice(&self.now_secs().to_be_bytes());
        raw.extend_from_slice(&certus_kms::random_bytes::<12>());
        let tag = self.mac(&[b"acme-nonce:".as_slice(), &raw].concat());
        raw.extend_from_slice(&tag[..NONCE_TAG]);
        b64(&raw)
    }

    /// Uses a nonce up: true when Certus made it within the hour and it was not used before.
    pub(crate) async fn take_acme_nonce(&self, nonce: &str) -> Result<bool> {
        let raw = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(nonce) {
            Ok(r) if r.len() == NONCE_RAW + NONCE_TAG => r,
            _ => return Ok(false),
        };
        let (body, tag) = raw.split_at(NONCE_RAW);
        let expected = self.mac(&[b"acme-nonce:".as_slice(), body].concat());
        if !certus_kms::ct_eq(&expected[..NONCE_TAG], tag) {
            return Ok(false);
        }
        let issued = i64::from_be_bytes(body[..8].try_into().map_err(Error::internal)?);
        let now = self.now_secs();
        if issued > now + 60 || issued + NONCE_SECS <= now {
            return Ok(false);
        }
        Ok(self.store.use_acme_nonce(nonce, issued + NONCE_SECS).await?)
    }

    /// Forgets used nonces that have expired anyway.
    pub async fn sweep_acme_nonces(&self) -> Result<u64> {
        Ok(self.store.sweep_acme_nonces(self.now_secs()).await?)
    }

    /// Deletes orders that expired more than [`EXPIRED_ORDERS_KEPT_SECS`] ago without a
    /// certificate, with their authorizations; returns how many.
    pub async fn sweep_acme_orders(&self) -> Result<u64> {
        let before = self.now_secs() - EXPIRED_ORDERS_KEPT_SECS;
        crate::sweep_in_steps(|limit| self.store.sweep_acme_orders(before, limit)).await
    }

    async fn tenant_acme_directory(&self, caller: &Caller, name: &str) -> Result<AcmeDirectoryRow> {
        let row = self.store.acme_directory(name).await.not_found_as("ACME directory")?;
        if row.tenant_id != caller.tenant_id {
            return Err(Error::not_found("ACME directory not found"));
        }
        Ok(row)
    }

    fn acme_directory_view(&self, row: AcmeDirectoryRow) -> Result<AcmeDirectoryView> {
        let profiles = serde_json::from_str(&row.profiles_json).map_err(Error::internal)?;
        Ok(AcmeDirectoryView { directory_url: self.acme_urls(&row.name).directory(), profiles, row })
    }

    fn eab_hmac_key(&self, kid: &str) -> Vec<u8> {
        self.mac(format!("acme-eab-hmac:{kid}").as_bytes())
    }
}

/// Whose rules a directory issues under.
fn directory_policy(row: &AcmeDirectoryRow) -> Result<DoorPolicy> {
    DoorPolicy::of(&row.role_name, &row.ca_id, &row.profile_id)
}

/// base64url without padding, as JOSE and ACME write bytes.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads base64url (padding tolerated).
pub(crate) fn unb64(text: &str, what: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| problem(ErrorKind::Malformed, "malformed", format!("{what} is not base64url")))
}
