//! The web console's engine side: sessions opened with a /api/v1 user's password or a
//! superuser API token, the tenants a viewer may see, and the reads and actions its screens
//! make. Every action goes through the same engine calls as the API doors, with the /api/v1
//! permission model (superusers everything; others their organisation, by role and capability).

use certus_store::{AuditPageRow, CaCounts, CaRow, CertRow, ConsoleSessionRow, CsrRow, TenantRow, UserRow};
use certus_x509::CertInfo;

use crate::auth::Caller;
use crate::error::{Error, NotFoundAs, Result};
use crate::fastpki::access::{Action, allowed, caller_in, is_superuser};
use crate::users::api_token_superuser;
use crate::{Authority, certs::native_reason};

/// A session ends after this long without a request.
pub(crate) const CONSOLE_IDLE_SECS: i64 = 30 * 60;
/// And after this long whatever happens.
pub(crate) const CONSOLE_MAX_SECS: i64 = 12 * 3600;
/// A session's last use is written at most this often (a page load is not a write).
const TOUCH_EVERY_SECS: i64 = 15;

/// What a console viewer may do besides reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Issue and sign certificates.
    Issue,
    /// Revoke certificates.
    Revoke,
    /// Decide on and sign queued CSRs.
    ApproveCsr,
    /// Read the audit log.
    ReadAudit,
}

/// A signed-in console viewer.
#[derive(Debug, Clone)]
pub struct ConsoleViewer {
    /// The user (a stand-in superuser for an API token).
    pub user: UserRow,
    /// The session's CSRF token, for every form.
    pub csrf: String,
    /// The tenant on screen.
    pub tenant: TenantRow,
    /// Every tenant the viewer may switch to.
    pub tenants: Vec<TenantRow>,
    session_hash: String,
}

impl ConsoleViewer {
    /// Whether the viewer acts in every tenant.
    pub fn is_superuser(&self) -> bool {
        is_superuser(&self.user)
    }

    /// Whether the viewer may do this in the tenant on screen.
    pub fn may(&self, action: ConsoleAction) -> bool {
        let action = match action {
            ConsoleAction::Issue => Action::CreateCert,
            ConsoleAction::Revoke => Action::RevokeCert,
            // Approving puts a certificate into the world: admins (or superusers) only.
            ConsoleAction::ApproveCsr | ConsoleAction::ReadAudit => {
                return self.is_superuser() || self.user.role == "admin";
            }
        };
        allowed(&self.user, self.user.org_num, action)
    }

    fn require(&self, action: ConsoleAction) -> Result<()> {
        if self.may(action) { Ok(()) } else { Err(Error::forbidden("Insufficient permissions")) }
    }

    /// The engine caller the viewer acts as in the tenant on screen.
    pub fn caller(&self) -> Caller {
        let mut caller = caller_in(&self.user, &self.tenant.id);
        caller.superuser = self.is_superuser();
        caller
    }
}

/// The dashboard's figures for the tenant on screen.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    /// Every CA of the tenant with its counts.
    pub cas: Vec<(CaRow, CaCounts)>,
    /// The newest certificates.
    pub recent_issued: Vec<CertRow>,
    /// The latest revocations.
    pub recent_revoked: Vec<CertRow>,
    /// Unrevoked certificates expiring on each of the next 90 days.
    pub expiries_by_day: Vec<i64>,
}

/// A certificate as its console page shows it.
#[derive(Debug, Clone)]
pub struct CertificateDetail {
    /// The stored record.
    pub row: CertRow,
    /// Its decoded fields.
    pub info: CertInfo,
    /// Its issuing CA, then that CA's issuers up to the root.
    pub chain: Vec<CaRow>,
}

fn session_hash(cookie: &str) -> String {
    hex::encode(certus_kms::sha256(cookie.as_bytes()))
}

fn fresh_secret() -> String {
    hex::encode(certus_kms::random_bytes::<32>())
}

impl Authority {
    /// Opens a console session with a /api/v1 user's password; returns the cookie value.
    pub async fn console_login(&self, username: &str, password: &str) -> Result<String> {
        let user = self.password_login(username, password).await?;
        self.open_console_session(user.id, None).await
    }

    /// Opens a console session with a superuser API token (such as the bootstrap token).
    pub async fn console_login_with_token(&self, token: &str) -> Result<String> {
        match self.authenticate(Some(token)).await {
            Ok(caller) if caller.superuser => self.open_console_session(0, Some(caller.token_id)).await,
            _ => Err(Error::unauthorized("Incorrect username or password")),
        }
    }

