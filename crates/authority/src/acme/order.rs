//! Orders, authorizations and challenges, finalization through the one pipeline, certificate
//! download, revocation, and renewal information (RFC 9773).

use std::net::IpAddr;
use std::time::Duration;

use certus_store::{AcmeAccountRow, AcmeAuthzRow, AcmeOrderRow, CertRow, DoorRecord};
use certus_x509::{CsrInfo, RevocationReason, Subject, parse_certificate, parse_csr};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account::account_caller;
use super::{AcmeRequest, ORDER_SECS, b64, directory_policy, problem, unb64};
use crate::error::{DetailValue, Error, ErrorDetail, ErrorKind, NotFoundAs, Result};
use crate::policy::{domain_allowed, normalize_dns_name};
use crate::{Authority, new_id, serial_key};

/// How long a challenge POST waits for its validation before answering `processing`.
const CHALLENGE_WAIT: Duration = Duration::from_millis(500);
/// The challenge types, in the order an authorization lists them.
pub(super) const CHALLENGE_TYPES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrderPayload {
    identifiers: Vec<IdentifierIn>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
}

#[derive(Deserialize)]
struct IdentifierIn {
    #[serde(rename = "type")]
    typ: String,
    value: String,
}

#[derive(Deserialize)]
struct FinalizePayload {
    csr: String,
}

#[derive(Deserialize)]
struct RevokePayload {
    certificate: String,
    #[serde(default)]
    reason: Option<i64>,
}

/// An order with what its JSON shows.
#[derive(Debug, Clone)]
pub struct OrderView {
    /// The order (its status as of now: a lapsed open order shows `invalid`).
    pub row: AcmeOrderRow,
    /// Its authorizations' ids.
    pub authz_ids: Vec<String>,
}

/// A certificate's suggested renewal window (RFC 9773 §4.2), Unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct RenewalWindow {
    /// Renew from here,
    pub start: i64,
    /// and before here.
    pub end: i64,
}

/// An order's identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identifier {
    typ: &'static str,
    /// Lower-case name (with `*.` for a wildcard) or canonical address.
    value: String,
}

fn identifiers_json(ids: &[Identifier]) -> String {
    Value::Array(ids.iter().map(|i| json!({"type": i.typ, "value": i.value})).collect()).to_string()
}

fn read_identifiers(json_text: &str) -> Result<Vec<(String, String)>> {
    let list: Vec<Value> = serde_json::from_str(json_text).map_err(Error::internal)?;
    Ok(list
        .iter()
        .map(|v| {
            (v["type"].as_str().unwrap_or_default().to_owned(), v["value"].as_str().unwrap_or_default().to_owned())
        })
        .collect())
}

/// A problem document as stored on a failed authorization or order.
pub(super) fn problem_json(typ: &str, detail: &str) -> String {
    json!({"type": format!("urn:ietf:params:acme:error:{typ}"), "detail": detail, "status": 403}).to_string()
}

fn checked_identifier(i: &IdentifierIn) -> std::result::Result<Identifier, String> {
    match i.typ.as_str() {
        "dns" => {
            let name = normalize_dns_name(&i.value).map_err(|e| e.message)?;
            if name.parse::<IpAddr>().is_ok()
                || name.rsplit('.').next().is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!("{name:?} is an address; use an \"ip\" identifier"));
            }
            if name.matches('*').count() > 1 || (name.contains('*') && !name.starts_with("*.")) {
                return Err(format!("{name:?}: a wildcard is only a whole leftmost label"));
            }
            Ok(Identifier { typ: "dns", value: name })
        }
        "ip" => {
            let ip: IpAddr = i.value.trim().parse().map_err(|_| format!("{:?} is not an IP address", i.value))?;
            Ok(Identifier { typ: "ip", value: ip.to_string() })
        }
        other => Err(format!("identifier type {other:?}; use dns or ip")),
    }
}

/// Refuses identifiers, one subproblem each (RFC 8555 §6.7.1): the detail's value is the JSON
/// array of `{type, value, problem, detail}` the door renders as `subproblems`.
fn rejected(typ: &'static str, message: &str, subproblems: Vec<Value>) -> Error {
    problem(ErrorKind::Malformed, typ, message).with_detail(ErrorDetail {
        code: typ,
        field: Some("subproblems"),
        value: Some(DetailValue::Text(Value::Array(subproblems).to_string())),
        with_message: true,
    })
}

