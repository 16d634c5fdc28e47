//! The OCSP responder (RFC 6960): maps CertIDs to the issuing CA, answers good / revoked /
//! unknown from the store, and signs with a delegated responder certificate that Certus issues
//! and renews itself (or with the CA key). Responses without a nonce, and the good or revoked
//! status of each serial (for requests with one), are cached until the CA's revocation epoch
//! (kept in the database, so every node sees it) changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use certus_kms::Key;
use certus_store::{CaRow, DoorRecord, ResponderRow, SerialStatus};
use certus_x509::{
    CertIdHash, CertProfile, CertSpec, OcspFailure, OcspResponder, OcspResponseSpec, OcspStatus, RevocationReason,
    Subject, build_ocsp_response, ocsp_failure, parse_certificate, parse_ocsp_request,
};
use time::Duration;

use crate::auth::Caller;
use crate::error::Result;
use crate::pipeline::{self, AuditIntent, Order, Template};
use crate::{Authority, KEYLESS, from_secs, generate_key, serial_key, signing};

/// Who signs OCSP responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OcspSigner {
    /// A responder certificate per CA (EKU OCSPSigning, id-pkix-ocsp-nocheck); the CA key
    /// signs only that certificate, once a month.
    #[default]
    Delegated,
    /// The issuing CA's own key.
    Ca,
}

/// How long a response is good for (nextUpdate - thisUpdate).
const RESPONSE_VALIDITY: Duration = Duration::hours(1);
/// How long a signed response is reused for identical requests (if no revocation happens).
const CACHE_SECS: i64 = 300;
const CACHE_MAX_ENTRIES: usize = 100_000;
const RESPONDER_VALIDITY: Duration = Duration::days(30);
/// A responder certificate is made on a CA's first OCSP request and used at once; backdating it
/// a minute keeps a relying party whose clock lags a little (openssl reads the coarse clock) from
/// finding its signer not yet valid.
const RESPONDER_BACKDATE: Duration = Duration::minutes(1);
const RESPONDER_RENEW_BEFORE: i64 = 7 * 86_400;

/// An encoded OCSPResponse, and for how many seconds HTTP caches may keep it.
#[derive(Debug, Clone)]
pub struct OcspReply {
    /// DER.
    pub der: Vec<u8>,
    /// How long caches may keep it (seconds).
    pub max_age: Option<i64>,
}

pub(crate) struct Signer {
    key: Arc<Key>,
    pub(crate) responder: OcspResponder,
    not_after: i64,
    delegated: bool,
}

struct Cached {
    der: Vec<u8>,
    ca_id: String,
    epoch: i64,
    expires: i64,
}

/// A serial's status as of a revocation epoch. Only good and revoked are kept: an unknown
/// serial may be issued in the next moment without the epoch changing.
struct CachedStatus {
    status: OcspStatus,
    epoch: i64,
    expires: i64,
}

type IssuerKey = (CertIdHash, Vec<u8>, Vec<u8>);

#[derive(Default)]
pub(crate) struct OcspState {
    pub(crate) mode: OcspSigner,
    /// CertID hashes → CA id, and how many CAs the index was built from.
    issuers: RwLock<(HashMap<IssuerKey, String>, i64)>,
    signers: RwLock<HashMap<String, Arc<Signer>>>,
    responses: Mutex<HashMap<Vec<u8>, Cached>>,
    /// (CA id, serial) → status, for requests with a nonce (signed each time, never cached whole).
    statuses: Mutex<HashMap<(String, Vec<u8>), CachedStatus>>,
}

impl OcspState {
    pub(crate) fn new(mode: OcspSigner) -> Self {
        OcspState { mode, ..Default::default() }
    }
}

fn failure(f: OcspFailure) -> OcspReply {
    OcspReply { der: ocsp_failure(f), max_age: None }
}

impl Authority {
    /// Answers one DER OCSPRequest. Never fails: problems become OCSP error statuses.
    pub async fn ocsp_respond(&self, request: &[u8]) -> OcspReply {
        let (reply, status) = self.ocsp_reply(request).await;
        self.metrics.ocsp_response(status);
        reply
    }

