//! The mdoc PKI services behind the `/v1/{org}.{tenant}.{service}[.{child}]` front door: named
//! services of a tenant, KMS services holding named keys (the same sealed keys CAs use), IACA and
//! Document Signer issuance to ISO/IEC 18013-5 Annex B, and X.509 stores written atomically.

use std::sync::Arc;

use certus_kms::{JwkKey, Key, KeySpec, PublicJwk, SoftwareKey};
use certus_store::{CaRow, CertRow, DoorRecord, KeyRow, ServiceRow, StoreEntryRow};
use certus_x509::{
    DsSpec, IacaSpec, IssuerAltName, PemLabel, PublicKeyData, csr_from_pem, parse_certificate, parse_csr, to_pem,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::pipeline::{self, AuditIntent, Order, Signed, Template};
use crate::{Authority, generate_key, new_uuid};

pub(crate) const SERVICE_TYPES: &[&str] = &["kms", "x509-service", "x509-store"];

/// A resolved `org.tenant.service[.child]` path.
#[derive(Debug, Clone)]
pub struct Target {
    /// The tenant.
    pub tenant_id: String,
    /// `org.tenant` as the caller wrote it, to build child paths.
    pub prefix: String,
    /// The service, when the path names one.
    pub service: Option<String>,
    /// The entry, when the path names one.
    pub child: Option<String>,
}

impl Target {
    fn service(&self) -> Result<&str> {
        self.service.as_deref().ok_or_else(|| Error::malformed("the path must name a service: org.tenant.service"))
    }

    fn child(&self) -> Result<&str> {
        self.child.as_deref().ok_or_else(|| Error::malformed("the path must name an entry: org.tenant.service.id"))
    }

    fn path_of(&self, service: &str, child: &str) -> String {
        format!("{}.{service}.{child}", self.prefix)
    }
}

/// Where a key comes from: a named key of a KMS service, or an inline JWK.
#[derive(Debug, Clone)]
pub enum KeyRef {
    /// A named key of a KMS service (`org.tenant.kms.name`).
    Kms(String),
    /// A JWK given inline.
    Jwk(Value),
}

/// An IACA's fields.
#[derive(Debug, Clone, Default)]
pub struct IacaData {
    /// countryName.
    pub country: String,
    /// commonName.
    pub common_name: String,
    /// stateOrProvinceName.
    pub state: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// notBefore.
    pub not_before: Option<i64>,
    /// notAfter.
    pub not_after: Option<i64>,
    /// The issuerAltName contact.
    pub issuer_alt_name: IssuerAltName,
    /// CRL distribution point.
    pub crl_url: Option<String>,
}

/// A Document Signer's fields.
#[derive(Debug, Clone, Default)]
pub struct DsData {
    /// countryName.
    pub country: String,
    /// commonName.
    pub common_name: String,
    /// stateOrProvinceName.
    pub state: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// localityName.
    pub locality: Option<String>,
    /// notBefore.
    pub not_before: Option<i64>,
    /// notAfter.
    pub not_after: Option<i64>,
    /// CRL distribution point.
    pub crl_url: String,
}

/// The IACA that signs a DS: its certificate, or the data it was made from.
#[derive(Debug, Clone)]
pub enum IacaSigner {
    /// Its certificate as PEM, with its key.
    Pem {
        /// The IACA certificate.
        pem: String,
        /// Its key.
        key: KeyRef,
    },
    /// The data it was made from, with its key.
    Data {
        /// The IACA's fields.
        data: IacaData,
        /// Its key.
        key: KeyRef,
    },
}

/// A subject public key: a key reference or a CSR (whose signature is checked).
#[derive(Debug, Clone)]
pub enum PublicKeySource {
    /// A key reference.
    Key(KeyRef),
    /// A CSR (its signature is checked).
    Csr(String),
}

/// A generic certificate's fields (walt.id's generic X.509 profile).
#[derive(Debug, Clone, Default)]
pub struct GenericData {
    /// The subject.
    pub subject: certus_x509::Subject,
    /// Default: the subject name.
    pub issuer_name: Option<certus_x509::Subject>,
    /// notBefore.
    pub not_before: Option<i64>,
    /// notAfter.
    pub not_after: Option<i64>,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u8>,
    /// keyUsage bits.
    pub key_usage: Vec<certus_x509::KeyUsageBit>,
    /// EKU OIDs, dotted.
    pub extended_key_usage_oids: Vec<String>,
    /// dNSName SANs.
    pub dns_names: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// rfc822Name SANs.
    pub emails: Vec<String>,
    /// iPAddress SANs.
    pub ip_addresses: Vec<String>,
    /// CRL distribution point.
    pub crl_url: Option<String>,
}

/// Who signs a generic certificate.
#[derive(Debug, Clone)]
pub enum GenericIssuer {
    /// The subject key signs (it must be a private key).
    SelfSigned,
    /// This key signs, under the issuer name given.
    CaSigned(KeyRef),
}

/// What an issuance writes to the attached stores.
#[derive(Debug, Clone, Default)]
pub struct StoreWrite {
    /// The id to store the certificate under.
    pub stored_certificate_id: Option<String>,
    /// VICAL complementary metadata; makes the entry a `vical-entry`.
    pub vical_metadata: Option<Value>,
}

/// A service of a tenant, as created.
#[derive(Debug, Clone)]
pub struct MdlService {
    /// `org.tenant.service`.
    pub path: String,
    /// `kms`, `x509-service` or `x509-store`.
    pub service_type: String,
}

/// A named key of a KMS service and its public half.
#[derive(Debug, Clone)]
pub struct KmsKeyView {
    /// `org.tenant.kms.name`.
    pub key_path: String,
    /// The public key as a JWK.
    pub public_jwk: PublicJwk,
}

/// An entry of an X.509 store.
#[derive(Debug, Clone)]
pub struct StoreEntry {
    /// `org.tenant.store.id`.
    pub path: String,
    /// `base` or `vical-entry`.
    pub entry_type: String,
    /// PEM.
    pub pem: String,
    /// VICAL complementary metadata, as the JSON text it was given in.
    pub metadata: Option<String>,
    /// When it last changed.
    pub updated_at: i64,
}

/// The issued certificate and the store paths it was written to.
#[derive(Debug, Clone)]
pub struct MdlIssued {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// Where the certificate was stored.
    pub stored_certificate_ids: Option<Vec<String>>,
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
}

enum Signing {
    Private(Arc<Key>),
    Public(certus_kms::PublicKey),
}

impl Authority {
    /// Resolves a target path; a tenant the caller does not belong to is "not found".
    pub async fn resolve_target(&self, caller: &Caller, path: &str) -> Result<Target> {
        let parts: Vec<&str> = path.split('.').collect();
        if parts.len() < 2 || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::malformed(format!("target {path:?} must be org.tenant[.service[.id]]")));
        }
        let tenant = self.store.find_tenant(parts[0], parts[1]).await.not_found_as("organisation or tenant")?;
        if tenant.id != caller.tenant_id && !caller.superuser {
            return Err(Error::not_found("organisation or tenant not found"));
        }
        Ok(Target {
            tenant_id: tenant.id,
            prefix: format!("{}.{}", parts[0], parts[1]),
            service: parts.get(2).map(|s| s.to_string()),
            child: parts.get(3).map(|s| s.to_string()),
        })
    }

    async fn service_of(&self, t: &Target, kind: &str) -> Result<ServiceRow> {
        let s = self.store.get_service(&t.tenant_id, t.service()?).await.not_found_as("service")?;
        if s.service_type != kind {
            return Err(Error::malformed(format!("service {} is a {}, not a {kind}", s.id, s.service_type)));
        }
        Ok(s)
    }

    /// Creates a service of the mDL door.
    pub async fn create_service(&self, caller: &Caller, path: &str, service_type: &str) -> Result<MdlService> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, path).await?;
        if t.child.is_some() {
            return Err(Error::malformed("a service path is org.tenant.service"));
        }
        if !SERVICE_TYPES.contains(&service_type) {
            return Err(Error::malformed(format!("type must be one of {}", SERVICE_TYPES.join(", "))));
        }
        let row = ServiceRow {
            tenant_id: t.tenant_id.clone(),
            id: t.service()?.to_owned(),
            service_type: service_type.to_owned(),
            created_at: self.now_secs(),
        };
        self.store.insert_service(&row).await?;
        self.audit(caller, "service.create", path, format!("type={service_type}")).await;
        Ok(MdlService { path: path.to_owned(), service_type: service_type.to_owned() })
    }

    /// Attaches a KMS or an X.509 store (same tenant) to an X.509 service.
    pub async fn add_dependency(&self, caller: &Caller, path: &str, dependency: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, path).await?;
        self.service_of(&t, "x509-service").await?;
        let d = self.resolve_target(caller, dependency).await?;
        if d.tenant_id != t.tenant_id || d.child.is_some() {
            return Err(Error::malformed("a dependency is a service of the same tenant: org.tenant.service"));
        }
        let dep = self.store.get_service(&d.tenant_id, d.service()?).await.not_found_as("dependency service")?;
        if !["kms", "x509-store"].contains(&dep.service_type.as_str()) {
            return Err(Error::malformed("an X.509 service can depend on a kms or an x509-store"));
        }
        self.store.add_dependency(&t.tenant_id, t.service()?, &dep.id).await?;
        self.audit(caller, "service.dependency", path, format!("dependency={dependency}")).await;
        Ok(())
    }

    // ---- KMS service ----

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

    async fn name_kms_key(
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

    async fn kms_key(&self, caller: &Caller, key_path: &str) -> Result<Arc<Key>> {
        Ok(self.kms_key_with_id(caller, key_path).await?.1)
    }

    /// A KMS key and its stored key id.
    async fn kms_key_with_id(&self, caller: &Caller, key_path: &str) -> Result<(String, Arc<Key>)> {
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
        self.store.delete_kms_key(&t.tenant_id, &service.id, t.child()?).await.not_found_as("key")?;
        self.audit(caller, "kms.delete", key_path, String::new()).await;
        Ok(())
    }

    /// Signs `data` with a KMS key; ECDSA signatures come as r || s, as JOSE and COSE carry them.
    pub async fn kms_sign(&self, caller: &Caller, key_path: &str, data: &[u8]) -> Result<Vec<u8>> {
        caller.require(Scope::Issue)?;
        let key = self.kms_key(caller, key_path).await?;
        let sig = certus_x509::SigningKey::sign(&*key, data).map_err(Error::internal)?;
        self.audit(caller, "kms.sign", key_path, format!("bytes={}", data.len())).await;
        Ok(certus_kms::raw_signature(key.spec(), &sig)?)
    }

    async fn signing(&self, caller: &Caller, key: &KeyRef) -> Result<Signing> {
        match key {
            KeyRef::Kms(path) => Ok(Signing::Private(self.kms_key(caller, path).await?)),
            KeyRef::Jwk(jwk) => Ok(match certus_kms::key_from_jwk(jwk)? {
                JwkKey::Private(k) => Signing::Private(Arc::new(Key::Software(k))),
                JwkKey::Public(p) => Signing::Public(p),
            }),
        }
    }

    /// A certificate's subject key: a key reference (private or public) or a CSR's key.
    async fn subject_key(
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

    async fn private(&self, caller: &Caller, key: &KeyRef) -> Result<Arc<Key>> {
        match self.signing(caller, key).await? {
            Signing::Private(k) => Ok(k),
            Signing::Public(_) => {
                Err(Error::malformed("this key must be able to sign: give a KMS key or a private JWK"))
            }
        }
    }

    // ---- ISO 18013-5 issuance ----

    /// Issues an IACA root: it becomes a Certus CA of the target's tenant (type `iaca`) signing
    /// with this key, listed with every CA, with its own CRL.
    pub async fn issue_iaca(
        &self,
        caller: &Caller,
        service_path: &str,
        data: &IacaData,
        key: &KeyRef,
        write: &StoreWrite,
    ) -> Result<MdlIssued> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, service_path).await?;
        self.service_of(&t, "x509-service").await?;
        let (door, stored) = self.store_write(&t, write).await?;
        let signed = self.new_iaca(caller, &t, data, key, door, stored.is_some()).await?;
        Ok(mdl_issued(signed.cert, stored))
    }

    /// Makes an IACA through the pipeline and records it as a CA of the target's tenant.
    async fn new_iaca(
        &self,
        caller: &Caller,
        t: &Target,
        data: &IacaData,
        key: &KeyRef,
        door: DoorRecord,
        stored: bool,
    ) -> Result<Signed> {
        let (key, key_id, kept_key) = self.iaca_key(caller, t, key).await?;
        let spec = iaca_spec(data, self.now())?;
        let id = crate::new_id("ca");
        let row = CaRow {
            id: id.clone(),
            tenant_id: t.tenant_id.clone(),
            name: id.clone(),
            common_name: data.common_name.clone(),
            ca_type: "iaca".into(),
            parent_ca_id: None,
            key_id: key_id.clone(),
            key_type: key.spec().key_type().to_owned(),
            key_size: i64::from(key.spec().bits()),
            cert_der: Vec::new(),
            serial: String::new(),
            valid_from: 0,
            valid_until: 0,
            is_active: true,
            created_at: self.now_secs(),
            revoked: false,
            key_store: "software".into(),
            profile_id: None,
        };
        let order = Order {
            template: Template::Iaca(spec),
            signer: pipeline::Signer::SelfSigned(key.clone()),
            subject_key: key,
            kept_key,
            key_id: Some(key_id),
            role_name: None,
            listed_name: None,
            source: "ca",
            new_ca: Some(row),
            door,
            audit: mdl_audit("mdl.iaca", t, stored),
        };
        self.issue_certificate(&caller_in(caller, t), order).await
    }

    /// The key an IACA signs with: a KMS key (already stored) or a private JWK, sealed and kept
    /// now since the IACA becomes a CA that signs with it.
    async fn iaca_key(&self, caller: &Caller, t: &Target, key: &KeyRef) -> Result<(Arc<Key>, String, Option<KeyRow>)> {
        match key {
            KeyRef::Kms(path) => {
                let (key_id, key) = self.kms_key_with_id(caller, path).await?;
                Ok((key, key_id, None))
            }
            KeyRef::Jwk(jwk) => match certus_kms::key_from_jwk(jwk)? {
                JwkKey::Private(k) => {
                    let row = self.seal_key(&t.tenant_id, &k);
                    Ok((Arc::new(Key::Software(k)), row.id.clone(), Some(row)))
                }
                JwkKey::Public(_) => {
                    Err(Error::malformed("this key must be able to sign: give a KMS key or a private JWK"))
                }
            },
        }
    }

    /// Issues a Document Signer under an IACA, which is a Certus CA of the tenant: the one this
    /// PEM or data describes, registered on first use. The DS is that CA's certificate:
    /// listed, revocable, in its CRL and OCSP answers.
    pub async fn issue_ds(
        &self,
        caller: &Caller,
        service_path: &str,
        signer: &IacaSigner,
        data: &DsData,
        source: &PublicKeySource,
        write: &StoreWrite,
    ) -> Result<MdlIssued> {
        caller.require(Scope::Issue)?;
        let t = self.resolve_target(caller, service_path).await?;
        self.service_of(&t, "x509-service").await?;
        let iaca = self.iaca_ca(caller, &t, signer).await?;
        let subject = self.subject_key(caller, source).await?;
        let now = self.now();
        if data.not_after.is_some_and(|t| t <= now.unix_timestamp()) {
            return Err(Error::malformed("ISO 18013-5 Annex B: the DS notAfter must be in the future"));
        }
        let spec = DsSpec {
            serial: [0; 20],
            country: data.country.clone(),
            common_name: data.common_name.clone(),
            state: data.state.clone(),
            organization: data.organization.clone(),
            locality: data.locality.clone(),
            crl_url: data.crl_url.clone(),
            not_before: data.not_before.map(crate::from_secs).unwrap_or(now),
            not_after: data.not_after.map(crate::from_secs).unwrap_or(now + Duration::days(365)),
        };
        let (door, stored) = self.store_write(&t, write).await?;
        let key = self.load_key(&t.tenant_id, &iaca.key_id).await?;
        let audit = mdl_audit("mdl.document_signer", &t, stored.is_some());
        let order = mdl_order(Template::Ds(spec), pipeline::Signer::Ca { ca: iaca, key }, subject, door, audit);
        let signed = self.issue_certificate(&caller_in(caller, &t), order).await?;
        Ok(mdl_issued(signed.cert, stored))
    }

    /// The Certus CA an IACA signer names. A PEM is matched to the tenant's CA with that very
    /// certificate, or registered as one; data is matched to the tenant's IACA with that key and
    /// subject, or issued as a new IACA.
    async fn iaca_ca(&self, caller: &Caller, t: &Target, signer: &IacaSigner) -> Result<CaRow> {
        match signer {
            IacaSigner::Pem { pem, key } => {
                let ders = certus_x509::certs_from_pem(pem)?;
                let der =
                    ders.into_iter().next().ok_or_else(|| Error::malformed("iacaPemEncodedCertificate is empty"))?;
                // A supplied IACA must itself be one, and the key must be its key.
                let broken = certus_x509::check_annex_b(&der, certus_x509::MdlRole::Iaca);
                if !broken.is_empty() {
                    return Err(Error::malformed(format!(
                        "the IACA certificate breaks Annex B: {}",
                        broken.join("; ")
                    )));
                }
                let (signing_key, key_id, kept_key) = self.iaca_key(caller, t, key).await?;
                let info = parse_certificate(&der)?;
                if info.spki_der != signing_key.subject_public_key_info() {
                    return Err(Error::malformed("iacaKeyDesc is not the key of the IACA certificate"));
                }
                let serial = crate::serial_key(&info.serial);
                let known = self.store.list_cas(&t.tenant_id).await?.into_iter().find(|c| c.cert_der == der);
                match known {
                    Some(ca) => Ok(ca),
                    None => self.register_iaca(caller, t, der, &info, serial, key_id, kept_key).await,
                }
            }
            IacaSigner::Data { data, key } => {
                let (signing_key, _, _) = self.iaca_key(caller, t, key).await?;
                let spki = signing_key.subject_public_key_info();
                for ca in self.store.list_cas(&t.tenant_id).await? {
                    if ca.ca_type != "iaca" {
                        continue;
                    }
                    let info = parse_certificate(&ca.cert_der)?;
                    let s = &info.subject_fields;
                    if info.spki_der == spki
                        && s.common_name.as_deref() == Some(data.common_name.as_str())
                        && s.country.as_deref() == Some(data.country.as_str())
                        && s.state == data.state
                        && s.organization == data.organization
                    {
                        return Ok(ca);
                    }
                }
                let signed = self.new_iaca(caller, t, data, key, DoorRecord::None, false).await?;
                self.store
                    .list_cas(&t.tenant_id)
                    .await?
                    .into_iter()
                    .find(|c| c.cert_der == signed.cert.cert_der)
                    .ok_or_else(|| Error::internal("the new IACA is not recorded"))
            }
        }
    }

    /// Records an IACA Certus did not make (given as PEM with its key) as a CA of the tenant,
    /// with its certificate in the inventory.
    #[allow(clippy::too_many_arguments)]
    async fn register_iaca(
        &self,
        caller: &Caller,
        t: &Target,
        der: Vec<u8>,
        info: &certus_x509::CertInfo,
        serial: String,
        key_id: String,
        kept_key: Option<KeyRow>,
    ) -> Result<CaRow> {
        let id = crate::new_id("ca");
        let key_type = info.key.kind.type_name().to_owned();
        let common_name = info.common_name.clone().unwrap_or_default();
        let row = CaRow {
            id: id.clone(),
            tenant_id: t.tenant_id.clone(),
            name: id.clone(),
            common_name: common_name.clone(),
            ca_type: "iaca".into(),
            parent_ca_id: None,
            key_id: key_id.clone(),
            key_type,
            key_size: i64::from(info.key.bits),
            cert_der: der.clone(),
            serial: serial.clone(),
            valid_from: info.not_before.unix_timestamp(),
            valid_until: info.not_after.unix_timestamp(),
            is_active: true,
            created_at: self.now_secs(),
            revoked: false,
            key_store: "software".into(),
            profile_id: None,
        };
        let cert = CertRow {
            id: crate::new_id("cert"),
            tenant_id: t.tenant_id.clone(),
            issuer_ca_id: None,
            serial,
            common_name: Some(common_name),
            sans: vec![],
            not_before: row.valid_from,
            not_after: row.valid_until,
            cert_der: der,
            chain_pem: None,
            key_id: Some(key_id),
            role_name: None,
            source: "ca".into(),
            revoked_at: None,
            revocation_reason: None,
            created_at: row.created_at,
        };
        let audit = self.audit_row(&caller_in(caller, t), "mdl.iaca_register", &id, format!("serial={}", cert.serial));
        self.store.register_ca(&row, kept_key.as_ref(), &cert, &audit).await?;
        Ok(row)
    }

    /// Issues a generic certificate; returns it with the subject key's public JWK. Recorded in
    /// the inventory, under the CA whose key signed it when the key is a CA's.
    pub async fn issue_generic(
        &self,
        caller: &Caller,
        service_path: &str,
        data: &GenericData,
        source: &PublicKeySource,
        issuer: &GenericIssuer,
        write: &StoreWrite,
    ) -> Result<(MdlIssued, PublicJwk)> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, service_path).await?;
        self.service_of(&t, "x509-service").await?;
        let subject: Arc<dyn PublicKeyData + Send + Sync>;
        let issuer_key: Arc<Key>;
        let mut issuer_key_id = None;
        match (source, issuer) {
            (PublicKeySource::Csr(_), GenericIssuer::SelfSigned) => {
                return Err(Error::malformed("a certificate for a CSR must be ca-signed"));
            }
            (PublicKeySource::Key(k), GenericIssuer::SelfSigned) => {
                let key = self.private(caller, k).await?;
                subject = key.clone();
                issuer_key = key;
            }
            (source, GenericIssuer::CaSigned(k)) => {
                (issuer_key, issuer_key_id) = match k {
                    KeyRef::Kms(path) => {
                        let (id, key) = self.kms_key_with_id(caller, path).await?;
                        (key, Some(id))
                    }
                    KeyRef::Jwk(_) => (self.private(caller, k).await?, None),
                };
                subject = self.subject_key(caller, source).await?;
            }
        }
        let ips = data
            .ip_addresses
            .iter()
            .map(|i| i.parse().map_err(|_| Error::malformed(format!("{i:?} is not an IP address"))))
            .collect::<Result<Vec<_>>>()?;
        let ekus = data
            .extended_key_usage_oids
            .iter()
            .map(|o| {
                let arcs: Vec<u64> = o.split('.').filter_map(|a| a.parse().ok()).collect();
                if arcs.len() < 2 || arcs.len() != o.split('.').count() {
                    return Err(Error::malformed(format!("extendedKeyUsageOids: {o:?} is not an OID")));
                }
                Ok(arcs)
            })
            .collect::<Result<Vec<_>>>()?;
        let now = self.now();
        let spec = certus_x509::GenericSpec {
            serial: [0; 20],
            subject: data.subject.clone(),
            issuer_name: data.issuer_name.clone().unwrap_or_else(|| data.subject.clone()),
            not_before: data.not_before.map(crate::from_secs).unwrap_or(now),
            not_after: data.not_after.map(crate::from_secs).unwrap_or(now + Duration::days(365)),
            is_ca: data.is_ca,
            path_len: data.path_len,
            key_usage: data.key_usage.clone(),
            extended_key_usage: ekus,
            dns_names: data.dns_names.clone(),
            uris: data.uris.clone(),
            emails: data.emails.clone(),
            ip_addresses: ips,
            crl_url: data.crl_url.clone(),
        };
        // The CA that holds the signing key, if one does and the issuer name is its subject.
        let ca = match &issuer_key_id {
            Some(key_id) => self
                .store
                .list_cas(&t.tenant_id)
                .await?
                .into_iter()
                .find(|c| &c.key_id == key_id && issuer_name_is(c, &spec.issuer_name)),
            None => None,
        };
        let key_for_jwk = subject.clone();
        let (door, stored) = self.store_write(&t, write).await?;
        let audit = mdl_audit("x509.generic", &t, stored.is_some());
        let signer = pipeline::Signer::Key { key: issuer_key, ca };
        let order = mdl_order(Template::Generic(spec), signer, subject, door, audit);
        let signed = self.issue_certificate(&caller_in(caller, &t), order).await?;
        let info = parse_certificate(&signed.cert.cert_der).map_err(Error::internal)?;
        let jwk = certus_kms::public_jwk(crate::issue::key_spec_of(&info.key)?, key_for_jwk.der_bytes());
        Ok((mdl_issued(signed.cert, stored), jwk))
    }

    /// A CSR for `subject`, signed by a KMS key or private JWK (proof of possession), to feed
    /// back as a DS or generic certificate's subject key.
    pub async fn issue_csr(
        &self,
        caller: &Caller,
        service_path: &str,
        subject: &certus_x509::Subject,
        dns_names: &[String],
        key: &KeyRef,
    ) -> Result<String> {
        caller.require(Scope::Issue)?;
        let t = self.resolve_target(caller, service_path).await?;
        self.service_of(&t, "x509-service").await?;
        if subject.common_name.as_deref().is_none_or(str::is_empty) {
            return Err(Error::malformed("commonName is required"));
        }
        let key = self.private(caller, key).await?;
        let (subject, dns) = (subject.clone(), dns_names.to_vec());
        let der = crate::blocking(move || Ok(certus_x509::build_csr(&subject, &dns, &[], &*key)?)).await?;
        self.audit(caller, "x509.csr", service_path, String::new()).await;
        Ok(to_pem(PemLabel::CertificateRequest, &der))
    }

    /// The store entries an issuance writes (one per attached x509-store, under one id; their
    /// PEM is filled in once the certificate is signed) and the paths they will have.
    async fn store_write(&self, t: &Target, write: &StoreWrite) -> Result<(DoorRecord, Option<Vec<String>>)> {
        let mut stores = Vec::new();
        for dep in self.store.dependencies(&t.tenant_id, t.service()?).await? {
            if self.store.get_service(&t.tenant_id, &dep).await?.service_type == "x509-store" {
                stores.push(dep);
            }
        }
        if stores.is_empty() {
            return Ok((DoorRecord::None, None));
        }
        let entry_id = write.stored_certificate_id.clone().unwrap_or_else(new_uuid);
        let (entry_type, metadata) = match &write.vical_metadata {
            Some(m) => ("vical-entry", Some(m.to_string())),
            None => ("base", None),
        };
        let now = self.now_secs();
        let rows = stores
            .iter()
            .map(|s| StoreEntryRow {
                tenant_id: t.tenant_id.clone(),
                store_id: s.clone(),
                entry_id: entry_id.clone(),
                entry_type: entry_type.to_owned(),
                pem: String::new(),
                metadata: metadata.clone(),
                created_at: now,
                updated_at: now,
            })
            .collect();
        let paths = stores.iter().map(|s| t.path_of(s, &entry_id)).collect();
        Ok((DoorRecord::StoreEntries(rows), Some(paths)))
    }

    // ---- X.509 stores ----

    /// A store's entries, or one entry.
    pub async fn store_list(&self, caller: &Caller, store_path: &str) -> Result<Vec<StoreEntry>> {
        let t = self.resolve_target(caller, store_path).await?;
        let store = self.service_of(&t, "x509-store").await?;
        let rows = self.store.store_entries(&t.tenant_id, &store.id).await?;
        Ok(rows
            .iter()
            .filter(|r| t.child.as_deref().is_none_or(|c| c == r.entry_id))
            .map(|r| entry_view(&t, r))
            .collect())
    }

    /// The target and store service of an entry change (admins only).
    async fn store_to_change(&self, caller: &Caller, path: &str) -> Result<(Target, ServiceRow)> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, path).await?;
        let store = self.service_of(&t, "x509-store").await?;
        Ok((t, store))
    }

    /// Adds an entry to an X.509 store.
    pub async fn store_add(
        &self,
        caller: &Caller,
        path: &str,
        entry_type: &str,
        pem: &str,
        metadata: Option<Value>,
    ) -> Result<StoreEntry> {
        let (t, store) = self.store_to_change(caller, path).await?;
        let row = entry_row(
            &t,
            &store.id,
            t.child.clone().unwrap_or_else(new_uuid),
            entry_type,
            pem,
            metadata,
            self.now_secs(),
        )?;
        let audit = self.audit_row(caller, "store.add", path, format!("entry={}", row.entry_id));
        self.store.insert_store_entry(&row, &audit).await?;
        Ok(entry_view(&t, &row))
    }

    /// Replaces an X.509 store entry.
    pub async fn store_update(
        &self,
        caller: &Caller,
        path: &str,
        entry_type: &str,
        pem: &str,
        metadata: Option<Value>,
    ) -> Result<StoreEntry> {
        let (t, store) = self.store_to_change(caller, path).await?;
        let row = entry_row(&t, &store.id, t.child()?.to_owned(), entry_type, pem, metadata, self.now_secs())?;
        self.store.update_store_entry(&row).await.not_found_as("store entry")?;
        self.audit(caller, "store.update", path, String::new()).await;
        Ok(entry_view(&t, &row))
    }

    /// Deletes an X.509 store entry.
    pub async fn store_delete(&self, caller: &Caller, path: &str) -> Result<()> {
        let (t, store) = self.store_to_change(caller, path).await?;
        self.store.delete_store_entry(&t.tenant_id, &store.id, t.child()?).await.not_found_as("store entry")?;
        self.audit(caller, "store.delete", path, String::new()).await;
        Ok(())
    }
}

