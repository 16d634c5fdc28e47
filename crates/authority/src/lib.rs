//! The authority: decides who may do what (registration) and does it (certificate authority).
//! Every front door calls these methods; they validate, sign through the KMS, record through
//! the store and write the audit log. No HTTP here, and no SQL.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acme;
mod admin;
mod auth;
mod ca;
mod certs;
mod clock;
#[cfg(test)]
mod clock_tests;
mod console;
mod crl;
mod csr;
mod door_policy;
mod error;
mod est;
mod fastpki;
#[cfg(fuzzing)]
pub mod fuzzing;
mod issue;
#[cfg(test)]
mod key_memory_tests;
mod lamassu;
mod mdl;
mod metrics;
mod ocsp;
mod pipeline;
pub mod policy;
mod profiles;
mod rate_limit;
mod roles;
mod trust;
mod ttl_cache;
mod users;
mod validate;
mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use certus_kms::{Hsm, Kek, Key, KeySpec, SoftwareKey};
use certus_store::{AuditRow, KeyRow, Store};
use time::OffsetDateTime;

pub use acme::{
    AccountUpdate, AcmeDirectoryView, AcmeRequest, AcmeSettings, AcmeUrls, DEFAULT_MAX_UNFINISHED_ORDERS, KeyRule,
    NewAcmeDirectory, OrderView, RETRY_AFTER_SECS, RenewalWindow, offered_challenges,
};
pub use admin::{NewToken, TokenView};
pub use auth::{Caller, Scope};
pub use ca::{CaView, ImportCa, NewCa};
pub use certs::{CertPage, CertStatus, CertView, ImportRequest, ListRequest, RevokeResult};
pub use certus_store::{
    AcmeAccountRow, AcmeAuthzRow, AcmeDirectoryRow, AcmeEabKeyRow, AcmeOrderRow, DeliveryRow, EstLabelRow,
};
pub use certus_store::{
    AuditPageRow, CaCounts, CaRow, CertRow, CertState, CsrRow, FastPkiCert, FastPkiOrgRow, ServiceAccountRow,
    TenantRow, UserRow,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use console::{CertificateDetail, ConsoleAction, ConsoleViewer, Dashboard};
pub use crl::{CRL_REFRESH_SECS, CrlView};
pub use csr::{CsrView, GenerateCsr};
pub use error::{DetailValue, Error, ErrorDetail, ErrorKind, Result};
pub use est::{EST_RETRY_AFTER_SECS, EstAuth, EstOutcome, EstServerKey, NewEstLabel};
pub use fastpki::{
    AuditEntry, AuditFilter, CertificateType, FastPkiCaView, FastPkiCertView, IssuancePolicy, IssuancePolicyView,
    NewFastPkiCa, NewFastPkiCert, ServiceAccountPatch, ServiceToken, SignFastPkiCsr,
};
pub use issue::{IssueRequest, Issued, SignRequest};
pub use lamassu::{MetadataTarget, ProfileChoice};
pub use mdl::{
    DsData, GenericData, GenericIssuer, IacaData, IacaSigner, KeyRef, KmsKeyView, MdlIssued, MdlService,
    NewVicalService, PublicKeySource, StoreEntry, StoreWrite, Target, VicalPublished,
};
pub use metrics::{Metrics, RequestOutcome, in_request, note_error, prometheus_text};
pub use ocsp::{OcspReply, OcspSigner};
pub use profiles::{Profile, ProfileView, eku_name, key_usage_name};
pub use roles::{RolePatch, RoleView};
pub use trust::TrustAnchorView;
pub use users::{ACCESS_TOKEN_MINUTES, NewUser, Session, TokenPair, UserPatch};
pub use validate::{ValidateRequest, Validation};
pub use webhooks::{EVENTS as WEBHOOK_EVENTS, NewWebhook, WebhookView, signature as webhook_signature};

/// Shared engine state; cheap to clone.
#[derive(Clone)]
pub struct Authority {
    store: Store,
    kek: Arc<Kek>,
    /// Base URL written into CRL distribution points and AIA caIssuers.
    public_url: String,
    ocsp: Arc<ocsp::OcspState>,
    /// Unsealed signing keys (CA and KMS keys) by (tenant, key id), at most [`KEPT_KEYS`]. Keys
    /// never change once stored, so this never goes stale.
    keys: Arc<RwLock<HashMap<TenantKeyId, Arc<Key>>>>,
    /// The PKCS#11 token for CA keys, when configured.
    hsm: Option<Arc<Hsm>>,
    registration: users::Registration,
    /// `ca_chain` PEMs by CA id, kept as briefly as CA rows: a reissue changes a CA's
    /// certificate, and so the chains below it.
    chains: Arc<ttl_cache::TtlCache<String, Arc<Vec<String>>>>,
    /// Token and role rows, read by every request; see `ttl_cache` for the consistency rule.
    tokens: Arc<ttl_cache::TtlCache<String, certus_store::TokenRow>>,
    roles: Arc<ttl_cache::TtlCache<(String, String), certus_store::RoleRow>>,
    cas: Arc<ttl_cache::TtlCache<(String, String), certus_store::CaRow>>,
    clock: Arc<dyn Clock>,
    /// The most SANs one certificate or queued CSR may carry.
    max_sans: usize,
    /// How ACME challenges are validated.
    acme: Arc<acme::AcmeSettings>,
    metrics: Arc<metrics::Metrics>,
}

/// The default cap on SANs per certificate.
pub const DEFAULT_MAX_SANS: usize = 100;

/// (tenant id, key id).
type TenantKeyId = (String, String);

/// Unsealed signing keys kept in memory at most; past it the map starts over (a deployment has
/// far fewer CAs; KMS keys, one per device, may not).
const KEPT_KEYS: usize = 4096;

/// How long another node's token revocation, role change or CA revocation may take to be seen
/// here (this node's own changes apply at once).
const HOT_ROW_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority over this store and KEK, publishing URLs under `public_url`.
    pub fn new(store: Store, kek: Kek, public_url: &str) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        let observer = metrics.clone();
        store.observe_batches(Arc::new(move |n| observer.batch(n)));
        Authority {
            store,
            kek: Arc::new(kek),
            public_url: public_url.trim_end_matches('/').to_owned(),
            ocsp: Arc::default(),
            keys: Arc::default(),
            hsm: None,
            registration: users::Registration { first_user: true, open: false },
            chains: Arc::new(ttl_cache::TtlCache::new(HOT_ROW_TTL)),
            tokens: Arc::new(ttl_cache::TtlCache::new(HOT_ROW_TTL)),
            roles: Arc::new(ttl_cache::TtlCache::new(HOT_ROW_TTL)),
            cas: Arc::new(ttl_cache::TtlCache::new(HOT_ROW_TTL)),
            clock: Arc::new(SystemClock),
            max_sans: DEFAULT_MAX_SANS,
            acme: Arc::default(),
            metrics,
        }
    }

    /// Caps the SANs of one certificate or queued CSR (default [`DEFAULT_MAX_SANS`]).
    pub fn with_max_sans(mut self, max_sans: usize) -> Self {
        self.max_sans = max_sans;
        self
    }

    /// Refuses more SANs than the cap.
    pub(crate) fn check_san_count(&self, count: usize) -> Result<()> {
        if count > self.max_sans {
            return Err(Error::policy(format!("{count} SANs requested; at most {} are allowed", self.max_sans)));
        }
        Ok(())
    }

    /// Reads the time from `clock` instead of the system's (tests set the time this way).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Now, in whole seconds (certificates carry no fractions).
    pub(crate) fn now(&self) -> OffsetDateTime {
        let t = self.clock.now();
        t.replace_nanosecond(0).unwrap_or(t)
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Lets CAs keep their keys on this PKCS#11 token (`key_store: "pkcs11"`).
    pub fn with_hsm(mut self, hsm: Arc<Hsm>) -> Self {
        self.hsm = Some(hsm);
        self
    }

    /// Who may create /api/v1 users without signing in: anyone while no user exists
    /// (`first_user`, default on), and anyone a plain user at any time (`open`, default off).
    pub fn with_registration(mut self, first_user: bool, open: bool) -> Self {
        self.registration = users::Registration { first_user, open };
        self
    }

    /// Chooses who signs OCSP responses (default: a delegated responder per CA).
    pub fn with_ocsp_signer(mut self, mode: OcspSigner) -> Self {
        self.ocsp = Arc::new(ocsp::OcspState::new(mode));
        self
    }

    /// A tag over `data` under the key-encryption key, for tokens a door hands out and must
    /// recognise (list bookmarks).
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        self.kek.mac(data)
    }

    /// Constant-time check of a tag made by [`Authority::mac`].
    pub fn verify_mac(&self, data: &[u8], tag: &[u8]) -> bool {
        self.kek.verify_mac(data, tag)
    }

    /// Liveness plus a database round trip.
    pub async fn health(&self) -> Result<()> {
        self.store.list_tenants().await.map(|_| ()).map_err(Error::internal)
    }

    /// The base URL Certus publishes under.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn crl_url(&self, ca_id: &str) -> String {
        format!("{}/v1/pki/ca/{ca_id}/crl", self.public_url)
    }

    /// One responder URL for every CA: the CertID names the issuer.
    fn ocsp_url(&self) -> String {
        format!("{}/ocsp", self.public_url)
    }

    fn ca_issuers_url(&self, ca_id: &str) -> String {
        format!("{}/v1/pki/ca/{ca_id}/certificate.der", self.public_url)
    }

    /// Seals a key under the KEK, bound to its new id.
    fn seal_key(&self, tenant_id: &str, key: &SoftwareKey) -> KeyRow {
        let id = new_id("key");
        let sealed = self.kek.seal(id.as_bytes(), key.private_key_pem().as_bytes());
        let spec = key.spec();
        KeyRow {
            id,
            tenant_id: tenant_id.to_owned(),
            spec: spec_name(spec),
            backend: "software".into(),
            sealed,
            created_at: self.now_secs(),
        }
    }

    /// Generates a key pair on the PKCS#11 token and the row that refers to it.
    async fn generate_hsm_key(&self, tenant_id: &str, spec: KeySpec) -> Result<(Key, KeyRow)> {
        let hsm = self
            .hsm
            .clone()
            .ok_or_else(|| Error::malformed("key_store pkcs11 needs a PKCS#11 token configured on the server"))?;
        let id = new_id("key");
        let key_id = id.clone();
        let key = blocking(move || hsm.generate(spec, &key_id).map_err(Error::from)).await?;
        let row = KeyRow {
            id,
            tenant_id: tenant_id.to_owned(),
            spec: spec_name(spec),
            backend: "pkcs11".into(),
            sealed: Vec::new(),
            created_at: self.now_secs(),
        };
        Ok((Key::Hsm(key), row))
    }

    /// A stored signing key, unsealed (or found on the token) once and then kept in memory.
    async fn load_key(&self, tenant_id: &str, key_id: &str) -> Result<Arc<Key>> {
        let cache_key = (tenant_id.to_owned(), key_id.to_owned());
        if let Some(key) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(&cache_key) {
            return Ok(key.clone());
        }
        let key = self.unseal_key(tenant_id, key_id).await?;
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= KEPT_KEYS {
            keys.clear();
        }
        keys.insert(cache_key, key.clone());
        Ok(key)
    }

    /// Drops a signing key from memory (its stored row is gone).
    pub(crate) fn forget_key(&self, tenant_id: &str, key_id: &str) {
        self.keys.write().unwrap_or_else(|p| p.into_inner()).remove(&(tenant_id.to_owned(), key_id.to_owned()));
    }

    /// A stored key, unsealed (or found on the token) for this use alone: a key read to be
    /// exported is not kept in memory beside the signing keys.
    async fn unseal_key(&self, tenant_id: &str, key_id: &str) -> Result<Arc<Key>> {
        let row = self.store.get_key(tenant_id, key_id).await.map_err(Error::internal)?;
        if row.backend == KEYLESS {
            return Err(Error::conflict("this CA was imported without its private key: Certus cannot sign with it"));
        }
        let (key_type, bits) = row.spec.split_once(':').ok_or_else(|| Error::internal("bad key spec"))?;
        let spec = KeySpec::from_type_and_size(key_type, bits.parse().ok()).map_err(Error::internal)?;
        let key = if row.backend == "pkcs11" {
            let hsm = self
                .hsm
                .clone()
                .ok_or_else(|| Error::internal("a CA key is on a PKCS#11 token, none is configured"))?;
            let id = row.id.clone();
            Arc::new(Key::Hsm(blocking(move || hsm.find(spec, &id).map_err(Error::internal)).await?))
        } else {
            let pem = self.kek.open(row.id.as_bytes(), &row.sealed).map_err(Error::internal)?;
            let pem = std::str::from_utf8(&pem).map_err(Error::internal)?;
            Arc::new(Key::Software(SoftwareKey::from_parts(spec, pem).map_err(Error::internal)?))
        };
        Ok(key)
    }

    /// An audit entry that must be written before the action's result is handed out: a key
    /// export fails closed rather than leave unrecorded.
    pub(crate) async fn audit_before_release(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        detail: String,
    ) -> Result<()> {
        let row = self.audit_row(caller, action, resource, detail);
        self.store.append_audit(&row).await.map_err(Error::internal)
    }
}

