//! CRLs. A revocation rebuilds only the CA's delta CRL (entries since the complete CRL); the
//! complete CRL is rebuilt when fetched after a revocation (so many revocations cost one
//! rebuild), when forced, and hourly. Complete and delta CRLs share one CRL Number sequence per
//! CA, kept in the database, so numbers only grow, across restarts and nodes.

use certus_store::CrlRow;
use certus_x509::{CrlEntry, CrlKind, CrlSpec, RevocationReason, build_crl};
use time::Duration;

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, blocking, from_secs, serial_octets};

/// How often a complete CRL is rebuilt even without revocations.
pub const CRL_REFRESH_SECS: i64 = 3600;
/// nextUpdate of a complete CRL is a day out: relying parties keep a valid CRL if a refresh is late.
const CRL_LIFETIME: Duration = Duration::hours(24);
/// A delta CRL is short-lived and rebuilt at least this often when fetched.
const DELTA_REFRESH_SECS: i64 = 300;
const DELTA_LIFETIME: Duration = Duration::hours(1);
const DELTA_OVERLAP_SECS: i64 = 300;

/// A CRL as served.
#[derive(Debug, Clone)]
pub struct CrlView {
    /// DER.
    pub der: Vec<u8>,
    /// The CRL Number.
    pub crl_number: i64,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: i64,
    /// For a delta: its base CRL Number.
    pub base_number: Option<i64>,
}

impl From<CrlRow> for CrlView {
    fn from(r: CrlRow) -> Self {
        CrlView {
            der: r.der,
            crl_number: r.crl_number,
            this_update: r.this_update,
            next_update: r.next_update,
            base_number: r.base_number,
        }
    }
}

impl Authority {
    /// A CA that issues CRLs: one Certus holds the key of.
    async fn crl_issuer(&self, ca_id: &str) -> Result<certus_store::CaRow> {
        let ca = self.store.get_ca_public(ca_id).await.not_found_as("CA")?;
        if ca.key_store == crate::KEYLESS {
            return Err(Error::not_found("no CRL: this CA was imported without its private key"));
        }
        Ok(ca)
    }

    /// The current complete CRL of a CA, for relying parties (no token); rebuilt first if a
    /// revocation happened since, or it is missing or older than the refresh interval.
    pub async fn public_crl(&self, ca_id: &str) -> Result<CrlView> {
        let ca = self.crl_issuer(ca_id).await?;
        let epoch = self.store.revocation_epoch(ca_id).await?;
        let fresh_after = self.now().unix_timestamp() - CRL_REFRESH_SECS;
        match self.store.get_crl(ca_id, false).await? {
            Some(crl) if crl.this_update > fresh_after && crl.epoch == epoch => Ok(crl.into()),
            _ => self.rebuild_crl(&ca.tenant_id, ca_id, None).await,
        }
    }

    /// The current delta CRL of a CA (the complete CRL's Freshest CRL target); public.
    pub async fn public_delta_crl(&self, ca_id: &str) -> Result<CrlView> {
        let ca = self.crl_issuer(ca_id).await?;
        let epoch = self.store.revocation_epoch(ca_id).await?;
        // The base only needs to be current by age: revocations since it are the delta's job.
        let base: CrlView = match self.store.get_crl(ca_id, false).await? {
            Some(b) if b.this_update > self.now().unix_timestamp() - CRL_REFRESH_SECS => b.into(),
            _ => self.rebuild_crl(&ca.tenant_id, ca_id, None).await?,
        };
        let fresh_after = self.now().unix_timestamp() - DELTA_REFRESH_SECS;
        match self.store.get_crl(ca_id, true).await? {
            Some(d) if d.this_update > fresh_after && d.epoch == epoch && d.base_number == Some(base.crl_number) => {
                Ok(d.into())
            }
            _ => self.rebuild_delta(&ca.tenant_id, ca_id).await,
        }
    }

    /// Forces a rebuild of the complete CRL (`POST /v1/pki/ca/{id}/crl`).
    pub async fn regenerate_crl(&self, caller: &Caller, ca_id: &str) -> Result<CrlView> {
        caller.require(Scope::Admin)?;
        self.store.get_ca(&caller.tenant_id, ca_id).await.not_found_as("CA")?;
        self.rebuild_crl(&caller.tenant_id, ca_id, Some(caller)).await
    }

