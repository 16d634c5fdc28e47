//! The engine side of the /api/v1 front door (FastPKI's API): organisations with integer ids,
//! its permission model, CAs and certificates with its attributes, and its view of the audit
//! log. Everything here acts on the shared records through the same store and signing code as
//! the native API.

pub(crate) mod access;
mod accounts;
mod adopt;
mod audit;
mod cas;
mod certs;
mod dn;
#[cfg(fuzzing)]
pub(crate) use dn::parse_subject_dn;
mod orgs;
mod policy;

pub(crate) use access::actor_of;
pub use accounts::{ServiceAccountPatch, ServiceToken};
pub use audit::{AuditEntry, AuditFilter};
pub use cas::{FastPkiCaView, NewFastPkiCa};
pub use certs::{CertificateType, FastPkiCertView, NewFastPkiCert, SignFastPkiCsr};
pub use policy::{IssuancePolicy, IssuancePolicyView};

/// Names and DN values are text people read: control characters (NUL included) are refused.
pub(crate) fn check_text(field: &str, value: &str) -> crate::Result<()> {
    if value.chars().any(char::is_control) {
        return Err(crate::Error::malformed(format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// A name as organisations and service accounts take it: trimmed, 1 to 128 characters, plain
/// text.
pub(crate) fn clean_name(label: &str, name: &str) -> crate::Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(crate::Error::malformed(format!("{label} must not be empty")));
    }
    if name.len() > 128 {
        return Err(crate::Error::malformed(format!("{label} must be at most 128 characters")));
    }
    check_text(label, name)?;
    Ok(name.to_owned())
}

/// `slugify(name)-id` as the reference derives public CRL and CA certificate paths: lower case,
/// characters other than letters, digits, `_`, `-` and white space dropped, runs of white space,
/// `_` and `-` turned into one `-`, no `-` at either end.
pub(crate) fn slug(name: &str, id: i64) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in name.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else if c.is_whitespace() || c == '_' || c == '-' {
            pending_dash = true;
        }
    }
    format!("{out}-{id}")
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_follow_the_reference() {
        assert_eq!(slug("My Root CA", 3), "my-root-ca-3");
        assert_eq!(slug("  Acme_Issuing -- CA! ", 12), "acme-issuing-ca-12");
        assert_eq!(slug("Ünïcode CA", 1), "ünïcode-ca-1");
    }
}
