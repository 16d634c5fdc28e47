//! Issuance profiles: reusable templates for validity, subject, key usage, EKU, CA flag and
//! key-algorithm enforcement. Parsed from the documented JSON (and the forms that product's own
//! clients send), validated up front, stored as normalised JSON, and applied at issuance.

use std::collections::BTreeSet;

use certus_store::ProfileRow;
use certus_x509::{KeyInfo, KeyKind, KeyUsageBit, Subject};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Authority;
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};

/// keyUsage flags: (object key, PascalCase name, bit).
const KEY_USAGES: &[(&str, &str, KeyUsageBit)] = &[
    ("digital_signature", "DigitalSignature", KeyUsageBit::DigitalSignature),
    ("content_commitment", "ContentCommitment", KeyUsageBit::ContentCommitment),
    ("key_encipherment", "KeyEncipherment", KeyUsageBit::KeyEncipherment),
    ("data_encipherment", "DataEncipherment", KeyUsageBit::DataEncipherment),
    ("key_agreement", "KeyAgreement", KeyUsageBit::KeyAgreement),
    ("cert_sign", "CertSign", KeyUsageBit::KeyCertSign),
    ("crl_sign", "CRLSign", KeyUsageBit::CrlSign),
    ("encipher_only", "EncipherOnly", KeyUsageBit::EncipherOnly),
    ("decipher_only", "DecipherOnly", KeyUsageBit::DecipherOnly),
];

/// EKU names that product's clients send, and their OIDs.
const EKU_NAMES: &[(&str, &str)] = &[
    ("Any", "2.5.29.37.0"),
    ("ServerAuth", "1.3.6.1.5.5.7.3.1"),
    ("ClientAuth", "1.3.6.1.5.5.7.3.2"),
    ("CodeSigning", "1.3.6.1.5.5.7.3.3"),
    ("EmailProtection", "1.3.6.1.5.5.7.3.4"),
    ("IPSECEndSystem", "1.3.6.1.5.5.7.3.5"),
    ("IPSECTunnel", "1.3.6.1.5.5.7.3.6"),
    ("IPSECUser", "1.3.6.1.5.5.7.3.7"),
    ("TimeStamping", "1.3.6.1.5.5.7.3.8"),
    ("OCSPSigning", "1.3.6.1.5.5.7.3.9"),
];

/// The PascalCase name of a keyUsage bit (`DigitalSignature`, `CRLSign`, ...).
pub fn key_usage_name(bit: KeyUsageBit) -> &'static str {
    KEY_USAGES.iter().find(|(_, _, b)| *b == bit).map(|(_, n, _)| *n).unwrap_or("Unknown")
}

/// The name of an EKU OID (`ServerAuth`, ...), or the OID itself.
pub fn eku_name(oid: &str) -> String {
    EKU_NAMES.iter().find(|(_, o)| *o == oid).map(|(n, _)| (*n).to_owned()).unwrap_or_else(|| oid.to_owned())
}

#[derive(Debug, Clone, PartialEq)]
pub enum Validity {
    /// A lifetime from issuance, in seconds (and as written).
    Duration { text: String, secs: i64 },
    /// A fixed notAfter (Unix seconds, and as written).
    Time { text: String, at: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CryptoEnforcement {
    pub enabled: bool,
    pub allow_rsa_keys: bool,
    /// `None`: any size.
    pub allowed_rsa_key_sizes: Option<Vec<u32>>,
    pub allow_ecdsa_keys: bool,
    pub allowed_ecdsa_key_sizes: Option<Vec<u32>>,
    /// Not in the document: Ed25519 is refused under enforcement unless this is set.
    pub allow_ed25519_keys: bool,
}

/// An issuance profile, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// How long certificates are valid.
    pub validity: Validity,
    /// Issue CA certificates.
    pub sign_as_ca: bool,
    /// Take keyUsage from the CSR.
    pub honor_key_usage: bool,
    /// keyUsage bits.
    pub key_usage: BTreeSet<KeyUsageBit>,
    /// Take EKUs from the CSR.
    pub honor_extended_key_usages: bool,
    /// Dotted OIDs.
    pub extended_key_usages: Vec<String>,
    /// Take the subject from the CSR.
    pub honor_subject: bool,
    /// The subject.
    pub subject: Subject,
    /// Take SANs from the CSR.
    pub honor_extensions: bool,
    /// Which keys the profile accepts.
    pub crypto: CryptoEnforcement,
}

fn field<'v>(body: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    body.get(name).filter(|v| !v.is_null())
}

