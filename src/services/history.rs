//! Call history: the calls Asterisk recorded in table `cdr` (one row per leg, written by
//! cdr_adaptive_odbc), grouped into calls by `linkedid`, scoped to the tenant by the
//! `tenantid` Asterisk copies from the tenant's endpoints. Managers and admins see the
//! tenant's calls; an agent sees the calls its own phone was on.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::asterisk::{self as rt, CdrFilter, CdrRow};
use crate::db::{repos, Page, Paged};
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

/// The history's filters (`GET /api/calls/history?...`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Calls that started at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Calls that started before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Digits in the caller's or the called number.
    pub number: Option<String>,
    /// Calls one agent's phone was on (managers and admins).
    pub agent_id: Option<u64>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// Another tenant's history (superadmins).
    pub tenant_id: Option<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AgentRef {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Leg {
    pub uniqueid: Option<String>,
    pub channel: Option<String>,
    pub dstchannel: Option<String>,
    pub src: Option<String>,
    pub dst: Option<String>,
    pub lastapp: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub answer: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub billsec: i32,
    pub disposition: Option<String>,
}

/// One call: its legs, and what a history list shows of it.
#[derive(Clone, Debug, Serialize)]
pub struct CallRecord {
    pub linkedid: String,
    /// `inbound` (it came from outside), `outbound` (an agent called out) or `internal`
    /// (agents only).
    pub direction: &'static str,
    pub caller: Option<String>,
    pub called: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `answered` when a leg was answered and talked, else the first leg's disposition
    /// (`no answer`, `busy`, `failed`, `congestion`) in lower case.
    pub disposition: String,
    pub duration_secs: i64,
    /// The longest answered leg.
    pub talk_secs: i64,
    /// The tenant's agents whose phones were on the call, in the order they joined.
    pub agents: Vec<AgentRef>,
    pub legs: Vec<Leg>,
}

fn utc(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(|t| t.and_utc())
}

/// `PJSIP/acme-1001-0000002a` -> `acme-1001`: the endpoint a channel belongs to.
fn endpoint_of(channel: &str) -> Option<&str> {
    let rest = channel.strip_prefix("PJSIP/")?;
    rest.rfind('-').map(|i| &rest[..i])
}

fn record(linkedid: String, legs: Vec<CdrRow>, agents: &HashMap<String, AgentRef>) -> CallRecord {
    let agent_of = |c: &Option<String>| c.as_deref().and_then(endpoint_of).and_then(|e| agents.get(e));
    let mut on_call: Vec<AgentRef> = Vec::new();
    for l in &legs {
        for a in [agent_of(&l.channel), agent_of(&l.dstchannel)].into_iter().flatten() {
            if !on_call.contains(a) {
                on_call.push(a.clone());
            }
        }
    }
    let first = legs.first();
    let from_agent = first.is_some_and(|l| agent_of(&l.channel).is_some());
    let only_agents = legs.iter().all(|l| {
        agent_of(&l.channel).is_some()
            && (l.dstchannel.as_deref().is_none_or(str::is_empty) || agent_of(&l.dstchannel).is_some())
    });
    let direction = match (from_agent, only_agents) {
        (false, _) => "inbound",
        (true, true) => "internal",
        (true, false) => "outbound",
    };
    let answered = legs.iter().any(|l| l.disposition.as_deref() == Some("ANSWERED") && l.billsec.unwrap_or(0) > 0);
    let disposition = if answered {
        "answered".to_string()
    } else {
        first.and_then(|l| l.disposition.clone()).unwrap_or_default().to_ascii_lowercase()
    };
    let started = legs.iter().filter_map(|l| l.start).min();
    let ended = legs.iter().filter_map(|l| l.end).max();
    CallRecord {
        linkedid,
        direction,
        caller: first.and_then(|l| l.src.clone()),
        called: first.and_then(|l| l.dst.clone()),
        started_at: utc(started),
        ended_at: utc(ended),
        disposition,
        duration_secs: match (started, ended) {
            (Some(s), Some(e)) => (e - s).num_seconds().max(0),
            _ => 0,
        },
        talk_secs: legs.iter().map(|l| i64::from(l.billsec.unwrap_or(0))).max().unwrap_or(0),
        agents: on_call,
        legs: legs
            .into_iter()
            .map(|l| Leg {
                uniqueid: l.uniqueid,
                channel: l.channel,
                dstchannel: l.dstchannel,
                src: l.src,
                dst: l.dst,
                lastapp: l.lastapp,
                start: utc(l.start),
                answer: utc(l.answer),
                end: utc(l.end),
                billsec: l.billsec.unwrap_or(0),
                disposition: l.disposition,
            })
            .collect(),
    }
}

/// `GET /api/calls/history`.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    q: HistoryQuery,
) -> ServiceResult<Paged<CallRecord>> {
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            return Err(ServiceError::invalid("to", "must be after from"));
        }
    }
    let number = match q.number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) if n.len() <= 32 && n.bytes().all(|b| b.is_ascii_digit() || b == b'+' || b == b'*' || b == b'#') => {
            Some(n.to_string())
        }
        Some(_) => return Err(ServiceError::invalid("number", "must be up to 32 digits, +, * or #")),
    };
    let page = Page::new(q.page, q.per_page);
    let mut conn = state.db.get().await?;
    let tenant_row = repos::tenants::find(&mut conn, tenant).await?;
    let agents: HashMap<String, AgentRef> = repos::agents::all_of(&mut conn, tenant)
        .await?
        .into_iter()
        .map(|(u, row)| (row.endpoint, AgentRef { id: u.id, name: crate::services::agents::display(&u).to_string() }))
        .collect();
    // An agent sees its own calls; managers and admins any agent's, or all.
    let whose = if caller.role.at_least(Role::Manager) { q.agent_id.map(UserId) } else { Some(caller.user) };
    let endpoint = match whose {
        Some(id) => Some(
            repos::agents::find(&mut conn, tenant, id)
                .await
                .map_err(|e| match e {
                    diesel::result::Error::NotFound => {
                        ServiceError::invalid("agent_id", "is not an agent of this tenant")
                    }
                    other => other.into(),
                })?
                .1
                .endpoint,
        ),
        None => None,
    };
    let filter = CdrFilter {
        tenantid: tenant_row.slug.clone(),
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
        number,
        endpoint,
    };
    let (ids, total) = rt::call_page(&mut conn, &filter, page).await?;
    let mut by_call: HashMap<String, Vec<CdrRow>> = HashMap::new();
    for leg in rt::legs_of(&mut conn, &filter.tenantid, &ids).await? {
        if let Some(id) = leg.linkedid.clone() {
            by_call.entry(id).or_default().push(leg);
        }
    }
    let items = ids
        .into_iter()
        .map(|id| {
            let legs = by_call.remove(&id).unwrap_or_default();
            record(id, legs, &agents)
        })
        .collect();
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_endpoints() {
        assert_eq!(endpoint_of("PJSIP/acme-1001-0000002a"), Some("acme-1001"));
        assert_eq!(endpoint_of("PJSIP/1001-00000000"), Some("1001"));
        assert_eq!(endpoint_of("Local/1001@agents-00000038;1"), None);
    }
}