    /// The reply and its response status's name.
    async fn ocsp_reply(&self, request: &[u8]) -> (OcspReply, &'static str) {
        let refused = |f: OcspFailure| {
            let name = match f {
                OcspFailure::MalformedRequest => "malformed_request",
                OcspFailure::Unauthorized => "unauthorized",
                OcspFailure::TryLater => "try_later",
                _ => "internal_error",
            };
            (failure(f), name)
        };
        let Ok(query) = parse_ocsp_request(request) else {
            return refused(OcspFailure::MalformedRequest);
        };
        // A database that cannot answer just now is RFC 6960's tryLater, not internalError.
        let failed = |e: crate::Error| match e.kind {
            crate::ErrorKind::Unavailable => refused(OcspFailure::TryLater),
            _ => refused(OcspFailure::InternalError),
        };
        // One signature covers the whole response, so every CertID must name the same CA.
        let mut ca_ids = Vec::with_capacity(query.items.len());
        for item in &query.items {
            let Some(hash) = item.hash else { return refused(OcspFailure::Unauthorized) };
            match self.issuer_of(hash, &item.issuer_name_hash, &item.issuer_key_hash).await {
                Ok(Some(id)) => ca_ids.push(id),
                Ok(None) => return refused(OcspFailure::Unauthorized),
                Err(e) => return failed(e),
            }
        }
        if ca_ids.windows(2).any(|w| w[0] != w[1]) {
            return refused(OcspFailure::Unauthorized);
        }
        let ca_id = ca_ids.swap_remove(0);
        match self.answer(&ca_id, request, &query).await {
            Ok(reply) => (reply, "successful"),
            Err(e) => {
                tracing::error!(error = %e, ca_id, "OCSP response failed");
                failed(e)
            }
        }
    }

    async fn answer(&self, ca_id: &str, request: &[u8], query: &certus_x509::OcspQuery) -> Result<OcspReply> {
        let now = self.now();
        // Read the epoch before the statuses: a revocation after this point changes it and
        // so retires whatever we cache now.
        let epoch = self.store.revocation_epoch(ca_id).await?;
        let cacheable = query.nonce.is_none();
        if cacheable {
            let cache = self.ocsp.responses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(hit) = cache.get(request)
                && hit.ca_id == ca_id
                && hit.epoch == epoch
                && hit.expires > now.unix_timestamp()
            {
                return Ok(OcspReply { der: hit.der.clone(), max_age: Some(hit.expires - now.unix_timestamp()) });
            }
        }
        let mut answers = Vec::with_capacity(query.items.len());
        for item in &query.items {
            answers.push((item.clone(), self.serial_status(ca_id, &item.serial, epoch, now.unix_timestamp()).await?));
        }
        let signer = self.ocsp_signer(ca_id).await?;
        let nonce = query.nonce.clone();
        let der = signing(signer.key.spec(), move || {
            let spec = OcspResponseSpec {
                produced_at: now,
                this_update: now,
                next_update: now + RESPONSE_VALIDITY,
                answers: answers.iter().map(|(i, s)| (i, *s)).collect(),
                nonce,
                responder: &signer.responder,
                include_signer_cert: signer.delegated,
            };
            Ok(build_ocsp_response(&spec, &*signer.key)?)
        })
        .await?;
        if cacheable {
            let mut cache = self.ocsp.responses.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= CACHE_MAX_ENTRIES {
                cache.clear();
            }
            let expires = now.unix_timestamp() + CACHE_SECS;
            cache.insert(request.to_vec(), Cached { der: der.clone(), ca_id: ca_id.to_owned(), epoch, expires });
        }
        Ok(OcspReply { der, max_age: cacheable.then_some(CACHE_SECS) })
    }

    /// A serial's status: from the cache while the CA's revocation epoch is the one just read,
    /// else from the store.
    async fn serial_status(&self, ca_id: &str, serial: &[u8], epoch: i64, now: i64) -> Result<OcspStatus> {
        let key = (ca_id.to_owned(), serial.to_vec());
        if let Some(hit) = self.ocsp.statuses.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && hit.epoch == epoch
            && hit.expires > now
        {
            return Ok(hit.status);
        }
        let status = match self.store.serial_status(ca_id, &serial_key(serial)).await? {
            SerialStatus::Unknown => return Ok(OcspStatus::Unknown),
            SerialStatus::Good => OcspStatus::Good,
            SerialStatus::Revoked { at, reason } => OcspStatus::Revoked {
                at: from_secs(at),
                reason: RevocationReason::from_name(&reason).unwrap_or(RevocationReason::Unspecified),
            },
        };
        let mut cache = self.ocsp.statuses.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(key, CachedStatus { status, epoch, expires: now + CACHE_SECS });
        Ok(status)
    }