    async fn open_console_session(&self, user_id: i64, token_id: Option<String>) -> Result<String> {
        let cookie = fresh_secret();
        let now = self.now_secs();
        let row = ConsoleSessionRow {
            id_hash: session_hash(&cookie),
            user_id,
            token_id,
            csrf: fresh_secret(),
            tenant_id: None,
            created_at: now,
            last_seen_at: now,
        };
        self.store.insert_console_session(&row).await?;
        Ok(cookie)
    }

    /// Whether a fresh install still lets the first user be created without signing in.
    pub async fn first_user_bootstrap_open(&self) -> Result<bool> {
        Ok(self.registration.first_user && self.store.first_user_bootstrap_open().await?)
    }

    /// The viewer behind a session cookie; `tenant` switches the tenant on screen. Expired,
    /// logged-out and invalidated sessions, deactivated users and revoked tokens all get
    /// Unauthorized.
    pub async fn console_viewer(&self, cookie: &str, tenant: Option<&str>) -> Result<ConsoleViewer> {
        let invalid = || Error::unauthorized("Your session has ended; please sign in again");
        let hash = session_hash(cookie);
        let row = match self.store.get_console_session(&hash).await {
            Ok(row) => row,
            Err(certus_store::Error::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        let now = self.now_secs();
        if now - row.last_seen_at > CONSOLE_IDLE_SECS || now - row.created_at > CONSOLE_MAX_SECS {
            self.store.delete_console_session(&hash).await?;
            return Err(invalid());
        }
        let user = match &row.token_id {
            Some(token_id) => match self.store.get_token(token_id).await {
                Ok(t) if t.revoked_at.is_none() && t.superuser => api_token_superuser(),
                Ok(_) | Err(certus_store::Error::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            },
            None => match self.store.get_user(row.user_id).await {
                Ok(u) if u.is_active && u.tokens_invalidated_at.is_none_or(|at| at < row.created_at) => u,
                Ok(_) | Err(certus_store::Error::NotFound) => return Err(invalid()),
                Err(e) => return Err(e.into()),
            },
        };
        let all = self.store.list_tenants().await?;
        let tenants: Vec<TenantRow> = if is_superuser(&user) {
            all
        } else {
            all.into_iter().filter(|t| user.org_id.as_ref() == Some(&t.org_id)).collect()
        };
        let wanted = tenant.or(row.tenant_id.as_deref());
        let Some(current) = wanted.and_then(|w| tenants.iter().find(|t| t.id == w)).or(tenants.first()).cloned() else {
            return Err(Error::forbidden("Your account belongs to no organisation with a tenant; nothing to show"));
        };
        let switched = row.tenant_id.as_deref() != Some(current.id.as_str());
        if switched || now - row.last_seen_at >= TOUCH_EVERY_SECS {
            self.store.touch_console_session(&hash, now, Some(&current.id)).await?;
        }
        Ok(ConsoleViewer { user, csrf: row.csrf, tenant: current, tenants, session_hash: hash })
    }

    /// Ends the viewer's session.
    pub async fn console_logout(&self, viewer: &ConsoleViewer) -> Result<()> {
        Ok(self.store.delete_console_session(&viewer.session_hash).await?)
    }

    /// Forgets idle and over-age console sessions (run by the periodic sweeper).
    pub(crate) async fn sweep_console_sessions(&self) -> Result<u64> {
        let now = self.now_secs();
        Ok(self.store.sweep_console_sessions(now - CONSOLE_IDLE_SECS, now - CONSOLE_MAX_SECS).await?)
    }

    /// The dashboard of the tenant on screen.
    pub async fn console_dashboard(&self, viewer: &ConsoleViewer) -> Result<Dashboard> {
        let tenant = &viewer.tenant.id;
        let now = self.now_secs();
        let counts = self.store.ca_counts(tenant, now).await?;
        let cas = self
            .store
            .list_cas(tenant)
            .await?
            .into_iter()
            .map(|ca| {
                let c = counts.iter().find(|c| c.ca_id == ca.id).cloned().unwrap_or_default();
                (ca, c)
            })
            .collect();
        let newest = crate::ListRequest { include_revoked: true, limit: Some(10), ..Default::default() };
        Ok(Dashboard {
            cas,
            recent_issued: self.list_certificates(&viewer.caller(), newest).await?.data,
            recent_revoked: self.store.recent_revocations(tenant, 10).await?,
            expiries_by_day: self.store.expiries_by_day(tenant, now, 90).await?,
        })
    }

    /// The CAs of the tenant on screen, each with its issuer's id.
    pub async fn console_cas(&self, viewer: &ConsoleViewer) -> Result<Vec<CaRow>> {
        Ok(self.store.list_cas(&viewer.tenant.id).await?)
    }

    /// A certificate of the tenant on screen, decoded, with its chain.
    pub async fn console_certificate(&self, viewer: &ConsoleViewer, id: &str) -> Result<CertificateDetail> {
        let row = self.store.get_certificate(&viewer.tenant.id, id).await.not_found_as("certificate")?;
        let info = certus_x509::parse_certificate(&row.cert_der)?;
        let mut chain = Vec::new();
        let mut next = row.issuer_ca_id.clone();
        // A CA chain is short; the bound only guards against a cycle in stored data.
        while let Some(ca_id) = next.take().filter(|_| chain.len() < 16) {
            let ca = self.store.get_ca(&viewer.tenant.id, &ca_id).await.not_found_as("CA")?;
            next = ca.parent_ca_id.clone();
            chain.push(ca);
        }
        Ok(CertificateDetail { row, info, chain })
    }

    /// Revokes a certificate of the tenant on screen.
    pub async fn console_revoke(&self, viewer: &ConsoleViewer, id: &str, reason: &str) -> Result<()> {
        viewer.require(ConsoleAction::Revoke)?;
        let reason = native_reason(Some(reason))?;
        let row = self.store.get_certificate(&viewer.tenant.id, id).await.not_found_as("certificate")?;
        self.revoke_row(&viewer.caller(), &row, reason, "via the console".into()).await?;
        Ok(())
    }

    /// Refuses unless the viewer may issue in the tenant on screen.
    pub fn console_may_issue(&self, viewer: &ConsoleViewer) -> Result<Caller> {
        viewer.require(ConsoleAction::Issue)?;
        Ok(viewer.caller())
    }

    /// The tenant's CSRs waiting for a decision, then the approved ones waiting to be signed.
    pub async fn console_csr_queue(&self, viewer: &ConsoleViewer) -> Result<Vec<CsrRow>> {
        viewer.require(ConsoleAction::ApproveCsr)?;
        let mut queue = self.store.list_csrs(&viewer.tenant.id, "pending", 200).await?;
        queue.extend(self.store.list_csrs(&viewer.tenant.id, "approved", 200).await?);
        Ok(queue)
    }

    /// The engine caller for an admin action (a CSR decision, a webhook test), once the viewer
    /// may act as an admin.
    pub fn console_admin_caller(&self, viewer: &ConsoleViewer) -> Result<Caller> {
        viewer.require(ConsoleAction::ApproveCsr)?;
        Ok(viewer.caller())
    }

    /// A page of the audit log: a superuser reads every entry, an admin the tenant's.
    pub async fn console_audit(
        &self,
        viewer: &ConsoleViewer,
        action_prefix: Option<&str>,
        before: Option<i64>,
    ) -> Result<Vec<AuditPageRow>> {
        viewer.require(ConsoleAction::ReadAudit)?;
        let tenant = if viewer.is_superuser() { None } else { Some(viewer.tenant.id.as_str()) };
        Ok(self.store.audit_page(tenant, action_prefix, before, 50).await?)
    }
}

impl Authority {
    /// Verifies the whole audit hash chain (superusers: the chain spans every tenant). Returns
    /// whether it is intact and what was found.
    pub async fn console_verify_audit(&self, viewer: &ConsoleViewer) -> Result<(bool, String)> {
        if !viewer.is_superuser() {
            return Err(Error::forbidden("only a superuser verifies the audit chain: it spans every tenant"));
        }
        Ok(match self.store.verify_audit_chain().await? {
            certus_store::AuditCheck::Intact { entries } => {
                (true, format!("The audit chain verifies: {entries} entries, every hash fits."))
            }
            certus_store::AuditCheck::Broken { id, seq, reason } => {
                (false, format!("The audit chain is broken at entry {id} (position {seq}): {reason}"))
            }
        })
    }
}

impl Authority {
    /// The tenant's webhook endpoints, each with its latest deliveries (admins and superusers).
    pub async fn console_webhooks(
        &self,
        viewer: &ConsoleViewer,
    ) -> Result<Vec<(crate::WebhookView, Vec<certus_store::DeliveryRow>)>> {
        viewer.require(ConsoleAction::ReadAudit)?;
        let caller = viewer.caller();
        let mut out = Vec::new();
        for hook in self.list_webhooks(&caller).await? {
            let deliveries = self.webhook_deliveries(&caller, &hook.id, 20).await?;
            out.push((hook, deliveries));
        }
        Ok(out)
    }
}