impl crate::Authority {
    pub(crate) fn audit_row(&self, caller: &Caller, action: &str, resource: &str, detail: String) -> AuditRow {
        AuditRow {
            at: self.now_secs(),
            tenant_id: Some(caller.tenant_id.clone()),
            actor: caller.token_id.clone(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            detail,
        }
    }
}

/// RFC 3339 UTC (`2026-04-23T14:00:00Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    from_secs(secs).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A key spec as stored: `ec:256`, `rsa:2048`, `ed25519:256`.
/// The key backend of a CA imported without its private key.
pub(crate) const KEYLESS: &str = "none";

fn spec_name(spec: KeySpec) -> String {
    format!("{}:{}", spec.key_type(), spec.bits())
}

/// `prefix_` + 16 random hex characters.
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 8] = certus_kms::random_bytes();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// `prefix_` + the time in milliseconds (12 hex characters) + 16 random hex characters: ids made
/// later sort later, so an index on them is written at its end rather than at a random page
/// (certificates: one index write fewer per issuance on a random page).
pub fn new_ordered_id(prefix: &str) -> String {
    let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let bytes: [u8; 8] = certus_kms::random_bytes();
    format!("{prefix}_{:012x}{}", millis.clamp(0, 0xffff_ffff_ffff), hex::encode(bytes))
}