fn subproblem(typ: &str, value: &str, problem_type: &str, detail: &str) -> Value {
    json!({"type": typ, "value": value, "problem": problem_type, "detail": detail})
}

impl Authority {
    /// newOrder: checks every identifier against the directory's policy, then opens one
    /// authorization per identifier.
    pub async fn acme_new_order(&self, req: &AcmeRequest) -> Result<OrderView> {
        let account = req.signer()?;
        let p: NewOrderPayload = req.payload_json()?;
        if p.not_before.is_some() || p.not_after.is_some() {
            return Err(problem(
                ErrorKind::Malformed,
                "malformed",
                "notBefore and notAfter are not offered; the directory's policy sets the validity",
            ));
        }
        if p.identifiers.is_empty() {
            return Err(problem(ErrorKind::Malformed, "malformed", "an order needs at least one identifier"));
        }
        self.check_san_count(p.identifiers.len())
            .map_err(|e| problem(ErrorKind::Malformed, "rejectedIdentifier", e.message))?;
        let mut ids: Vec<Identifier> = Vec::new();
        let mut subproblems = Vec::new();
        for i in &p.identifiers {
            match checked_identifier(i).and_then(|id| self.reachable(id)) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(m) => subproblems.push(subproblem(&i.typ, &i.value, "rejectedIdentifier", &m)),
            }
        }
        if !subproblems.is_empty() {
            return Err(rejected("rejectedIdentifier", "some identifiers are not valid", subproblems));
        }
        self.check_identifiers_allowed(req, &ids).await?;
        let profile = self.chosen_profile(req, p.profile)?;
        let replaces = match p.replaces {
            Some(ari_id) => Some(self.replaced_certificate(req, account, &ari_id).await?),
            None => None,
        };
        let now = self.now_secs();
        let limit = self.acme.max_unfinished_orders;
        if self.store.count_unfinished_acme_orders(&account.id, now - ORDER_SECS).await? >= i64::from(limit) {
            return Err(problem(
                ErrorKind::Policy,
                "rateLimited",
                format!(
                    "this account has {limit} unfinished orders; finalize them, deactivate their \
                     authorizations, or wait for them to expire"
                ),
            ));
        }
        let order_id = new_id("order");
        let authzs: Vec<AcmeAuthzRow> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let (wildcard, value) = match id.value.strip_prefix("*.") {
                    Some(base) => (true, base.to_owned()),
                    None => (false, id.value.clone()),
                };
                AcmeAuthzRow {
                    id: format!("{order_id}-{n:03}"),
                    order_id: order_id.clone(),
                    id_type: id.typ.to_owned(),
                    id_value: value,
                    wildcard,
                    status: "pending".into(),
                    token: b64(&certus_kms::random_bytes::<32>()),
                    chall_type: None,
                    validated_at: None,
                    error_json: None,
                    expires_at: now + ORDER_SECS,
                }
            })
            .collect();
        let row = AcmeOrderRow {
            id: order_id,
            account_id: account.id.clone(),
            status: "pending".into(),
            identifiers_json: identifiers_json(&ids),
            profile,
            replaces,
            expires_at: now + ORDER_SECS,
            error_json: None,
            certificate_id: None,
            created_at: now,
        };
        match self.store.insert_acme_order(&row, &authzs).await {
            Err(certus_store::Error::Conflict(_)) => {
                return Err(problem(
                    ErrorKind::Conflict,
                    "alreadyReplaced",
                    "another order already replaces this certificate",
                ));
            }
            other => other?,
        }
        Ok(OrderView { authz_ids: authzs.into_iter().map(|a| a.id).collect(), row })
    }

    /// An address validation may never connect to is refused up front.
    fn reachable(&self, id: Identifier) -> std::result::Result<Identifier, String> {
        match id.value.parse::<IpAddr>() {
            Ok(ip) if id.typ == "ip" && !super::validate::address_allowed(&self.acme, ip) => Err(format!(
                "{ip} is a loopback or link-local address, which Certus does not validate unless started with \
                 --acme-allow-loopback"
            )),
            _ => Ok(id),
        }
    }

    /// The role's names and IP rules, applied before any challenge (a profile directory leaves
    /// names to the challenges).
    async fn check_identifiers_allowed(&self, req: &AcmeRequest, ids: &[Identifier]) -> Result<()> {
        let Some(role) = &req.directory.role_name else { return Ok(()) };
        let role = self.role_for_issuance(&req.directory.tenant_id, role).await?;
        let subproblems: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                let refused = match id.typ {
                    "ip" => (!role.allow_ip_sans).then_some("IP identifiers are not allowed by this directory's role"),
                    _ => (!domain_allowed(&id.value, &role.allowed_domains, role.allow_subdomains))
                        .then_some("the name is outside this directory's allowed domains"),
                };
                refused.map(|m| subproblem(id.typ, &id.value, "rejectedIdentifier", m))
            })
            .collect();
        if subproblems.is_empty() {
            Ok(())
        } else {
            Err(rejected("rejectedIdentifier", "the directory's policy does not allow some identifiers", subproblems))
        }
    }

    fn chosen_profile(&self, req: &AcmeRequest, profile: Option<String>) -> Result<Option<String>> {
        let Some(p) = profile else { return Ok(None) };
        let offered: Vec<String> = serde_json::from_str(&req.directory.profiles_json).map_err(Error::internal)?;
        if !offered.contains(&p) {
            return Err(problem(
                ErrorKind::Malformed,
                "invalidProfile",
                format!("profile {p:?} is not offered; the directory's meta.profiles lists those that are"),
            ));
        }
        Ok(Some(p))
    }

    /// The ARI id of a certificate this account was issued, which the new order replaces.
    async fn replaced_certificate(&self, req: &AcmeRequest, account: &AcmeAccountRow, ari_id: &str) -> Result<String> {
        let cert = self.certificate_of_ari_id(&req.directory.tenant_id, ari_id).await?;
        let issued_to = self.store.acme_order_by_certificate(&cert.id).await.ok().map(|o| o.account_id);
        if issued_to.as_deref() != Some(account.id.as_str()) {
            return Err(problem(
                ErrorKind::Forbidden,
                "unauthorized",
                "replaces names a certificate this account was not issued",
            ));
        }
        Ok(ari_id.to_owned())
    }

    /// An order of the signing account.
    pub async fn acme_get_order(&self, req: &AcmeRequest, order_id: &str) -> Result<OrderView> {
        let account = req.signer()?;
        let mut row = self.store.acme_order(order_id).await.not_found_as("order")?;
        if row.account_id != account.id {
            return Err(Error::not_found("order not found"));
        }
        if matches!(row.status.as_str(), "pending" | "ready") && row.expires_at <= self.now_secs() {
            row.status = "invalid".into();
        }
        let authz_ids = self.store.acme_authzs_of_order(&row.id).await?.into_iter().map(|a| a.id).collect();
        Ok(OrderView { row, authz_ids })
    }

    /// The signing account's order ids, 100 a page, and whether more follow.
    pub async fn acme_list_orders(
        &self,
        req: &AcmeRequest,
        account_id: &str,
        page: i64,
    ) -> Result<(Vec<String>, bool)> {
        if req.signer()?.id != account_id {
            return Err(problem(ErrorKind::Forbidden, "unauthorized", "an account lists only its own orders"));
        }
        const PAGE: i64 = 100;
        let mut ids = self.store.acme_order_ids(account_id, page.max(0).saturating_mul(PAGE), PAGE + 1).await?;
        let more = ids.len() as i64 > PAGE;
        ids.truncate(PAGE as usize);
        Ok((ids, more))
    }

    /// An authorization of the signing account, or its deactivation (`{"status": "deactivated"}`).
    pub async fn acme_authz(&self, req: &AcmeRequest, authz_id: &str) -> Result<AcmeAuthzRow> {
        let authz = self.account_authz(req, authz_id).await?;
        if req.is_post_as_get() {
            return Ok(self.lapsed(authz));
        }
        #[derive(Deserialize)]
        struct Deactivate {
            status: Option<String>,
        }
        let p: Deactivate = req.payload_json()?;
        if p.status.as_deref() != Some("deactivated") {
            return Ok(self.lapsed(authz));
        }
        if !self.store.finish_acme_authz(authz_id, &["pending", "valid"], "deactivated", self.now_secs(), None).await? {
            return Err(problem(
                ErrorKind::Malformed,
                "malformed",
                format!("an authorization that is {} cannot be deactivated", authz.status),
            ));
        }
        Ok(self.store.acme_authz(authz_id).await?)
    }

    /// A challenge: POST-as-GET reads it; `{}` asks Certus to validate it. Validation runs in
    /// the background; the answer waits briefly for it and otherwise says `processing`.
    pub async fn acme_challenge(&self, req: &AcmeRequest, authz_id: &str, typ: &str) -> Result<AcmeAuthzRow> {
        let authz = self.account_authz(req, authz_id).await?;
        if !offered_challenges(&authz).contains(&typ) {
            return Err(Error::not_found("challenge not found"));
        }
        if req.is_post_as_get() || authz.status != "pending" || authz.expires_at <= self.now_secs() {
            return Ok(self.lapsed(authz));
        }
        if !self.store.start_acme_authz(authz_id, typ).await? {
            return Ok(self.store.acme_authz(authz_id).await?);
        }
        let account = req.signer()?.clone();
        let key_authorization = format!("{}.{}", authz.token, account.thumbprint);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let authority = self.clone();
        let (id, typ_owned) = (authz_id.to_owned(), typ.to_owned());
        tokio::spawn(async move {
            let outcome = super::validate::validate(&authority.acme, &authz, &typ_owned, &key_authorization).await;
            let (status, error) = match &outcome {
                Ok(()) => ("valid", None),
                Err((t, d)) => ("invalid", Some(problem_json(t, d))),
            };
            let at = authority.now_secs();
            if let Err(e) = authority.store.finish_acme_authz(&id, &["processing"], status, at, error.as_deref()).await
            {
                tracing::error!(error = %e, authz = %id, "recording an ACME validation failed");
            }
            let _ = done_tx.send(());
        });
        let _ = tokio::time::timeout(CHALLENGE_WAIT, done_rx).await;
        Ok(self.store.acme_authz(authz_id).await?)
    }

    async fn account_authz(&self, req: &AcmeRequest, authz_id: &str) -> Result<AcmeAuthzRow> {
        let account = req.signer()?;
        let authz = self.store.acme_authz(authz_id).await.not_found_as("authorization")?;
        let order = self.store.acme_order(&authz.order_id).await.not_found_as("authorization")?;
        if order.account_id != account.id {
            return Err(Error::not_found("authorization not found"));
        }
        Ok(authz)
    }

    /// An open authorization past its expiry shows `expired`.
    fn lapsed(&self, mut authz: AcmeAuthzRow) -> AcmeAuthzRow {
        if matches!(authz.status.as_str(), "pending" | "processing") && authz.expires_at <= self.now_secs() {
            authz.status = "expired".into();
        }
        authz
    }

    /// finalize: the CSR must name exactly the order's identifiers; the directory's policy
    /// plans the certificate and the pipeline signs and records it with the order, atomically.
    pub async fn acme_finalize(&self, req: &AcmeRequest, order_id: &str) -> Result<OrderView> {
        let account = req.signer()?.clone();
        let order = self.acme_get_order(req, order_id).await?.row;
        if order.status != "ready" {
            return Err(problem(
                ErrorKind::Forbidden,
                "orderNotReady",
                format!("the order is {}; finalize it once it is ready", order.status),
            ));
        }
        let p: FinalizePayload = req.payload_json()?;
        let bad_csr = |m: String| problem(ErrorKind::Malformed, "badCSR", m);
        let csr = parse_csr(&unb64(&p.csr, "csr")?).map_err(|e| bad_csr(e.to_string()))?;
        let csr = self.csr_for_order(csr, &read_identifiers(&order.identifiers_json)?).map_err(bad_csr)?;
        let caller = account_caller(&account, &req.directory.tenant_id);
        let policy = directory_policy(&req.directory)?;
        let (plan, key) = self
            .plan_csr_by_policy(&caller, &policy, &csr, order.profile.as_deref(), true)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::Malformed | ErrorKind::Policy => bad_csr(e.message),
                _ => e,
            })?;
        if !self.store.set_acme_order_status(order_id, "ready", "processing", None).await? {
            return Err(problem(ErrorKind::Forbidden, "orderNotReady", "the order is being finalized already"));
        }
        let door = DoorRecord::AcmeOrder { order_id: order_id.to_owned() };
        let mut pipeline_order = self.leaf_order(&caller, &plan, key, None, None, door).await?;
        let (oid, aid) = (order_id.to_owned(), account.id.clone());
        pipeline_order.audit.action = "acme.order.finalize";
        pipeline_order.audit.detail = Box::new(move |row| {
            format!("order={oid} account={aid} serial={} ca={}", row.serial, row.issuer_ca_id.as_deref().unwrap_or("-"))
        });
        if let Err(e) = self.issue_certificate(&caller, pipeline_order).await {
            let typ = if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) {
                "serverInternal"
            } else {
                "badCSR"
            };
            self.store
                .set_acme_order_status(order_id, "processing", "invalid", Some(&problem_json(typ, &e.message)))
                .await?;
            return Err(match e.kind {
                ErrorKind::Malformed | ErrorKind::Policy => bad_csr(e.message),
                _ => e,
            });
        }
        self.acme_get_order(req, order_id).await
    }

    /// The CSR as the order allows it: its names must be exactly the order's identifiers; the
    /// subject keeps only a common name that is one of its DNS names (an address never).
    fn csr_for_order(&self, csr: CsrInfo, identifiers: &[(String, String)]) -> std::result::Result<CsrInfo, String> {
        let mut asked: Vec<(String, String)> = csr
            .dns_names
            .iter()
            .map(|d| ("dns".to_owned(), d.trim_end_matches('.').to_ascii_lowercase()))
            .chain(csr.ip_addresses.iter().map(|ip| ("ip".to_owned(), ip.to_string())))
            .collect();
        let cn = csr.common_name.as_deref().map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty());
        if let Some(cn) = &cn {
            let as_id = match cn.parse::<IpAddr>() {
                Ok(ip) => ("ip".to_owned(), ip.to_string()),
                Err(_) => ("dns".to_owned(), cn.clone()),
            };
            if !asked.contains(&as_id) {
                asked.push(as_id);
            }
        }
        let mut want = identifiers.to_vec();
        asked.sort();
        asked.dedup();
        want.sort();
        if asked != want {
            let names = |l: &[(String, String)]| l.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(", ");
            return Err(format!("the CSR names [{}] but the order is for [{}]", names(&asked), names(&want)));
        }
        let common_name = cn.filter(|c| c.parse::<IpAddr>().is_err());
        Ok(CsrInfo {
            dns_names: want.iter().filter(|(t, _)| t == "dns").map(|(_, v)| v.clone()).collect(),
            ip_addresses: want.iter().filter(|(t, _)| t == "ip").filter_map(|(_, v)| v.parse().ok()).collect(),
            subject_fields: Subject { common_name: common_name.clone(), ..Default::default() },
            common_name,
            key_usage: None,
            extended_key_usage: Vec::new(),
            ..csr
        })
    }

    /// The certificate of a valid order: PEM, leaf first, then its issuing chain.
    pub async fn acme_certificate(&self, req: &AcmeRequest, order_id: &str) -> Result<String> {
        let order = self.acme_get_order(req, order_id).await?.row;
        let cert_id = order.certificate_id.ok_or_else(|| Error::not_found("certificate not found"))?;
        let cert = self.store.get_certificate(&req.directory.tenant_id, &cert_id).await.not_found_as("certificate")?;
        let mut pem = certus_x509::to_pem(certus_x509::PemLabel::Certificate, &cert.cert_der);
        if let Some(ca_id) = &cert.issuer_ca_id {
            let ca = self.store.get_ca(&req.directory.tenant_id, ca_id).await.not_found_as("CA")?;
            for p in self.chain_pems(&req.directory.tenant_id, &ca).await?.iter() {
                pem.push_str(p);
            }
        }
        Ok(pem)
    }

    /// revokeCert: signed by the account the certificate was issued to, or by the
    /// certificate's own key. Revocation takes the one path every door takes (CRL, OCSP, audit).
    pub async fn acme_revoke(&self, req: &AcmeRequest) -> Result<()> {
        let p: RevokePayload = req.payload_json()?;
        let der = unb64(&p.certificate, "certificate")?;
        let info = parse_certificate(&der).map_err(|e| problem(ErrorKind::Malformed, "malformed", e.to_string()))?;
        let reason = match p.reason {
            None => RevocationReason::Unspecified,
            Some(code) => RevocationReason::from_code(code)
                .filter(|r| *r != RevocationReason::CertificateHold && *r != RevocationReason::CaCompromise)
                .ok_or_else(|| {
                    problem(ErrorKind::Malformed, "badRevocationReason", format!("reason {code} is not accepted"))
                })?,
        };
        let tenant = &req.directory.tenant_id;
        let cert = self
            .store
            .certificates_by_serial(tenant, &serial_key(&info.serial))
            .await?
            .into_iter()
            .find(|c| c.cert_der == der)
            .ok_or_else(|| {
                problem(ErrorKind::NotFound, "malformed", "this directory's CA did not issue that certificate")
            })?;
        let by = match &req.account {
            Some(account) => {
                let order = self.store.acme_order_by_certificate(&cert.id).await.ok();
                if order.map(|o| o.account_id) != Some(account.id.clone()) {
                    return Err(problem(
                        ErrorKind::Forbidden,
                        "unauthorized",
                        "the account was not issued this certificate",
                    ));
                }
                account_caller(account, tenant)
            }
            None => {
                if req.key.raw != info.public_key_bits {
                    return Err(problem(ErrorKind::Forbidden, "unauthorized", "the jwk is not the certificate's key"));
                }
                crate::auth::Caller {
                    token_id: format!("acme:{}:certificate-key", req.directory.name),
                    tenant_id: tenant.clone(),
                    scopes: vec![crate::auth::Scope::Issue],
                    superuser: false,
                }
            }
        };
        match self.revoke_row(&by, &cert, reason, format!(" via=acme directory={}", req.directory.name)).await {
            Err(e) if e.kind == ErrorKind::Conflict => {
                Err(problem(ErrorKind::Malformed, "alreadyRevoked", "the certificate is already revoked"))
            }
            other => other.map(|_| ()),
        }
    }

    /// renewalInfo: when to renew the certificate with this ARI id: from two thirds to five
    /// sixths of its life; a revoked certificate's window is already past.
    pub async fn acme_renewal_info(&self, directory: &str, ari_id: &str) -> Result<RenewalWindow> {
        let dir = self.store.acme_directory(directory).await.not_found_as("ACME directory")?;
        let cert = self.certificate_of_ari_id(&dir.tenant_id, ari_id).await?;
        if cert.revoked_at.is_some() {
            let now = self.now_secs();
            return Ok(RenewalWindow { start: now - 2 * 86_400, end: now - 86_400 });
        }
        let life = cert.not_after - cert.not_before;
        Ok(RenewalWindow { start: cert.not_before + life * 2 / 3, end: cert.not_before + life * 5 / 6 })
    }

    /// The tenant's certificate an ARI id (`base64url(AKI keyIdentifier).base64url(serial)`)
    /// names.
    async fn certificate_of_ari_id(&self, tenant_id: &str, ari_id: &str) -> Result<CertRow> {
        let unknown = || problem(ErrorKind::NotFound, "malformed", "no certificate has this renewal-info id");
        let (aki, serial) = ari_id.split_once('.').ok_or_else(|| {
            problem(ErrorKind::Malformed, "malformed", "a certificate id is base64url(AKI).base64url(serial)")
        })?;
        let (aki, mut serial) = (unb64(aki, "certificate id")?, unb64(serial, "certificate id")?);
        while serial.len() > 1 && serial[0] == 0 {
            serial.remove(0);
        }
        let candidates = self.store.certificates_by_serial(tenant_id, &serial_key(&serial)).await?;
        candidates
            .into_iter()
            .find(|c| certus_x509::ari_parts(&c.cert_der).is_ok_and(|(k, _)| k == aki))
            .ok_or_else(unknown)
    }
}

/// The challenges an authorization offers: dns-01 alone for a wildcard, no dns-01 for an
/// address (RFC 8738 §7).
pub fn offered_challenges(authz: &AcmeAuthzRow) -> Vec<&'static str> {
    CHALLENGE_TYPES
        .into_iter()
        .filter(|t| match (authz.id_type.as_str(), authz.wildcard) {
            ("ip", _) => *t != "dns-01",
            (_, true) => *t == "dns-01",
            _ => true,
        })
        .collect()
}