fn iaca_spec(d: &IacaData, now: OffsetDateTime) -> Result<IacaSpec> {
    if d.not_after.is_some_and(|t| t <= now.unix_timestamp()) {
        return Err(Error::malformed("ISO 18013-5 Annex B: the IACA notAfter must be in the future"));
    }
    Ok(IacaSpec {
        serial: [0; 20],
        country: d.country.clone(),
        common_name: d.common_name.clone(),
        state: d.state.clone(),
        organization: d.organization.clone(),
        issuer_alt_name: d.issuer_alt_name.clone(),
        crl_url: d.crl_url.clone(),
        not_before: d.not_before.map(crate::from_secs).unwrap_or(now),
        not_after: d.not_after.map(crate::from_secs).unwrap_or(now + Duration::days(365 * 10)),
    })
}

fn entry_row(
    t: &Target,
    store: &str,
    entry_id: String,
    entry_type: &str,
    pem: &str,
    metadata: Option<Value>,
    now: i64,
) -> Result<StoreEntryRow> {
    if !["base", "vical-entry"].contains(&entry_type) {
        return Err(Error::malformed("type must be base or vical-entry"));
    }
    if entry_type == "vical-entry" && metadata.is_none() {
        return Err(Error::malformed("a vical-entry needs complementaryMetadata"));
    }
    for der in certus_x509::certs_from_pem(pem)? {
        parse_certificate(&der)?;
    }
    Ok(StoreEntryRow {
        tenant_id: t.tenant_id.clone(),
        store_id: store.to_owned(),
        entry_id,
        entry_type: entry_type.to_owned(),
        pem: pem.to_owned(),
        metadata: metadata.map(|m| m.to_string()),
        created_at: now,
        updated_at: now,
    })
}

