//! Licences: signed documents (ed25519) the vendor issues and Mayday verifies offline with
//! the vendor's public key. The file is `{"payload": base64(JSON licence), "signature":
//! base64(ed25519 over the payload bytes)}`: the signature covers the exact bytes, so one
//! changed byte anywhere makes it fail. A revocation list has the same shape.
//!
//! What a licence allows now ([`Effective`]) depends on more than the document: revocation,
//! expiry, the installation it is bound to, and how long the licence server has been away.

use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

type Time = chrono::DateTime<chrono::Utc>;

/// Seat-counted features.
pub const SEAT_FEATURES: [&str; 2] = ["agent", "webrtc"];
/// Features a licence may list.
pub const FEATURES: [&str; 8] = ["calls", "recording", "transfers", "reports", "sms", "webrtc", "ivr", "spy"];

/// The signed content of a licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct License {
    pub id: String,
    pub organisation: String,
    /// Agent seats (consoles and softphones signed in at once).
    pub seats: u32,
    /// Of those, WebRTC (browser phone) seats.
    pub webrtc_seats: u32,
    pub features: Vec<String>,
    pub issued_at: Time,
    pub expires_at: Time,
    /// Bound to one installation (`GET /api/licenses/current` shows this one's id).
    #[serde(default)]
    pub installation_id: Option<String>,
}

/// A signed envelope (licence or revocation list).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    pub payload: String,
    pub signature: String,
}

/// The vendor's list of revoked licence ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocations {
    pub revoked: Vec<String>,
    pub issued_at: Time,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    #[error("not a licence file: {0}")]
    Malformed(String),
    #[error("the signature does not verify with the vendor's public key")]
    BadSignature,
    #[error("no vendor public key is configured (LICENSE_PUBLIC_KEY)")]
    NoKey,
    #[error("a key must be 32 bytes, base64")]
    BadKey,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A 32-byte key from base64.
fn key_bytes(text: &str) -> Result<[u8; 32], LicenseError> {
    let bytes = b64().decode(text.trim()).map_err(|_| LicenseError::BadKey)?;
    bytes.try_into().map_err(|_| LicenseError::BadKey)
}

pub fn verifying_key(text: &str) -> Result<VerifyingKey, LicenseError> {
    VerifyingKey::from_bytes(&key_bytes(text)?).map_err(|_| LicenseError::BadKey)
}

pub fn signing_key(text: &str) -> Result<SigningKey, LicenseError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}

/// A new vendor key pair: (secret, public), base64.
pub fn keygen() -> (String, String) {
    let key = new_key();
    (b64().encode(key.to_bytes()), public_of(&key))
}

fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    SigningKey::from_bytes(&seed)
}

pub fn public_of(secret: &SigningKey) -> String {
    b64().encode(secret.verifying_key().to_bytes())
}

/// A licence signed by a throwaway vendor key made now, for the demo and the benches (so the
/// development licence's two seats never get in their way): (public key, licence text). The
/// secret key is dropped here; nothing else can sign for that public key.
pub fn throwaway(organisation: &str, seats: u32, days: i64) -> (String, String) {
    let key = new_key();
    let now = chrono::Utc::now();
    let licence = License {
        id: format!("throwaway-{}", uuid::Uuid::new_v4()),
        organisation: organisation.to_string(),
        seats,
        webrtc_seats: seats,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        issued_at: now,
        expires_at: now + chrono::Duration::days(days),
        installation_id: None,
    };
    (public_of(&key), sign(&key, &licence))
}

/// Signs any document into the envelope's JSON text.
pub fn sign<T: Serialize>(key: &SigningKey, doc: &T) -> String {
    let payload = serde_json::to_vec(doc).unwrap_or_default();
    let signature = key.sign(&payload);
    let signed = Signed { payload: b64().encode(&payload), signature: b64().encode(signature.to_bytes()) };
    serde_json::to_string_pretty(&signed).unwrap_or_default()
}

/// Verifies an envelope and reads its document.
pub fn open<T: serde::de::DeserializeOwned>(key: &VerifyingKey, text: &str) -> Result<T, LicenseError> {
    let signed: Signed = serde_json::from_str(text).map_err(|e| LicenseError::Malformed(e.to_string()))?;
    let payload = b64().decode(&signed.payload).map_err(|_| LicenseError::Malformed("payload is not base64".into()))?;
    let sig_bytes: [u8; 64] = b64()
        .decode(&signed.signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| LicenseError::Malformed("signature is not 64 bytes of base64".into()))?;
    let signature = ed25519_dalek::Signature::from_bytes(&sig_bytes);
    key.verify(&payload, &signature).map_err(|_| LicenseError::BadSignature)?;
    serde_json::from_slice(&payload).map_err(|e| LicenseError::Malformed(e.to_string()))
}

/// Where the limits in force come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An installed, valid licence.
    Licensed,
    /// No valid licence, `MAYDAY_ENV=development`: small development limits.
    Development,
    /// No valid licence in production: the unlicensed limits.
    Unlicensed,
}

/// What is allowed now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Effective {
    pub source: Source,
    /// The licence in force (`None` for the fallbacks).
    pub license_id: Option<String>,
    pub organisation: Option<String>,
    pub seats: u32,
    pub webrtc_seats: u32,
    pub features: Vec<String>,
    pub expires_at: Option<Time>,
    /// Why the installed licence is not in force, when there is one.
    pub problem: Option<String>,
}

