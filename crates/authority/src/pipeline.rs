//! The one issuance pipeline. Every certificate Certus signs (native issue, sign, renew and CSR
//! signing; CAs; /api/v1 and Lamassu certificates; mDL IACAs, Document Signers and generic
//! certificates; OCSP responder certificates) goes through [`Authority::issue_certificate`], in
//! the numbered steps of Boulder's `ca/ca.go` `IssueCertificate`.
//!
//! Step 2, the door's policy, comes first and elsewhere: a role (`issue.rs`), an issuance profile
//! (`profile_signing.rs`), a FastPKI certificate type (`fastpki/`), Annex B (`mdl.rs`) or a CA
//! request (`ca.rs`) turns a request into one [`Order`]; the pipeline decides nothing about what a
//! certificate holds.

use std::sync::Arc;

use certus_kms::Key;
use certus_store::{CaRow, CertRow, DoorRecord, IssuanceRecord, KeyRow};
use certus_x509::{CertSpec, DsSpec, GenericSpec, IacaSpec, PublicKeyData, SignWith, build_certificate};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::{Authority, new_ordered_id, serial_key, signing};

/// What to certify, as the door's policy planned it. The serial is the pipeline's to set.
pub(crate) enum Template {
    /// An RFC 5280 certificate: a CA, a leaf, an OCSP responder.
    Cert(CertSpec),
    /// An ISO/IEC 18013-5 IACA root (Annex B.1.2).
    Iaca(IacaSpec),
    /// An ISO/IEC 18013-5 Document Signer (Annex B.1.4).
    Ds(DsSpec),
    /// A certificate whose every field the caller set (walt.id's generic profile).
    Generic(GenericSpec),
}

/// Who signs.
pub(crate) enum Signer {
    /// The subject's own key: a self-signed root or IACA.
    SelfSigned(Arc<Key>),
    /// A CA of the order's tenant, with its key.
    Ca { ca: CaRow, key: Arc<Key> },
    /// A key under an issuer name the caller chose (generic certificates); `ca` when the key is
    /// a CA's, which then records the certificate and bounds its validity.
    Key { key: Arc<Key>, ca: Option<CaRow> },
}

impl Signer {
    fn ca(&self) -> Option<&CaRow> {
        match self {
            Signer::SelfSigned(_) => None,
            Signer::Ca { ca, .. } => Some(ca),
            Signer::Key { ca, .. } => ca.as_ref(),
        }
    }

    fn key(&self) -> &Arc<Key> {
        match self {
            Signer::SelfSigned(key) | Signer::Ca { key, .. } | Signer::Key { key, .. } => key,
        }
    }
}

/// The audit entry an issuance writes; `detail` sees the certificate as recorded.
pub(crate) struct AuditIntent {
    pub action: &'static str,
    /// The entry's resource: the certificate (default) or the new CA.
    pub resource: Option<String>,
    pub detail: Box<dyn FnOnce(&CertRow) -> String + Send>,
}

/// One certificate to issue: the plan, the signer, and what to record beside it.
pub(crate) struct Order {
    pub template: Template,
    pub signer: Signer,
    pub subject_key: Arc<dyn PublicKeyData + Send + Sync>,
    /// The subject's key, sealed, when Certus keeps it.
    pub kept_key: Option<KeyRow>,
    /// The key the certificate row points at (a kept key, a CSR's server-made key, a CA's key).
    pub key_id: Option<String>,
    pub role_name: Option<String>,
    /// The name the inventory lists, when not the subject's CN (/api/v1 records the name the
    /// caller asked for, even when the CSR's subject is kept).
    pub listed_name: Option<String>,
    /// `issued` (leaves), `ca`, `ocsp`, `mdl`.
    pub source: &'static str,
    /// The CA this certificate makes; its certificate, serial and validity are filled in here.
    pub new_ca: Option<CaRow>,
    pub door: DoorRecord,
    pub audit: AuditIntent,
}