fn flag(body: &Map<String, Value>, name: &str, default: bool) -> Result<bool> {
    match field(body, name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Error::malformed(format!("{name} must be true or false"))),
    }
}

fn text(body: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::malformed(format!("{name} must be a string"))),
    }
}

fn sizes(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<u32>>> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                    Error::malformed(format!("crypto_enforcement.{name} must be a list of key sizes in bits"))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::malformed(format!("crypto_enforcement.{name} must be a list"))),
    }
}

fn parse_key_usage(v: Option<&Value>) -> Result<BTreeSet<KeyUsageBit>> {
    let unknown = |name: &str| Error::malformed(format!("key_usage: unknown flag {name:?}"));
    let by_pascal = |name: &str| -> Result<KeyUsageBit> {
        KEY_USAGES.iter().find(|(_, p, _)| *p == name.trim()).map(|(_, _, b)| *b).ok_or_else(|| unknown(name))
    };
    match v {
        None => Ok(BTreeSet::new()),
        Some(Value::Object(flags)) => {
            let mut out = BTreeSet::new();
            for (name, on) in flags {
                let bit =
                    KEY_USAGES.iter().find(|(k, _, _)| k == name).map(|(_, _, b)| *b).ok_or_else(|| unknown(name))?;
                match on {
                    Value::Bool(true) => {
                        out.insert(bit);
                    }
                    Value::Bool(false) => {}
                    _ => return Err(Error::malformed(format!("key_usage.{name} must be true or false"))),
                }
            }
            Ok(out)
        }
        Some(Value::String(name)) => Ok([by_pascal(name)?].into()),
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| n.as_str().ok_or_else(|| Error::malformed("key_usage names must be strings")).and_then(by_pascal))
            .collect(),
        Some(_) => Err(Error::malformed("key_usage must be an object of flags or a list of names")),
    }
}

fn parse_ekus(v: Option<&Value>) -> Result<Vec<String>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v.as_array().ok_or_else(|| Error::malformed("extended_key_usages must be a list"))?;
    let mut out: Vec<String> = Vec::new();
    for item in list {
        let s = item.as_str().ok_or_else(|| Error::malformed("extended_key_usages entries must be strings"))?.trim();
        let oid = if let Some((_, oid)) = EKU_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            (*oid).to_owned()
        } else if s.split('.').count() >= 2
            && s.split('.').all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
        {
            s.to_owned()
        } else {
            return Err(Error::malformed(format!("extended_key_usages: {s:?} is neither an OID nor a known name")));
        };
        if !out.contains(&oid) {
            out.push(oid);
        }
    }
    Ok(out)
}

fn parse_subject(v: Option<&Value>) -> Result<Subject> {
    let Some(v) = v else { return Ok(Subject::default()) };
    let obj = v.as_object().ok_or_else(|| Error::malformed("subject must be an object"))?;
    let get = |k: &str| -> Result<Option<String>> { Ok(text(obj, k)?.filter(|s| !s.is_empty())) };
    let country = get("country")?;
    if let Some(c) = &country
        && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(Error::malformed(format!("subject.country {c:?} must be a two-letter upper-case code")));
    }
    Ok(Subject {
        common_name: get("common_name")?,
        organization: get("organization")?,
        organization_unit: get("organization_unit")?,
        country,
        state: get("state")?,
        locality: get("locality")?,
        order: Vec::new(),
    })
}

