//! The checks every signed ACME request passes (RFC 8555 §6.2–6.5): a flattened JWS whose
//! protected header names the exact URL, a nonce used once, exactly one of `jwk` and `kid`, and
//! an `alg` that fits the key, over a signature that verifies.

use certus_kms::{JwkKey, JwsRefusal, PublicKey, key_from_jwk, verify_jws};
use certus_store::{AcmeAccountRow, AcmeDirectoryRow};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{problem, unb64};
use crate::Authority;
use crate::error::{ErrorKind, NotFoundAs, Result};

/// Which key a request must be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// A `jwk` in the header (newAccount, and the inner JWS of keyChange).
    Jwk,
    /// An account's `kid`.
    Kid,
    /// Either (revokeCert: the account, or the certificate's own key).
    Either,
}

/// A request whose JWS checked out.
#[derive(Debug, Clone)]
pub struct AcmeRequest {
    /// The directory it was sent to.
    pub directory: AcmeDirectoryRow,
    /// The URL it was sent to (its JWS names it).
    pub url: String,
    /// The payload; empty for POST-as-GET.
    pub payload: Vec<u8>,
    /// The account that signed it (`kid` requests).
    pub account: Option<AcmeAccountRow>,
    /// The key it carried (`jwk` requests), as sent.
    pub jwk: Option<Value>,
    /// The key that signed it.
    pub key: PublicKey,
}

/// A flattened JWS, as sent.
#[derive(serde::Deserialize)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

/// A JWS's parts after its signature checked out against the key it names.
pub(super) struct Verified {
    pub header: Value,
    pub payload: Vec<u8>,
    pub key: PublicKey,
}

impl AcmeRequest {
    /// POST-as-GET: an empty payload.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The signing account (kid requests).
    pub(crate) fn signer(&self) -> Result<&AcmeAccountRow> {
        self.account.as_ref().ok_or_else(|| {
            problem(ErrorKind::Malformed, "malformed", "this request must be signed by an account (kid)")
        })
    }

    /// The payload as JSON of type `T` (an empty payload reads as `{}`).
    pub(crate) fn payload_json<T: DeserializeOwned>(&self) -> Result<T> {
        let bytes: &[u8] = if self.payload.is_empty() { b"{}" } else { &self.payload };
        serde_json::from_slice(bytes).map_err(|e| problem(ErrorKind::Malformed, "malformed", format!("payload: {e}")))
    }
}

/// A flattened JWS, parsed once: its parts as sent and its protected header.
pub(super) struct ParsedJws {
    jws: Flattened,
    header: Value,
}

impl ParsedJws {
    /// Reads a flattened JWS whose protected header is a JSON object; nothing is verified yet.
    pub(super) fn parse(body: &[u8]) -> Result<Self> {
        let jws: Flattened = serde_json::from_slice(body).map_err(|_| {
            problem(
                ErrorKind::Malformed,
                "malformed",
                "the body must be a flattened JWS: {protected, payload, signature}",
            )
        })?;
        let header: Value = serde_json::from_slice(&unb64(&jws.protected, "protected")?)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| problem(ErrorKind::Malformed, "malformed", "the protected header is not a JSON object"))?;
        Ok(ParsedJws { jws, header })
    }

    /// Checks the signature against the key the header carries (`jwk`) or `account_key` (when
    /// it names a `kid`). Nonce and URL are the caller's.
    pub(super) fn verify(self, account_key: Option<&PublicKey>) -> Result<Verified> {
        let ParsedJws { jws, header } = self;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
        let key = match (header.get("jwk"), account_key) {
            (Some(jwk), None) => public_key_of(jwk)?,
            (None, Some(key)) => key.clone(),
            _ => {
                return Err(problem(
                    ErrorKind::Malformed,
                    "malformed",
                    "the protected header needs exactly one of jwk and kid",
                ));
            }
        };
        let signature = unb64(&jws.signature, "signature")?;
        let signing_input = format!("{}.{}", jws.protected, jws.payload);
        match verify_jws(alg, &key, signing_input.as_bytes(), &signature) {
            Ok(()) => {}
            Err(JwsRefusal::Algorithm(m)) => return Err(problem(ErrorKind::Malformed, "badSignatureAlgorithm", m)),
            Err(JwsRefusal::Signature) => {
                return Err(problem(ErrorKind::Malformed, "malformed", "the JWS signature does not verify"));
            }
        }
        Ok(Verified { payload: unb64(&jws.payload, "payload")?, header, key })
    }
}

