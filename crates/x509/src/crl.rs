//! CRL construction (RFC 5280 §5): complete CRLs with CRL Number, AKI and a Freshest CRL pointer
//! to their delta, and delta CRLs (Delta CRL Indicator); a reason code per entry. Encoded with
//! the RustCrypto `x509-cert` types and signed through [`SigningKey`].

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_DELTA_CRL_INDICATOR, ID_CE_FRESHEST_CRL,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::asn1::{AnyRef, BitString, GeneralizedTime, Ia5String, OctetString, UintRef, UtcTime};
use der::{Decode, Encode, EncodeValue, Sequence, Tag};
use rcgen::SigningKey;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BaseCrlNumber, CrlNumber, CrlReason, FreshestCrl, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::Error;

/// The nine reasons RFC 5280 §5.3.1 names (removeFromCRL only has meaning in delta CRLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// unspecified (0); not encoded in CRL entries.
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): the one reason that can be undone.
    CertificateHold,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in code order.
    pub const ALL: [RevocationReason; 9] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
    ];

    /// The reason's snake_case name, as stored and as the native API takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::CaCompromise => "ca_compromise",
            Self::AffiliationChanged => "affiliation_changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::CertificateHold => "certificate_hold",
            Self::PrivilegeWithdrawn => "privilege_withdrawn",
            Self::AaCompromise => "aa_compromise",
        }
    }

    /// The CRLReason code (RFC 5280 §5.3.1).
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
        }
    }

    /// The reason with this CRLReason code.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| i64::from(r.code()) == code)
    }

    /// The reason with this snake_case name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// A reason however a product or person spells it: `key_compromise`, `KeyCompromise`,
    /// `keyCompromise`, "Key compromise", `CACompromise` (case, spaces and punctuation ignored).
    pub fn from_text(text: &str) -> Option<Self> {
        let squash = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        let wanted = squash(text);
        Self::ALL.into_iter().find(|r| squash(r.name()) == wanted)
    }

    /// The name in RFC 5280's ASN.1 spelling with a capital first letter, as Lamassu writes it
    /// (`KeyCompromise`, `CACompromise`, `AACompromise`).
    pub fn pascal_name(self) -> String {
        self.name()
            .split('_')
            .map(|w| match w {
                "ca" | "aa" => w.to_ascii_uppercase(),
                _ => w[..1].to_ascii_uppercase() + &w[1..],
            })
            .collect()
    }

    /// The CRLReason to encode; `None` for unspecified, which RFC 5280 §5.3.1 says SHOULD be
    /// absent rather than encoded.
    pub(crate) fn crl_reason(self) -> Option<CrlReason> {
        Some(match self {
            Self::Unspecified => return None,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::CaCompromise => CrlReason::CaCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::CertificateHold => CrlReason::CertificateHold,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            Self::AaCompromise => CrlReason::AaCompromise,
        })
    }
}

/// One revoked certificate of a CRL.
#[derive(Debug, Clone)]
pub struct CrlEntry {
    /// Its serial number.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why.
    pub reason: RevocationReason,
}

/// Complete or delta (RFC 5280 §5.2.4).
#[derive(Debug, Clone)]
pub enum CrlKind {
    /// A complete CRL; `delta_url` is written as its Freshest CRL extension.
    Complete {
        /// Where the matching delta CRL is published.
        delta_url: Option<String>,
    },
    /// A delta CRL against the complete CRL numbered `base_number`.
    Delta {
        /// The CRL Number of the complete CRL this delta updates.
        base_number: u64,
    },
}

/// What a CRL holds (RFC 5280 §5).
#[derive(Debug, Clone)]
pub struct CrlSpec {
    /// The CRL Number, from the CA's one sequence.
    pub crl_number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// The revoked certificates.
    pub entries: Vec<CrlEntry>,
    /// Complete or delta.
    pub kind: CrlKind,
}

fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

/// UTCTime through 2049, GeneralizedTime after (RFC 5280 §5.1.2.4).
pub(crate) fn x509_time(t: OffsetDateTime) -> Result<Time, Error> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(|_| Error::Encoding("time before 1970".into()))?;
    let d = std::time::Duration::from_secs(secs);
    if t.year() <= 2049 {
        UtcTime::from_unix_duration(d).map(Time::UtcTime).map_err(enc)
    } else {
        GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime).map_err(enc)
    }
}

fn extension(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension, Error> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(value.to_der().map_err(enc)?).map_err(enc)? })
}

fn uint(n: u64) -> Result<der::asn1::Uint, Error> {
    der::asn1::Uint::new(&n.to_be_bytes()).map_err(enc)
}

