//! Outbound HTTP (licence server, SMS provider, trunk provider) through awc: every request
//! has a deadline, TLS is verified against the URL's host name (webpki roots), and a
//! provider may be reached at an "override IP" while the host name stays what TLS checks
//! and the `Host` header says.

use std::net::{IpAddr, SocketAddr};
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

/// A client with a total deadline per request, connecting to `override_ip` when given.
pub fn client(timeout: Duration, override_ip: Option<IpAddr>) -> awc::Client {
    init_tls();
    let builder = awc::Client::builder().timeout(timeout).disable_redirects();
    match override_ip {
        Some(ip) => {
            let tcp = actix_tls::connect::Connector::new(Resolver::custom(Fixed(ip))).service();
            let connector = awc::Connector::new().timeout(timeout).connector(tcp);
            builder.connector(connector).finish()
        }
        None => builder.connector(awc::Connector::new().timeout(timeout)).finish(),
    }
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
