//! ISO/IEC 18013-5 issuance through the one pipeline: IACAs (Certus CAs), Document Signers (their
//! certificates), generic certificates, and the CSRs that feed them.

use std::sync::Arc;

use certus_kms::{JwkKey, Key, PublicJwk};
use certus_store::{CaRow, CertRow, DoorRecord, KeyRow, StoreEntryRow};
use certus_x509::{DsSpec, IacaSpec, PemLabel, PublicKeyData, parse_certificate, to_pem};
use time::{Duration, OffsetDateTime};

use super::input;
use super::{
    DsData, GenericData, GenericIssuer, IacaData, IacaSigner, KeyRef, MdlIssued, PublicKeySource, StoreWrite, Target,
    caller_in,
};
use crate::auth::{Caller, Scope};
use crate::error::{Error, Result};
use crate::pipeline::{self, AuditIntent, Order, Signed, Template};
use crate::{Authority, new_uuid};

/// The key an IACA signs with, and its key record (new, when a private JWK is sealed now).
pub(super) struct IacaKey {
    key: Arc<Key>,
    key_id: String,
    kept_key: Option<KeyRow>,
}

impl Authority {
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
        let key = self.iaca_key(caller, &t, key).await?;
        let signed = self.new_iaca(caller, &t, data, key, door, stored.is_some()).await?;
        Ok(mdl_issued(signed.cert, stored))
    }

    /// Makes an IACA through the pipeline and records it as a CA of the target's tenant.
    pub(super) async fn new_iaca(
        &self,
        caller: &Caller,
        t: &Target,
        data: &IacaData,
        key: IacaKey,
        door: DoorRecord,
        stored: bool,
    ) -> Result<Signed> {
        let IacaKey { key, key_id, kept_key } = key;
        let id = crate::new_id("ca");
        // Without a CRL distribution point of its own, an IACA points at Certus's CRL for it
        // (isomdl refuses IACAs without one).
        let spec = iaca_spec(data, self.now(), self.crl_url(&id))?;
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
    pub(super) async fn iaca_key(&self, caller: &Caller, t: &Target, key: &KeyRef) -> Result<IacaKey> {
        match key {
            KeyRef::Kms(path) => {
                let (key_id, key) = self.kms_key_with_id(caller, path).await?;
                Ok(IacaKey { key, key_id, kept_key: None })
            }
            KeyRef::Jwk(jwk) => match certus_kms::key_from_jwk(jwk)? {
                JwkKey::Private(k) => {
                    let row = self.seal_key(&t.tenant_id, &k);
                    Ok(IacaKey { key: Arc::new(Key::Software(k)), key_id: row.id.clone(), kept_key: Some(row) })
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
        input::check_subject("Document signer", &data.country, data.state.as_deref(), data.organization.as_deref())?;
        input::check_crl_url("Document signer", &data.crl_url)?;
        let not_before = data.not_before.map(crate::from_secs).unwrap_or(now);
        let not_after = data.not_after.map(crate::from_secs).unwrap_or(now + Duration::days(365));
        let (from, until) = (not_before.unix_timestamp(), not_after.unix_timestamp());
        input::check_validity("Document signer", from, until, now.unix_timestamp(), input::DS_MAX_DAYS)?;
        let spec = DsSpec {
            serial: [0; 20],
            country: data.country.clone(),
            common_name: data.common_name.clone(),
            state: data.state.clone(),
            organization: data.organization.clone(),
            locality: data.locality.clone(),
            crl_url: data.crl_url.clone(),
            not_before,
            not_after,
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
    pub(super) async fn iaca_ca(&self, caller: &Caller, t: &Target, signer: &IacaSigner) -> Result<CaRow> {
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
                let key = self.iaca_key(caller, t, key).await?;
                let info = parse_certificate(&der)?;
                if info.spki_der != key.key.subject_public_key_info() {
                    return Err(Error::malformed("iacaKeyDesc is not the key of the IACA certificate"));
                }
                let known = self.store.list_cas(&t.tenant_id).await?.into_iter().find(|c| c.cert_der == der);
                match known {
                    Some(ca) => Ok(ca),
                    None => self.register_iaca(caller, t, der, &info, key).await,
                }
            }
            IacaSigner::Data { data, key } => {
                let key = self.iaca_key(caller, t, key).await?;
                let spki = key.key.subject_public_key_info();
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
                signed.ca.ok_or_else(|| Error::internal("the new IACA is not recorded"))
            }
        }
    }

    /// Records an IACA Certus did not make (given as PEM with its key) as a CA of the tenant,
    /// with its certificate in the inventory.
    pub(super) async fn register_iaca(
        &self,
        caller: &Caller,
        t: &Target,
        der: Vec<u8>,
        info: &certus_x509::CertInfo,
        key: IacaKey,
    ) -> Result<CaRow> {
        let IacaKey { key_id, kept_key, .. } = key;
        let id = crate::new_id("ca");
        let (row, cert) =
            crate::ca::held_ca_rows(&t.tenant_id, &id, "iaca", &der, info, (&key_id, "software"), self.now_secs());
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
        // The KMS key the certificate is for, recorded on it so a later CA-signed certificate
        // can name this one's subject as its issuer.
        let subject_key_id = match source {
            PublicKeySource::Key(KeyRef::Kms(path)) => Some(self.kms_key_with_id(caller, path).await?.0),
            _ => None,
        };
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
        if data.path_len.is_some() && !data.is_ca {
            return Err(Error::malformed("pathLengthConstraint is only for CA certificates (isCA: true)"));
        }
        // The CA that holds the signing key, if one does. Without an issuerName, the issuer is
        // named as the certificate Certus holds for that key says (a CA's, else the newest one
        // issued for it), so the certificate chains to it.
        let key_ca = match &issuer_key_id {
            Some(key_id) => self.store.list_cas(&t.tenant_id).await?.into_iter().find(|c| &c.key_id == key_id),
            None => None,
        };
        let issuer_name = match (&data.issuer_name, &key_ca, &issuer_key_id) {
            (Some(name), _, _) => name.clone(),
            (None, Some(ca), _) => parse_certificate(&ca.cert_der).map_err(Error::internal)?.subject_fields,
            (None, None, Some(key_id)) => match self.store.latest_certificate_for_key(&t.tenant_id, key_id).await? {
                Some(held) => parse_certificate(&held.cert_der).map_err(Error::internal)?.subject_fields,
                None => data.subject.clone(),
            },
            (None, None, None) => data.subject.clone(),
        };
        let now = self.now();
        let spec = certus_x509::GenericSpec {
            serial: [0; 20],
            subject: data.subject.clone(),
            issuer_name,
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
        // That CA records the certificate and bounds its validity, when the issuer name is its subject.
        let ca = key_ca.filter(|c| issuer_name_is(c, &spec.issuer_name));
        let key_for_jwk = subject.clone();
        let (door, stored) = self.store_write(&t, write).await?;
        let audit = mdl_audit("x509.generic", &t, stored.is_some());
        let signer = pipeline::Signer::Key { key: issuer_key, ca };
        let mut order = mdl_order(Template::Generic(spec), signer, subject, door, audit);
        order.key_id = subject_key_id;
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
        self.audit_before_release(caller, "x509.csr", service_path, String::new()).await?;
        Ok(to_pem(PemLabel::CertificateRequest, &der))
    }

    /// The store entries an issuance writes (one per attached x509-store, under one id; their
    /// PEM is filled in once the certificate is signed) and the paths they will have.
    pub(super) async fn store_write(
        &self,
        t: &Target,
        write: &StoreWrite,
    ) -> Result<(DoorRecord, Option<Vec<String>>)> {
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
}

fn iaca_spec(d: &IacaData, now: OffsetDateTime, default_crl_url: String) -> Result<IacaSpec> {
    input::check_subject("IACA", &d.country, d.state.as_deref(), d.organization.as_deref())?;
    input::check_issuer_alt_name(d.issuer_alt_name.uri.as_deref(), d.issuer_alt_name.email.as_deref())?;
    if let Some(url) = &d.crl_url {
        input::check_crl_url("IACA", url)?;
    }
    let not_before = d.not_before.map(crate::from_secs).unwrap_or(now);
    let not_after = d.not_after.map(crate::from_secs).unwrap_or(now + Duration::days(input::IACA_MAX_DAYS));
    let (from, until) = (not_before.unix_timestamp(), not_after.unix_timestamp());
    input::check_validity("IACA", from, until, now.unix_timestamp(), input::IACA_MAX_DAYS)?;
    Ok(IacaSpec {
        serial: [0; 20],
        country: d.country.clone(),
        common_name: d.common_name.clone(),
        state: d.state.clone(),
        organization: d.organization.clone(),
        issuer_alt_name: d.issuer_alt_name.clone(),
        crl_url: Some(d.crl_url.clone().unwrap_or(default_crl_url)),
        not_before,
        not_after,
    })
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

/// Whether a CA's subject is the issuer name a generic certificate asks for (its CN and country).
fn issuer_name_is(ca: &CaRow, name: &certus_x509::Subject) -> bool {
    parse_certificate(&ca.cert_der).is_ok_and(|info| {
        info.subject_fields.common_name == name.common_name && info.subject_fields.country == name.country
    })
}
