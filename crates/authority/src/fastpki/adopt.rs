//! One inventory in /api/v1's terms: CAs and certificates made through any other door get their
//! /api/v1 integer ids and attributes the first time an /api/v1 list could show them.

use certus_store::{CaRow, CertRow, FastPkiCaRow, FastPkiCertRow};
use certus_x509::parse_certificate;

use super::certs::CertificateType;
use super::dn::format_subject_dn;
use crate::Authority;
use crate::error::Result;

impl Authority {
    /// Numbers the tenant's (or, for None, every tenant's) records that /api/v1 has not seen.
    pub(crate) async fn adopt_fastpki_records(&self, tenant_id: Option<&str>) -> Result<()> {
        let cas: Vec<(CaRow, FastPkiCaRow)> =
            self.store.cas_without_fastpki_ids(tenant_id).await?.into_iter().filter_map(ca_attrs).collect();
        if !cas.is_empty() {
            self.store.adopt_fastpki_records(&cas, &[]).await?;
        }
        let certs: Vec<(CertRow, FastPkiCertRow)> = self
            .store
            .certificates_without_fastpki_ids(tenant_id)
            .await?
            .into_iter()
            .filter_map(|(cert, ca_num)| cert_attrs(cert, ca_num))
            .collect();
        if !certs.is_empty() {
            self.store.adopt_fastpki_records(&[], &certs).await?;
        }
        Ok(())
    }
}

/// A CA's /api/v1 attributes, read from its certificate.
fn ca_attrs(ca: CaRow) -> Option<(CaRow, FastPkiCaRow)> {
    let info = parse_certificate(&ca.cert_der).ok()?;
    let fastpki = FastPkiCaRow {
        name: ca.name.clone(),
        subject_dn: format_subject_dn(&info.subject_fields),
        valid_days: (info.not_after - info.not_before).whole_days(),
        path_length: info.path_len.map(i64::from),
        allow_leaf_certs: true,
        ..Default::default()
    };
    Some((ca, fastpki))
}

/// A certificate's /api/v1 attributes: its type from basicConstraints and EKU, its key size and
/// validity from the certificate; a certificate whose key Certus does not hold came from a CSR.
fn cert_attrs(cert: CertRow, ca_num: i64) -> Option<(CertRow, FastPkiCertRow)> {
    let info = parse_certificate(&cert.cert_der).ok()?;
    let has = |oid: &str| info.extended_key_usage.iter().any(|o| o == oid);
    let certificate_type = match (info.is_ca, has("1.3.6.1.5.5.7.3.1"), has("1.3.6.1.5.5.7.3.2")) {
        (true, _, _) => CertificateType::Ca,
        (false, true, true) => CertificateType::DualPurpose,
        (false, false, true) => CertificateType::Client,
        _ => CertificateType::Server,
    };
    let fastpki = FastPkiCertRow {
        ca_num,
        certificate_type: certificate_type.name().into(),
        subject_dn: format_subject_dn(&info.subject_fields),
        key_size: i64::from(info.key.bits),
        valid_days: (info.not_after - info.not_before).whole_days(),
        is_csr_origin: cert.key_id.is_none(),
        ..Default::default()
    };
    Some((cert, fastpki))
}
