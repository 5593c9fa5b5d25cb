//! The test vendor key, licences issued with it, and the generous licence every test
//! server installs (so the development licence's limits never get in a test's way).

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use mayday::license::{self, License};

/// The test vendor's key (fixed: tests only).
pub fn vendor_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42u8; 32])
}

pub fn vendor_secret_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(vendor_key().to_bytes())
}

pub fn public_key() -> String {
    license::public_of(&vendor_key())
}

pub fn licence(id: &str, seats: u32, webrtc: u32, days: i64, installation: Option<&str>) -> License {
    let now = chrono::Utc::now();
    License {
        id: id.into(),
        organisation: "Test hotels".into(),
        seats,
        webrtc_seats: webrtc,
        features: license::FEATURES.iter().map(|f| f.to_string()).collect(),
        issued_at: now,
        expires_at: now + chrono::Duration::days(days),
        installation_id: installation.map(str::to_string),
    }
}

pub fn signed(l: &License) -> String {
    license::sign(&vendor_key(), l)
}

/// The licence file every test server installs at start: 1000 seats, every feature.
pub fn default_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("mayday-test-licence-{}.lic", std::process::id()));
        std::fs::write(&path, signed(&licence("test-licence", 1000, 500, 365, None))).expect("test licence written");
        path
    })
    .clone()
}
