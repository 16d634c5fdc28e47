//! CRLs: rebuilt on every revocation, on demand, and hourly; served from the stored copy.

use certus_store::CrlRow;
use certus_x509::{build_crl, CrlEntry, CrlSpec, RevocationReason};
use time::Duration;

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{blocking, from_secs, now, Authority};

/// How often a CRL is rebuilt even without revocations.
pub const CRL_REFRESH_SECS: i64 = 3600;
/// nextUpdate is a day out: relying parties keep a valid CRL if a refresh is late.
const CRL_LIFETIME: Duration = Duration::hours(24);

#[derive(Debug, Clone)]
pub struct CrlView {
    pub der: Vec<u8>,
    pub crl_number: i64,
    pub this_update: i64,
    pub next_update: i64,
}

impl From<CrlRow> for CrlView {
    fn from(r: CrlRow) -> Self {
        CrlView { der: r.der, crl_number: r.crl_number, this_update: r.this_update, next_update: r.next_update }
    }
}

impl Authority {
    /// The current CRL of a CA, for relying parties (no token). Rebuilt first if it is missing
    /// or older than the refresh interval.
    pub async fn public_crl(&self, ca_id: &str) -> Result<CrlView> {
        let ca = self.store.get_ca_public(ca_id).await.not_found_as("CA")?;
        let fresh_after = now().unix_timestamp() - CRL_REFRESH_SECS;
        match self.store.get_crl(ca_id).await? {
            Some(crl) if crl.this_update > fresh_after => Ok(crl.into()),
            _ => self.rebuild_crl(&ca.tenant_id, ca_id).await,
        }
    }

    /// Forces a rebuild (`POST /v1/pki/ca/{id}/crl`).
    pub async fn regenerate_crl(&self, caller: &Caller, ca_id: &str) -> Result<CrlView> {
        caller.require(Scope::Admin)?;
        self.store.get_ca(&caller.tenant_id, ca_id).await.not_found_as("CA")?;
        let crl = self.rebuild_crl(&caller.tenant_id, ca_id).await?;
        self.audit(caller, "crl.regenerate", ca_id, format!("crl_number={}", crl.crl_number)).await;
        Ok(crl)
    }

    /// Rebuilds every CRL older than the refresh interval; run periodically by the server.
    pub async fn refresh_stale_crls(&self) -> Result<usize> {
        let stale = self.store.cas_with_stale_crl(now().unix_timestamp() - CRL_REFRESH_SECS).await?;
        for ca_id in &stale {
            let ca = self.store.get_ca_public(ca_id).await?;
            self.rebuild_crl(&ca.tenant_id, ca_id).await?;
        }
        Ok(stale.len())
    }

    pub(crate) async fn rebuild_crl(&self, tenant_id: &str, ca_id: &str) -> Result<CrlView> {
        let ca = self.store.get_ca(tenant_id, ca_id).await.not_found_as("CA")?;
        let this_update = now();
        let entries = self
            .store
            .revoked_for_ca(ca_id, this_update.unix_timestamp())
            .await?
            .into_iter()
            .map(|e| CrlEntry {
                serial: hex::decode(&e.serial).unwrap_or_default(),
                revoked_at: from_secs(e.revoked_at),
                reason: RevocationReason::from_name(&e.reason).unwrap_or(RevocationReason::Unspecified),
            })
            .collect();
        let crl_number = self.store.next_crl_number(ca_id).await?;
        let spec = CrlSpec {
            crl_number: u64::try_from(crl_number).map_err(Error::internal)?,
            this_update,
            next_update: this_update + CRL_LIFETIME,
            entries,
        };
        let key = self.load_key(tenant_id, &ca.key_id).await?;
        let issuer_der = ca.cert_der.clone();
        let der = blocking(move || Ok(build_crl(&spec, &issuer_der, &key)?)).await?;
        let row = CrlRow {
            ca_id: ca_id.to_owned(),
            crl_number,
            der,
            this_update: this_update.unix_timestamp(),
            next_update: (this_update + CRL_LIFETIME).unix_timestamp(),
        };
        self.store.store_crl(&row).await?;
        Ok(row.into())
    }
}