impl Profile {
    /// Parses and validates a profile document; `path_id`, if given, must match its `id`.
    pub fn from_json(v: &Value, path_id: Option<&str>) -> Result<Profile> {
        let body = v.as_object().ok_or_else(|| Error::malformed("the profile must be a JSON object"))?;
        let id = match (text(body, "id")?, path_id) {
            (Some(id), Some(p)) if id != p => {
                return Err(Error::malformed(format!("id {id:?} does not match the path {p:?}")));
            }
            (Some(id), _) => id,
            (None, Some(p)) => p.to_owned(),
            (None, None) => return Err(Error::malformed("id is required")),
        };
        if id.trim().is_empty() || id.len() > 128 || id.contains('/') {
            return Err(Error::malformed("id must be 1 to 128 characters without '/'"));
        }
        let name = text(body, "name")?.unwrap_or_default();
        if name.trim().is_empty() {
            return Err(Error::malformed("name is required and must not be empty"));
        }
        let validity = field(body, "validity").and_then(Value::as_object).ok_or_else(|| {
            Error::malformed("validity is required ({\"type\": \"Duration\", \"duration\": \"90d\"})")
        })?;
        let validity = match text(validity, "type")?.as_deref() {
            Some("Duration") => {
                let d = text(validity, "duration")?
                    .ok_or_else(|| Error::malformed("validity.duration is required when validity.type is Duration"))?;
                Validity::Duration { secs: crate::policy::parse_duration("validity.duration", &d)?, text: d }
            }
            Some("Time") => {
                let t = text(validity, "time")?
                    .ok_or_else(|| Error::malformed("validity.time is required when validity.type is Time"))?;
                let at = OffsetDateTime::parse(&t, &Rfc3339)
                    .map_err(|_| Error::malformed(format!("validity.time {t:?} is not an RFC 3339 time")))?;
                Validity::Time { at: at.unix_timestamp(), text: t }
            }
            other => {
                return Err(Error::malformed(format!("validity.type must be Duration or Time, not {other:?}")));
            }
        };
        let crypto = match field(body, "crypto_enforcement") {
            None => None,
            Some(Value::Object(c)) => Some(c),
            Some(_) => return Err(Error::malformed("crypto_enforcement must be an object")),
        };
        let empty = Map::new();
        let c = crypto.unwrap_or(&empty);
        Ok(Profile {
            id,
            name,
            description: text(body, "description")?.filter(|d| !d.is_empty()),
            validity,
            sign_as_ca: flag(body, "sign_as_ca", false)?,
            honor_key_usage: flag(body, "honor_key_usage", false)?,
            key_usage: parse_key_usage(field(body, "key_usage"))?,
            honor_extended_key_usages: flag(body, "honor_extended_key_usages", false)?,
            extended_key_usages: parse_ekus(field(body, "extended_key_usages"))?,
            honor_subject: flag(body, "honor_subject", true)?,
            subject: parse_subject(field(body, "subject"))?,
            honor_extensions: flag(body, "honor_extensions", false)?,
            crypto: CryptoEnforcement {
                enabled: flag(c, "enabled", false)?,
                allow_rsa_keys: flag(c, "allow_rsa_keys", true)?,
                allowed_rsa_key_sizes: sizes(c, "allowed_rsa_key_sizes")?,
                allow_ecdsa_keys: flag(c, "allow_ecdsa_keys", true)?,
                allowed_ecdsa_key_sizes: sizes(c, "allowed_ecdsa_key_sizes")?,
                allow_ed25519_keys: flag(c, "allow_ed25519_keys", false)?,
            },
        })
    }

    /// The documented shape: key usage as an object of the flags that are set, EKUs as OIDs.
    pub fn to_json(&self) -> Value {
        let validity = match &self.validity {
            Validity::Duration { text, .. } => json!({"type": "Duration", "duration": text}),
            Validity::Time { text, .. } => json!({"type": "Time", "time": text}),
        };
        let key_usage: Map<String, Value> = KEY_USAGES
            .iter()
            .filter(|(_, _, b)| self.key_usage.contains(b))
            .map(|(k, _, _)| ((*k).to_owned(), Value::Bool(true)))
            .collect();
        let s = &self.subject;
        let mut subject = Map::new();
        for (k, v) in [
            ("common_name", &s.common_name),
            ("organization", &s.organization),
            ("organization_unit", &s.organization_unit),
            ("country", &s.country),
            ("state", &s.state),
            ("locality", &s.locality),
        ] {
            if let Some(v) = v {
                subject.insert(k.to_owned(), Value::String(v.clone()));
            }
        }
        let c = &self.crypto;
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description.clone().unwrap_or_default(),
            "validity": validity,
            "sign_as_ca": self.sign_as_ca,
            "honor_key_usage": self.honor_key_usage,
            "key_usage": key_usage,
            "honor_extended_key_usages": self.honor_extended_key_usages,
            "extended_key_usages": self.extended_key_usages,
            "honor_subject": self.honor_subject,
            "subject": subject,
            "honor_extensions": self.honor_extensions,
            "crypto_enforcement": {
                "enabled": c.enabled,
                "allow_rsa_keys": c.allow_rsa_keys,
                "allowed_rsa_key_sizes": c.allowed_rsa_key_sizes,
                "allow_ecdsa_keys": c.allow_ecdsa_keys,
                "allowed_ecdsa_key_sizes": c.allowed_ecdsa_key_sizes,
                "allow_ed25519_keys": c.allow_ed25519_keys,
            },
        })
    }

    /// Crypto enforcement on a subject key: a 400 naming the rule that failed.
    pub fn check_key(&self, key: &KeyInfo) -> Result<()> {
        let c = &self.crypto;
        if !c.enabled {
            return Ok(());
        }
        let sized = |allowed: &Option<Vec<u32>>| allowed.as_ref().is_none_or(|sizes| sizes.contains(&key.bits));
        match key.kind {
            KeyKind::Rsa if !c.allow_rsa_keys => {
                Err(Error::policy(format!("profile {}: RSA keys are not allowed (allow_rsa_keys)", self.id)))
            }
            KeyKind::Rsa if !sized(&c.allowed_rsa_key_sizes) => Err(Error::policy(format!(
                "profile {}: RSA key size {} is not in allowed_rsa_key_sizes",
                self.id, key.bits
            ))),
            KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 if !c.allow_ecdsa_keys => {
                Err(Error::policy(format!("profile {}: ECDSA keys are not allowed (allow_ecdsa_keys)", self.id)))
            }
            KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 if !sized(&c.allowed_ecdsa_key_sizes) => {
                Err(Error::policy(format!(
                    "profile {}: ECDSA key size {} is not in allowed_ecdsa_key_sizes",
                    self.id, key.bits
                )))
            }
            KeyKind::Ed25519 if !c.allow_ed25519_keys => Err(Error::policy(format!(
                "profile {}: Ed25519 keys are not allowed while crypto enforcement is on",
                self.id
            ))),
            KeyKind::Other => Err(Error::policy(format!("profile {}: unsupported key algorithm", self.id))),
            _ => Ok(()),
        }
    }

    /// The subject to issue under: the requested one if the profile honours it, otherwise the
    /// profile's, keeping the requested CN only when the profile has none.
    pub fn subject_for(&self, requested: &Subject) -> Subject {
        if self.honor_subject {
            return requested.clone();
        }
        let mut s = self.subject.clone();
        if s.common_name.is_none() {
            s.common_name = requested.common_name.clone();
        }
        s
    }

    /// EKU OIDs as arcs, for the certificate builder.
    pub fn eku_arcs(&self) -> Vec<Vec<u64>> {
        self.extended_key_usages.iter().map(|o| o.split('.').filter_map(|a| a.parse().ok()).collect()).collect()
    }
}