/// A signed, recorded certificate.
pub(crate) struct Signed {
    pub cert: CertRow,
    /// The CA the certificate made, as recorded.
    pub ca: Option<CaRow>,
    /// The front door's integer id for it (FastPKI), when the door numbers its records.
    pub door_id: Option<i64>,
}

impl Template {
    fn set_serial(&mut self, serial: [u8; 20]) {
        match self {
            Template::Cert(s) => s.serial = serial,
            Template::Iaca(s) => s.serial = serial,
            Template::Ds(s) => s.serial = serial,
            Template::Generic(s) => s.serial = serial,
        }
    }

    fn validity(&self) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            Template::Cert(s) => (s.not_before, s.not_after),
            Template::Iaca(s) => (s.not_before, s.not_after),
            Template::Ds(s) => (s.not_before, s.not_after),
            Template::Generic(s) => (s.not_before, s.not_after),
        }
    }

    /// The common name and SANs (DNS, IP, email, URI) the inventory lists.
    fn names(&self) -> (Option<String>, Vec<String>) {
        match self {
            Template::Cert(s) => {
                let mut sans = s.dns_names.clone();
                sans.extend(s.ip_addresses.iter().map(|ip| ip.to_string()));
                sans.extend(s.email_addresses.iter().cloned());
                (s.subject.common_name.clone(), sans)
            }
            Template::Iaca(s) => (Some(s.common_name.clone()), vec![]),
            Template::Ds(s) => (Some(s.common_name.clone()), vec![]),
            Template::Generic(s) => {
                let mut sans = s.dns_names.clone();
                sans.extend(s.ip_addresses.iter().map(|ip| ip.to_string()));
                sans.extend(s.emails.iter().cloned());
                sans.extend(s.uris.iter().cloned());
                (s.subject.common_name.clone(), sans)
            }
        }
    }
}

