//! ISO/IEC 18013-5 Annex B, checked rule by rule on a certificate or on a TBS about to be signed
//! (the pre-issuance lint runs it): the IACA root profile (B.1.2) and the Document Signer
//! profile (B.1.4).

use x509_parser::certificate::TbsCertificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{KeyKind, KeyUsageBit};

pub(crate) const MDL_DS_EKU: &str = "1.0.18013.5.1.2";
/// Extensions Annex B.1.1 forbids: policy mappings, name constraints, policy constraints,
/// inhibit anyPolicy, freshest CRL.
pub(crate) const FORBIDDEN: &[(&str, &str)] = &[
    ("2.5.29.33", "policyMappings"),
    ("2.5.29.30", "nameConstraints"),
    ("2.5.29.36", "policyConstraints"),
    ("2.5.29.54", "inhibitAnyPolicy"),
    ("2.5.29.46", "freshestCRL"),
];
pub(crate) const IACA_MAX_YEARS: i64 = 20;
pub(crate) const DS_MAX_DAYS: i64 = 457;

/// Which Annex B profile a certificate is checked against.
pub enum MdlRole<'a> {
    /// An IACA root (Annex B.1.2).
    Iaca,
    /// A DS, with the IACA that issued it.
    Ds {
        /// The issuing IACA's certificate.
        iaca_der: &'a [u8],
    },
}

/// Every Annex B rule the certificate breaks (empty: it conforms).
pub fn check_annex_b(der: &[u8], role: MdlRole<'_>) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return vec!["not a DER certificate".into()];
    };
    let iaca = match role {
        MdlRole::Iaca => None,
        MdlRole::Ds { iaca_der } => match X509Certificate::from_der(iaca_der) {
            Ok((_, c)) => Some(c),
            Err(_) => return vec!["the IACA is not a DER certificate".into()],
        },
    };
    annex_b_findings(&cert.tbs_certificate, iaca.as_ref().map(|c| &c.tbs_certificate))
}

