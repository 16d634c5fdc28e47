//! The EST wire protocol (RFC 7030 as corrected by RFC 8951) at `/.well-known/est[/{label}]/…`:
//! `cacerts`, `csrattrs`, `simpleenroll`, `simplereenroll` and `serverkeygen`. Requests are
//! base64 PKCS#10, with or without line breaks (raw DER and PEM are accepted too); responses are
//! base64 with no Content-Transfer-Encoding header; errors are plain text, as EST clients expect.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use certus_authority::{EST_RETRY_AFTER_SECS, EstAuth, EstLabelRow, EstOutcome};

use crate::AppState;

/// The verified certificate chain the TLS client presented (leaf first); the listener puts it
/// in the request's extensions. The EST routes decide what it proves.
#[derive(Clone, Debug, Default)]
pub struct TlsClientChain(pub Vec<Vec<u8>>);

/// The most a PKCS#10 request body may be.
const MAX_REQUEST_BYTES: usize = 64 * 1024;
const CERTS_ONLY: &str = "application/pkcs7-mime; smime-type=certs-only";
const BOUNDARY: &str = "certus-est-part";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/est/{op}", get(default_get).post(default_post))
        .route("/.well-known/est/{label}/{op}", get(label_get).post(label_post))
}

/// An EST error: a status and a plain-text reason.
struct EstError(StatusCode, String);

impl From<certus_authority::Error> for EstError {
    fn from(e: certus_authority::Error) -> Self {
        match crate::error::door_status(&e) {
            Some(status) => EstError(status, e.message),
            None => EstError(StatusCode::INTERNAL_SERVER_ERROR, crate::error::INTERNAL.into()),
        }
    }
}

impl IntoResponse for EstError {
    fn into_response(self) -> Response {
        let mut res =
            (self.0, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", self.1)).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"certus-est\""));
        }
        res
    }
}

type EstResult = Result<Response, EstError>;

fn bad(message: &str) -> EstError {
    EstError(StatusCode::BAD_REQUEST, message.to_owned())
}

async fn default_get(State(s): State<AppState>, Path(op): Path<String>) -> EstResult {
    let label = s.authority.est_label(None).await?;
    read_op(&s, &label, &op).await
}

async fn label_get(State(s): State<AppState>, Path((label, op)): Path<(String, String)>) -> EstResult {
    let label = s.authority.est_label(Some(&label)).await?;
    read_op(&s, &label, &op).await
}

async fn default_post(
    State(s): State<AppState>,
    Path(op): Path<String>,
    headers: HeaderMap,
    chain: Option<axum::Extension<TlsClientChain>>,
    body: Bytes,
) -> EstResult {
    let label = s.authority.est_label(None).await?;
    write_op(&s, &label, &op, &headers, chain.map(|c| c.0), &body).await
}

async fn label_post(
    State(s): State<AppState>,
    Path((label, op)): Path<(String, String)>,
    headers: HeaderMap,
    chain: Option<axum::Extension<TlsClientChain>>,
    body: Bytes,
) -> EstResult {
    let label = s.authority.est_label(Some(&label)).await?;
    write_op(&s, &label, &op, &headers, chain.map(|c| c.0), &body).await
}

/// `cacerts` and `csrattrs`: anonymous, as RFC 7030 §4.1.1 and §4.5 allow.
async fn read_op(s: &AppState, label: &EstLabelRow, op: &str) -> EstResult {
    match op {
        "cacerts" => {
            let chain = s.authority.est_ca_chain(label).await?;
            Ok(base64_response(StatusCode::OK, CERTS_ONLY, &certs_only(&chain)?))
        }
        "csrattrs" => {
            let wanted = s.authority.est_wanted_key(label).await?;
            let der = certus_x509::csr_attrs(wanted).map_err(certus_authority::Error::from)?;
            Ok(base64_response(StatusCode::OK, "application/csrattrs", &der))
        }
        "simpleenroll" | "simplereenroll" | "serverkeygen" => {
            Err(EstError(StatusCode::METHOD_NOT_ALLOWED, format!("{op} is a POST")))
        }
        _ => Err(EstError(StatusCode::NOT_FOUND, format!("no EST operation {op:?}"))),
    }
}

