//! Compares what Mayday believes (queue and agent snapshots, live calls) with the simulated
//! PBX's ground truth, naming every difference. Tests and benches use it to assert exact
//! equality after a scenario.

use std::collections::BTreeMap;

use super::truth::Truth;
use crate::live::agent::state::AgentSnapshot;
use crate::live::calls::LiveCall;
use crate::live::queue::state::QueueSnapshot;

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Every difference between Mayday's view and the truth; empty when they agree.
pub fn differences(
    truth: &Truth,
    queues: &[QueueSnapshot],
    agents: &[AgentSnapshot],
    calls: &[LiveCall],
) -> Vec<String> {
    compare(truth, queues, agents, calls, true)
}

/// Differences in the live state only (calls, waiting callers, members, agents), not in
/// today's counters: after a link outage Mayday cannot know what happened entirely while
/// it was away, but what is live must be exact.
pub fn live_differences(
    truth: &Truth,
    queues: &[QueueSnapshot],
    agents: &[AgentSnapshot],
    calls: &[LiveCall],
) -> Vec<String> {
    compare(truth, queues, agents, calls, false)
}

fn compare(
    truth: &Truth,
    queues: &[QueueSnapshot],
    agents: &[AgentSnapshot],
    calls: &[LiveCall],
    counters: bool,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mine: BTreeMap<&str, &QueueSnapshot> = queues.iter().map(|q| (q.asterisk_name.as_str(), q)).collect();
    for (name, tq) in &truth.queues {
        let Some(q) = mine.get(name.as_str()) else {
            diffs.push(format!("queue {name}: missing"));
            continue;
        };
        if counters && q.counters != tq.counters {
            diffs.push(format!("queue {name}: counters {:?} != truth {:?}", q.counters, tq.counters));
        }
        let waiting: Vec<&str> = q.waiting.iter().map(|w| w.uniqueid.as_str()).collect();
        let truth_waiting: Vec<&str> = tq.waiting.iter().map(String::as_str).collect();
        if waiting != truth_waiting {
            diffs.push(format!("queue {name}: waiting {waiting:?} != truth {truth_waiting:?}"));
        }
        for tm in &tq.members {
            match q.members.iter().find(|m| m.interface.eq_ignore_ascii_case(&tm.interface)) {
                None => diffs.push(format!("queue {name}: member {} missing", tm.interface)),
                Some(m) => {
                    let status = crate::live::facts::DeviceState::from_code(tm.status);
                    if m.paused != tm.paused || (tm.paused && m.paused_reason != tm.reason) || m.status != status {
                        diffs.push(format!(
                            "queue {name}: member {} paused={} ({}) status={:?} != truth paused={} ({}) status={:?}",
                            tm.interface, m.paused, m.paused_reason, m.status, tm.paused, tm.reason, status
                        ));
                    }
                }
            }
        }
        if q.members.len() != tq.members.len() {
            diffs.push(format!("queue {name}: {} members != truth {}", q.members.len(), tq.members.len()));
        }
    }
    for a in agents {
        let endpoint = a.device.strip_prefix("PJSIP/").unwrap_or(&a.device);
        let Some(ta) = truth.agents.get(endpoint) else {
            diffs.push(format!("agent {} ({endpoint}): no such endpoint on the PBX", a.id));
            continue;
        };
        let status = text(&a.status);
        let kind = a.call.as_ref().map(|c| text(&c.kind));
        let linkedid = a.call.as_ref().map(|c| c.linkedid.clone());
        if status != ta.status
            || (ta.status == "paused" && a.reason != ta.reason)
            || kind != ta.call_kind
            || linkedid != ta.linkedid
        {
            diffs.push(format!(
                "agent {endpoint}: {status} {:?} {kind:?} {linkedid:?} != truth {} {:?} {:?} {:?}",
                a.reason, ta.status, ta.reason, ta.call_kind, ta.linkedid
            ));
        }
    }
    let mine: BTreeMap<&str, &LiveCall> = calls.iter().map(|c| (c.linkedid.as_str(), c)).collect();
    for tc in &truth.calls {
        match mine.get(tc.linkedid.as_str()) {
            None => diffs.push(format!("call {}: missing ({} {})", tc.linkedid, tc.kind, tc.state)),
            Some(c) => {
                let (kind, state) = (text(&c.kind), text(&c.state));
                if kind != tc.kind
                    || state != tc.state
                    || c.queue != tc.queue
                    || c.agent_interface != tc.agent_interface
                {
                    diffs.push(format!(
                        "call {}: {kind} {state} {:?} {:?} != truth {} {} {:?} {:?}",
                        tc.linkedid, c.queue, c.agent_interface, tc.kind, tc.state, tc.queue, tc.agent_interface
                    ));
                }
            }
        }
    }
    for c in calls {
        if !truth.calls.iter().any(|t| t.linkedid == c.linkedid) {
            diffs.push(format!("call {}: a ghost ({} {})", c.linkedid, text(&c.kind), text(&c.state)));
        }
    }
    diffs
}
