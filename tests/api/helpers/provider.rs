//! A real HTTP server standing in for an outside provider (SMS, trunk balance): it records
//! every request and answers as the test tells it to, including slowly, with an error
//! status, or with a malformed body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};

/// One request the provider received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
}

impl Hit {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the request body is JSON")
    }
}

/// How the provider answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `POST …/send` gets `{"status":"ok","message_id":"msg-<n>"}` (n counts sends);
    /// anything else gets `body`.
    Ok { body: String },
    /// This status with an error body.
    Status(u16),
    /// Waits this long, then answers as `Ok`.
    Slow(Duration, String),
    /// 200 with a body that is not JSON.
    Malformed,
}

#[derive(Default)]
struct Shared {
    hits: Vec<Hit>,
    sends: u32,
}

pub struct Provider {
    pub url: String,
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    mode: Arc<Mutex<Mode>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
    mode: web::Data<Arc<Mutex<Mode>>>,
) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let hit = Hit {
        method: req.method().to_string(),
        path: req.path().to_string(),
        // HTTP/2 carries the host name as the URI's authority, HTTP/1.1 as `Host`.
        host: header("host").or_else(|| req.uri().authority().map(|a| a.to_string())),
        authorization: header("authorization"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let is_send = hit.path.ends_with("/send");
    let sends = {
        let mut s = shared.lock().expect("provider state");
        s.hits.push(hit);
        if is_send {
            s.sends += 1;
        }
        s.sends
    };
    let mode = mode.lock().expect("provider mode").clone();
    let ok = |body: &str| {
        if is_send {
            HttpResponse::Ok().json(serde_json::json!({"status": "ok", "message_id": format!("msg-{sends}")}))
        } else {
            HttpResponse::Ok().content_type("application/json").body(body.to_string())
        }
    };
    match mode {
        Mode::Ok { body } => ok(&body),
        Mode::Status(code) => HttpResponse::build(actix_web::http::StatusCode::from_u16(code).expect("status"))
            .json(serde_json::json!({"error": "provider failure"})),
        Mode::Slow(wait, body) => {
            actix_web::rt::time::sleep(wait).await;
            ok(&body)
        }
        Mode::Malformed => HttpResponse::Ok().content_type("application/json").body("{\"message_id\": "),
    }
}

/// A provider on a random port of 127.0.0.1, answering `mode`.
pub async fn start(mode: Mode) -> Provider {
    start_with(mode, None).await
}

/// The same over HTTPS with this server configuration.
pub async fn start_tls(mode: Mode, tls: rustls::ServerConfig) -> Provider {
    start_with(mode, Some(tls)).await
}

async fn start_with(mode: Mode, tls: Option<rustls::ServerConfig>) -> Provider {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mode = Arc::new(Mutex::new(mode));
    let (s, m) = (shared.clone(), mode.clone());
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(web::Data::new(s.clone()))
            .app_data(web::Data::new(m.clone()))
            .default_service(web::to(answer))
    })
    .workers(1);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        Some(tls) => server.bind_rustls_0_23("127.0.0.1:0", tls),
        None => server.bind("127.0.0.1:0"),
    }
    .expect("bind");
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Provider { url: format!("{scheme}://127.0.0.1:{port}"), port, shared, mode, handle }
}

impl Provider {
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().expect("provider mode") = mode;
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.lock().expect("provider state").hits.clone()
    }

    /// The requests to a path ending with `suffix`.
    pub fn hits_to(&self, suffix: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path.ends_with(suffix)).collect()
    }

    /// Waits until `n` requests to `suffix` have arrived.
    pub async fn wait_for(&self, suffix: &str, n: usize) -> Vec<Hit> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let hits = self.hits_to(suffix);
            if hits.len() >= n {
                return hits;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the provider got {} of {n} requests to {suffix}",
                hits.len()
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// A private CA made at test time and a server certificate it signed for `names`.
pub struct TestPki {
    pub ca_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl TestPki {
    pub fn new(names: &[&str]) -> TestPki {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "Mayday test CA");
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        TestPki { ca_pem: ca_cert.pem(), server_chain: vec![cert.der().clone()], server_key: key.serialize_der() }
    }

    pub fn server_config(&self) -> rustls::ServerConfig {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server TLS config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }

    /// The CA certificate in a file, for `OUTBOUND_CA_FILE`.
    pub fn ca_file(&self) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("mayday-test-ca-{}.pem", super::suffix()));
        std::fs::write(&path, &self.ca_pem).expect("CA file");
        path
    }
}
