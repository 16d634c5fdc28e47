//! Proving control of an identifier (RFC 8555 §8, RFC 8737, RFC 8738), done safely: targets in
//! loopback and link-local ranges are refused unless allowed, every exchange is bounded in time
//! and size, and http-01 follows no redirects.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use certus_store::AcmeAuthzRow;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

use super::AcmeSettings;
use super::dns;

/// How long one validation may take, all attempts included.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest http-01 response body read.
const MAX_BODY: usize = 8 * 1024;
/// The ALPN protocol of tls-alpn-01.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Why a validation failed: an ACME error type and a detail.
pub(super) type Failure = (&'static str, String);

/// Validates `authz` by challenge `typ`.
pub(super) async fn validate(
    settings: &AcmeSettings,
    authz: &AcmeAuthzRow,
    typ: &str,
    key_authorization: &str,
) -> Result<(), Failure> {
    let work = async {
        match typ {
            "http-01" => http01(settings, authz, key_authorization).await,
            "dns-01" => dns01(settings, authz, key_authorization).await,
            "tls-alpn-01" => tls_alpn01(settings, authz, key_authorization).await,
            other => Err(("malformed", format!("unknown challenge type {other}"))),
        }
    };
    tokio::time::timeout(VALIDATION_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(("connection", format!("validation of {} timed out", authz.id_value))))
}

/// An address validation may connect to.
pub(super) fn address_allowed(settings: &AcmeSettings, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let special = match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unicast_link_local() || v6.is_unspecified(),
    };
    settings.allow_loopback || !special
}

