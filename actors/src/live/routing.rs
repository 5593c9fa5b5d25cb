//! Which tenant an event of a shared PBX belongs to (design.md "PBXs and tenants"): by
//! `Tenantid` when the channel block carries one, else by the tenant's name prefix on the
//! queue, interface, device, endpoint or context it names, else by the call it belongs to
//! (a trunk channel is claimed when its call reaches a tenant's queue or agent). Events of
//! a call nobody has claimed yet wait (bounded) and follow the claim. On a PBX with one
//! tenant, everything is that tenant's.

use std::collections::HashMap;

use crate::ami::event::{channel_device, device_resource};
use crate::ami::message::Message;

/// Routing facts of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub tenantid: String,
}

/// Calls waiting for an owner are dropped past these bounds.
const MAX_PENDING_CALLS: usize = 10_000;
const MAX_PENDING_PER_CALL: usize = 256;

#[derive(Debug, Default)]
pub struct Routing {
    routes: Vec<Route>,
    chan_owner: HashMap<String, usize>,
    /// Linkedid -> (owner, live channels of ours on it).
    call_owner: HashMap<String, usize>,
    pending: HashMap<String, Vec<Message>>,
}

/// Keys that may name a channel's Uniqueid, and their Linkedid partner.
const UNIQUE_KEYS: [(&str, &str); 8] = [
    ("Uniqueid", "Linkedid"),
    ("DestUniqueid", "DestLinkedid"),
    ("TransfererUniqueid", "TransfererLinkedid"),
    ("TransfereeUniqueid", "TransfereeLinkedid"),
    ("LocalOneUniqueid", "LocalOneLinkedid"),
    ("LocalTwoUniqueid", "LocalTwoLinkedid"),
    ("OrigTransfererUniqueid", "OrigTransfererLinkedid"),
    ("SecondTransfererUniqueid", "SecondTransfererLinkedid"),
];

/// Keys whose values carry a name prefix.
const NAMED_KEYS: [&str; 10] = [
    "Queue",
    "Interface",
    "StateInterface",
    "Location",
    "Device",
    "Channel",
    "DestChannel",
    "Context",
    "Peer",
    "EndpointName",
];