/// A random (version 4) UUID in its usual text form, for ids the mDL API documents as UUIDs.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = certus_kms::random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

pub(crate) fn from_secs(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Generates a key off the async runtime (RSA generation takes up to seconds).
pub(crate) async fn generate_key(spec: KeySpec) -> Result<SoftwareKey> {
    tokio::task::spawn_blocking(move || SoftwareKey::generate(spec))
        .await
        .map_err(Error::internal)?
        .map_err(Error::from)
}

/// Runs a signing closure: inline for EC and Ed25519 keys (tens of microseconds), on a blocking
/// thread for RSA (RSA-4096 signatures take milliseconds).
pub(crate) async fn signing<T: Send + 'static>(
    spec: KeySpec,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match spec.key_type() {
        "rsa" => blocking(f).await,
        _ => f(),
    }
}

/// Runs a closure off the async runtime (key generation, large CRLs, RSA signatures).
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(Error::internal)?
}

/// Repeats a sweep's DELETE (given how many rows it may delete, it returns how many it did) a
/// thousand rows at a time, so SQLite's write lock is held briefly each time, until one deletes
/// fewer; returns how many rows went in all.
pub(crate) async fn sweep_in_steps<F, Fut>(mut delete: F) -> Result<u64>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = certus_store::Result<u64>>,
{
    const PER_STATEMENT: i64 = 1000;
    let mut swept = 0;
    loop {
        let deleted = delete(PER_STATEMENT).await?;
        swept += deleted;
        if deleted < PER_STATEMENT as u64 {
            return Ok(swept);
        }
    }
}

