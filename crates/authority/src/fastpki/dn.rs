//! `subject_dn` strings as /api/v1 takes them: `CN=api.example.com,O=Acme\, Inc.,C=US`.

use certus_x509::{Subject, SubjectAttr};

use crate::error::{Error, Result};

/// Parses a comma-separated DN. `\,` is a literal comma; white space around keys and values is
/// trimmed; CN, O, OU, C, ST and L are understood and keep their order in the encoded name.
/// Unlike the reference (which drops unknown attributes silently and re-orders the rest), an
/// unknown or repeated attribute is an error, so a certificate never says less than was asked.
pub(crate) fn parse_subject_dn(text: &str) -> Result<Subject> {
    let mut subject = Subject::default();
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| Error::policy(format!("invalid subject_dn: {part:?} is not key=value")))?;
        let (key, value) = (key.trim(), value.trim());
        let attr = SubjectAttr::from_short_name(key).ok_or_else(|| {
            Error::policy(format!("invalid subject_dn: attribute {key:?} is not one of CN, O, OU, C, ST, L"))
        })?;
        if value.is_empty() {
            return Err(Error::policy(format!("invalid subject_dn: {key} is empty")));
        }
        if subject.get(attr).is_some() {
            return Err(Error::policy(format!("invalid subject_dn: {key} appears twice")));
        }
        if attr == SubjectAttr::Country && (value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic())) {
            return Err(Error::policy(format!(
                "invalid subject_dn: C must be a two-letter country code, not {value:?}"
            )));
        }
        super::check_text("subject_dn", value).map_err(|e| Error::policy(format!("invalid {}", e.message)))?;
        if value.chars().count() > 64 {
            return Err(Error::policy(format!("invalid subject_dn: {key} is longer than 64 characters")));
        }
        subject.set(attr, value.to_owned());
        subject.order.push(attr);
    }
    Ok(subject)
}

/// A subject written back as a DN string in its encoding order (commas escaped).
pub(crate) fn format_subject_dn(subject: &Subject) -> String {
    subject
        .attributes()
        .iter()
        .map(|(attr, value)| {
            let key = match attr {
                SubjectAttr::Country => "C",
                SubjectAttr::State => "ST",
                SubjectAttr::Locality => "L",
                SubjectAttr::Organization => "O",
                SubjectAttr::OrganizationUnit => "OU",
                SubjectAttr::CommonName => "CN",
            };
            format!("{key}={}", value.replace(',', "\\,"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_commas_and_order_are_kept() {
        let s = parse_subject_dn("O=Acme\\, Inc., CN = api.example.com ,C=US").unwrap();
        assert_eq!(s.organization.as_deref(), Some("Acme, Inc."));
        assert_eq!(s.common_name.as_deref(), Some("api.example.com"));
        assert_eq!(s.order, vec![SubjectAttr::Organization, SubjectAttr::CommonName, SubjectAttr::Country]);
        assert_eq!(format_subject_dn(&s), "O=Acme\\, Inc.,CN=api.example.com,C=US");
    }

    #[test]
    fn bad_dns_are_refused_with_the_reason() {
        for (dn, says) in [
            ("invalid", "not key=value"),
            ("CN=a,emailAddress=x@y.z", "emailAddress"),
            ("CN=a,CN=b", "twice"),
            ("CN=a,C=USA", "two-letter"),
            ("CN=", "empty"),
        ] {
            let e = parse_subject_dn(dn).unwrap_err();
            assert!(e.message.contains(says), "{dn}: {}", e.message);
        }
    }
}