    /// Rebuilds every complete CRL older than the refresh interval; run periodically.
    pub async fn refresh_stale_crls(&self) -> Result<usize> {
        let stale = self.store.cas_with_stale_crl(self.now().unix_timestamp() - CRL_REFRESH_SECS).await?;
        for ca_id in &stale {
            let ca = self.store.get_ca_public(ca_id).await?;
            self.rebuild_crl(&ca.tenant_id, ca_id, None).await?;
        }
        Ok(stale.len())
    }

    /// Rebuilds the complete CRL; `by` is the operator who asked (audited with the CRL).
    pub(crate) async fn rebuild_crl(&self, tenant_id: &str, ca_id: &str, by: Option<&Caller>) -> Result<CrlView> {
        let delta_url = format!("{}/delta", self.crl_url(ca_id));
        self.build_and_store(tenant_id, ca_id, None, CrlKind::Complete { delta_url: Some(delta_url) }, by).await
    }

    /// Rebuilds the delta CRL against the stored complete CRL (building that first if none).
    pub(crate) async fn rebuild_delta(&self, tenant_id: &str, ca_id: &str) -> Result<CrlView> {
        let base = match self.store.get_crl(ca_id, false).await? {
            Some(base) => base.into(),
            None => self.rebuild_crl(tenant_id, ca_id, None).await?,
        };
        let kind = CrlKind::Delta { base_number: u64::try_from(base.crl_number).map_err(Error::internal)? };
        self.build_and_store(tenant_id, ca_id, Some((base.this_update, base.crl_number)), kind, None).await
    }

    /// `delta_of`: the base CRL's (thisUpdate, number) for a delta; `None` for a complete CRL.
    async fn build_and_store(
        &self,
        tenant_id: &str,
        ca_id: &str,
        delta_of: Option<(i64, i64)>,
        kind: CrlKind,
        by: Option<&Caller>,
    ) -> Result<CrlView> {
        let started = std::time::Instant::now();
        let ca = self.store.get_ca(tenant_id, ca_id).await.not_found_as("CA")?;
        // Number first, then the epoch and revocations, then store: builds of one CA are
        // serialised (across nodes too), so a higher number never lists less.
        let mut build = self.store.begin_crl_build(ca_id).await?;
        let epoch = build.revocation_epoch().await?;
        let this_update = self.now();
        // A revocation stamped just before the base was built may have committed just after it
        // was read; the overlap puts such entries in the delta too (listing one twice is harmless).
        let since = delta_of.map(|(t, _)| t - DELTA_OVERLAP_SECS).unwrap_or(0);
        let revoked = build.revoked(since, this_update.unix_timestamp()).await?;
        let crl_number = build.number();
        let lifetime = if delta_of.is_some() { DELTA_LIFETIME } else { CRL_LIFETIME };
        let number = u64::try_from(crl_number).map_err(Error::internal)?;
        let key = self.load_key(tenant_id, &ca.key_id).await?;
        let issuer_der = ca.cert_der.clone();
        // A million entries take a while to read into CRL entries: off the async runtime too.
        let der = blocking(move || {
            let entries = revoked
                .entries()?
                .into_iter()
                .map(|e| {
                    Ok(CrlEntry {
                        serial: serial_octets(e.serial)?,
                        revoked_at: from_secs(e.revoked_at),
                        reason: RevocationReason::from_name(e.reason).unwrap_or(RevocationReason::Unspecified),
                    })
                })
                .collect::<Result<_>>()?;
            drop(revoked); // tens of MB for a large CRL: not kept through the build
            let spec = CrlSpec { crl_number: number, this_update, next_update: this_update + lifetime, entries, kind };
            Ok(build_crl(&spec, &issuer_der, &*key)?)
        })
        .await?;
        let row = CrlRow {
            ca_id: ca_id.to_owned(),
            crl_number,
            der,
            this_update: this_update.unix_timestamp(),
            next_update: (this_update + lifetime).unix_timestamp(),
            epoch,
            base_number: delta_of.map(|(_, n)| n),
        };
        let audit = by.map(|c| self.audit_row(c, "crl.regenerate", ca_id, format!("crl_number={crl_number}")));
        build.finish(&row, audit.as_ref()).await?;
        tracing::info!(
            ca_id,
            crl_number,
            delta = delta_of.is_some(),
            bytes = row.der.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built CRL"
        );
        Ok(row.into())
    }
}
