//! Secrets Mayday must be able to read back (PBX AMI secrets, later SIP passwords), stored
//! encrypted at rest with ChaCha20-Poly1305 under the key from the environment.
//!
//! Stored form: `1 || nonce (12 bytes) || ciphertext+tag`. The leading version byte lets a
//! later key rotation tell old rows from new ones.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Seals and opens stored secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// Signs URLs (HMAC-SHA256), derived from the key so it never signs with the key itself.
    url_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

/// A stored secret that cannot be opened: wrong key or damaged row.
#[derive(Debug, thiserror::Error)]
#[error("stored secret cannot be decrypted (wrong MAYDAY_SECRET_KEY or damaged data)")]
pub struct OpenError;

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        let url_key = hmac_sha256(key, b"mayday url signing v1");
        SecretBox { cipher: ChaCha20Poly1305::new(Key::from_slice(key)), url_key }
    }

    /// A hex HMAC-SHA256 of `message` under the URL-signing key.
    pub fn sign(&self, message: &str) -> String {
        hex::encode(hmac_sha256(&self.url_key, message.as_bytes()))
    }

    /// Whether `signature` is [`SecretBox::sign`] of `message` (compared in constant time).
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        use hmac::Mac;
        let Ok(sig) = hex::decode(signature) else { return false };
        let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.url_key) else { return false };
        mac.update(message.as_bytes());
        mac.verify_slice(&sig).is_ok()
    }

    /// Encrypts `plain` with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption of an in-memory buffer with a valid key cannot fail.
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`SecretBox::seal`] produced.
    pub fn open(&self, stored: &[u8]) -> Result<String, OpenError> {
        let (&version, rest) = stored.split_first().ok_or(OpenError)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_message() {
        let b = SecretBox::new(&[7u8; 32]);
        let sig = b.sign("prompt:1:abc:100");
        assert_eq!(sig.len(), 64);
        assert!(b.verify("prompt:1:abc:100", &sig));
        assert!(!b.verify("prompt:1:abc:101", &sig));
        assert!(!SecretBox::new(&[8u8; 32]).verify("prompt:1:abc:100", &sig), "another key");
        assert!(!b.verify("prompt:1:abc:100", "zz"));
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::new(&[7u8; 32]);
        let b = SecretBox::new(&[8u8; 32]);
        let sealed = a.seal("s3cret");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"), "no clear text at rest");
        assert_eq!(a.open(&sealed).expect("opens"), "s3cret");
        assert!(b.open(&sealed).is_err());
        assert_ne!(a.seal("s3cret"), sealed, "a fresh nonce each time");
        let mut damaged = sealed.clone();
        if let Some(last) = damaged.last_mut() {
            *last ^= 1;
        }
        assert!(a.open(&damaged).is_err());
        assert!(a.open(&[]).is_err());
    }
}
