//! Issuance policies of service accounts: deny by default. Every name of a certificate must be
//! allowed by a pattern, CIDR or domain of the policy, its CA and type must be listed, and its
//! validity must fit.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{DetailValue, Error, ErrorDetail, Result};

/// A service account's issuance policy: what it may have issued (deny by default).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuancePolicy {
    /// Globs the common name must match.
    #[serde(default)]
    pub cn_patterns: Vec<String>,
    /// Globs every DNS SAN must match.
    #[serde(default)]
    pub san_dns_patterns: Vec<String>,
    /// CIDRs every IP SAN must fall in.
    #[serde(default)]
    pub san_ip_cidrs: Vec<String>,
    /// Domains every email SAN must be under.
    #[serde(default)]
    pub san_email_domains: Vec<String>,
    /// The CAs (by /api/v1 id) it may issue from.
    #[serde(default)]
    pub allowed_ca_ids: Vec<i64>,
    /// The certificate types it may issue.
    #[serde(default)]
    pub allowed_certificate_types: Vec<String>,
    /// The longest validity, in days.
    pub max_validity_days: i64,
}

/// A service account's issuance policy with its record's times.
#[derive(Debug, Clone)]
pub struct IssuancePolicyView {
    /// The policy.
    pub policy: IssuancePolicy,
    /// The service account it binds.
    pub service_account_id: i64,
    /// When it was first set.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// What a service account asks to have issued, as the policy sees it.
pub(crate) struct Requested<'a> {
    pub ca_id: i64,
    pub certificate_type: &'a str,
    pub common_name: &'a str,
    pub dns: &'a [String],
    pub ips: &'a [IpAddr],
    pub emails: &'a [String],
    pub valid_days: i64,
}

fn violation(field: &'static str, value: impl Into<DetailValue>) -> Error {
    let value = value.into();
    Error::policy(format!("issuance policy does not allow {field} {value}")).with_detail(ErrorDetail {
        field: Some(field),
        value: Some(value),
        ..ErrorDetail::code("policy_violation")
    })
}

