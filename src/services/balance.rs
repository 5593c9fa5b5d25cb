//! The trunk provider's balance: checked by `POST {TRUNK_BALANCE_URL}` with the form
//! `account=<account>&BALANCE=BALANCE` (Basic auth from the environment, no default
//! credential), stored on the trunk with when and the last error, refreshed on a schedule,
//! an alert on the tenant's wallboard under `TRUNK_LOW_BALANCE`; and the pre-call check.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::Trunk;
use crate::db::repos::{self, trunks::BalanceRow};
use crate::domain::{Caller, Role, TenantId};
use crate::services::{require, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub trunk_id: u64,
    pub account_number: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds since the last successful check.
    pub age_secs: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Below `TRUNK_LOW_BALANCE`.
    pub low: bool,
}

fn view(state: &AppState, t: &Trunk, b: BalanceRow) -> BalanceView {
    let checked_at = b.at.map(|a| a.and_utc());
    BalanceView {
        trunk_id: t.id,
        account_number: t.account_number.clone(),
        low: matches!((b.amount, state.config.balance.low_balance), (Some(a), Some(l)) if a < l),
        amount: b.amount,
        currency: b.currency,
        age_secs: checked_at.map(|c| (chrono::Utc::now() - c).num_seconds()),
        checked_at,
        last_error: b.error,
        last_error_at: b.error_at.map(|a| a.and_utc()),
    }
}

/// A balance read from the provider's answer: JSON (`balance`/`amount`/`credit`,
/// `currency`) or text (`Balance: 1,234.50 UGX`).
pub fn parse_answer(body: &str) -> Option<(f64, Option<String>)> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let obj = v.get("data").filter(|d| d.is_object()).unwrap_or(&v);
        let amount = ["balance", "amount", "credit", "Balance"].iter().find_map(|k| match obj.get(*k)? {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.replace(',', "").trim().parse().ok(),
            _ => None,
        })?;
        let currency = ["currency", "curr", "Currency"].iter().find_map(|k| obj.get(*k)?.as_str().map(str::to_string));
        return amount.is_finite().then_some((amount, currency));
    }
    // Text: the number right after the word "balance" (else "credit"), with only
    // separators, spaces or a currency code between (`Balance: 1,234.50 UGX`,
    // `balance=UGX 50`), so an error text or an account number is never read as a balance.
    let lower = body.to_ascii_lowercase();
    let at = ["balance", "credit"].iter().find_map(|w| lower.find(w).map(|i| i + w.len()))?;
    let after = &body[at..];
    let mut rest = after.trim_start_matches(|c: char| c == ':' || c == '=' || c.is_whitespace());
    let mut currency = None;
    let code: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        currency = Some(code.clone());
        rest = rest[3..].trim_start();
    } else if !code.is_empty() {
        return None;
    }
    let number: String =
        rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',' || *c == '-').collect();
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let amount: f64 = number.replace(',', "").trim_end_matches('.').parse().ok()?;
    if currency.is_none() {
        let tail = rest[number.len()..].trim_start();
        let code: String = tail.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
            currency = Some(code);
        }
    }
    Some((amount, currency))
}

/// Asks the provider; the reason in operator's words on failure (never a credential).
async fn ask(state: &AppState, account: &str) -> Result<(f64, Option<String>), String> {
    let cfg = &state.config.balance;
    let url = cfg.url.as_deref().ok_or("no balance URL is configured (TRUNK_BALANCE_URL)")?;
    let client = state.outbound.client(cfg.timeout, None);
    let mut req = client.post(url);
    if let (Some(user), Some(pw)) = (&cfg.username, &cfg.password) {
        req = req.basic_auth(user, pw.expose());
    }
    let res = req
        .send_form(&[("account", account), ("BALANCE", "BALANCE")])
        .await
        .map_err(|e| crate::outbound::describe(&e))?;
    let body = crate::outbound::answer(res, 64 * 1024).await?;
    parse_answer(&String::from_utf8_lossy(&body)).ok_or_else(|| "the provider's answer holds no balance".to_string())
}

