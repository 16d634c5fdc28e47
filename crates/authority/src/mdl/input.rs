//! The walt.id door's input rules for IACA and Document Signer data, checked before any key is
//! used, with walt.id's own wording where it has one.

use crate::error::{Error, Result};

/// ISO 3166-1 alpha-2 codes officially assigned (as `java.util.Locale.getISOCountries()`, which
/// walt.id checks against): `ZZ`, `UK`, `EU` and `XX` are not among them.
const ISO_3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// walt.id's limit on an IACA's life: "20 years" of 365 days.
pub(super) const IACA_MAX_DAYS: i64 = 7300;
/// Annex B's limit on a Document Signer's life.
pub(super) const DS_MAX_DAYS: i64 = 457;

/// The subject fields both certificate kinds share. `what` is "IACA" or "Document signer".
pub(super) fn check_subject(what: &str, country: &str, state: Option<&str>, organization: Option<&str>) -> Result<()> {
    if !ISO_3166_ALPHA2.contains(&country) {
        return Err(Error::malformed(format!(
            "{what} certificate data invalid ISO 3166-1 country code: '{country}'. Must be a valid 2-letter uppercase code."
        )));
    }
    for (name, value) in [("stateOrProvinceName", state), ("organizationName", organization)] {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::malformed(format!("{what} certificate data {name} must not be blank if specified")));
        }
    }
    Ok(())
}

/// A validity in Unix seconds: ordered, ending in the future, at most `max_days` long.
pub(super) fn check_validity(what: &str, not_before: i64, not_after: i64, now: i64, max_days: i64) -> Result<()> {
    if not_after <= now {
        return Err(Error::malformed(format!(
            "{what} certificate notAfter must be in the future (greater than the current time)"
        )));
    }
    if not_before >= not_after {
        return Err(Error::malformed(format!(
            "{what} certificate data notBefore must be before (and not equal to) notAfter"
        )));
    }
    let days = (not_after - not_before) / 86_400;
    if days > max_days {
        let limit =
            if max_days == IACA_MAX_DAYS { "20 years (7300 days)".to_owned() } else { format!("{max_days} days") };
        return Err(Error::malformed(format!(
            "{what} certificates should not have a validity that is larger than {limit}; \
             the difference in whole days is: {days}"
        )));
    }
    Ok(())
}

/// An issuerAltName: an email or an absolute URI (http(s) with a host), at least one.
pub(super) fn check_issuer_alt_name(uri: Option<&str>, email: Option<&str>) -> Result<()> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.filter(|v| !v.trim().is_empty())
    }
    if given(uri).is_none() && given(email).is_none() {
        return Err(Error::malformed(
            "IACA issuer alternative name (issuerAltName) must have at least one of 'email' or 'uri' specified with a non-null, or blank value",
        ));
    }
    if let Some(uri) = given(uri) {
        if uri.chars().any(char::is_whitespace) {
            return Err(Error::malformed("IACA issuer alternative name URI must not contain whitespace"));
        }
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(Error::malformed("IACA issuer alternative name URI must be an absolute URI"));
        };
        let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || rest.is_empty() {
            return Err(Error::malformed("IACA issuer alternative name URI must be an absolute URI"));
        }
        if matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") && host_of(rest).is_none() {
            return Err(Error::malformed("IACA issuer alternative name URI must include a host"));
        }
    }
    Ok(())
}

/// A CRL distribution point: http(s), with a host and no user information.
pub(super) fn check_crl_url(what: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| Error::malformed(format!("{what} CRL distribution point URI must use HTTP or HTTPS")))?;
    if host_of(&format!("//{rest}")).is_none() || authority(&format!("//{rest}")).contains('@') {
        return Err(Error::malformed(format!(
            "{what} CRL distribution point URI must include a host without user information"
        )));
    }
    Ok(())
}

/// The authority part of `//authority/path…`.
fn authority(rest: &str) -> &str {
    let after = rest.strip_prefix("//").unwrap_or("");
    after.split(['/', '?', '#']).next().unwrap_or("")
}

fn host_of(rest: &str) -> Option<&str> {
    let auth = authority(rest);
    let host = auth.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| h.trim_start_matches('['))
    } else {
        host.split(':').next()
    };
    host.filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_assigned_codes() {
        assert!(check_subject("IACA", "US", None, None).is_ok());
        for bad in ["ZZ", "UK", "EU", "XX", "us", "USA", ""] {
            assert!(check_subject("IACA", bad, None, None).is_err(), "{bad}");
        }
        assert!(check_subject("IACA", "US", Some("  "), None).is_err());
    }

    #[test]
    fn issuer_alt_names_and_crl_urls() {
        assert!(check_issuer_alt_name(Some("https://dmv.example.gov"), None).is_ok());
        assert!(check_issuer_alt_name(None, Some("pki@example.gov")).is_ok());
        for bad in ["dmv.example.gov", "/relative", "https://", "has space:x"] {
            assert!(check_issuer_alt_name(Some(bad), None).is_err(), "{bad}");
        }
        assert!(check_issuer_alt_name(None, None).is_err());
        assert!(check_crl_url("IACA", "https://crl.example.gov/iaca.crl").is_ok());
        for bad in ["ldap://crl.example.gov/x", "https://user@crl.example.gov/x", "http:///x", "crl.example.gov"] {
            assert!(check_crl_url("IACA", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validity_limits() {
        let day = 86_400;
        assert!(check_validity("IACA", 0, 7300 * day, 1, IACA_MAX_DAYS).is_ok());
        assert!(check_validity("IACA", 0, 7301 * day, 1, IACA_MAX_DAYS).is_err());
        assert!(check_validity("IACA", 10, 10, 1, IACA_MAX_DAYS).is_err());
        assert!(check_validity("IACA", 0, 5, 10, IACA_MAX_DAYS).is_err());
    }
}