/// Builds and signs a CRL for the CA whose certificate is `issuer_der`.
pub fn build_crl(spec: &CrlSpec, issuer_der: &[u8], issuer_key: &dyn SigningKey) -> Result<Vec<u8>, Error> {
    let issuer = Certificate::from_der(issuer_der).map_err(enc)?;
    let ski = issuer
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
        .map(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()))
        .transpose()
        .map_err(enc)?
        .ok_or_else(|| Error::Encoding("issuer certificate has no subjectKeyIdentifier".into()))?;
    let mut extensions = vec![
        extension(
            ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier { key_identifier: Some(ski.0), ..Default::default() },
        )?,
        extension(ID_CE_CRL_NUMBER, false, &CrlNumber(uint(spec.crl_number)?))?,
    ];
    match &spec.kind {
        CrlKind::Complete { delta_url: Some(url) } => {
            let uri = GeneralName::UniformResourceIdentifier(Ia5String::new(url).map_err(enc)?);
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri])),
                reasons: None,
                crl_issuer: None,
            };
            extensions.push(extension(ID_CE_FRESHEST_CRL, false, &FreshestCrl(vec![dp]))?);
        }
        CrlKind::Complete { delta_url: None } => {}
        CrlKind::Delta { base_number } => {
            // RFC 5280 §5.2.4: the indicator MUST be critical.
            extensions.push(extension(ID_CE_DELTA_CRL_INDICATOR, true, &BaseCrlNumber(uint(*base_number)?))?);
        }
    }
    let signature_algorithm = crate::sig::signature_algorithm(issuer_key)?;
    let revoked = encode_entries(&spec.entries)?;
    let tbs = TbsList {
        version: x509_cert::Version::V2,
        signature: signature_algorithm.clone(),
        issuer: issuer.tbs_certificate.subject,
        this_update: x509_time(spec.this_update)?,
        next_update: Some(x509_time(spec.next_update)?),
        revoked_certificates: (!spec.entries.is_empty())
            .then(|| AnyRef::new(Tag::Sequence, &revoked))
            .transpose()
            .map_err(enc)?,
        crl_extensions: Some(extensions),
    };
    let tbs = tbs.to_der().map_err(enc)?;
    let signature = issuer_key.sign(&tbs)?;
    SignedList {
        tbs: AnyRef::from_der(&tbs).map_err(enc)?,
        algorithm: signature_algorithm,
        signature: BitString::from_bytes(&signature).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

/// Below this many entries a CRL's entries are encoded on the calling thread alone.
const ENTRIES_PER_THREAD: usize = 50_000;

/// The DER of every entry, one after another (the contents of `revokedCertificates`); large
/// lists are split across the machine's cores, each part encoded on its own thread.
fn encode_entries(entries: &[CrlEntry]) -> Result<Vec<u8>, Error> {
    let encoded = reason_extensions()?;
    let reasons = encoded
        .iter()
        .map(|(reason, der)| Ok((*reason, AnyRef::from_der(der).map_err(enc)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (entries.len() / ENTRIES_PER_THREAD).clamp(1, cores);
    if threads == 1 {
        return encode_part(entries, &reasons);
    }
    let parts: Vec<Result<Vec<u8>, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = entries
            .chunks(entries.len().div_ceil(threads))
            .map(|part| scope.spawn(|| encode_part(part, &reasons)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    Ok(parts.into_iter().collect::<Result<Vec<_>, _>>()?.concat())
}

fn encode_part(entries: &[CrlEntry], reasons: &[(RevocationReason, AnyRef<'_>)]) -> Result<Vec<u8>, Error> {
    // A typical entry (20-octet serial, UTCTime, reason) is 47 bytes.
    let mut out = Vec::with_capacity(entries.len() * 48);
    for e in entries {
        let serial_number = UintRef::new(&e.serial).map_err(enc)?;
        // What x509-cert's SerialNumber refuses (RFC 5280 §4.1.2.2: at most 20 octets).
        if serial_number.value_len().map_err(enc)? > SerialNumber::<x509_cert::certificate::Rfc5280>::MAX_LEN {
            return Err(Error::Encoding(format!("serial {} is longer than 20 octets", hex::encode(&e.serial))));
        }
        let entry = Revoked {
            serial_number,
            revocation_date: x509_time(e.revoked_at)?,
            crl_entry_extensions: reasons.iter().find(|(r, _)| *r == e.reason).map(|(_, x)| *x),
        };
        entry.encode_to_vec(&mut out).map_err(enc)?;
    }
    Ok(out)
}

/// Each reason's `crlEntryExtensions`, encoded once for all the entries that share it
/// (unspecified has none: RFC 5280 §5.3.1 says it SHOULD be absent).
fn reason_extensions() -> Result<Vec<(RevocationReason, Vec<u8>)>, Error> {
    let mut encoded = Vec::new();
    for reason in RevocationReason::ALL {
        if let Some(code) = reason.crl_reason() {
            let extensions: Extensions = vec![extension(ID_CE_CRL_REASONS, false, &code)?];
            encoded.push((reason, extensions.to_der().map_err(enc)?));
        }
    }
    Ok(encoded)
}

/// `RevokedCert` (RFC 5280 §5.1) borrowing its serial and its reason's encoded extensions, so a
/// million entries cost no allocation each.
#[derive(Sequence)]
struct Revoked<'a> {
    serial_number: UintRef<'a>,
    revocation_date: Time,
    crl_entry_extensions: Option<AnyRef<'a>>,
}

/// `TBSCertList` (RFC 5280 §5.1) as x509-cert defines it, with `revokedCertificates` as the
/// entries already encoded (in parallel, by `encode_entries`).
#[derive(Sequence)]
struct TbsList<'a> {
    version: x509_cert::Version,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    this_update: Time,
    next_update: Option<Time>,
    revoked_certificates: Option<AnyRef<'a>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl_extensions: Option<Extensions>,
}

/// A `CertificateList` (RFC 5280 §5.1) around its TBS as already encoded and signed: the TBS
/// bytes go in as they are, where `x509_cert::crl::CertificateList` would encode every entry a
/// second time.
#[derive(Sequence)]
struct SignedList<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}