fn entry_view(t: &Target, r: &StoreEntryRow) -> StoreEntry {
    StoreEntry {
        path: t.path_of(&r.store_id, &r.entry_id),
        entry_type: r.entry_type.clone(),
        pem: r.pem.clone(),
        metadata: r.metadata.clone(),
        updated_at: r.updated_at,
    }
}

/// The caller acting in the target's tenant (a superuser may name another tenant).
fn caller_in(caller: &Caller, t: &Target) -> Caller {
    Caller { tenant_id: t.tenant_id.clone(), ..caller.clone() }
}

/// The audit entry of an mDL issuance: filed under the `org.tenant` path.
fn mdl_audit(action: &'static str, t: &Target, stored: bool) -> AuditIntent {
    AuditIntent {
        action,
        resource: Some(t.prefix.clone()),
        detail: Box::new(move |row| {
            if stored { format!("serial={} stored", row.serial) } else { format!("serial={}", row.serial) }
        }),
    }
}

fn mdl_issued(cert: CertRow, stored: Option<Vec<String>>) -> MdlIssued {
    MdlIssued {
        certificate_pem: to_pem(PemLabel::Certificate, &cert.cert_der),
        stored_certificate_ids: stored,
        not_before: cert.not_before,
        not_after: cert.not_after,
    }
}

/// The order for a DS or generic certificate: no key kept, no role, no new CA.
fn mdl_order(
    template: Template,
    signer: pipeline::Signer,
    subject_key: Arc<dyn PublicKeyData + Send + Sync>,
    door: DoorRecord,
    audit: AuditIntent,
) -> Order {
    Order {
        template,
        signer,
        subject_key,
        kept_key: None,
        key_id: None,
        role_name: None,
        listed_name: None,
        source: "mdl",
        new_ca: None,
        door,
        audit,
    }
}

/// A CSR's key, once its signature is checked.
fn csr_key(pem: &str) -> Result<Arc<dyn PublicKeyData + Send + Sync>> {
    crate::policy::csr_subject_key(&parse_csr(&csr_from_pem(pem)?)?)
}

/// Whether a CA's subject is the issuer name a generic certificate asks for (its CN and country).
fn issuer_name_is(ca: &CaRow, name: &certus_x509::Subject) -> bool {
    parse_certificate(&ca.cert_der).is_ok_and(|info| {
        info.subject_fields.common_name == name.common_name && info.subject_fields.country == name.country
    })
}