impl Authority {
    /// Creates an issuance profile.
    pub async fn create_profile(&self, caller: &Caller, body: &Value) -> Result<ProfileView> {
        caller.require(Scope::Admin)?;
        let profile = Profile::from_json(body, None)?;
        let now = self.now_secs();
        let row = ProfileRow {
            tenant_id: caller.tenant_id.clone(),
            id: profile.id.clone(),
            name: profile.name.clone(),
            body: profile.to_json().to_string(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_profile(&row, &self.audit_row(caller, "profile.create", &profile.id, String::new())).await?;
        profile_view(&row)
    }

    /// Replaces a profile.
    pub async fn update_profile(&self, caller: &Caller, id: &str, body: &Value) -> Result<ProfileView> {
        caller.require(Scope::Admin)?;
        let profile = Profile::from_json(body, Some(id))?;
        let mut row = self.store.get_profile(&caller.tenant_id, id).await.not_found_as("profile")?;
        row.name = profile.name.clone();
        row.body = profile.to_json().to_string();
        row.updated_at = self.now_secs();
        let audit = self.audit_row(caller, "profile.update", id, String::new());
        self.store.update_profile(&row, &audit).await.not_found_as("profile")?;
        profile_view(&row)
    }

    /// A profile of the tenant.
    pub async fn get_profile(&self, caller: &Caller, id: &str) -> Result<ProfileView> {
        profile_view(&self.store.get_profile(&caller.tenant_id, id).await.not_found_as("profile")?)
    }

    /// Deletes a profile no CA or role uses.
    pub async fn delete_profile(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "profile.delete", id, String::new());
        self.store.delete_profile(&caller.tenant_id, id, &audit).await.not_found_as("profile")?;
        Ok(())
    }

    /// The tenant's profiles.
    pub async fn list_profiles(&self, caller: &Caller) -> Result<Vec<ProfileView>> {
        self.store.list_profiles(&caller.tenant_id).await?.iter().map(profile_view).collect()
    }

    /// The profile a role names, parsed.
    pub(crate) async fn profile(&self, tenant_id: &str, id: &str) -> Result<Profile> {
        let row = self.store.get_profile(tenant_id, id).await.not_found_as("profile")?;
        let body: Value = serde_json::from_str(&row.body).map_err(Error::internal)?;
        Profile::from_json(&body, Some(id))
    }
}

/// An issuance profile with its record's times.
#[derive(Debug, Clone)]
pub struct ProfileView {
    /// The profile.
    pub profile: Profile,
    /// When it was made.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

fn profile_view(row: &ProfileRow) -> Result<ProfileView> {
    let body: Value = serde_json::from_str(&row.body).map_err(Error::internal)?;
    let profile = Profile::from_json(&body, Some(&row.id))?;
    Ok(ProfileView { profile, created_at: row.created_at, updated_at: row.updated_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Profile> {
        Profile::from_json(&v, None)
    }

    #[test]
    fn durations_have_units_and_a_365_day_year() {
        assert_eq!(crate::policy::parse_duration("validity.duration", "1y").unwrap(), 365 * 86_400);
        assert_eq!(crate::policy::parse_duration("validity.duration", "2w3d").unwrap(), 17 * 86_400);
        assert_eq!(crate::policy::parse_duration("validity.duration", "90d").unwrap(), 90 * 86_400);
        assert_eq!(
            crate::policy::parse_duration("validity.duration", "10").unwrap(),
            10,
            "bare seconds, as everywhere"
        );
        for bad in ["", "5q", "d", "0d"] {
            assert!(crate::policy::parse_duration("validity.duration", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_both_input_forms() {
        let p = parse(json!({"id": "a", "name": "A", "validity": {"type": "Duration", "duration": "30d"}})).unwrap();
        assert!(p.honor_subject && !p.sign_as_ca && !p.honor_key_usage && !p.crypto.enabled);
        assert!(p.crypto.allow_rsa_keys && p.crypto.allowed_rsa_key_sizes.is_none());
        let object = parse(json!({"id": "b", "name": "B", "validity": {"type": "Duration", "duration": "1y"},
            "key_usage": {"digital_signature": true, "key_encipherment": true, "data_encipherment": false},
            "extended_key_usages": ["1.3.6.1.5.5.7.3.1"]}))
        .unwrap();
        let names = parse(json!({"id": "b", "name": "B", "validity": {"type": "Duration", "duration": "1y"},
            "key_usage": ["DigitalSignature", "KeyEncipherment"], "extended_key_usages": ["serverauth"]}))
        .unwrap();
        assert_eq!(object, names);
        assert_eq!(object.to_json()["key_usage"], json!({"digital_signature": true, "key_encipherment": true}));
        assert_eq!(object.to_json()["extended_key_usages"], json!(["1.3.6.1.5.5.7.3.1"]));
        assert_eq!(Profile::from_json(&object.to_json(), Some("b")).unwrap(), object, "round trip");
    }

    #[test]
    fn validation_names_the_field() {
        let base = json!({"id": "x", "name": "X", "validity": {"type": "Duration", "duration": "1d"}});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            parse(b).unwrap_err().message
        };
        assert!(with("validity", Value::Null).contains("validity"));
        assert!(with("validity", json!({"type": "Duration", "duration": "3x"})).contains("unknown unit"));
        assert!(with("validity", json!({"type": "Forever"})).contains("validity.type"));
        assert!(with("name", json!("")).contains("name"));
        assert!(with("key_usage", json!({"fly": true})).contains("key_usage"));
        assert!(with("key_usage", json!(["Fly"])).contains("key_usage"));
        assert!(with("extended_key_usages", json!(["NotAThing"])).contains("extended_key_usages"));
        assert!(with("subject", json!({"country": "usa"})).contains("country"));
    }

    #[test]
    fn crypto_enforcement_rules() {
        let p = parse(json!({"id": "iot", "name": "IoT", "validity": {"type": "Duration", "duration": "30d"},
            "crypto_enforcement": {"enabled": true, "allowed_rsa_key_sizes": [2048], "allowed_ecdsa_key_sizes": [256]}}))
        .unwrap();
        let key = |kind, bits| KeyInfo { kind, bits };
        assert!(p.check_key(&key(KeyKind::Rsa, 2048)).is_ok());
        assert!(p.check_key(&key(KeyKind::Rsa, 1024)).unwrap_err().message.contains("allowed_rsa_key_sizes"));
        assert!(p.check_key(&key(KeyKind::EcP256, 256)).is_ok());
        assert!(p.check_key(&key(KeyKind::EcP521, 521)).unwrap_err().message.contains("allowed_ecdsa_key_sizes"));
        assert!(p.check_key(&key(KeyKind::Ed25519, 256)).unwrap_err().message.contains("Ed25519"));
        let any_size = parse(json!({"id": "a", "name": "A", "validity": {"type": "Duration", "duration": "1d"},
            "crypto_enforcement": {"enabled": true, "allow_ecdsa_keys": false}}))
        .unwrap();
        assert!(any_size.check_key(&key(KeyKind::Rsa, 3072)).is_ok(), "absent size list means any size");
        assert!(any_size.check_key(&key(KeyKind::EcP256, 256)).unwrap_err().message.contains("allow_ecdsa_keys"));
    }
}
