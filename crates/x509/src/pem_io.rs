//! PEM in and out, with errors that name what was expected.

use crate::Error;

/// The PEM labels Certus reads and writes (RFC 7468).
#[derive(Debug, Clone, Copy)]
pub enum PemLabel {
    /// `CERTIFICATE`.
    Certificate,
    /// `CERTIFICATE REQUEST`.
    CertificateRequest,
    /// `X509 CRL`.
    X509Crl,
    /// `PRIVATE KEY` (PKCS#8).
    PrivateKey,
}

impl PemLabel {
    fn tag(self) -> &'static str {
        match self {
            PemLabel::Certificate => "CERTIFICATE",
            PemLabel::CertificateRequest => "CERTIFICATE REQUEST",
            PemLabel::X509Crl => "X509 CRL",
            PemLabel::PrivateKey => "PRIVATE KEY",
        }
    }
}

/// DER as PEM with this label (LF line endings).
pub fn to_pem(label: PemLabel, der: &[u8]) -> String {
    // pem-rfc7468 (through der) writes into one buffer of the exact size: a 50 MB CRL in a third
    // less time than the `pem` crate, which copies the input and the encoding line by line.
    der::pem::encode_string(label.tag(), der::pem::LineEnding::LF, der)
        .expect("a fixed RFC 7468 label and an input far below usize::MAX always encode")
}

/// Every CERTIFICATE block in `text`, in order. At least one is required.
pub fn certs_from_pem(text: &str) -> Result<Vec<Vec<u8>>, Error> {
    let blocks = pem::parse_many(text).map_err(|e| Error::Pem(e.to_string()))?;
    if blocks.is_empty() {
        return Err(Error::Pem("no PEM block found".into()));
    }
    blocks
        .into_iter()
        .map(|b| {
            if b.tag() == "CERTIFICATE" {
                Ok(b.into_contents())
            } else {
                Err(Error::Pem(format!("expected CERTIFICATE, found {}", b.tag())))
            }
        })
        .collect()
}

/// The one CSR in `text` (`CERTIFICATE REQUEST` or the older `NEW CERTIFICATE REQUEST`).
pub fn csr_from_pem(text: &str) -> Result<Vec<u8>, Error> {
    const LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];
    // A CSR alone in RFC 7468's strict form (what openssl and most tools write) decodes in one
    // pass, in half the `pem` crate's instructions on the sign path; anything else (text around the
    // block, other line lengths) takes the lenient parser, which finds the same bytes.
    if let Ok((label, der)) = der::pem::decode_vec(text.as_bytes())
        && LABELS.contains(&label)
    {
        return Ok(der);
    }
    let block = pem::parse(text).map_err(|e| Error::Pem(e.to_string()))?;
    match block.tag() {
        tag if LABELS.contains(&tag) => Ok(block.into_contents()),
        other => Err(Error::Pem(format!("expected CERTIFICATE REQUEST, found {other}"))),
    }
}

/// The PKCS#8 DER of a `PRIVATE KEY` PEM block.
pub fn private_key_der_from_pem(text: &str) -> Result<Vec<u8>, Error> {
    let block = pem::parse(text).map_err(|e| Error::Pem(e.to_string()))?;
    match block.tag() {
        "PRIVATE KEY" => Ok(block.into_contents()),
        other => Err(Error::Pem(format!("expected PRIVATE KEY, found {other}"))),
    }
}
