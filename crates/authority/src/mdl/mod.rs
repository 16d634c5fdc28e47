//! The mdoc PKI services behind the `/v1/{org}.{tenant}.{service}[.{child}]` front door: named
//! services of a tenant, KMS services holding named keys (the same sealed keys CAs use), IACA and
//! Document Signer issuance to ISO/IEC 18013-5 Annex B, and X.509 stores written atomically.

use std::sync::Arc;

use certus_kms::{Key, PublicJwk};
use certus_store::ServiceRow;
use certus_x509::IssuerAltName;
use serde_json::Value;

use crate::Authority;
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};

mod input;
mod issuance;
mod kms;
mod stores;
mod vical;

pub use vical::{NewVicalService, VicalPublished};

pub(crate) const SERVICE_TYPES: &[&str] = &["kms", "x509-service", "x509-store", "vical-service"];

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
        if service_type == "vical-service" {
            return Err(Error::malformed("a vical-service needs signingKeyId and signerCertificateId"));
        }
        let row = ServiceRow {
            tenant_id: t.tenant_id.clone(),
            id: t.service()?.to_owned(),
            service_type: service_type.to_owned(),
            created_at: self.now_secs(),
        };
        let audit = self.audit_row(caller, "service.create", path, format!("type={service_type}"));
        self.store.insert_service(&row, &audit).await?;
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
        let audit = self.audit_row(caller, "service.dependency", path, format!("dependency={dependency}"));
        self.store.add_dependency(&t.tenant_id, t.service()?, &dep.id, &audit).await?;
        Ok(())
    }
}

/// The caller acting in the target's tenant (a superuser may name another tenant).
fn caller_in(caller: &Caller, t: &Target) -> Caller {
    Caller { tenant_id: t.tenant_id.clone(), ..caller.clone() }
}