async fn write_op(
    s: &AppState,
    label: &EstLabelRow,
    op: &str,
    headers: &HeaderMap,
    chain: Option<TlsClientChain>,
    body: &[u8],
) -> EstResult {
    match op {
        "simpleenroll" | "serverkeygen" => {
            let caller = s.authority.est_caller(label, auth_of(headers)).await?;
            let csr = pkcs10(body)?;
            if op == "serverkeygen" {
                let made = s.authority.est_server_keygen(label, &caller, &csr).await?;
                return Ok(server_key_response(&made.pkcs8_der, &certs_only(&[made.certificate_der])?));
            }
            match s.authority.est_enroll(label, &caller, &csr).await? {
                EstOutcome::Issued(der) => Ok(base64_response(StatusCode::OK, CERTS_ONLY, &certs_only(&[der])?)),
                EstOutcome::Pending => Ok((
                    StatusCode::ACCEPTED,
                    [(header::RETRY_AFTER, EST_RETRY_AFTER_SECS.to_string())],
                    "the enrollment waits for approval; send the same request again later\n",
                )
                    .into_response()),
                EstOutcome::Rejected(reason) => Err(EstError(StatusCode::FORBIDDEN, format!("rejected: {reason}"))),
            }
        }
        "simplereenroll" => {
            let chain = chain.map(|c| c.0).unwrap_or_default();
            let csr = pkcs10(body)?;
            let der = s.authority.est_reenroll(label, &chain, &csr).await?;
            Ok(base64_response(StatusCode::OK, CERTS_ONLY, &certs_only(&[der])?))
        }
        "cacerts" | "csrattrs" => Err(EstError(StatusCode::METHOD_NOT_ALLOWED, format!("{op} is a GET"))),
        _ => Err(EstError(StatusCode::NOT_FOUND, format!("no EST operation {op:?}"))),
    }
}

fn certs_only(ders: &[Vec<u8>]) -> Result<Vec<u8>, EstError> {
    Ok(certus_x509::certs_only(ders).map_err(certus_authority::Error::from)?)
}

/// HTTP Basic or a bearer token, if given.
fn auth_of(headers: &HeaderMap) -> EstAuth {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return EstAuth::None;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return EstAuth::Bearer(token.trim().to_owned());
    }
    let basic = value
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    match basic.as_deref().and_then(|text| text.split_once(':')) {
        Some((username, password)) => EstAuth::Basic { username: username.to_owned(), password: password.to_owned() },
        None => EstAuth::None,
    }
}

/// The PKCS#10 of a request body: base64 (line breaks allowed), or raw DER, or PEM.
fn pkcs10(body: &[u8]) -> Result<Vec<u8>, EstError> {
    if body.is_empty() {
        return Err(bad("the body must be a base64 PKCS#10 CSR"));
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(EstError(StatusCode::PAYLOAD_TOO_LARGE, format!("a CSR is at most {MAX_REQUEST_BYTES} bytes")));
    }
    if body[0] == 0x30 {
        return Ok(body.to_vec());
    }
    if body.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(body).map_err(|_| bad("the PEM body is not UTF-8"))?;
        return Ok(certus_x509::csr_from_pem(text).map_err(certus_authority::Error::from)?);
    }
    let compact: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| bad("the body is not base64 PKCS#10 (nor DER or PEM)"))
}

/// Base64 in 64-character lines, as the RFC 8951 wire format has it.
fn base64_lines(der: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 1);
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn base64_response(status: StatusCode, content_type: &'static str, der: &[u8]) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], base64_lines(der)).into_response()
}

/// RFC 7030 §4.4.2: the key (PKCS#8) and the certificate (certs-only), as multipart/mixed.
fn server_key_response(pkcs8: &[u8], certs_only: &[u8]) -> Response {
    let body = format!(
        "--{BOUNDARY}\r\nContent-Type: application/pkcs8\r\n\r\n{}--{BOUNDARY}\r\nContent-Type: {CERTS_ONLY}\r\n\r\n{}--{BOUNDARY}--\r\n",
        base64_lines(pkcs8),
        base64_lines(certs_only)
    );
    let content_type = format!("multipart/mixed; boundary={BOUNDARY}");
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_every_accepted_form() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert_eq!(pkcs10(&der).ok(), Some(der.clone()));
        assert_eq!(pkcs10(b64.as_bytes()).ok(), Some(der.clone()));
        let wrapped = format!("{}\r\n{}\n", &b64[..3], &b64[3..]);
        assert_eq!(pkcs10(wrapped.as_bytes()).ok(), Some(der));
        assert!(pkcs10(b"not base64 !!").is_err());
        assert!(pkcs10(b"").is_err());
    }

    #[test]
    fn basic_and_bearer_credentials() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic ZGV2OnNlY3JldDpwYXJ0"));
        assert!(
            matches!(auth_of(&h), EstAuth::Basic { username, password } if username == "dev" && password == "secret:part")
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert!(matches!(auth_of(&h), EstAuth::Bearer(t) if t == "tok"));
        assert!(matches!(auth_of(&HeaderMap::new()), EstAuth::None));
    }
}