/// Serial as stored: lower-case hex, no separators.
pub(crate) fn serial_key(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A stored serial's octets, into a buffer of its exact size (`hex::decode`'s iterator was the
/// largest single cost of a million-entry CRL). One that is not hex is an error, never an empty
/// or shortened serial.
pub(crate) fn serial_octets(stored: &str) -> Result<Vec<u8>> {
    let mut octets = vec![0; stored.len() / 2];
    hex::decode_to_slice(stored, &mut octets).map_err(|e| Error::internal(format!("stored serial {stored:?}: {e}")))?;
    Ok(octets)
}

/// A stored serial as the native API and its issuance answers show it: `1A:2B:...`.
/// One that is not hex shows empty.
pub fn serial_display(stored: &str) -> String {
    serial_octets(stored).map(|octets| certus_x509::format_serial(&octets)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{serial_display, serial_octets};

    #[test]
    fn stored_serials_decode_exactly_and_bad_ones_fail() {
        assert_eq!(serial_octets("00ff7f10").unwrap(), vec![0x00, 0xff, 0x7f, 0x10]);
        let twenty = "7f".repeat(20);
        assert_eq!(serial_octets(&twenty).unwrap(), vec![0x7f; 20]);
        // Odd length, a non-hex digit: an error, never an empty or shortened serial.
        assert!(serial_octets("abc").is_err());
        assert!(serial_octets("0g").is_err());
        assert_eq!(serial_display("00ff7f10"), "00:FF:7F:10");
        assert_eq!(serial_display("abc"), "", "a stored serial that is not hex shows empty");
    }
}