/// fnmatch-style glob: `*` any run of characters, `?` one character; case-insensitive.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) =
        (pattern.to_lowercase().chars().collect(), text.to_lowercase().chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a single address.
fn parse_cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u32>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn in_cidr(ip: &IpAddr, (net, len): (IpAddr, u32)) -> bool {
    let bits = |a: &IpAddr| -> u128 {
        match a {
            IpAddr::V4(v4) => u128::from(u32::from(*v4)) << 96,
            IpAddr::V6(v6) => u128::from(*v6),
        }
    };
    if ip.is_ipv4() != net.is_ipv4() {
        return false;
    }
    // IPv4 addresses sit in the top 32 bits, so a prefix length counts from the top either way.
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    bits(ip) & mask == bits(&net) & mask
}

impl IssuancePolicy {
    /// Reads and checks a policy body (unreadable or invalid: a 422-style malformed error).
    pub(super) fn from_json(v: &serde_json::Value) -> Result<Self> {
        let p: IssuancePolicy = serde_json::from_value(v.clone()).map_err(|e| Error::malformed(e.to_string()))?;
        if p.max_validity_days < 1 {
            return Err(Error::malformed("max_validity_days must be at least 1"));
        }
        if let Some(bad) = p.san_ip_cidrs.iter().find(|c| parse_cidr(c).is_none()) {
            return Err(Error::malformed(format!("san_ip_cidrs: {bad:?} is not an IP network")));
        }
        if let Some(bad) = p.allowed_certificate_types.iter().find(|t| super::CertificateType::from_name(t).is_none()) {
            return Err(Error::malformed(format!("allowed_certificate_types: unknown type {bad:?}")));
        }
        Ok(p)
    }

    pub(crate) fn check(&self, r: &Requested<'_>) -> Result<()> {
        if !self.allowed_ca_ids.contains(&r.ca_id) {
            return Err(violation("ca_id", r.ca_id));
        }
        if !self.allowed_certificate_types.iter().any(|t| t == r.certificate_type) {
            return Err(violation("certificate_type", r.certificate_type));
        }
        if !self.cn_patterns.iter().any(|p| glob(p, r.common_name)) {
            return Err(violation("common_name", r.common_name));
        }
        if let Some(d) = r.dns.iter().find(|d| !self.san_dns_patterns.iter().any(|p| glob(p, d))) {
            return Err(violation("san_dns_names", d.as_str()));
        }
        let nets: Vec<_> = self.san_ip_cidrs.iter().filter_map(|c| parse_cidr(c)).collect();
        if let Some(ip) = r.ips.iter().find(|ip| !nets.iter().any(|n| in_cidr(ip, *n))) {
            return Err(violation("san_ip_addresses", ip.to_string()));
        }
        let domain_ok = |e: &str| {
            e.rsplit_once('@').is_some_and(|(_, d)| self.san_email_domains.iter().any(|x| x.eq_ignore_ascii_case(d)))
        };
        if let Some(e) = r.emails.iter().find(|e| !domain_ok(e)) {
            return Err(violation("san_email_addresses", e.as_str()));
        }
        if r.valid_days > self.max_validity_days {
            return Err(violation("valid_days", r.valid_days));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_networks() {
        assert!(glob("*.svc.example.com", "api.svc.example.com"));
        assert!(glob("*.svc.example.com", "a.b.svc.example.com")); // fnmatch: * crosses dots
        assert!(!glob("*.svc.example.com", "svc.example.com"));
        assert!(glob("node-??", "NODE-01"));
        assert!(in_cidr(&"10.1.2.3".parse().unwrap(), parse_cidr("10.0.0.0/8").unwrap()));
        assert!(!in_cidr(&"11.1.2.3".parse().unwrap(), parse_cidr("10.0.0.0/8").unwrap()));
        assert!(in_cidr(&"2001:db8::1".parse().unwrap(), parse_cidr("2001:db8::/32").unwrap()));
        assert!(!in_cidr(&"10.0.0.1".parse().unwrap(), parse_cidr("::/0").unwrap()));
        assert!(in_cidr(&"192.0.2.7".parse().unwrap(), parse_cidr("192.0.2.7").unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }

    #[test]
    fn deny_by_default_and_each_field() {
        let p = IssuancePolicy::from_json(&serde_json::json!({"max_validity_days": 30})).unwrap();
        let ok = Requested {
            ca_id: 1,
            certificate_type: "server",
            common_name: "a.svc.example",
            dns: &["a.svc.example".into()],
            ips: &["10.0.0.5".parse().unwrap()],
            emails: &[],
            valid_days: 30,
        };
        assert_eq!(p.check(&ok).unwrap_err().detail.unwrap().field.unwrap(), "ca_id");
        let p = IssuancePolicy {
            allowed_ca_ids: vec![1],
            allowed_certificate_types: vec!["server".into()],
            cn_patterns: vec!["*.svc.example".into()],
            san_dns_patterns: vec!["*.svc.example".into()],
            san_ip_cidrs: vec!["10.0.0.0/24".into()],
            ..p
        };
        p.check(&ok).unwrap();
        let field = |r: Requested<'_>| p.check(&r).unwrap_err().detail.unwrap().field.unwrap();
        assert_eq!(field(Requested { certificate_type: "client", ..ok }), "certificate_type");
        assert_eq!(field(Requested { common_name: "x.other", ..ok }), "common_name");
        assert_eq!(field(Requested { dns: &["x.other".into()], ..ok }), "san_dns_names");
        assert_eq!(field(Requested { ips: &["10.0.1.5".parse().unwrap()], ..ok }), "san_ip_addresses");
        assert_eq!(field(Requested { emails: &["a@b.c".into()], ..ok }), "san_email_addresses");
        assert_eq!(field(Requested { valid_days: 31, ..ok }), "valid_days");
    }
}
