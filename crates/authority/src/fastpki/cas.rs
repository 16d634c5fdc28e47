//! CAs of /api/v1: RSA roots and intermediates from a `subject_dn`, with the reference's
//! defaults (CA_KEY_SIZE 4096, CA_CERT_DAYS 3650), path-length rules and leaf switch.

use certus_kms::KeySpec;
use certus_store::DoorRecord;
use certus_store::{FastPkiCa, FastPkiCaRow, UserRow};

use super::access::{Action, caller_in, creator_of, is_superuser, require};
use super::dn::parse_subject_dn;
use crate::Authority;
use crate::ca::{IssuerUrls, NewCa};
use crate::error::{Error, ErrorKind, Result};

pub(super) const CA_KEY_SIZE: i64 = 4096;
pub(super) const CA_CERT_DAYS: i64 = 3650;

/// A CA as /api/v1 shows it.
pub type FastPkiCaView = FastPkiCa;

/// A CA to create through /api/v1.
#[derive(Debug, Clone, Default)]
pub struct NewFastPkiCa {
    /// Its name.
    pub name: String,
    /// The subject DN.
    pub subject_dn: String,
    /// Free text.
    pub description: Option<String>,
    /// Key size in bits.
    pub key_size: Option<i64>,
    /// Validity in days.
    pub valid_days: Option<i64>,
    /// The issuing CA, for an intermediate.
    pub parent_ca_id: Option<i64>,
    /// pathLenConstraint.
    pub path_length: Option<i64>,
    /// Whether the CA may sign end-entity certificates.
    pub allow_leaf_certs: Option<bool>,
    /// Where the CA's CRL is published instead.
    pub crl_base_url: Option<String>,
}

/// Every refusal of a CA request that is the caller's to fix reads "Failed to create CA: …"
/// (400), as the reference reports them; permission denials stay 403.
fn failed(e: Error) -> Error {
    match e.kind {
        ErrorKind::Malformed | ErrorKind::Policy | ErrorKind::Conflict | ErrorKind::NotFound => {
            Error::policy(format!("Failed to create CA: {}", e.message))
        }
        _ => e,
    }
}

