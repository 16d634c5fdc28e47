//! Accounts: newAccount (with external account binding and `onlyReturnExisting`), updates,
//! deactivation and key rollover.

use certus_kms::jwk_thumbprint;
use certus_store::AcmeAccountRow;
use serde::Deserialize;
use serde_json::Value;

use super::jws::{ParsedJws, public_key_of};
use super::{AcmeRequest, problem, unb64};
use crate::auth::{Caller, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::{Authority, new_id};

/// The most contact URLs an account keeps.
const MAX_CONTACTS: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAccountPayload {
    #[serde(default)]
    contact: Option<Vec<String>>,
    #[serde(default)]
    terms_of_service_agreed: Option<bool>,
    #[serde(default)]
    only_return_existing: Option<bool>,
    #[serde(default)]
    external_account_binding: Option<Value>,
}

#[derive(Deserialize)]
struct AccountPayload {
    #[serde(default)]
    contact: Option<Vec<String>>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyChangePayload {
    account: String,
    old_key: Value,
}

/// What an account request did.
#[derive(Debug, Clone)]
pub enum AccountUpdate {
    /// A new account was made (201).
    Created(AcmeAccountRow),
    /// The key's existing account (200).
    Existing(AcmeAccountRow),
}

/// The identity an account acts with in the engine (policy, audit).
pub(super) fn account_caller(account: &AcmeAccountRow, tenant_id: &str) -> Caller {
    Caller {
        token_id: format!("acme:{}:{}", account.directory, account.id),
        tenant_id: tenant_id.to_owned(),
        scopes: vec![Scope::Issue],
        superuser: false,
    }
}

fn checked_contacts(contact: Vec<String>) -> Result<String> {
    if contact.len() > MAX_CONTACTS {
        return Err(problem(ErrorKind::Malformed, "invalidContact", format!("at most {MAX_CONTACTS} contacts")));
    }
    for c in &contact {
        let Some(address) = c.strip_prefix("mailto:") else {
            return Err(problem(ErrorKind::Malformed, "unsupportedContact", format!("{c:?}: only mailto: contacts")));
        };
        let ok = address.len() <= 254
            && !address.contains(['?', ',', ' '])
            && address.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
        if !ok {
            return Err(problem(ErrorKind::Malformed, "invalidContact", format!("{c:?} is not one email address")));
        }
    }
    serde_json::to_string(&contact).map_err(Error::internal)
}

impl Authority {
    /// newAccount: the key's account, or a new one.
    pub async fn acme_new_account(&self, req: &AcmeRequest) -> Result<AccountUpdate> {
        let p: NewAccountPayload = req.payload_json()?;
        let jwk = req.jwk.as_ref().ok_or_else(|| Error::internal("newAccount without a jwk"))?;
        let thumbprint =
            jwk_thumbprint(jwk).map_err(|e| problem(ErrorKind::Malformed, "badPublicKey", e.to_string()))?;
        let dir = &req.directory;
        match self.store.acme_account_by_key(&dir.name, &thumbprint).await {
            Ok(a) => return Ok(AccountUpdate::Existing(a)),
            Err(certus_store::Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        // A lookup never needs EAB or terms (cert-manager looks up this way).
        if p.only_return_existing == Some(true) {
            return Err(problem(ErrorKind::Malformed, "accountDoesNotExist", "no account has this key"));
        }
        if dir.terms_of_service.is_some() && p.terms_of_service_agreed != Some(true) {
            return Err(problem(
                ErrorKind::Forbidden,
                "userActionRequired",
                "agree to the terms of service (termsOfServiceAgreed: true)",
            ));
        }
        let eab_kid = match &p.external_account_binding {
            Some(eab) => Some(self.check_eab(req, eab, jwk).await?),
            None if dir.require_eab => {
                return Err(problem(
                    ErrorKind::Forbidden,
                    "externalAccountRequired",
                    "this directory needs an external account binding (externalAccountBinding)",
                ));
            }
            None => None,
        };
        let row = AcmeAccountRow {
            id: new_id("acct"),
            directory: dir.name.clone(),
            thumbprint: thumbprint.clone(),
            jwk: jwk.to_string(),
            status: "valid".into(),
            contact_json: checked_contacts(p.contact.unwrap_or_default())?,
            eab_kid: eab_kid.clone(),
            created_at: self.now_secs(),
        };
        let caller = account_caller(&row, &dir.tenant_id);
        let detail = format!("directory={} eab={}", dir.name, eab_kid.as_deref().unwrap_or("-"));
        let audit = self.audit_row(&caller, "acme.account.create", &row.id, detail);
        match self.store.insert_acme_account(&row, &audit).await {
            Ok(()) => Ok(AccountUpdate::Created(row)),
            // The same key registered twice at once: the other request made it.
            Err(certus_store::Error::Conflict(_)) if eab_kid.is_none() => {
                Ok(AccountUpdate::Existing(self.store.acme_account_by_key(&dir.name, &thumbprint).await?))
            }
            Err(certus_store::Error::Conflict(m)) => Err(problem(ErrorKind::Unauthorized, "unauthorized", m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks an external account binding (RFC 8555 §7.3.4): an HS256 JWS by an unused key of
    /// this directory, over the account's own JWK, for this URL. Returns its kid.
    async fn check_eab(&self, req: &AcmeRequest, eab: &Value, jwk: &Value) -> Result<String> {
        let bad = |m: &str| problem(ErrorKind::Unauthorized, "unauthorized", format!("externalAccountBinding: {m}"));
        let part = |name: &str| eab.get(name).and_then(Value::as_str).ok_or_else(|| bad("not a flattened JWS"));
        let (protected, payload, signature) = (part("protected")?, part("payload")?, part("signature")?);
        let header: Value = serde_json::from_slice(&unb64(protected, "externalAccountBinding protected")?)
            .map_err(|_| bad("unreadable protected header"))?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(problem(
                ErrorKind::Malformed,
                "badSignatureAlgorithm",
                "externalAccountBinding must use HS256",
            ));
        }
        if header.get("url").and_then(Value::as_str) != Some(req.url.as_str()) || header.get("nonce").is_some() {
            return Err(bad("its url must be the newAccount URL, and it must carry no nonce"));
        }
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(|| bad("no kid"))?;
        let inner: Value = serde_json::from_slice(&unb64(payload, "externalAccountBinding payload")?)
            .map_err(|_| bad("the payload is not a JWK"))?;
        if inner != *jwk {
            return Err(bad("its payload must be the account's JWK"));
        }
        // The key is derived; an unknown kid must not verify either, so check use after the MAC.
        let tag = unb64(signature, "externalAccountBinding signature")?;
        let signed = format!("{protected}.{payload}");
        if !certus_kms::verify_hs256(&self.eab_hmac_key(kid), signed.as_bytes(), &tag)
            || !self.store.acme_eab_key_unused(&req.directory.name, kid).await?
        {
            return Err(bad("unknown or used key, or a wrong MAC"));
        }
        Ok(kid.to_owned())
    }

    /// POST to an account URL: read it (POST-as-GET), change its contacts, or deactivate it.
    pub async fn acme_update_account(&self, req: &AcmeRequest, account_id: &str) -> Result<AcmeAccountRow> {
        let account = req.signer()?.clone();
        if account.id != account_id {
            return Err(problem(ErrorKind::Forbidden, "unauthorized", "an account can only change itself"));
        }
        if req.is_post_as_get() {
            return Ok(account);
        }
        let p: AccountPayload = req.payload_json()?;
        let caller = account_caller(&account, &req.directory.tenant_id);
        let contact_json = match p.contact {
            Some(c) => checked_contacts(c)?,
            None => account.contact_json.clone(),
        };
        let (status, audit) = match p.status.as_deref() {
            None | Some("valid") => ("valid", None),
            Some("deactivated") => {
                ("deactivated", Some(self.audit_row(&caller, "acme.account.deactivate", &account.id, String::new())))
            }
            Some(other) => {
                return Err(problem(
                    ErrorKind::Malformed,
                    "malformed",
                    format!("status {other:?}: only \"deactivated\""),
                ));
            }
        };
        self.store.update_acme_account(&account.id, status, &contact_json, audit.as_ref()).await?;
        Ok(AcmeAccountRow { status: status.into(), contact_json, ..account })
    }

    /// keyChange (RFC 8555 §7.3.5): the inner JWS, signed by the new key, names the account and
    /// its old key. `Err` with `Conflict` kind carries the account that already has the new key.
    pub async fn acme_key_change(&self, req: &AcmeRequest) -> Result<AcmeAccountRow> {
        let account = req.signer()?.clone();
        let inner = ParsedJws::parse(&req.payload)?.verify(None)?;
        if inner.header.get("url").and_then(Value::as_str) != Some(req.url.as_str()) {
            return Err(problem(ErrorKind::Malformed, "malformed", "the inner JWS must have the outer JWS's url"));
        }
        let new_jwk = inner.header.get("jwk").cloned().ok_or_else(|| Error::internal("inner JWS without jwk"))?;
        let p: KeyChangePayload = serde_json::from_slice(&inner.payload)
            .map_err(|e| problem(ErrorKind::Malformed, "malformed", format!("inner payload: {e}")))?;
        if p.account != self.acme_urls(&req.directory.name).account(&account.id) {
            return Err(problem(ErrorKind::Malformed, "malformed", "the inner payload's account is not the signer"));
        }
        public_key_of(&p.old_key)?;
        let bad_key = |e: certus_kms::Error| problem(ErrorKind::Malformed, "badPublicKey", e.to_string());
        if jwk_thumbprint(&p.old_key).map_err(bad_key)? != account.thumbprint {
            return Err(problem(ErrorKind::Malformed, "malformed", "oldKey is not the account's current key"));
        }
        let thumbprint = jwk_thumbprint(&new_jwk).map_err(bad_key)?;
        if let Ok(other) = self.store.acme_account_by_key(&req.directory.name, &thumbprint).await {
            return Err(Error::conflict(self.acme_urls(&req.directory.name).account(&other.id))
                .with_detail(crate::error::ErrorDetail::code("keyInUse")));
        }
        let caller = account_caller(&account, &req.directory.tenant_id);
        let audit = self.audit_row(&caller, "acme.account.key_change", &account.id, format!("new_key={thumbprint}"));
        match self
            .store
            .change_acme_account_key(&account.id, &account.thumbprint, &thumbprint, &new_jwk.to_string(), &audit)
            .await
        {
            Ok(()) => Ok(AcmeAccountRow { thumbprint, jwk: new_jwk.to_string(), ..account }),
            Err(certus_store::Error::Conflict(m)) => Err(problem(ErrorKind::Conflict, "malformed", m)),
            Err(e) => Err(e.into()),
        }
    }
}
