//! Role policy: which names, IPs, lifetimes and keys a role permits. Pure functions.

use std::net::IpAddr;

use crate::error::{Error, Result};

/// The longest duration any request or stored policy may carry: 100 years. Longer ones are
/// refused where they are given (a role's `max_ttl`, a profile's validity, a `ttl`,
/// `expiring_within`), so no time arithmetic downstream can overflow.
pub const MAX_DURATION_SECS: i64 = 100 * 365 * 86_400;

/// The one duration grammar (roles, TTLs, issuance profiles, `expiring_within`): a number and a
/// unit, repeated (`720h`, `30d`, `1y`, `2w3d`; s, m, h, d, w, y, a year being 365 days), or bare
/// seconds (`3600`). Positive and at most [`MAX_DURATION_SECS`]; `field` names the input in errors.
pub fn parse_duration(field: &str, text: &str) -> Result<i64> {
    let bad = |why: &str| {
        Error::malformed(format!("{field}: invalid duration {text:?}: {why} (e.g. 720h, 30d, 1y, 2w3d, 3600s)"))
    };
    let too_long = || bad("at most 100 years");
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.parse::<i64>().map_err(|_| too_long())?;
        return match secs {
            0 => Err(bad("must be positive")),
            s if s > MAX_DURATION_SECS => Err(too_long()),
            s => Ok(s),
        };
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            other => return Err(bad(&format!("unknown unit {other:?}; use s, m, h, d, w or y"))),
        };
        if digits.is_empty() {
            return Err(bad("a number must come before each unit"));
        }
        let n: i64 = digits.parse().map_err(|_| too_long())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(too_long)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad("the last number has no unit"));
    }
    match total {
        t if t <= 0 => Err(bad("must be positive")),
        t if t > MAX_DURATION_SECS => Err(too_long()),
        t => Ok(t),
    }
}

/// Renders seconds the way roles are usually written (`720h`, `90m`, `45s`).
pub fn format_duration(secs: i64) -> String {
    if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Lower-cases a DNS name, drops a trailing dot, and checks it with the one DNS syntax check
/// (`certus_x509::dns_name_valid`, which also allows a leading `*.` label).
pub fn normalize_dns_name(name: &str) -> Result<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if !certus_x509::dns_name_valid(&name) {
        return Err(Error::malformed(format!("{name:?} is not a valid DNS name")));
    }
    Ok(name)
}

/// Glob match where `*` stands for any run of characters within one DNS label.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star.filter(|&(_, sn)| n[sn] != b'.') {
            // Let the star swallow one more character, but never a dot.
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `name` is allowed by the role's `allowed_domains`. A pattern matches the name
/// itself (glob `*` within a label); with `allow_subdomains`, names below a match are allowed
/// too. An empty list allows no names: a role must say what it may issue for.
pub fn domain_allowed(name: &str, allowed: &[String], allow_subdomains: bool) -> bool {
    allowed.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        if glob_match(&pattern, name) {
            return true;
        }
        allow_subdomains && name.match_indices('.').any(|(i, _)| glob_match(&pattern, &name[i + 1..]))
    })
}

/// The floor under every policy: Certus never certifies RSA keys below 2048 bits or keys of
/// algorithms it does not know.
/// The one reader of a CSR's public key: held to the key-strength floor, then ready to certify.
pub(crate) fn csr_subject_key(
    csr: &certus_x509::CsrInfo,
) -> Result<std::sync::Arc<dyn certus_x509::PublicKeyData + Send + Sync>> {
    minimum_key_strength(&csr.key)?;
    let spki = certus_x509::SubjectPublicKeyInfo::from_der(&csr.spki_der).map_err(|_| {
        Error::policy("the CSR's public key algorithm is not supported (use RSA, ECDSA P-256/384/521 or Ed25519)")
    })?;
    Ok(std::sync::Arc::new(spki))
}