impl Routing {
    pub fn new(routes: Vec<Route>) -> Self {
        Routing { routes, ..Default::default() }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Forgets channel and call owners (before a resync rebuilds them).
    pub fn reset(&mut self) {
        self.chan_owner.clear();
        self.call_owner.clear();
        self.pending.clear();
    }

    fn by_tenantid(&self, t: &str) -> Option<usize> {
        self.routes.iter().position(|r| !r.tenantid.is_empty() && r.tenantid == t)
    }

    /// The tenant whose prefix starts `name` (the longest wins); an empty prefix never
    /// matches on a shared PBX.
    fn by_prefix(&self, name: &str) -> Option<usize> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.prefix.is_empty() && name.starts_with(r.prefix.as_str()))
            .max_by_key(|(_, r)| r.prefix.len())
            .map(|(i, _)| i)
    }

    fn by_name(&self, key: &str, value: &str) -> Option<usize> {
        match key {
            k if k.eq_ignore_ascii_case("Queue") || k.ends_with("Context") => self.by_prefix(value),
            _ => {
                // Channels carry a sequence suffix (PJSIP/acme-1001-0000002a,
                // Local/1001@acme-agents-00000001;1); devices and interfaces do not
                // (PJSIP/acme-1001), and their last part may look like one.
                let device =
                    if key.ends_with("Channel") { channel_device(value) } else { value.trim_end_matches("/n") };
                let resource = device_resource(device);
                self.by_prefix(resource)
                    .or_else(|| device.split_once('@').and_then(|(_, ctx)| self.by_prefix(ctx.trim_end_matches("/n"))))
            }
        }
    }

    fn claim_of(&self, msg: &Message) -> Option<usize> {
        for (k, v) in msg.iter() {
            if k.eq_ignore_ascii_case("Tenantid") || k.ends_with("Tenantid") {
                if let Some(i) = self.by_tenantid(v) {
                    return Some(i);
                }
            }
        }
        for (uid_key, lid_key) in UNIQUE_KEYS {
            if let Some(i) = msg.get(uid_key).and_then(|u| self.chan_owner.get(u)) {
                return Some(*i);
            }
            if let Some(i) = msg.get(lid_key).and_then(|l| self.call_owner.get(l)) {
                return Some(*i);
            }
        }
        for key in NAMED_KEYS {
            for (k, v) in msg.iter() {
                let matches = k.eq_ignore_ascii_case(key)
                    || (key == "Channel" && k.ends_with("Channel"))
                    || (key == "Context" && k.ends_with("Context"));
                if matches {
                    if let Some(i) = self.by_name(k, v) {
                        return Some(i);
                    }
                }
            }
        }
        None
    }

    fn remember(&mut self, msg: &Message, owner: usize) {
        for (uid_key, lid_key) in UNIQUE_KEYS {
            if let Some(u) = msg.get(uid_key) {
                self.chan_owner.insert(u.to_string(), owner);
            }
            if let Some(l) = msg.get(lid_key) {
                self.call_owner.insert(l.to_string(), owner);
            }
        }
    }

    /// Routes one event: pushes `(tenant index, message)` for it and for any events of its
    /// call that were waiting for an owner.
    pub fn route(&mut self, msg: Message, out: &mut Vec<(usize, Message)>) {
        if self.routes.len() == 1 {
            out.push((0, msg));
            return;
        }
        let is_hangup = msg.event_name().is_some_and(|e| e.eq_ignore_ascii_case("Hangup"));
        match self.claim_of(&msg) {
            Some(owner) => {
                self.remember(&msg, owner);
                for (_, lid_key) in UNIQUE_KEYS {
                    if let Some(waiting) = msg.get(lid_key).and_then(|l| self.pending.remove(l)) {
                        for m in waiting {
                            self.remember(&m, owner);
                            out.push((owner, m));
                        }
                    }
                }
                if is_hangup {
                    if let Some(u) = msg.get("Uniqueid") {
                        self.chan_owner.remove(u);
                        if msg.get("Linkedid") == Some(u) {
                            // The call's first channel is gone; its Linkedid is not reused.
                            self.call_owner.remove(u);
                        }
                    }
                }
                out.push((owner, msg));
            }
            None => {
                let Some(linkedid) = msg.get("Linkedid").map(str::to_string) else { return };
                if is_hangup && msg.get("Uniqueid") == Some(linkedid.as_str()) {
                    // Nobody claimed this call and its first channel is gone.
                    self.pending.remove(&linkedid);
                    return;
                }
                if self.pending.len() >= MAX_PENDING_CALLS && !self.pending.contains_key(&linkedid) {
                    return;
                }
                let list = self.pending.entry(linkedid).or_default();
                if list.len() < MAX_PENDING_PER_CALL {
                    list.push(msg);
                }
            }
        }
    }

    /// The owner of a list item of a resync (queue, device or channel), learning channel
    /// owners as it goes; `None` for items of no tenant.
    pub fn claim_item(&mut self, msg: &Message) -> Option<usize> {
        if self.routes.len() == 1 {
            return Some(0);
        }
        let owner = self.claim_of(msg)?;
        self.remember(msg, owner);
        Some(owner)
    }

    /// Claims a channel for a tenant (a resync found it in that tenant's queue).
    pub fn claim_channel(&mut self, uniqueid: &str, linkedid: Option<&str>, owner: usize) {
        self.chan_owner.insert(uniqueid.to_string(), owner);
        if let Some(l) = linkedid {
            self.call_owner.insert(l.to_string(), owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing() -> Routing {
        Routing::new(vec![
            Route { prefix: "acme-".into(), tenantid: "acme".into() },
            Route { prefix: "beta-".into(), tenantid: "beta".into() },
        ])
    }

    fn ev(pairs: &[(&str, &str)]) -> Message {
        Message::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn tenantid_queue_and_device_prefixes_route_events() {
        let mut r = routing();
        let mut out = Vec::new();
        r.route(
            ev(&[
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/x-1"),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
                ("Tenantid", "beta"),
            ]),
            &mut out,
        );
        r.route(
            ev(&[("Event", "QueueMemberStatus"), ("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1001")]),
            &mut out,
        );
        r.route(ev(&[("Event", "DeviceStateChange"), ("Device", "PJSIP/beta-1001"), ("State", "INUSE")]), &mut out);
        r.route(ev(&[("Event", "DeviceStateChange"), ("Device", "PJSIP/other-1001"), ("State", "INUSE")]), &mut out);
        assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 0, 1]);
    }

    #[test]
    fn a_trunk_channel_waits_until_its_call_reaches_a_tenant_and_follows_it() {
        let mut r = routing();
        let mut out = Vec::new();
        let trunk = [
            ("Channel", "PJSIP/trunk-00000001"),
            ("Uniqueid", "5.1"),
            ("Linkedid", "5.1"),
            ("Context", "mayday-inbound"),
        ];
        r.route(ev(&[&[("Event", "Newchannel")][..], &trunk[..]].concat()), &mut out);
        r.route(ev(&[&[("Event", "Newstate")][..], &trunk[..]].concat()), &mut out);
        assert!(out.is_empty(), "nobody claimed the call yet");
        r.route(
            ev(&[&[("Event", "QueueCallerJoin")][..], &trunk[..], &[("Queue", "beta-support")][..]].concat()),
            &mut out,
        );
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|(i, _)| *i == 1));
        assert_eq!(out[0].1.event_name(), Some("Newchannel"), "waiting events keep their order");
        out.clear();
        r.route(ev(&[&[("Event", "Hangup")][..], &trunk[..]].concat()), &mut out);
        assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1], "later events of the claimed channel follow");
    }

    #[test]
    fn an_unclaimed_call_is_dropped_when_it_ends() {
        let mut r = routing();
        let mut out = Vec::new();
        let trunk = [("Channel", "PJSIP/trunk-00000009"), ("Uniqueid", "9.1"), ("Linkedid", "9.1")];
        r.route(ev(&[&[("Event", "Newchannel")][..], &trunk[..]].concat()), &mut out);
        r.route(ev(&[&[("Event", "Hangup")][..], &trunk[..]].concat()), &mut out);
        assert!(out.is_empty());
        assert!(r.pending.is_empty());
    }

    #[test]
    fn a_single_tenant_gets_everything() {
        let mut r = Routing::new(vec![Route { prefix: String::new(), tenantid: String::new() }]);
        let mut out = Vec::new();
        r.route(
            ev(&[("Event", "Newchannel"), ("Channel", "PJSIP/1001-1"), ("Uniqueid", "1"), ("Linkedid", "1")]),
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }
}