/// Where to connect for the identifier: the address itself, or the name's addresses that
/// validation may reach.
async fn targets(settings: &AcmeSettings, authz: &AcmeAuthzRow, port: u16) -> Result<Vec<SocketAddr>, Failure> {
    let found: Vec<IpAddr> = if authz.id_type == "ip" {
        vec![authz.id_value.parse().map_err(|_| ("malformed", "unreadable address".to_owned()))?]
    } else {
        match settings.dns_resolver.or_else(dns::system_resolver) {
            Some(server) => dns::addresses(server, &authz.id_value).await.map_err(|e| ("dns", e))?,
            None => tokio::net::lookup_host((authz.id_value.as_str(), port))
                .await
                .map_err(|e| ("dns", format!("{}: {e}", authz.id_value)))?
                .map(|a| a.ip())
                .collect(),
        }
    };
    if found.is_empty() {
        return Err(("dns", format!("{} has no A or AAAA records", authz.id_value)));
    }
    let allowed: Vec<SocketAddr> =
        found.iter().filter(|ip| address_allowed(settings, **ip)).map(|ip| SocketAddr::new(*ip, port)).collect();
    if allowed.is_empty() {
        return Err((
            "rejectedIdentifier",
            format!(
                "{} resolves only to loopback or link-local addresses ({}), which Certus does not validate \
                 unless started with --acme-allow-loopback",
                authz.id_value,
                found.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(allowed)
}

async fn connect(targets: &[SocketAddr]) -> Result<TcpStream, Failure> {
    let mut last = String::new();
    for addr in targets {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(("connection", format!("could not connect: {last}")))
}

/// The identifier as a URL host: IPv6 in brackets.
fn url_host(authz: &AcmeAuthzRow) -> String {
    match authz.id_value.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => authz.id_value.clone(),
    }
}

async fn http01(settings: &AcmeSettings, authz: &AcmeAuthzRow, key_authorization: &str) -> Result<(), Failure> {
    let port = settings.http01_port;
    let stream = connect(&targets(settings, authz, port).await?).await?;
    let host = if port == 80 { url_host(authz) } else { format!("{}:{port}", url_host(authz)) };
    let path = format!("/.well-known/acme-challenge/{}", authz.token);
    let url = format!("http://{host}{path}");
    let failed = |e: hyper::Error| ("connection", format!("{url}: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
    let connection = tokio::spawn(conn);
    let request = hyper::Request::get(&path)
        .header(hyper::header::HOST, &host)
        .header(hyper::header::USER_AGENT, "Certus ACME validation")
        .header(hyper::header::ACCEPT, "*/*")
        .body(Empty::<Bytes>::new())
        .map_err(|e| ("malformed", e.to_string()))?;
    let response = sender.send_request(request).await.map_err(failed)?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY).collect().await;
    connection.abort();
    if status != hyper::StatusCode::OK {
        return Err(("unauthorized", format!("{url} answered {status}, not 200")));
    }
    let body = body.map_err(|_| ("unauthorized", format!("{url}: the answer is over {MAX_BODY} bytes or broken")))?;
    let body = body.to_bytes();
    let text = String::from_utf8_lossy(&body);
    if text.trim() != key_authorization {
        return Err(("incorrectResponse", format!("{url} did not answer the key authorization")));
    }
    Ok(())
}

async fn dns01(settings: &AcmeSettings, authz: &AcmeAuthzRow, key_authorization: &str) -> Result<(), Failure> {
    let server = settings
        .dns_resolver
        .or_else(dns::system_resolver)
        .ok_or_else(|| ("dns", "no DNS resolver is configured (--acme-dns-resolver)".to_owned()))?;
    let name = format!("_acme-challenge.{}", authz.id_value);
    let expected = super::b64(&certus_kms::sha256(key_authorization.as_bytes()));
    let found = dns::texts(server, &name).await.map_err(|e| ("dns", e))?;
    if found.iter().any(|t| t.trim() == expected) {
        Ok(())
    } else {
        Err(("incorrectResponse", format!("no TXT record at {name} holds the expected digest ({} found)", found.len())))
    }
}

async fn tls_alpn01(settings: &AcmeSettings, authz: &AcmeAuthzRow, key_authorization: &str) -> Result<(), Failure> {
    let stream = connect(&targets(settings, authz, settings.tlsalpn01_port).await?).await?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // TLS 1.3 only: its handshake signature can be checked against the raw key (see below).
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ("serverInternal", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    // RFC 8738 §6: an address is named by its reverse-DNS name in SNI.
    let sni = match authz.id_value.parse::<IpAddr>() {
        Ok(ip) => reverse_name(ip),
        Err(_) => authz.id_value.clone(),
    };
    let server_name = ServerName::try_from(sni).map_err(|e| ("malformed", e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, stream)
        .await
        .map_err(|e| ("tls", format!("TLS handshake with {}: {e}", authz.id_value)))?;
    let (_, session) = tls.get_ref();
    if session.alpn_protocol() != Some(ACME_TLS_ALPN) {
        return Err(("tls", "the server did not negotiate the acme-tls/1 protocol".to_owned()));
    }
    let cert = session
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| ("tls", "no certificate was presented".to_owned()))?;
    let shown = certus_x509::alpn_challenge_cert(cert.as_ref()).map_err(|e| ("tls", e.to_string()))?;
    let names_match = match authz.id_value.parse::<IpAddr>() {
        Ok(ip) => shown.dns_names.is_empty() && shown.ip_addresses == [ip],
        Err(_) => {
            shown.ip_addresses.is_empty()
                && shown.dns_names.len() == 1
                && shown.dns_names[0].eq_ignore_ascii_case(&authz.id_value)
        }
    };
    if !names_match {
        return Err(("incorrectResponse", format!("the certificate must name {} alone", authz.id_value)));
    }
    let expected = certus_kms::sha256(key_authorization.as_bytes());
    if shown.key_authorization_digest.as_deref() != Some(&expected[..]) {
        return Err((
            "incorrectResponse",
            "the certificate lacks a critical acmeIdentifier extension with the key authorization's digest".to_owned(),
        ));
    }
    Ok(())
}

/// `4.3.2.1.in-addr.arpa` / nibble-reversed `ip6.arpa`.
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> =
                v6.octets().iter().flat_map(|b| [b >> 4, b & 0xf]).map(|n| format!("{n:x}")).collect();
            labels.reverse();
            labels.join(".") + ".ip6.arpa"
        }
    }
}

/// tls-alpn-01 certificates are self-signed by design: what counts is the acmeIdentifier
/// extension, checked after the handshake. The handshake's signature is still verified, against
/// the certificate's key read directly (webpki refuses the critical acmeIdentifier extension).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("tls-alpn-01 validation speaks TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let info = certus_x509::parse_certificate(cert.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(info.spki_der.as_slice());
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("127.0.0.1".parse().unwrap()), "1.0.0.127.in-addr.arpa");
        assert!(reverse_name("::1".parse().unwrap()).starts_with("1.0.0.0."));
        assert!(reverse_name("::1".parse().unwrap()).ends_with(".0.ip6.arpa"));
    }

    #[test]
    fn loopback_and_link_local_need_permission() {
        let strict = AcmeSettings::default();
        let lax = AcmeSettings { allow_loopback: true, ..AcmeSettings::default() };
        for ip in ["127.0.0.1", "::1", "169.254.1.1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!address_allowed(&strict, ip), "{ip}");
            assert!(address_allowed(&lax, ip), "{ip}");
        }
        assert!(address_allowed(&strict, "192.0.2.10".parse().unwrap()));
    }
}