/// A public JWK as a key; private or unsupported keys are refused.
pub(super) fn public_key_of(jwk: &Value) -> Result<PublicKey> {
    match key_from_jwk(jwk) {
        Ok(JwkKey::Public(key)) => Ok(key),
        Ok(JwkKey::Private(_)) => {
            Err(problem(ErrorKind::Malformed, "malformed", "the jwk must not hold a private key"))
        }
        Err(e) => Err(problem(ErrorKind::Malformed, "badPublicKey", format!("jwk: {e}"))),
    }
}

impl Authority {
    /// Checks a signed request to `url` of directory `name`, signed as `rule` demands.
    pub async fn acme_verify(&self, name: &str, url: &str, body: &[u8], rule: KeyRule) -> Result<AcmeRequest> {
        let directory = self.store.acme_directory(name).await.not_found_as("ACME directory")?;
        // URL, nonce and key are read from the header before the signature is checked.
        let parsed = ParsedJws::parse(body)?;
        let unverified = &parsed.header;
        if unverified.get("url").and_then(Value::as_str) != Some(url) {
            return Err(problem(
                ErrorKind::Unauthorized,
                "unauthorized",
                format!("the protected header's url must be {url}"),
            ));
        }
        let nonce = unverified.get("nonce").and_then(Value::as_str).unwrap_or_default();
        if nonce.is_empty() || !self.take_acme_nonce(nonce).await? {
            return Err(problem(ErrorKind::Malformed, "badNonce", "the nonce is unknown, used or expired"));
        }
        let account = match (unverified.get("kid"), unverified.get("jwk"), rule) {
            (Some(_), Some(_), _) | (None, None, _) => {
                return Err(problem(
                    ErrorKind::Malformed,
                    "malformed",
                    "the protected header needs exactly one of jwk and kid",
                ));
            }
            (Some(_), None, KeyRule::Jwk) => {
                return Err(problem(ErrorKind::Malformed, "malformed", "this request must carry a jwk, not a kid"));
            }
            (None, Some(_), KeyRule::Kid) => {
                return Err(problem(
                    ErrorKind::Malformed,
                    "malformed",
                    "this request must carry an account kid, not a jwk",
                ));
            }
            (Some(kid), None, _) => Some(self.account_of_kid(&directory, kid.as_str().unwrap_or_default()).await?),
            (None, Some(_), _) => None,
        };
        let account_key = account
            .as_ref()
            .map(|a| {
                serde_json::from_str::<Value>(&a.jwk).map_err(crate::Error::internal).and_then(|j| public_key_of(&j))
            })
            .transpose()?;
        let verified = parsed.verify(account_key.as_ref())?;
        let jwk = if account.is_none() { verified.header.get("jwk").cloned() } else { None };
        Ok(AcmeRequest { directory, url: url.to_owned(), payload: verified.payload, account, jwk, key: verified.key })
    }

    async fn account_of_kid(&self, directory: &AcmeDirectoryRow, kid: &str) -> Result<AcmeAccountRow> {
        let prefix = self.acme_urls(&directory.name).account("");
        let missing =
            || problem(ErrorKind::Malformed, "accountDoesNotExist", format!("no account {kid:?} in this directory"));
        let id = kid.strip_prefix(&prefix).filter(|id| !id.is_empty() && !id.contains('/')).ok_or_else(missing)?;
        let account = match self.store.acme_account(id).await {
            Ok(a) if a.directory == directory.name => a,
            Ok(_) | Err(certus_store::Error::NotFound) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if account.status != "valid" {
            return Err(problem(ErrorKind::Unauthorized, "unauthorized", format!("the account is {}", account.status)));
        }
        Ok(account)
    }
}
