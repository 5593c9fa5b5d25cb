//! Outbound HTTP (licence server, SMS provider, trunk provider) through awc: every request
//! has a deadline, TLS is verified against the URL's host name (webpki roots), and a
//! provider may be reached at an "override IP" while the host name stays what TLS checks
//! and the `Host` header says.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_tls::connect::{Resolve, Resolver};

/// Installs rustls' crypto provider once per process (awc's TLS needs one).
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolves every host name to one address.
struct Fixed(IpAddr);

impl Resolve for Fixed {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        port: u16,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>> {
        let addr = SocketAddr::new(self.0, port);
        Box::pin(async move { Ok(vec![addr]) })
    }
}

/// Resolves host names to public addresses only (a tenant's own provider setting may not
/// reach the platform's networks, whatever its name resolves to).
struct PublicOnly;

impl Resolve for PublicOnly {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>> {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !internal(a.ip())).collect();
            if public.is_empty() {
                return Err("the host name resolves to no public address".into());
            }
            Ok(public)
        })
    }
}

/// Addresses of the platform's own networks (private, loopback, link-local, CGNAT, ULA).
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| internal(IpAddr::V4(v4)))
        }
    }
}

/// Why the outbound TLS trust could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("OUTBOUND_CA_FILE {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// How outbound HTTPS is trusted: the webpki roots, plus the certificates of
/// `OUTBOUND_CA_FILE` (a provider or licence server behind a private CA).
#[derive(Clone)]
pub struct Outbound {
    tls: Arc<rustls::ClientConfig>,
}

impl Outbound {
    pub fn new(ca_file: Option<&Path>) -> Result<Outbound, TrustError> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        init_tls();
        let mut roots = actix_tls::connect::rustls_0_23::webpki_roots_cert_store();
        if let Some(path) = ca_file {
            let fail = |reason: String| TrustError::CaFile { path: path.display().to_string(), reason };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| fail(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(e.to_string()))?;
            if certs.is_empty() {
                return Err(fail("holds no PEM certificate".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| fail(e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Outbound { tls: Arc::new(tls) })
    }

    /// A client with a total deadline per request, connecting to `override_ip` when given
    /// (TLS still checks the URL's host name).
    pub fn client(&self, timeout: Duration, override_ip: Option<IpAddr>) -> awc::Client {
        let builder = awc::Client::builder().timeout(timeout).disable_redirects();
        match override_ip {
            Some(ip) => {
                let tcp = actix_tls::connect::Connector::new(Resolver::custom(Fixed(ip))).service();
                let connector = awc::Connector::new().connector(tcp).timeout(timeout).rustls_0_23(self.tls.clone());
                builder.connector(connector).finish()
            }
            None => builder.connector(awc::Connector::new().timeout(timeout).rustls_0_23(self.tls.clone())).finish(),
        }
    }

    /// A client that connects to public addresses only (see [`internal`]).
    pub fn public_client(&self, timeout: Duration) -> awc::Client {
        let tcp = actix_tls::connect::Connector::new(Resolver::custom(PublicOnly)).service();
        let connector = awc::Connector::new().connector(tcp).timeout(timeout).rustls_0_23(self.tls.clone());
        awc::Client::builder().timeout(timeout).disable_redirects().connector(connector).finish()
    }
}

/// A provider's answer: its body (at most `limit` bytes) when the status is 2xx, else why
/// not, in an operator's words.
pub async fn answer<S>(mut res: awc::ClientResponse<S>, limit: usize) -> Result<actix_web::web::Bytes, String>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>,
{
    let status = res.status().as_u16();
    let body = res.body().limit(limit).await.map_err(|e| format!("reading the provider's answer: {e}"))?;
    if !(200..300).contains(&status) {
        return Err(format!("the provider answered {status}"));
    }
    Ok(body)
}

/// Why an outbound call failed, said so an operator can act on it (never a credential).
pub fn describe(e: &awc::error::SendRequestError) -> String {
    use awc::error::SendRequestError as E;
    match e {
        E::Timeout => "the provider did not answer in time".into(),
        E::Connect(c) => format!("cannot connect to the provider: {c}"),
        E::Url(u) => format!("bad provider URL: {u}"),
        other => format!("request to the provider failed: {other}"),
    }
}