impl Authority {
    /// A live CA (a deleted one is not found).
    pub(crate) async fn fastpki_ca_or_404(&self, id: i64) -> Result<FastPkiCa> {
        match self.store.get_fastpki_ca(id).await {
            Ok(ca) if ca.fastpki.deleted_at.is_none() => Ok(ca),
            Ok(_) | Err(certus_store::Error::NotFound) => {
                Err(Error::not_found(format!("Certificate Authority with ID {id} not found")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The CA, if `user` may perform `action` on it (404 before 403, as the reference).
    pub(crate) async fn fastpki_ca_for(&self, user: &UserRow, id: i64, action: Action) -> Result<FastPkiCa> {
        let ca = self.fastpki_ca_or_404(id).await?;
        require(user, ca.org_num, action)?;
        Ok(ca)
    }

    /// Base of the public CRL and CA-certificate URLs written into what this CA signs.
    pub(crate) fn fastpki_issuer_urls(&self, ca: &FastPkiCa) -> IssuerUrls {
        let base = ca.fastpki.crl_base_url.as_deref().unwrap_or(&self.public_url).trim_end_matches('/');
        let slug = super::slug(&ca.fastpki.name, ca.fastpki.id);
        IssuerUrls { crl: format!("{base}/crl/{slug}"), ca_issuers: format!("{base}/ca/{slug}.crt") }
    }

    /// Creates a root (no parent) or an intermediate. A root lives in the caller's organisation
    /// (the bootstrap tenant for an organisation-less superuser); an intermediate in its
    /// parent's, and the caller needs the create_ca right there (the reference checks no right
    /// on the parent at all).
    pub async fn create_fastpki_ca(&self, user: &UserRow, req: NewFastPkiCa) -> Result<FastPkiCa> {
        let parent = match req.parent_ca_id {
            Some(id) => match self.fastpki_ca_or_404(id).await {
                Ok(p) => Some(p),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(failed(Error::policy(format!("Parent CA with ID {id} not found"))));
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let org_num = match &parent {
            Some(p) => p.org_num,
            None => user.org_num,
        };
        require(user, org_num, Action::CreateCa)?;
        if org_num.is_none() && !is_superuser(user) {
            return Err(Error::forbidden("Insufficient permissions"));
        }
        let tenant_id = match org_num {
            Some(n) => self.store.get_fastpki_org(n).await?.tenant_id,
            None => self.bootstrap_tenant_id().await?,
        };
        // A deleted CA keeps its Certus name (and slug); a new one of that name gets a suffix there.
        let taken = self.store.list_cas(&tenant_id).await?.iter().any(|c| c.name == req.name.trim());
        let certus_name = if taken {
            format!("{} ({})", req.name.trim(), &crate::new_uuid()[..8])
        } else {
            req.name.trim().to_owned()
        };
        let (new_ca, fastpki) = self.plan_fastpki_ca(user, &req, &certus_name, parent.as_ref()).map_err(failed)?;
        let caller = caller_in(user, &tenant_id);
        let mut order = self.prepare_ca(&caller, new_ca).await.map_err(failed)?;
        let name = fastpki.name.clone();
        order.door = DoorRecord::FastPkiCa(fastpki);
        let id = match self.issue_certificate(&caller, order).await {
            Err(e) if e.kind == crate::ErrorKind::Conflict => {
                return Err(failed(Error::policy(format!("a CA named {name:?} already exists in this organization"))));
            }
            other => other?.door_id.ok_or_else(|| Error::internal("a /api/v1 CA got no id"))?,
        };
        self.fastpki_ca_or_404(id).await
    }

    fn plan_fastpki_ca(
        &self,
        user: &UserRow,
        req: &NewFastPkiCa,
        certus_name: &str,
        parent: Option<&FastPkiCa>,
    ) -> Result<(NewCa, FastPkiCaRow)> {
        super::check_text("name", &req.name)?;
        let subject = parse_subject_dn(&req.subject_dn)?;
        let common_name = subject.common_name.clone().ok_or_else(|| Error::policy("subject_dn must contain a CN"))?;
        let key_size = req.key_size.filter(|&k| k != 0).unwrap_or(CA_KEY_SIZE);
        let valid_days = req.valid_days.filter(|&d| d != 0).unwrap_or(CA_CERT_DAYS);
        if valid_days < 0 {
            return Err(Error::policy("valid_days must be positive"));
        }
        KeySpec::from_type_and_size("rsa", u32::try_from(key_size).ok())
            .map_err(|_| Error::policy(format!("key_size must be 2048, 3072 or 4096 bits, not {key_size}")))?;
        if req.path_length.is_some_and(|p| !(0..=255).contains(&p)) {
            return Err(Error::policy("path_length must be between 0 and 255"));
        }
        let path_length = match parent.map(|p| p.fastpki.path_length) {
            Some(Some(0)) => return Err(Error::policy("Parent CA path_length (0) does not allow sub-CAs")),
            Some(Some(p)) => match req.path_length {
                Some(n) if n > p - 1 => {
                    return Err(Error::policy(format!(
                        "Requested path_length ({n}) exceeds maximum allowed by parent ({})",
                        p - 1
                    )));
                }
                Some(n) => Some(n),
                None => Some(p - 1),
            },
            _ => req.path_length,
        };
        let new_ca = NewCa {
            name: certus_name.to_owned(),
            common_name,
            ca_type: if parent.is_some() { "intermediate" } else { "root" }.into(),
            parent_ca_id: parent.map(|p| p.ca.id.clone()),
            key_type: Some("rsa".into()),
            key_size: u32::try_from(key_size).ok(),
            validity_days: Some(valid_days),
            path_length: path_length.map(|p| p as u8),
            path_length_unconstrained: true,
            organization: subject.organization.clone(),
            organization_unit: subject.organization_unit.clone(),
            country: subject.country.clone(),
            state: subject.state.clone(),
            locality: subject.locality.clone(),
            subject_order: subject.order.clone(),
            issuer_urls: parent.map(|p| self.fastpki_issuer_urls(p)),
            ..Default::default()
        };
        let crl_base_url = req.crl_base_url.clone().filter(|u| !u.is_empty());
        if let Some(url) = &crl_base_url
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || !url.bytes().all(|b| b.is_ascii_graphic())
                || url.len() > 1024)
        {
            return Err(Error::policy(format!("crl_base_url must be an http(s) URL in ASCII, not {url:?}")));
        }
        let fastpki = FastPkiCaRow {
            id: 0,
            name: req.name.trim().to_owned(),
            subject_dn: req.subject_dn.clone(),
            description: req.description.clone(),
            valid_days,
            path_length,
            allow_leaf_certs: req.allow_leaf_certs.unwrap_or(true),
            crl_base_url,
            created_by_user_id: creator_of(user),
            created_by_service_account_id: user.service_account_id,
            deleted_at: None,
            updated_at: self.now_secs(),
        };
        Ok((new_ca, fastpki))
    }

    /// Superusers list every CA; everyone else their organisation's (none without one).
    pub async fn list_fastpki_cas(&self, user: &UserRow) -> Result<Vec<FastPkiCa>> {
        if is_superuser(user) {
            self.adopt_fastpki_records(None).await?;
            return Ok(self.store.list_fastpki_cas(None, None).await?);
        }
        let Some(org) = user.org_num else { return Ok(vec![]) };
        let tenant = self.store.get_fastpki_org(org).await?.tenant_id;
        self.adopt_fastpki_records(Some(&tenant)).await?;
        Ok(self.store.list_fastpki_cas(Some(&tenant), None).await?)
    }

    /// A CA by its /api/v1 id.
    pub async fn read_fastpki_ca(&self, user: &UserRow, id: i64) -> Result<FastPkiCa> {
        self.fastpki_ca_for(user, id, Action::Read).await
    }

    /// This CA and its ancestors, the CA first.
    pub async fn fastpki_ca_chain(&self, user: &UserRow, id: i64) -> Result<Vec<FastPkiCa>> {
        let mut chain = vec![self.fastpki_ca_for(user, id, Action::Read).await?];
        while let Some(parent) = chain.last().and_then(|c| c.parent_num) {
            if chain.len() > 16 {
                return Err(Error::internal("CA hierarchy deeper than 16"));
            }
            chain.push(self.fastpki_ca_or_404(parent).await?);
        }
        Ok(chain)
    }

    /// A CA's direct children.
    pub async fn fastpki_ca_children(&self, user: &UserRow, id: i64) -> Result<Vec<FastPkiCa>> {
        let ca = self.fastpki_ca_for(user, id, Action::Read).await?;
        Ok(self.store.list_fastpki_cas(None, Some(&ca.ca.id)).await?)
    }

    /// The CA's private key (PKCS#8 PEM), with the export right; audited. A key on a PKCS#11
    /// token never leaves it (409).
    pub async fn export_fastpki_ca_key(&self, user: &UserRow, id: i64) -> Result<(FastPkiCa, String)> {
        let ca = self.fastpki_ca_for(user, id, Action::ExportPrivateKey).await?;
        let key = self.load_key(&ca.ca.tenant_id, &ca.ca.key_id).await?;
        let pem = key
            .private_key_pem()
            .ok_or_else(|| Error::conflict("this CA's key is held on a PKCS#11 token and can never be exported"))?
            .to_owned();
        let caller = caller_in(user, &ca.ca.tenant_id);
        self.audit_before_release(&caller, "ca.private_key_export", &ca.ca.id, format!("key={}", ca.ca.key_id)).await?;
        Ok((ca, pem))
    }

    /// Takes the CA out of /api/v1 (409 while it has child CAs): it signs nothing more, and its
    /// certificates leave the /api/v1 lists; CRL and OCSP keep answering for what it issued.
    pub async fn delete_fastpki_ca(&self, user: &UserRow, id: i64) -> Result<()> {
        let ca = self.fastpki_ca_for(user, id, Action::DeleteCa).await?;
        let children = self.store.list_fastpki_cas(None, Some(&ca.ca.id)).await?.len();
        if children > 0 {
            return Err(Error::conflict(format!("CA {id} has {children} child CA(s) and cannot be deleted")));
        }
        let caller = caller_in(user, &ca.ca.tenant_id);
        let audit = self.audit_row(&caller, "ca.delete", &ca.ca.id, format!("Deleted CA '{}'", ca.fastpki.name));
        self.store.retire_ca(&ca.ca.tenant_id, &ca.ca.id, &audit).await?;
        self.cas.clear();
        Ok(())
    }
}

impl Authority {
    /// Moves a CA to another organisation (superusers only), with every certificate it issued;
    /// with `cascade`, its descendant CAs of the same organisation and theirs too. What names the
    /// CA in its old tenant (roles, ACME directories, EST labels, that tenant's API tokens) no
    /// longer reaches it.
    pub async fn move_fastpki_ca(&self, user: &UserRow, id: i64, org: i64, cascade: bool) -> Result<FastPkiCa> {
        if !is_superuser(user) {
            return Err(Error::forbidden("Insufficient permissions"));
        }
        let ca = self.fastpki_ca_or_404(id).await?;
        let target = match self.store.get_fastpki_org(org).await {
            Ok(o) => o,
            Err(certus_store::Error::NotFound) => {
                return Err(Error::policy(format!("Organization with ID {org} not found")));
            }
            Err(e) => return Err(e.into()),
        };
        let from = ca.ca.tenant_id.clone();
        if from == target.tenant_id {
            return Ok(ca);
        }
        let mut moving = vec![ca.ca.id.clone()];
        if cascade {
            let tenant_cas = self.store.list_cas(&from).await?;
            // Breadth-first over the parent links; a CA is added once.
            let mut i = 0;
            while i < moving.len() {
                let parent = moving[i].clone();
                for child in tenant_cas.iter().filter(|c| c.parent_ca_id.as_deref() == Some(parent.as_str())) {
                    if !moving.contains(&child.id) {
                        moving.push(child.id.clone());
                    }
                }
                i += 1;
            }
        }
        let caller = caller_in(user, &from);
        let detail = format!("Moved CA '{}' to organization {org} ({} CA(s))", ca.fastpki.name, moving.len());
        let audit = self.audit_row(&caller, "ca.update", &ca.ca.id, detail);
        self.store.move_cas(&moving, &from, &target.tenant_id, &audit).await?;
        self.cas.clear();
        self.fastpki_ca_or_404(id).await
    }
}

impl Authority {
    /// The CA a public download slug (`my-root-ca-3`) names: both its name part and its id must
    /// match, so ids cannot be enumerated with any prefix.
    pub async fn fastpki_ca_by_slug(&self, slug: &str) -> Result<FastPkiCa> {
        let not_found = || Error::not_found("CA not found");
        let id: i64 = slug.rsplit_once('-').and_then(|(_, id)| id.parse().ok()).ok_or_else(not_found)?;
        match self.store.get_fastpki_ca(id).await {
            Ok(ca) if super::slug(&ca.fastpki.name, id) == slug => Ok(ca),
            Ok(_) | Err(certus_store::Error::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }
}
