//! Password hashes: argon2id for everything Mayday writes; bcrypt hashes carried over from
//! the old system are accepted once and replaced by argon2id on that login.
//!
//! Hashing is deliberately slow: callers run it on a blocking thread.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::HashCost;

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Right password, but the stored hash is old (bcrypt or weaker argon2 parameters):
    /// store this new hash.
    YesRehash(String),
}

/// Hashes and verifies passwords with the configured cost.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified against when the user does not exist so an
    /// unknown user costs as much time as a wrong password.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("m_cost", &self.params.m_cost()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHasher {
    pub fn new(cost: HashCost) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, 1, None).map_err(|e| HashError(e.to_string()))?;
        let mut hasher = PasswordHasher { params, dummy: String::new() };
        hasher.dummy = hasher.hash(&uuid::Uuid::new_v4().to_string())?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// An argon2id PHC string for `password`.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Checks `password` against a stored hash (argon2 or bcrypt); `None` means the user
    /// does not exist and a dummy hash is checked instead, to take the same time.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> Verified {
        let Some(stored) = stored else {
            let _ = self.verify_argon2(password, &self.dummy);
            return Verified::No;
        };
        if is_bcrypt(stored) {
            return match bcrypt::verify(password, stored) {
                Ok(true) => self.hash(password).map(Verified::YesRehash).unwrap_or(Verified::Yes),
                _ => Verified::No,
            };
        }
        match self.verify_argon2(password, stored) {
            Some(true) if self.is_outdated(stored) => {
                self.hash(password).map(Verified::YesRehash).unwrap_or(Verified::Yes)
            }
            Some(true) => Verified::Yes,
            _ => Verified::No,
        }
    }

    fn verify_argon2(&self, password: &str, stored: &str) -> Option<bool> {
        let parsed = PasswordHash::new(stored).ok()?;
        Some(self.argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    }

    /// True when the stored hash is not argon2id with at least the current cost.
    fn is_outdated(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else { return true };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        let Ok(p) = Params::try_from(&parsed) else { return true };
        p.m_cost() < self.params.m_cost() || p.t_cost() < self.params.t_cost()
    }
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"].iter().any(|p| stored.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(HashCost { memory_kib: 8, iterations: 1 }).expect("hasher")
    }

    #[test]
    fn argon2id_hashes_verify_and_wrong_passwords_do_not() {
        let h = cheap();
        let stored = h.hash("correct horse").expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(h.verify("correct horse", Some(&stored)), Verified::Yes);
        assert_eq!(h.verify("wrong", Some(&stored)), Verified::No);
        assert_eq!(h.verify("anything", None), Verified::No);
        assert_eq!(h.verify("x", Some("garbage")), Verified::No);
    }

    #[test]
    fn bcrypt_hashes_from_the_old_system_verify_and_ask_for_a_rehash() {
        let h = cheap();
        let old = bcrypt::hash("legacy pass", 4).expect("bcrypt");
        match h.verify("legacy pass", Some(&old)) {
            Verified::YesRehash(new) => assert!(new.starts_with("$argon2id$")),
            other => panic!("expected a rehash, got {other:?}"),
        }
        assert_eq!(h.verify("nope", Some(&old)), Verified::No);
    }

    #[test]
    fn a_hash_weaker_than_the_configured_cost_is_rehashed() {
        let weak = cheap().hash("pw").expect("hash");
        let strong = PasswordHasher::new(HashCost { memory_kib: 64, iterations: 2 }).expect("hasher");
        assert!(matches!(strong.verify("pw", Some(&weak)), Verified::YesRehash(_)));
    }
}
