//! CRL construction (RFC 5280 §5): CRL Number, AKI, nextUpdate, and a reason code per entry.

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, RevokedCertParams, SerialNumber,
    SigningKey,
};
use time::OffsetDateTime;

use crate::Error;

/// The nine reasons RFC 5280 §5.3.1 names (removeFromCRL only has meaning in delta CRLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl RevocationReason {
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

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    fn to_rcgen(self) -> Option<rcgen::RevocationReason> {
        use rcgen::RevocationReason as R;
        Some(match self {
            // RFC 5280 §5.3.1: the unspecified code SHOULD be absent rather than encoded.
            Self::Unspecified => return None,
            Self::KeyCompromise => R::KeyCompromise,
            Self::CaCompromise => R::CaCompromise,
            Self::AffiliationChanged => R::AffiliationChanged,
            Self::Superseded => R::Superseded,
            Self::CessationOfOperation => R::CessationOfOperation,
            Self::CertificateHold => R::CertificateHold,
            Self::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
            Self::AaCompromise => R::AaCompromise,
        })
    }
}

#[derive(Debug, Clone)]
pub struct CrlEntry {
    pub serial: Vec<u8>,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

#[derive(Debug, Clone)]
pub struct CrlSpec {
    pub crl_number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub entries: Vec<CrlEntry>,
}

/// Builds and signs a CRL for the CA whose certificate is `issuer_der`.
pub fn build_crl(
    spec: &CrlSpec,
    issuer_der: &[u8],
    issuer_key: &dyn SigningKey,
) -> Result<Vec<u8>, Error> {
    let secs = |t: OffsetDateTime| t.replace_nanosecond(0).unwrap_or(t);
    let params = CertificateRevocationListParams {
        this_update: secs(spec.this_update),
        next_update: secs(spec.next_update),
        crl_number: SerialNumber::from_slice(&spec.crl_number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: spec
            .entries
            .iter()
            .map(|e| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&e.serial),
                revocation_time: secs(e.revoked_at),
                reason_code: e.reason.to_rcgen(),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let issuer = Issuer::from_ca_cert_der(&issuer_der.to_vec().into(), issuer_key)?;
    Ok(params.signed_by(&issuer)?.der().to_vec())
}
