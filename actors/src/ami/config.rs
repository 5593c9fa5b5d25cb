//! Settings of one PBX link, and the reconnect backoff.

use std::fmt;
use std::time::Duration;

use rand::Rng;

use super::codec::Limits;
use super::link::PbxId;

/// A secret whose `Debug` and `Display` print nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where it is sent or hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to log in (asterisk.md 1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    #[default]
    Plain,
    Md5,
}

/// Everything the connection actor needs for one PBX.
#[derive(Clone, Debug)]
pub struct AmiConfig {
    pub pbx: PbxId,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: Secret,
    pub auth: AuthMode,
    /// Login `Events:` classes. Queue events need `agent`, channels `call`, boot and PJSIP
    /// `system`, Cdr `cdr` (asterisk.md gotcha 23).
    pub events: String,
    pub connect_timeout: Duration,
    /// From TCP connect to a completed login.
    pub login_timeout: Duration,
    /// After login, how long to wait for `FullyBooted` before trusting `CoreStatus` alone.
    pub boot_wait: Duration,
    pub action_timeout: Duration,
    pub ping_interval: Duration,
    /// A ping unanswered this long declares the link dead.
    pub ping_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Retry delay after a refused login (slow on purpose, doubled up to `backoff_max` x 4).
    pub auth_retry: Duration,
    pub limits: Limits,
}

impl AmiConfig {
    /// Production defaults for a PBX at `host:port`.
    pub fn new(pbx: PbxId, host: impl Into<String>, port: u16, username: impl Into<String>, secret: Secret) -> Self {
        AmiConfig {
            pbx,
            host: host.into(),
            port,
            username: username.into(),
            secret,
            auth: AuthMode::Md5,
            events: "system,call,agent,user,cdr".into(),
            connect_timeout: Duration::from_secs(5),
            login_timeout: Duration::from_secs(10),
            boot_wait: Duration::from_secs(5),
            action_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(2),
            auth_retry: Duration::from_secs(30),
            limits: Limits::default(),
        }
    }
}

/// Capped exponential backoff with jitter: attempt `n` waits a random time in
/// `[d/2, d]` where `d = min(max, initial * 2^n)`, so many links never retry in step.
pub fn backoff_delay(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 1u64.checked_shl(attempt.min(30)).unwrap_or(u64::MAX);
    let capped = initial.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX)).min(max);
    let half = capped / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let extra =
        if jitter_ms == 0 { Duration::ZERO } else { Duration::from_millis(rand::rng().random_range(0..=jitter_ms)) };
    half + extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for attempt in 0..40 {
            let d = backoff_delay(initial, max, attempt);
            let full = (initial * 2u32.saturating_pow(attempt.min(20))).min(max);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} not in [{:?}, {full:?}]", full / 2);
        }
    }

    #[test]
    fn secret_never_prints() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(<redacted>)");
    }
}