/// Checks one trunk now and stores the result; pushes or clears its low-balance alert.
async fn check_trunk(state: &AppState, t: &Trunk) -> ServiceResult<Result<(), String>> {
    let Some(account) = t.account_number.as_deref() else {
        return Err(ServiceError::invalid("account_number", "the trunk has no provider account number"));
    };
    let now = chrono::Utc::now().naive_utc();
    let result = ask(state, account).await;
    let mut conn = state.db.get().await?;
    match &result {
        Ok((amount, currency)) => {
            repos::trunks::set_balance(&mut conn, TenantId(t.tenant_id), t.id, *amount, currency.as_deref(), now)
                .await?;
            let low = state.config.balance.low_balance.filter(|l| amount < l);
            let alert = low.map(|threshold| {
                json!({"kind": "low_balance", "trunk_id": t.id, "trunk": t.name, "amount": amount,
                       "currency": currency, "threshold": threshold})
            });
            if let Some(entry) = state.live.registry.tenant(TenantId(t.tenant_id)) {
                use mayday_actors::live::tenant::actor::SetAlert;
                entry.addr.do_send(SetAlert { key: format!("trunk:{}:balance", t.id), alert });
            }
        }
        Err(reason) => {
            tracing::warn!(trunk.id = t.id, reason = %reason, "trunk balance check failed");
            repos::trunks::set_balance_error(&mut conn, TenantId(t.tenant_id), t.id, reason, now).await?;
        }
    }
    Ok(result.map(|_| ()))
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<BalanceView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let t = repos::trunks::find(&mut conn, tenant, id).await?;
    let b = repos::trunks::balance(&mut conn, tenant, id).await?;
    Ok(view(state, &t, b))
}

/// Checks now. A provider that fails gives 502 naming the reason and the last known value.
pub async fn check(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<BalanceView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let t = repos::trunks::find(&mut conn, tenant, id).await?;
    drop(conn);
    let outcome = check_trunk(state, &t).await?;
    let mut conn = state.db.get().await?;
    let v = view(state, &t, repos::trunks::balance(&mut conn, tenant, id).await?);
    match outcome {
        Ok(()) => Ok(v),
        Err(reason) => {
            let last = match (v.amount, v.age_secs) {
                (Some(a), Some(age)) => {
                    format!("; last known balance {a} {} from {age} s ago", v.currency.unwrap_or_default())
                }
                _ => "; no balance known yet".to_string(),
            };
            Err(ServiceError::Upstream(format!("{reason}{last}")))
        }
    }
}