impl Authority {
    /// Issues one certificate: the only place a CA key signs a certificate.
    pub(crate) async fn issue_certificate(&self, caller: &Caller, mut order: Order) -> Result<Signed> {
        // 1. Validate the order: the validity is well ordered, and a CA signer belongs to the
        //    caller's tenant and can sign now (the lint checks the validity against the CA's).
        let (not_before, not_after) = order.template.validity();
        if not_after <= not_before {
            return Err(Error::malformed("notAfter must be after notBefore"));
        }
        self.check_san_count(order.template.names().1.len())?;
        if let Some(ca) = order.signer.ca() {
            if ca.tenant_id != caller.tenant_id {
                return Err(Error::internal("an order's CA belongs to another tenant"));
            }
            can_sign(ca, self.now().unix_timestamp())?;
        }

        // 2. The door's policy made this order (see the module comment).

        // 3. Take a serial: 20 CSPRNG octets, positive (RFC 5280 §4.1.2.2).
        let serial = certus_x509::new_serial_from(certus_kms::random_bytes());
        order.template.set_serial(serial);

        // 4–6. Build the TBSCertificate, lint it, and sign it: the x509 builders hand the TBS to
        //      the signer through the lint gate, which refuses before the key is used. RSA signs on
        //      a blocking thread.
        let key = order.signer.key().clone();
        let issuer_der = order.signer.ca().map(|ca| ca.cert_der.clone());
        let self_signed = matches!(order.signer, Signer::SelfSigned(_));
        let subject_key = order.subject_key.clone();
        let template = order.template;
        let (subject_cn, sans) = template.names();
        let common_name = order.listed_name.or(subject_cn);
        let built = signing(key.spec(), move || {
            let subject: &dyn PublicKeyData = &*subject_key;
            Ok(match (&template, issuer_der.as_deref()) {
                (Template::Cert(spec), _) if self_signed => build_certificate(spec, SignWith::SelfSigned(&*key)),
                (Template::Cert(spec), Some(issuer_der)) => {
                    build_certificate(spec, SignWith::Issuer { issuer_der, issuer_key: &*key, subject_key: subject })
                }
                (Template::Iaca(spec), _) => certus_x509::build_iaca(spec, &*key),
                (Template::Ds(spec), Some(iaca_der)) => certus_x509::build_ds(spec, subject, iaca_der, &*key),
                (Template::Generic(spec), issuer_der) => certus_x509::build_generic(spec, subject, &*key, issuer_der),
                (Template::Cert(_) | Template::Ds(_), None) => {
                    return Err(Error::internal("this certificate needs its issuer's certificate"));
                }
            })
        })
        .await?;
        let metrics_ca = order.signer.ca().map(|ca| ca.id.clone()).unwrap_or_else(|| "self-signed".into());
        let der = match built {
            Ok(der) => der,
            Err(e) => {
                if let certus_x509::Error::Lint(findings) = &e {
                    findings.iter().for_each(|f| self.metrics.lint_refusal(f.rule));
                    self.metrics.issuance(&metrics_ca, "lint_refused");
                }
                return Err(e.into());
            }
        };

        // 7. Record the certificate, its kept key, a new CA, the door's record and the audit
        //    entry in one transaction, through group commit; acknowledged means durable.
        let serial = serial_key(&serial);
        let issuer_ca_id = order.signer.ca().map(|ca| ca.id.clone());
        let new_ca = order.new_ca.map(|mut ca| {
            ca.cert_der = der.clone();
            ca.serial = serial.clone();
            ca.valid_from = not_before.unix_timestamp();
            ca.valid_until = not_after.unix_timestamp();
            ca
        });
        let cert = CertRow {
            id: new_ordered_id("cert"),
            tenant_id: caller.tenant_id.clone(),
            issuer_ca_id,
            serial,
            common_name,
            sans,
            not_before: not_before.unix_timestamp(),
            not_after: not_after.unix_timestamp(),
            cert_der: der,
            chain_pem: None,
            key_id: order.key_id,
            role_name: order.role_name,
            source: order.source.to_owned(),
            revoked_at: None,
            revocation_reason: None,
            created_at: self.now().unix_timestamp(),
        };
        let door = finish_door(order.door, &cert.cert_der);
        let resource = order.audit.resource.unwrap_or_else(|| cert.id.clone());
        let audit = self.audit_row(caller, order.audit.action, &resource, (order.audit.detail)(&cert));
        let record = IssuanceRecord { cert, key: order.kept_key, ca: new_ca, door, audit };
        let (record, door_id) = self.store.record_issuance(record).await?;
        self.metrics.issuance(&metrics_ca, "issued");
        Ok(Signed { cert: record.cert, ca: record.ca, door_id })
    }
}

/// Whether a CA can sign now: active, within its validity, not revoked. The one rule for the
/// planners (`usable_ca`) and the pipeline.
pub(crate) fn can_sign(ca: &CaRow, now: i64) -> Result<()> {
    if !ca.is_active {
        return Err(Error::policy(format!("CA {} is not active", ca.id)));
    }
    if now >= ca.valid_until {
        return Err(Error::policy(format!("CA {} has expired", ca.id)));
    }
    if ca.revoked {
        return Err(Error::policy(format!("CA {} has been revoked", ca.id)));
    }
    if ca.key_store == crate::KEYLESS {
        return Err(Error::policy(format!("CA {} was imported without its private key", ca.id)));
    }
    Ok(())
}

/// Door records that hold the certificate itself get it now that it is signed.
fn finish_door(door: DoorRecord, der: &[u8]) -> DoorRecord {
    match door {
        DoorRecord::OcspResponder(mut r) => {
            r.cert_der = der.to_vec();
            DoorRecord::OcspResponder(r)
        }
        DoorRecord::StoreEntries(mut entries) => {
            let pem = certus_x509::to_pem(certus_x509::PemLabel::Certificate, der);
            entries.iter_mut().for_each(|e| e.pem = pem.clone());
            DoorRecord::StoreEntries(entries)
        }
        other => other,
    }
}