    /// The CA whose name and key hash to these values. On a miss the index is rebuilt only if
    /// the number of CAs changed (a CA created since, possibly on another node), so unknown
    /// issuers cost one count query, not a reload.
    async fn issuer_of(&self, hash: CertIdHash, name_hash: &[u8], key_hash: &[u8]) -> Result<Option<String>> {
        let key = (hash, name_hash.to_vec(), key_hash.to_vec());
        let known = {
            let index = self.ocsp.issuers.read().unwrap_or_else(|p| p.into_inner());
            if let Some(id) = index.0.get(&key) {
                return Ok(Some(id.clone()));
            }
            index.1
        };
        if self.store.count_cas().await? == known {
            return Ok(None);
        }
        let cas = self.store.all_cas().await?;
        let count = cas.len() as i64;
        let mut index = HashMap::with_capacity(cas.len() * 2);
        for ca in cas {
            // A CA imported without its key cannot sign answers: its CertIDs stay unknown
            // (unauthorized).
            if ca.key_store == KEYLESS {
                continue;
            }
            let Ok(info) = parse_certificate(&ca.cert_der) else { continue };
            index.insert(
                (
                    CertIdHash::Sha1,
                    certus_kms::sha1(&info.subject_der).to_vec(),
                    certus_kms::sha1(&info.public_key_bits).to_vec(),
                ),
                ca.id.clone(),
            );
            index.insert(
                (
                    CertIdHash::Sha256,
                    certus_kms::sha256(&info.subject_der).to_vec(),
                    certus_kms::sha256(&info.public_key_bits).to_vec(),
                ),
                ca.id,
            );
        }
        let found = index.get(&key).cloned();
        *self.ocsp.issuers.write().unwrap_or_else(|p| p.into_inner()) = (index, count);
        Ok(found)
    }

    /// The key and certificate that sign this CA's OCSP responses, renewing a delegated
    /// responder a week before it expires.
    pub(crate) async fn ocsp_signer(&self, ca_id: &str) -> Result<Arc<Signer>> {
        let now = self.now().unix_timestamp();
        if let Some(s) = self.ocsp.signers.read().unwrap_or_else(|p| p.into_inner()).get(ca_id)
            && (s.not_after - now > RESPONDER_RENEW_BEFORE || !s.delegated)
        {
            return Ok(s.clone());
        }
        let ca = self.store.get_ca_public(ca_id).await?;
        let signer = match self.ocsp.mode {
            OcspSigner::Ca => Signer {
                key: self.load_key(&ca.tenant_id, &ca.key_id).await?,
                responder: OcspResponder::new(ca.cert_der.clone())?,
                not_after: ca.valid_until,
                delegated: false,
            },
            OcspSigner::Delegated => match self.store.get_responder(ca_id).await? {
                Some(r) if r.not_after - now > RESPONDER_RENEW_BEFORE => Signer {
                    key: self.load_key(&ca.tenant_id, &r.key_id).await?,
                    responder: OcspResponder::new(r.cert_der)?,
                    not_after: r.not_after,
                    delegated: true,
                },
                _ => self.issue_responder(&ca).await?,
            },
        };
        let signer = Arc::new(signer);
        self.ocsp.signers.write().unwrap_or_else(|p| p.into_inner()).insert(ca_id.to_owned(), signer.clone());
        Ok(signer)
    }

    async fn issue_responder(&self, ca: &CaRow) -> Result<Signer> {
        let ca_key = self.load_key(&ca.tenant_id, &ca.key_id).await?;
        let software_key = generate_key(ca_key.spec()).await?;
        let key_row = self.seal_key(&ca.tenant_id, &software_key);
        let key = Arc::new(Key::Software(software_key));
        // Backdated, but never before the CA itself (the lint keeps validity inside the issuer's).
        let not_before = (self.now() - RESPONDER_BACKDATE).max(from_secs(ca.valid_from));
        let not_after = (self.now() + RESPONDER_VALIDITY).min(from_secs(ca.valid_until));
        let spec = CertSpec {
            serial: [0; 20],
            subject: Subject { common_name: Some(format!("{} OCSP Responder", ca.common_name)), ..Default::default() },
            dns_names: vec![],
            ip_addresses: vec![],
            email_addresses: vec![],
            not_before,
            not_after,
            profile: CertProfile::OcspResponder,
            crl_url: None,
            ca_issuers_url: Some(self.ca_issuers_url(&ca.id)),
            ocsp_url: None,
        };
        let responder = ResponderRow {
            ca_id: ca.id.clone(),
            key_id: key_row.id.clone(),
            cert_der: Vec::new(),
            not_after: not_after.unix_timestamp(),
            created_at: self.now().unix_timestamp(),
        };
        // The responder certificate is the CA's like any other: in the inventory, revocable.
        let caller = Caller::system(&ca.tenant_id);
        let order = Order {
            template: Template::Cert(spec),
            signer: pipeline::Signer::Ca { ca: ca.clone(), key: ca_key },
            subject_key: key.clone(),
            key_id: Some(key_row.id.clone()),
            kept_key: Some(key_row),
            role_name: None,
            listed_name: None,
            source: "ocsp",
            new_ca: None,
            door: DoorRecord::OcspResponder(responder),
            audit: AuditIntent {
                action: "ocsp.responder",
                resource: None,
                detail: Box::new(|row| format!("serial={}", row.serial)),
            },
        };
        let signed = self.issue_certificate(&caller, order).await?;
        let (cert_der, not_after) = (signed.cert.cert_der, signed.cert.not_after);
        tracing::info!(ca_id = %ca.id, "issued OCSP responder certificate");
        Ok(Signer { key, responder: OcspResponder::new(cert_der)?, not_after, delegated: true })
    }
}