/// Every Annex B rule a TBSCertificate breaks: an IACA's rules when `iaca` is None, else a DS's
/// under that IACA. The pre-issuance lint runs this on what is about to be signed.
pub(crate) fn annex_b_findings(cert: &TbsCertificate<'_>, iaca: Option<&TbsCertificate<'_>>) -> Vec<String> {
    let mut bad = Vec::new();
    let info = match crate::parse::cert_info(cert) {
        Ok(i) => i,
        Err(e) => return vec![e.to_string()],
    };
    if cert.version().0 != 2 {
        bad.push("version must be v3".into());
    }
    if info.serial.len() > 20 || info.serial.len() < 8 || cert.raw_serial().first().is_some_and(|b| *b & 0x80 != 0) {
        bad.push("serialNumber must be a positive integer of 8 to 20 octets".into());
    }
    let sig = cert.signature.algorithm.to_id_string();
    if !["1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"].contains(&sig.as_str()) {
        bad.push("signature must be ECDSA with SHA-256, SHA-384 or SHA-512".into());
    }
    match cert.subject().iter_country().next() {
        Some(c)
            if c.attr_value().tag() == x509_parser::der_parser::asn1_rs::Tag::PrintableString
                && c.as_str().is_ok_and(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())) => {}
        _ => bad.push("countryName must be an upper-case alpha-2 code as a PrintableString".into()),
    }
    if info.common_name.is_none() {
        bad.push("commonName is mandatory".into());
    }
    let ext = |oid: &str| cert.extensions().iter().find(|e| e.oid.to_id_string() == oid);
    match ext("2.5.29.14") {
        Some(e) if !e.critical => {
            if let ParsedExtension::SubjectKeyIdentifier(k) = e.parsed_extension()
                && k.0 != certus_kms::sha1(&info.public_key_bits).as_slice()
            {
                bad.push("subjectKeyIdentifier must be method 1 (SHA-1 of the public key)".into());
            }
        }
        _ => bad.push("subjectKeyIdentifier is mandatory and non-critical".into()),
    }
    match ext("2.5.29.15") {
        Some(e) if e.critical => {}
        _ => bad.push("keyUsage is mandatory and critical".into()),
    }
    match ext("2.5.29.18") {
        Some(e) if !e.critical => {
            let contact = matches!(e.parsed_extension(), ParsedExtension::IssuerAlternativeName(ian)
                if ian.general_names.iter().any(|g| matches!(g, GeneralName::URI(_) | GeneralName::RFC822Name(_))));
            if !contact {
                bad.push("issuerAltName must hold a URI or an rfc822Name".into());
            }
        }
        _ => bad.push("issuerAltName is mandatory and non-critical".into()),
    }
    for (oid, what) in FORBIDDEN {
        if ext(oid).is_some() {
            bad.push(format!("{what} must not be used"));
        }
    }
    let days = (info.not_after - info.not_before).whole_days();
    match &iaca {
        None => {
            if cert.subject().as_raw() != cert.issuer().as_raw() {
                bad.push("an IACA's subject must equal its issuer".into());
            }
            if info.key_usage != [KeyUsageBit::KeyCertSign, KeyUsageBit::CrlSign] {
                bad.push("an IACA's keyUsage must be keyCertSign and cRLSign only".into());
            }
            match cert.basic_constraints() {
                Ok(Some(bc)) if bc.critical && bc.value.ca && bc.value.path_len_constraint == Some(0) => {}
                _ => bad.push("an IACA needs critical basicConstraints cA=TRUE, pathLenConstraint 0".into()),
            }
            if !matches!(info.key.kind, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) {
                bad.push("an IACA key must be ECDSA on P-256, P-384 or P-521".into());
            }
            if days > 365 * IACA_MAX_YEARS + 5 {
                bad.push("an IACA is valid for at most 20 years".into());
            }
        }
        Some(iaca) => {
            if cert.issuer().as_raw() != iaca.subject().as_raw() {
                bad.push("a DS issuer must be byte-identical to the IACA subject".into());
            }
            let state = |c: &TbsCertificate<'_>| {
                c.subject().iter_state_or_province().next().and_then(|s| s.as_str().ok()).map(str::to_owned)
            };
            if state(cert) != state(iaca) {
                bad.push("stateOrProvinceName must match the IACA's".into());
            }
            let country = |c: &TbsCertificate<'_>| {
                c.subject().iter_country().next().and_then(|s| s.as_str().ok()).map(str::to_owned)
            };
            if country(cert) != country(iaca) {
                bad.push("countryName must match the IACA's".into());
            }
            if info.key_usage != [KeyUsageBit::DigitalSignature] {
                bad.push("a DS keyUsage must be digitalSignature only".into());
            }
            match ext("2.5.29.37") {
                Some(e) if e.critical && info.extended_key_usage == [MDL_DS_EKU] => {}
                _ => bad.push("a DS needs a critical extendedKeyUsage of 1.0.18013.5.1.2 only".into()),
            }
            if matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca) {
                bad.push("a DS must not be a CA".into());
            }
            let iaca_ski = iaca.extensions().iter().find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
            let aki = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                _ => None,
            });
            if aki.is_none() || aki != iaca_ski {
                bad.push("a DS authorityKeyIdentifier must be the IACA's subjectKeyIdentifier".into());
            }
            let ian = |c: &TbsCertificate<'_>| {
                c.extensions().iter().find(|e| e.oid.to_id_string() == "2.5.29.18").map(|e| e.value.to_vec())
            };
            if ian(cert) != ian(iaca) {
                bad.push("a DS issuerAltName must copy the IACA's".into());
            }
            if ext("2.5.29.31").is_none() {
                bad.push("a DS needs a cRLDistributionPoints extension".into());
            }
            if !matches!(info.key.kind, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 | KeyKind::Ed25519) {
                bad.push("a DS key must be ECDSA on P-256, P-384 or P-521, or Ed25519".into());
            }
            if days > DS_MAX_DAYS {
                bad.push("a DS certificate is valid for at most 457 days".into());
            }
            if info.not_before < iaca.validity().not_before.to_datetime()
                || info.not_after > iaca.validity().not_after.to_datetime()
            {
                bad.push("the DS validity must lie within the IACA's".into());
            }
        }
    }
    bad
}
