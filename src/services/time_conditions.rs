//! Time conditions: weekly opening hours and closed dates in the tenant's time zone,
//! compiled to `GotoIfTime(...,<tz>?<open>,1)` rows (realtime rows cannot use labels).

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{TimeConditionFields, TimeConditionRow};
use crate::db::repos::routing;
use crate::dialplan::{ClosedDate, WeeklyRange};
use crate::domain::{Caller, Role, TenantId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, parse, to_json, Used};
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, Serialize)]
pub struct TimeConditionView {
    pub id: u64,
    pub name: String,
    pub weekly: Vec<WeeklyRange>,
    pub closed_dates: Vec<ClosedDate>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

fn view(r: TimeConditionRow) -> ServiceResult<TimeConditionView> {
    Ok(TimeConditionView {
        weekly: parse("time condition hours", &r.weekly)?,
        closed_dates: parse("time condition dates", &r.closed_dates)?,
        id: r.id,
        name: r.name,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConditionInput {
    pub name: Option<String>,
    pub weekly: Option<Vec<WeeklyRange>>,
    pub closed_dates: Option<Vec<ClosedDate>>,
}

/// Minutes since midnight of `HH:MM`.
fn minutes(field: &str, v: &str) -> ServiceResult<u32> {
    let bad = || ServiceError::invalid(field, format!("{v:?} is not a time HH:MM"));
    let (h, m) = v.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Days known, times valid, `from` before `to`, and no two ranges of one day overlapping.
pub fn check_weekly(weekly: &[WeeklyRange]) -> ServiceResult<Vec<WeeklyRange>> {
    if weekly.len() > 50 {
        return Err(ServiceError::invalid("weekly", "must list at most 50 ranges"));
    }
    let mut per_day: Vec<Vec<(u32, u32, String)>> = vec![Vec::new(); 7];
    let mut out = Vec::new();
    for w in weekly {
        let (from, to) = (minutes("weekly", &w.from)?, minutes("weekly", &w.to)?);
        if from >= to {
            return Err(ServiceError::invalid(
                "weekly",
                format!("{}-{} ends before it starts (split a range past midnight in two)", w.from, w.to),
            ));
        }
        if w.days.is_empty() {
            return Err(ServiceError::invalid("weekly", "a range needs at least one day"));
        }
        let mut days: Vec<String> = Vec::new();
        for d in &w.days {
            let d = d.trim().to_ascii_lowercase();
            let Some(i) = DAYS.iter().position(|x| *x == d) else {
                return Err(ServiceError::invalid("weekly", format!("{d:?} is not a day (mon ... sun)")));
            };
            if !days.contains(&d) {
                per_day[i].push((from, to, format!("{}-{}", w.from, w.to)));
                days.push(d);
            }
        }
        days.sort_by_key(|d| DAYS.iter().position(|x| x == d));
        out.push(WeeklyRange { days, from: w.from.clone(), to: w.to.clone() });
    }
    for (i, ranges) in per_day.iter_mut().enumerate() {
        ranges.sort();
        for pair in ranges.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(ServiceError::invalid(
                    "weekly",
                    format!("{} and {} overlap on {}", pair[0].2, pair[1].2, DAYS[i]),
                ));
            }
        }
    }
    Ok(out)
}

fn check_dates(dates: &[ClosedDate]) -> ServiceResult<Vec<ClosedDate>> {
    if dates.len() > 400 {
        return Err(ServiceError::invalid("closed_dates", "must list at most 400 dates"));
    }
    let mut out: Vec<ClosedDate> = Vec::new();
    for d in dates {
        if out.iter().any(|o| o.date == d.date) {
            return Err(ServiceError::invalid("closed_dates", format!("{} is listed twice", d.date)));
        }
        let name = validate::optional_text("closed_dates", d.name.as_deref(), 80)?;
        out.push(ClosedDate { date: d.date, name });
    }
    out.sort_by_key(|d| d.date);
    Ok(out)
}

fn fields(
    tenant: TenantId,
    current: Option<&TimeConditionRow>,
    input: TimeConditionInput,
) -> ServiceResult<TimeConditionFields> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => validate::text("name", n, 80)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let weekly = match (input.weekly, current) {
        (Some(w), _) => check_weekly(&w)?,
        (None, Some(c)) => parse("time condition hours", &c.weekly)?,
        (None, None) => return Err(ServiceError::invalid("weekly", "is required")),
    };
    let closed_dates = match (input.closed_dates, current) {
        (Some(d), _) => check_dates(&d)?,
        (None, Some(c)) => parse("time condition dates", &c.closed_dates)?,
        (None, None) => Vec::new(),
    };
    Ok(TimeConditionFields {
        tenant_id: tenant.0,
        name,
        weekly: to_json(&weekly),
        closed_dates: to_json(&closed_dates),
    })
}

pub async fn list(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<TimeConditionView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    routing::time_condition::all_of(&mut conn, tenant).await?.into_iter().map(view).collect()
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<TimeConditionView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    view(routing::time_condition::find(&mut conn, tenant, id).await?)
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    input: TimeConditionInput,
) -> ServiceResult<TimeConditionView> {
    require(caller, Role::Admin)?;
    let f = fields(tenant, None, input)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let id = routing::time_condition::insert(conn, &f).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "time_condition",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        view(routing::time_condition::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: u64,
    input: TimeConditionInput,
) -> ServiceResult<TimeConditionView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::time_condition::find(conn, tenant, id).await?;
        let f = fields(tenant, Some(&current), input)?;
        routing::time_condition::update(conn, tenant, id, &f).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "update",
            entity: "time_condition",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        view(routing::time_condition::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn delete(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::time_condition::find(conn, tenant, id).await?;
        dialplan::refuse_if_used(conn, tenant, Used::TimeCondition(id), "time condition").await?;
        routing::time_condition::delete(conn, tenant, id).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "time_condition",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(days: &[&str], from: &str, to: &str) -> WeeklyRange {
        WeeklyRange { days: days.iter().map(|d| d.to_string()).collect(), from: from.into(), to: to.into() }
    }

    #[test]
    fn overlapping_or_backwards_ranges_are_refused() {
        assert!(check_weekly(&[range(&["mon", "tue"], "08:00", "12:00"), range(&["mon"], "13:00", "17:00")]).is_ok());
        assert!(check_weekly(&[range(&["mon"], "08:00", "12:00"), range(&["mon", "fri"], "11:59", "17:00")]).is_err());
        assert!(check_weekly(&[range(&["mon"], "12:00", "12:00")]).is_err());
        assert!(check_weekly(&[range(&["mon"], "8:00", "12:00")]).is_err());
        assert!(check_weekly(&[range(&["moon"], "08:00", "12:00")]).is_err());
        assert_eq!(check_weekly(&[range(&["fri", "MON"], "08:00", "12:00")]).expect("ok")[0].days, ["mon", "fri"]);
    }
}