/// Every trunk with an account, on a schedule (`TRUNK_BALANCE_INTERVAL`).
pub fn keep_balances_fresh(state: AppState) {
    if state.config.balance.url.is_none() {
        return;
    }
    actix::spawn(async move {
        // The first round after one interval: at start the stored balances (with their age)
        // stand, and a restart loop does not hammer the provider.
        let every = state.config.balance.interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            let trunks = match state.db.get().await {
                Ok(mut conn) => repos::trunks::with_accounts(&mut conn).await.unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            for t in trunks {
                if let Err(e) = check_trunk(&state, &t).await {
                    tracing::warn!(trunk.id = t.id, error = %e, "scheduled balance check failed");
                }
            }
        }
    });
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCall {
    /// The trunk's id or name.
    pub trunk: serde_json::Value,
    pub destination: String,
    pub seconds: u32,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub balance: f64,
    pub currency: Option<String>,
    /// Per-minute rate of the destination's prefix, and the prefix.
    pub rate: f64,
    pub rate_prefix: String,
    pub minutes: u32,
    pub estimated_cost: f64,
    pub min_balance: f64,
    pub reason: Option<String>,
}

/// The rate of the longest configured prefix the destination starts with (`*` otherwise).
pub fn rate_for(rates: &[(String, f64)], destination: &str) -> Option<(String, f64)> {
    let digits: String = destination.trim().trim_start_matches('+').chars().filter(|c| c.is_ascii_digit()).collect();
    rates
        .iter()
        .filter(|(p, _)| p != "*" && digits.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
        .or_else(|| rates.iter().find(|(p, _)| p == "*"))
        .cloned()
}

/// Whether a call may be placed: balance >= estimated cost + minimum balance; the cost is
/// the per-minute rate times the minutes, rounded up.
pub fn decide(balance: f64, rate: f64, seconds: u32, min_balance: f64) -> (bool, u32, f64) {
    let minutes = seconds.div_ceil(60);
    let cost = rate * f64::from(minutes);
    (balance >= cost + min_balance, minutes, cost)
}

pub async fn verify_call(state: &AppState, caller: &Caller, req: VerifyCall) -> ServiceResult<Verdict> {
    let mut conn = state.db.get().await?;
    let trunk = match &req.trunk {
        serde_json::Value::Number(n) => {
            let id = n.as_u64().ok_or_else(|| ServiceError::invalid("trunk", "is not a trunk id"))?;
            repos::trunks::find(&mut conn, caller.tenant, id).await.map_err(|e| match e {
                diesel::result::Error::NotFound => ServiceError::invalid("trunk", "is not a trunk of this tenant"),
                other => other.into(),
            })?
        }
        serde_json::Value::String(name) => repos::trunks::find_by_name(&mut conn, caller.tenant, name)
            .await?
            .ok_or_else(|| ServiceError::invalid("trunk", "is not a trunk of this tenant"))?,
        _ => return Err(ServiceError::invalid("trunk", "must be a trunk id or name")),
    };
    if req.destination.trim().is_empty() || req.destination.len() > 32 {
        return Err(ServiceError::invalid("destination", "must be a number"));
    }
    if req.seconds > 24 * 3600 {
        return Err(ServiceError::invalid("seconds", "must be at most a day"));
    }
    // National numbers are read in the default region, so `0414…` rates as `256414…`.
    let destination = crate::services::sms::e164("destination", &req.destination, &state.config.sms.default_region)
        .unwrap_or_else(|_| req.destination.clone());
    let (rate_prefix, rate) = rate_for(&state.config.balance.rates, &destination).ok_or_else(|| {
        ServiceError::invalid("destination", "no rate is configured for this destination (TRUNK_RATES)")
    })?;
    let mut b = repos::trunks::balance(&mut conn, caller.tenant, trunk.id).await?;
    drop(conn);
    // A balance older than two refresh intervals is asked again; one that cannot be
    // refreshed is not trusted to allow a call.
    let max_age =
        chrono::Duration::from_std(state.config.balance.interval.saturating_mul(2)).unwrap_or(chrono::Duration::MAX);
    let age = b.at.map(|at| chrono::Utc::now().naive_utc() - at);
    if b.amount.is_none() || age.is_none_or(|a| a > max_age) {
        // A provider that just failed is not asked again at every call setup.
        let recent_error =
            b.error_at.is_some_and(|e| chrono::Utc::now().naive_utc() - e < chrono::Duration::seconds(30));
        let outcome = if recent_error {
            Err(format!(
                "the provider failed {} s ago: {}",
                b.error_at.map(|e| (chrono::Utc::now().naive_utc() - e).num_seconds()).unwrap_or(0),
                b.error.clone().unwrap_or_default()
            ))
        } else {
            check_trunk(state, &trunk).await?
        };
        if let Err(reason) = outcome {
            let known = match age {
                Some(a) if b.amount.is_some() => format!("; the last known balance is {} s old", a.num_seconds()),
                _ => "; no balance known yet".to_string(),
            };
            return Err(ServiceError::Upstream(format!("{reason}{known}")));
        }
        let mut conn = state.db.get().await?;
        b = repos::trunks::balance(&mut conn, caller.tenant, trunk.id).await?;
    }
    let balance = b.amount.unwrap_or(0.0);
    let min_balance = state.config.balance.min_balance;
    let (allowed, minutes, estimated_cost) = decide(balance, rate, req.seconds, min_balance);
    Ok(Verdict {
        allowed,
        balance,
        currency: b.currency,
        rate,
        rate_prefix,
        minutes,
        estimated_cost,
        min_balance,
        reason: (!allowed)
            .then(|| format!("the balance {balance} does not cover {estimated_cost} plus the minimum {min_balance}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_as_json_or_text() {
        assert_eq!(parse_answer(r#"{"balance": 1234.5, "currency": "UGX"}"#), Some((1234.5, Some("UGX".into()))));
        assert_eq!(parse_answer(r#"{"data": {"credit": "1,000.25"}}"#), Some((1000.25, None)));
        assert_eq!(parse_answer("Balance: 1,234.50 UGX"), Some((1234.5, Some("UGX".into()))));
        assert_eq!(parse_answer("error: no such account"), None);
        assert_eq!(parse_answer("Error 401: unauthorised"), None, "a number without the word balance");
        assert_eq!(parse_answer("Account 2567001234 balance 50 UGX"), Some((50.0, Some("UGX".into()))));
        assert_eq!(parse_answer("Credit limit 5000, Balance 120"), Some((120.0, None)), "balance wins over credit");
        assert_eq!(parse_answer("Balance for account 2567001234: 50"), None, "not right after the word");
        assert_eq!(parse_answer("balance=UGX 1,000"), Some((1000.0, Some("UGX".into()))));
        assert_eq!(parse_answer("Credit: 75.5"), Some((75.5, None)));
        assert_eq!(parse_answer(r#"{"status": "ok"}"#), None);
    }

    #[test]
    fn the_longest_prefix_rates_and_the_boundary_decides() {
        let rates = vec![("256".to_string(), 150.0), ("2567".to_string(), 200.0), ("*".to_string(), 300.0)];
        assert_eq!(rate_for(&rates, "+256 772 000000"), Some(("2567".into(), 200.0)));
        assert_eq!(rate_for(&rates, "256414000000"), Some(("256".into(), 150.0)));
        assert_eq!(rate_for(&rates, "441234"), Some(("*".into(), 300.0)));
        // 61 s is 2 minutes: 400; with a minimum of 100, exactly 500 is enough.
        assert_eq!(decide(500.0, 200.0, 61, 100.0), (true, 2, 400.0));
        assert!(!decide(499.99, 200.0, 61, 100.0).0);
        assert_eq!(decide(200.0, 200.0, 60, 0.0), (true, 1, 200.0));
        assert_eq!(decide(0.0, 200.0, 0, 0.0), (true, 0, 0.0));
    }
}
