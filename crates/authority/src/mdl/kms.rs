//! KMS services: named keys of a tenant (the same sealed keys CAs use), and the key references
//! IACA, DS and generic issuance sign with.

use std::sync::Arc;

use certus_kms::{JwkKey, Key, KeySpec, PublicJwk, SoftwareKey};
use certus_x509::{PublicKeyData, csr_from_pem, parse_csr};
use serde_json::Value;

use super::{KeyRef, KmsKeyView, PublicKeySource, Signing};
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, generate_key};

impl Authority {
    /// Generates a key named by `key_path` (org.tenant.kms.name): secp256r1, secp384r1,
    /// secp521r1, ed25519, RSA, RSA3072 or RSA4096. Returns its public JWK.
    pub async fn kms_generate(&self, caller: &Caller, key_path: &str, key_type: &str) -> Result<KmsKeyView> {
        caller.require(Scope::Admin)?;
        let spec = match key_type {
            "secp256r1" => KeySpec::EcP256,
            "secp384r1" => KeySpec::EcP384,
            "secp521r1" => KeySpec::EcP521,
            "ed25519" | "Ed25519" => KeySpec::Ed25519,
            "RSA" => KeySpec::Rsa2048,
            "RSA3072" => KeySpec::Rsa3072,
            "RSA4096" => KeySpec::Rsa4096,
            other => return Err(Error::malformed(format!("keyType {other:?} is not supported"))),
        };
        let key = generate_key(spec).await?;
        self.name_kms_key(caller, key_path, key, "kms.generate").await
    }

    /// Imports a private JWK under `key_path`.
    pub async fn kms_import_jwk(&self, caller: &Caller, key_path: &str, jwk: &Value) -> Result<KmsKeyView> {
        caller.require(Scope::Admin)?;
        match certus_kms::key_from_jwk(jwk)? {
            JwkKey::Private(key) => self.name_kms_key(caller, key_path, key, "kms.import").await,
            JwkKey::Public(_) => Err(Error::malformed("the JWK has no private part (\"d\")")),
        }
    }

    pub(super) async fn name_kms_key(
        &self,
        caller: &Caller,
        key_path: &str,
        key: SoftwareKey,
        action: &str,
    ) -> Result<KmsKeyView> {
        let t = self.resolve_target(caller, key_path).await?;
        let service = self.service_of(&t, "kms").await?;
        let name = t.child()?;
        let row = self.seal_key(&t.tenant_id, &key);
        let audit = self.audit_row(caller, action, key_path, format!("key={}", row.id));
        self.store.insert_kms_key(&service.id, name, &row, &audit).await?;
        Ok(KmsKeyView {
            key_path: key_path.to_owned(),
            public_jwk: certus_kms::public_jwk(key.spec(), key.der_bytes()),
        })
    }

    pub(super) async fn kms_key(&self, caller: &Caller, key_path: &str) -> Result<Arc<Key>> {
        Ok(self.kms_key_with_id(caller, key_path).await?.1)
    }

    /// A KMS key and its stored key id.
    pub(super) async fn kms_key_with_id(&self, caller: &Caller, key_path: &str) -> Result<(String, Arc<Key>)> {
        let t = self.resolve_target(caller, key_path).await?;
        let service = self.service_of(&t, "kms").await?;
        let key_id = self.store.kms_key_id(&t.tenant_id, &service.id, t.child()?).await.not_found_as("key")?;
        let key = self.load_key(&t.tenant_id, &key_id).await?;
        Ok((key_id, key))
    }

    /// A KMS key's public JWK.
    pub async fn kms_public_jwk(&self, caller: &Caller, key_path: &str) -> Result<PublicJwk> {
        let key = self.kms_key(caller, key_path).await?;
        Ok(certus_kms::public_jwk(key.spec(), key.der_bytes()))
    }

    /// Deletes a named KMS key.
    pub async fn kms_delete(&self, caller: &Caller, key_path: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, key_path).await?;
        let service = self.service_of(&t, "kms").await?;
        let audit = self.audit_row(caller, "kms.delete", key_path, String::new());
        let key_id = self.store.kms_key_id(&t.tenant_id, &service.id, t.child()?).await.not_found_as("key")?;
        self.store.delete_kms_key(&t.tenant_id, &service.id, t.child()?, &audit).await.not_found_as("key")?;
        // A deleted key's private half does not stay in memory.
        self.forget_key(&t.tenant_id, &key_id);
        Ok(())
    }

    /// Signs `data` with a KMS key; ECDSA signatures come as r || s, as JOSE and COSE carry them.
    pub async fn kms_sign(&self, caller: &Caller, key_path: &str, data: &[u8]) -> Result<Vec<u8>> {
        caller.require(Scope::Issue)?;
        let key = self.kms_key(caller, key_path).await?;
        let sig = certus_x509::SigningKey::sign(&*key, data).map_err(Error::internal)?;
        // No signature leaves without its audit entry.
        self.audit_before_release(caller, "kms.sign", key_path, format!("bytes={}", data.len())).await?;
        Ok(certus_kms::raw_signature(key.spec(), &sig)?)
    }

    pub(super) async fn signing(&self, caller: &Caller, key: &KeyRef) -> Result<Signing> {
        match key {
            KeyRef::Kms(path) => Ok(Signing::Private(self.kms_key(caller, path).await?)),
            KeyRef::Jwk(jwk) => Ok(match certus_kms::key_from_jwk(jwk)? {
                JwkKey::Private(k) => Signing::Private(Arc::new(Key::Software(k))),
                JwkKey::Public(p) => Signing::Public(p),
            }),
        }
    }

    /// A certificate's subject key: a key reference (private or public) or a CSR's key.
    pub(super) async fn subject_key(
        &self,
        caller: &Caller,
        source: &PublicKeySource,
    ) -> Result<Arc<dyn PublicKeyData + Send + Sync>> {
        Ok(match source {
            PublicKeySource::Key(k) => match self.signing(caller, k).await? {
                Signing::Private(k) => k,
                Signing::Public(p) => Arc::new(p),
            },
            PublicKeySource::Csr(pem) => csr_key(pem)?,
        })
    }

    pub(super) async fn private(&self, caller: &Caller, key: &KeyRef) -> Result<Arc<Key>> {
        match self.signing(caller, key).await? {
            Signing::Private(k) => Ok(k),
            Signing::Public(_) => {
                Err(Error::malformed("this key must be able to sign: give a KMS key or a private JWK"))
            }
        }
    }
}

/// A CSR's key, once its signature is checked.
fn csr_key(pem: &str) -> Result<Arc<dyn PublicKeyData + Send + Sync>> {
    crate::policy::csr_subject_key(&parse_csr(&csr_from_pem(pem)?)?)
}
