//! Access tokens: HS256 JWTs naming the user, tenant, role and Redis session. A token alone
//! is never enough: its session must still exist (see `session`).

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Role, TenantId, UserId};

/// What a token says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as a decimal string (JWT's `sub` is a string).
    pub sub: String,
    /// The tenant id.
    pub tid: u64,
    pub role: Role,
    /// The Redis session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn user(&self) -> Option<UserId> {
        self.sub.parse().ok().map(UserId)
    }

    pub fn tenant(&self) -> TenantId {
        TenantId(self.tid)
    }
}

/// Signs and checks tokens with the configured secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid or expired")]
    Invalid,
    #[error("token could not be signed")]
    Sign,
}

impl TokenKeys {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Issues a token for a session; returns it with its expiry (epoch seconds).
    pub fn issue(&self, user: UserId, tenant: TenantId, role: Role, sid: &str) -> Result<(String, i64), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let exp = now + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims { sub: user.0.to_string(), tid: tenant.0, role, sid: sid.to_string(), iat: now, exp };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| TokenError::Sign)?;
        Ok((token, exp))
    }

    /// Checks signature and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_their_key_only_and_expire() {
        let keys = TokenKeys::new(&[1u8; 32], Duration::from_secs(60));
        let (token, exp) = keys.issue(UserId(5), TenantId(2), Role::Admin, "abc").expect("signed");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!(
            (claims.user(), claims.tid, claims.role, claims.sid.as_str(), claims.exp),
            (Some(UserId(5)), 2, Role::Admin, "abc", exp)
        );
        let other = TokenKeys::new(&[2u8; 32], Duration::from_secs(60));
        assert!(other.verify(&token).is_err());
        let mut tampered = token.clone();
        tampered.push('x');
        assert!(keys.verify(&tampered).is_err());
        let now = chrono::Utc::now().timestamp();
        let stale =
            Claims { sub: "5".into(), tid: 2, role: Role::Admin, sid: "abc".into(), iat: now - 120, exp: now - 60 };
        let old = encode(&Header::new(Algorithm::HS256), &stale, &keys.encoding).expect("signed");
        assert!(keys.verify(&old).is_err(), "expired tokens are refused");
    }
}