impl Effective {
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// The seat limit of a seat feature.
    pub fn limit(&self, feature: &str) -> u32 {
        match feature {
            "webrtc" => self.webrtc_seats,
            _ => self.seats,
        }
    }
}

/// The development licence: 2 agents, no WebRTC, the core features.
pub fn development() -> Effective {
    Effective {
        source: Source::Development,
        license_id: None,
        organisation: None,
        seats: 2,
        webrtc_seats: 0,
        features: ["calls", "transfers", "reports", "sms"].iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        problem: None,
    }
}

/// An unlicensed production installation: one agent seat, calls only. Live calls, the
/// wallboard and the admin API keep working; what needs a licence is refused.
pub fn unlicensed(problem: Option<String>) -> Effective {
    Effective {
        source: Source::Unlicensed,
        license_id: None,
        organisation: None,
        seats: 1,
        webrtc_seats: 0,
        features: vec!["calls".into()],
        expires_at: None,
        problem,
    }
}

/// What the licence state means at `now`.
pub struct Check<'a> {
    pub license: Option<&'a License>,
    pub revoked: &'a [String],
    pub installation_id: &'a str,
    pub development: bool,
    /// `Some(grace_end)` when a licence server is configured: the last good answer plus
    /// the grace period.
    pub grace_until: Option<Time>,
    pub now: Time,
}

pub fn effective(c: &Check<'_>) -> Effective {
    let fallback = |problem: Option<String>| {
        if c.development {
            Effective { problem, ..development() }
        } else {
            unlicensed(problem)
        }
    };
    let Some(l) = c.license else { return fallback(None) };
    let problem = if c.revoked.contains(&l.id) {
        Some("the licence was revoked".to_string())
    } else if l.expires_at <= c.now {
        Some(format!("the licence expired on {}", l.expires_at.format("%Y-%m-%d")))
    } else if l.installation_id.as_deref().is_some_and(|i| i != c.installation_id) {
        Some("the licence is bound to another installation".to_string())
    } else if c.grace_until.is_some_and(|g| g <= c.now) {
        Some("the licence server has not answered for longer than the grace period".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => fallback(Some(p)),
        None => Effective {
            source: Source::Licensed,
            license_id: Some(l.id.clone()),
            organisation: Some(l.organisation.clone()),
            seats: l.seats,
            webrtc_seats: l.webrtc_seats.min(l.seats),
            features: l.features.clone(),
            expires_at: Some(l.expires_at),
            problem: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lic(expires_in_days: i64) -> License {
        let now = chrono::Utc::now();
        License {
            id: "L-1".into(),
            organisation: "Hotel".into(),
            seats: 10,
            webrtc_seats: 4,
            features: vec!["calls".into(), "webrtc".into()],
            issued_at: now,
            expires_at: now + chrono::Duration::days(expires_in_days),
            installation_id: Some("inst-1".into()),
        }
    }

    #[test]
    fn a_signed_licence_verifies_and_one_changed_byte_does_not() {
        let (secret, public) = keygen();
        let key = signing_key(&secret).expect("key");
        let text = sign(&key, &lic(30));
        let vk = verifying_key(&public).expect("public key");
        assert_eq!(
            open::<License>(&vk, &text).expect("verifies"),
            serde_json::from_slice::<License>(
                &b64().decode(serde_json::from_str::<Signed>(&text).expect("env").payload).expect("b64")
            )
            .expect("json")
        );
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            if !bytes[i].is_ascii_alphanumeric() {
                continue;
            }
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).expect("ascii");
            assert!(open::<License>(&vk, &changed).is_err(), "byte {i} changed, still verifies");
        }
        let (_, other) = keygen();
        assert_eq!(open::<License>(&verifying_key(&other).expect("key"), &text), Err(LicenseError::BadSignature));
    }

    #[test]
    fn expiry_revocation_binding_and_grace_fall_back() {
        let now = chrono::Utc::now();
        let l = lic(30);
        let base = Check {
            license: Some(&l),
            revoked: &[],
            installation_id: "inst-1",
            development: false,
            grace_until: None,
            now,
        };
        assert_eq!(effective(&base).source, Source::Licensed);
        let expired = lic(-1);
        assert_eq!(effective(&Check { license: Some(&expired), ..base }).source, Source::Unlicensed);
        let revoked = ["L-1".to_string()];
        assert_eq!(effective(&Check { revoked: &revoked, ..base }).problem.as_deref(), Some("the licence was revoked"));
        assert_eq!(effective(&Check { installation_id: "other", ..base }).source, Source::Unlicensed);
        let within = Check { grace_until: Some(now + chrono::Duration::hours(1)), ..base };
        assert_eq!(effective(&within).source, Source::Licensed);
        let after = Check { grace_until: Some(now - chrono::Duration::hours(1)), ..base };
        assert_eq!(effective(&after).source, Source::Unlicensed);
        assert_eq!(effective(&Check { license: None, development: true, ..base }).source, Source::Development);
        assert_eq!(effective(&Check { license: None, ..base }).seats, 1, "unlicensed: one seat");
    }
}
