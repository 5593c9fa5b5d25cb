//! The simulated PBX's directory read from the realtime tables Asterisk reads
//! (`ps_endpoints`, `queues`, `queue_members`), so `mayday sim --database-url` and the demo
//! serve the agents and queues created through the API, with no restart. Like app_queue,
//! the sim reloads it at each queue load.

use mayday_actors::sim::{Directory, DirectoryFuture, DirectorySnapshot, SimEndpoint, SimMember, SimQueue};

use crate::db::asterisk as rt;
use crate::db::DbPool;

/// Reads the realtime tables on each load.
#[derive(Clone)]
pub struct RealtimeDirectory {
    pool: DbPool,
    /// The `Queue()` timeout of simulated callers (the dialplan's, not a table column).
    pub caller_max_wait_secs: u32,
}

impl RealtimeDirectory {
    pub fn new(pool: DbPool) -> Self {
        RealtimeDirectory { pool, caller_max_wait_secs: 300 }
    }
}

/// The name part of a caller id (`"Amani" <1001>` -> `Amani`).
fn callerid_name(callerid: Option<&str>) -> String {
    let Some(c) = callerid else { return String::new() };
    match (c.find('"'), c.rfind('"')) {
        (Some(a), Some(b)) if b > a => c[a + 1..b].to_string(),
        _ => c.split('<').next().unwrap_or_default().trim().to_string(),
    }
}

fn secs(v: Option<i32>, default: u32) -> u32 {
    v.and_then(|v| u32::try_from(v).ok()).unwrap_or(default)
}

/// Builds the snapshot from table rows (separate from I/O for tests).
pub fn snapshot(
    endpoints: Vec<rt::Endpoint>,
    queues: Vec<rt::AsteriskQueue>,
    members: Vec<rt::Member>,
    caller_max_wait_secs: u32,
) -> DirectorySnapshot {
    // Phones authenticate to Asterisk (an inbound `auth`); trunks do not.
    let endpoints: Vec<SimEndpoint> = endpoints
        .into_iter()
        .filter(|e| e.auth.is_some())
        .map(|e| SimEndpoint {
            name: callerid_name(e.callerid.as_deref()),
            tenantid: e.tenantid,
            context: e.context.unwrap_or_else(|| "mayday-agents".into()),
            registered: true,
            id: e.id,
        })
        .collect();
    let queues = queues
        .into_iter()
        .map(|q| SimQueue {
            // Rows of queues that do not exist (the reason_paused probe) are never loaded.
            members: members
                .iter()
                .filter(|m| m.queue_name == q.name)
                .map(|m| SimMember {
                    interface: m.interface.clone(),
                    membername: m.membername.clone().unwrap_or_default(),
                    state_interface: m.state_interface.clone().unwrap_or_default(),
                    penalty: m.penalty.unwrap_or(0),
                    paused: m.paused.unwrap_or(0) != 0,
                    realtime: true,
                })
                .collect(),
            strategy: q.strategy.unwrap_or_else(|| "ringall".into()),
            ring_timeout_secs: secs(q.timeout, 15),
            wrapup_secs: secs(q.wrapuptime, 0),
            service_level_secs: secs(q.servicelevel, 0),
            max_len: secs(q.maxlen, 0),
            weight: q.weight.unwrap_or(0),
            max_wait_secs: caller_max_wait_secs,
            tenantid: None,
            caller_context: "mayday-inbound".into(),
            name: q.name,
        })
        .collect();
    DirectorySnapshot { endpoints, queues }
}

impl Directory for RealtimeDirectory {
    fn load(&self) -> DirectoryFuture {
        let pool = self.pool.clone();
        let wait = self.caller_max_wait_secs;
        Box::pin(async move {
            let mut conn = pool.get().await.map_err(|e| format!("database: {e}"))?;
            let endpoints = rt::all_endpoints(&mut conn).await.map_err(|e| format!("ps_endpoints: {e}"))?;
            let queues = rt::all_queues(&mut conn).await.map_err(|e| format!("queues: {e}"))?;
            let members = rt::all_members(&mut conn).await.map_err(|e| format!("queue_members: {e}"))?;
            Ok(snapshot(endpoints, queues, members, wait))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_queues_come_from_rows_and_the_probe_row_is_ignored() {
        let phone = rt::Endpoint {
            id: "acme-1001".into(),
            auth: Some("acme-1001".into()),
            callerid: Some("\"Amani\" <1001>".into()),
            tenantid: Some("acme".into()),
            context: Some("mayday-agents".into()),
            ..rt::Endpoint::default()
        };
        let trunk = rt::Endpoint {
            id: "acme-carrier".into(),
            outbound_auth: Some("acme-carrier".into()),
            ..rt::Endpoint::default()
        };
        let queue = rt::AsteriskQueue {
            name: "acme-support".into(),
            strategy: Some("rrmemory".into()),
            timeout: Some(12),
            ..rt::AsteriskQueue::default()
        };
        let member = |q: &str, i: &str| rt::Member {
            queue_name: q.into(),
            interface: i.into(),
            membername: Some("Amani".into()),
            state_interface: Some(i.into()),
            penalty: Some(2),
            paused: Some(0),
            uniqueid: 1,
        };
        let s = snapshot(
            vec![phone, trunk],
            vec![queue],
            vec![member("acme-support", "PJSIP/acme-1001"), member("~mayday-probe", "Local/0@mayday-probe/n")],
            60,
        );
        assert_eq!(s.endpoints.len(), 1, "the trunk is not a phone");
        assert_eq!((s.endpoints[0].name.as_str(), s.endpoints[0].tenantid.as_deref()), ("Amani", Some("acme")));
        assert_eq!(s.queues.len(), 1);
        assert_eq!((s.queues[0].ring_timeout_secs, s.queues[0].members.len()), (12, 1));
        assert_eq!(s.queues[0].members[0].penalty, 2);
    }
}
