//! API tokens: opaque strings, stored as SHA-256 hashes, looked up by a short public prefix of
//! that hash and compared in constant time. Every caller resolves to exactly one tenant.

use certus_store::{TenantRow, TokenRow};

use crate::error::{Error, Result};
use crate::{Authority, new_id};

/// What a token may do. Reads need any valid token of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Issue and sign certificates.
    Issue,
    /// Manage CAs, roles, trust anchors and revocation.
    Admin,
}

impl Scope {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Issue => "pki:issue",
            Scope::Admin => "pki:admin",
        }
    }

    /// The value with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Scope::Issue, Scope::Admin].into_iter().find(|s| s.name() == name)
    }
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who acts: the token or session id.
    pub token_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// Acts in every tenant.
    pub superuser: bool,
}

impl Caller {
    /// Certus itself acting in a tenant (renewing an OCSP responder): audited as `system`.
    pub(crate) fn system(tenant_id: &str) -> Caller {
        Caller { token_id: "system".into(), tenant_id: tenant_id.to_owned(), scopes: vec![], superuser: false }
    }

    /// Refuses unless the caller has this scope.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.superuser || self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("this token lacks the {} scope", scope.name())))
        }
    }

    /// Refuses unless the caller is a superuser.
    pub fn require_superuser(&self) -> Result<()> {
        if self.superuser { Ok(()) } else { Err(Error::forbidden("only the superuser may manage tenants and tokens")) }
    }
}

/// The public lookup id of a token: a prefix of its hash, so any string can be a token
/// (including an operator-chosen bootstrap token) without storing it.
pub(crate) fn token_id_of(token: &str) -> String {
    format!("tok_{}", hex::encode(&certus_kms::sha256(token.as_bytes())[..8]))
}

pub(crate) fn fresh_token() -> String {
    let secret: [u8; 32] = certus_kms::random_bytes();
    format!("certus_{}", hex::encode(secret))
}

pub(crate) fn token_row(
    token: &str,
    tenant_id: &str,
    name: &str,
    scopes: &[Scope],
    superuser: bool,
    created_at: i64,
) -> TokenRow {
    TokenRow {
        id: token_id_of(token),
        tenant_id: tenant_id.to_owned(),
        name: name.to_owned(),
        secret_hash: certus_kms::sha256(token.as_bytes()).to_vec(),
        scopes: scopes.iter().map(|s| s.name()).collect::<Vec<_>>().join(" "),
        superuser,
        created_at,
        revoked_at: None,
    }
}

pub(crate) const DEFAULT_ORG: &str = "default";
pub(crate) const DEFAULT_TENANT: &str = "default";

impl Authority {
    /// Resolves a bearer token to its caller. Unknown, revoked and wrong tokens all get the
    /// same answer.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Caller> {
        let token = bearer.filter(|t| !t.is_empty()).ok_or_else(|| Error::unauthorized("missing bearer token"))?;
        let invalid = || Error::unauthorized("invalid or revoked token");
        let id = token_id_of(token);
        let row = match self.tokens.get(&id) {
            Some(row) => row,
            None => match self.store.get_token(&id).await {
                Ok(row) => {
                    self.tokens.put(id, row.clone());
                    row
                }
                Err(certus_store::Error::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            },
        };
        let presented = certus_kms::sha256(token.as_bytes());
        if !certus_kms::ct_eq(&presented, &row.secret_hash) || row.revoked_at.is_some() {
            return Err(invalid());
        }
        Ok(Caller {
            token_id: row.id,
            tenant_id: row.tenant_id,
            scopes: row.scopes.split_whitespace().filter_map(Scope::from_name).collect(),
            superuser: row.superuser,
        })
    }

    /// On an empty database, creates the default organisation and tenant and a superuser token
    /// (`chosen` if given). Returns the token if this call bootstrapped, `None` if the database
    /// was already set up (by this node earlier or by another one).
    pub async fn bootstrap(&self, chosen: Option<&str>) -> Result<Option<String>> {
        let token = match chosen {
            Some(t) if t.len() < 16 => {
                return Err(Error::malformed("CERTUS_BOOTSTRAP_TOKEN must be at least 16 characters"));
            }
            Some(t) => t.to_owned(),
            None => fresh_token(),
        };
        let tenant = TenantRow {
            id: new_id("tnt"),
            org_id: format!("org_{DEFAULT_ORG}"),
            name: DEFAULT_TENANT.to_owned(),
            created_at: self.now_secs(),
        };
        let row =
            token_row(&token, &tenant.id, "bootstrap superuser", &[Scope::Issue, Scope::Admin], true, self.now_secs());
        let created = self.store.bootstrap(DEFAULT_ORG, &tenant, &row).await?;
        Ok(created.then_some(token))
    }
}
