//! Trust anchors: external CA certificates that `certificates/validate` accepts as roots.

use certus_store::TrustAnchorRow;
use certus_x509::{certs_from_pem, parse_certificate};

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, new_id};

/// A trust anchor.
pub type TrustAnchorView = TrustAnchorRow;

impl Authority {
    /// Adds a trust anchor.
    pub async fn create_trust_anchor(&self, caller: &Caller, name: &str, pem: &str) -> Result<TrustAnchorView> {
        caller.require(Scope::Admin)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(Error::malformed("name is required (1 to 128 characters)"));
        }
        let ders = certs_from_pem(pem)?;
        let [der] = ders.as_slice() else {
            return Err(Error::malformed("certificate_pem must hold exactly one certificate"));
        };
        let info = parse_certificate(der)?;
        if !info.is_ca {
            return Err(Error::policy("a trust anchor must be a CA certificate (basicConstraints cA=TRUE)"));
        }
        let row = TrustAnchorRow {
            id: new_id("trust_anchor"),
            tenant_id: caller.tenant_id.clone(),
            name: name.to_owned(),
            cert_der: der.clone(),
            subject: info.subject,
            not_after: info.not_after.unix_timestamp(),
            created_at: self.now_secs(),
        };
        let audit = self.audit_row(caller, "trust_anchor.create", &row.id, format!("name={name}"));
        self.store.insert_trust_anchor(&row, &audit).await?;
        Ok(row)
    }

    /// The tenant's trust anchors.
    pub async fn list_trust_anchors(&self, caller: &Caller) -> Result<Vec<TrustAnchorView>> {
        Ok(self.store.list_trust_anchors(&caller.tenant_id).await?)
    }

    /// Removes a trust anchor.
    pub async fn delete_trust_anchor(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "trust_anchor.delete", id, String::new());
        self.store.delete_trust_anchor(&caller.tenant_id, id, &audit).await.not_found_as("trust anchor")?;
        Ok(())
    }
}