/// Refuses a subject the lint would refuse (RFC 5280 upper bounds, ISO 3166 alpha-2 country),
/// where it enters, so no request or queued CSR carries one.
pub fn check_subject(subject: &certus_x509::Subject) -> Result<()> {
    match certus_x509::subject_finding(subject) {
        Some(why) => Err(Error::malformed(format!("subject: {why}"))),
        None => Ok(()),
    }
}

/// Refuses keys below the one key-strength floor.
pub fn minimum_key_strength(key: &certus_x509::KeyInfo) -> Result<()> {
    // The floor is the lint's (one rule for every door), applied early so nothing weak is queued.
    match certus_x509::key_strength_finding(key) {
        Some(why) => Err(Error::policy(why)),
        None => Ok(()),
    }
}

/// Checks every DNS name and IP against the role. Returns the normalized DNS names.
pub fn check_names(
    dns_names: &[String],
    ips: &[IpAddr],
    allowed: &[String],
    allow_subdomains: bool,
    allow_ip_sans: bool,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(dns_names.len());
    for raw in dns_names {
        let name = normalize_dns_name(raw)?;
        if !domain_allowed(&name, allowed, allow_subdomains) {
            return Err(Error::policy(format!(
                "name {name:?} is not permitted by the role's allowed_domains{}",
                if allowed.is_empty() { " (the role allows no domains)" } else { "" }
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if !ips.is_empty() && !allow_ip_sans {
        return Err(Error::policy("IP SANs are not permitted by the role (allow_ip_sans is false)"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("ttl", "720h").unwrap(), 720 * 3600);
        assert_eq!(parse_duration("ttl", "30d").unwrap(), 30 * 86400);
        assert_eq!(parse_duration("ttl", "90m").unwrap(), 5400);
        assert_eq!(parse_duration("ttl", "3600").unwrap(), 3600);
        assert_eq!(parse_duration("ttl", "10y").unwrap(), 10 * 365 * 86400);
        assert_eq!(parse_duration("ttl", "2w3d").unwrap(), 17 * 86400);
        assert!(parse_duration("ttl", "5q").is_err());
        assert!(parse_duration("ttl", "").is_err());
        assert!(parse_duration("ttl", "h").is_err());
        assert!(parse_duration("ttl", "0h").is_err());
        assert!(parse_duration("ttl", "99999999999999999999h").is_err());
        assert_eq!(parse_duration("ttl", "100y").unwrap(), MAX_DURATION_SECS);
        for too_long in ["101y", "3000000d", "9223372036854775807s", "9223372036854775807", "8000y"] {
            let e = parse_duration("ttl", too_long).unwrap_err();
            assert!(
                e.message.starts_with("ttl: invalid duration") && e.message.contains("100 years"),
                "{too_long}: {}",
                e.message
            );
        }
        assert_eq!(format_duration(720 * 3600), "720h");
    }

    #[test]
    fn globs_stay_within_a_label() {
        let allowed = v(&["*.svc.cluster.local", "example.com"]);
        assert!(domain_allowed("billing.svc.cluster.local", &allowed, false));
        assert!(!domain_allowed("a.billing.svc.cluster.local", &allowed, false));
        assert!(domain_allowed("a.billing.svc.cluster.local", &allowed, true));
        assert!(domain_allowed("example.com", &allowed, false));
        assert!(!domain_allowed("www.example.com", &allowed, false));
        assert!(domain_allowed("www.example.com", &allowed, true));
        assert!(!domain_allowed("evil-example.com", &allowed, true));
        assert!(!domain_allowed("example.com.evil.org", &allowed, true));
        assert!(!domain_allowed("anything.org", &[], true));
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(normalize_dns_name("Foo.Example.COM.").unwrap(), "foo.example.com");
        assert!(normalize_dns_name("*.example.com").is_ok());
        assert!(normalize_dns_name("a..b").is_err());
        assert!(normalize_dns_name("a.*.b").is_err());
        assert!(normalize_dns_name("-a.b").is_err());
        assert!(normalize_dns_name("a b").is_err());
    }

    #[test]
    fn ip_sans_need_permission() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(check_names(&[], &[ip], &[], false, false).is_err());
        assert!(check_names(&[], &[ip], &[], false, true).is_ok());
    }
}
