//! One queue's live state: waiting callers with join times and positions, members, and
//! today's counters in the tenant's time zone (figure definitions in `live::figures`).
//!
//! Snapshots are cheap to take: members and waiting callers are kept as shared views that
//! are rebuilt only when they change, and a snapshot is only taken when something shown
//! changed (`take_dirty`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::live::facts::{DeviceState, MemberInfo, QueueFact, QueueParamsInfo, WaitingCaller};
use crate::live::figures::{QueueCounters, QueueFigures};
use crate::live::ids::{AgentId, Millis};
use crate::live::spec::QueueSettings;

/// The threshold when neither Mayday nor Asterisk gives one.
pub const DEFAULT_SERVICE_LEVEL_SECS: u64 = 20;

/// A member as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub interface: String,
    pub state_interface: String,
    pub name: String,
    pub agent: Option<AgentId>,
    pub status: DeviceState,
    pub paused: bool,
    pub paused_reason: String,
    pub in_call: bool,
    pub ringing: bool,
    pub penalty: i32,
    pub calls_taken: u64,
    pub membership: String,
}

/// A waiting caller as shown (the list is in position order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingView {
    pub uniqueid: String,
    pub linkedid: String,
    pub channel: String,
    pub caller_num: Option<String>,
    pub caller_name: Option<String>,
    pub joined_ms: Millis,
}

/// Everything a wallboard shows of one queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueSnapshot {
    /// Name without the tenant's prefix.
    pub name: String,
    /// Name in Asterisk.
    pub asterisk_name: String,
    pub strategy: String,
    pub service_level_secs: u64,
    pub day: chrono::NaiveDate,
    /// In position order (the first is position 1).
    pub waiting: Vec<Arc<WaitingView>>,
    /// Join time of the longest-waiting caller (clients tick the live "longest wait").
    pub oldest_joined_ms: Option<Millis>,
    pub members: Vec<Arc<MemberView>>,
    /// Members not offline, not paused, not in or ringing for a call.
    pub available: u32,
    pub logged_in: u32,
    pub counters: QueueCounters,
    pub figures: QueueFigures,
}

impl QueueSnapshot {
    /// Longest current wait at `now`, seconds.
    pub fn longest_wait_secs(&self, now: Millis) -> u64 {
        self.oldest_joined_ms.map(|t| u64::try_from((now - t).max(0) / 1000).unwrap_or(0)).unwrap_or(0)
    }
}

/// A member, with its shown view kept ready: snapshots share it until it changes.
#[derive(Clone, Debug)]
struct Member {
    info: MemberInfo,
    ringing: bool,
    view: Arc<MemberView>,
}

impl Member {
    fn new(info: MemberInfo, ringing: bool) -> Self {
        let view = Arc::new(Self::view_of(&info, ringing));
        Member { info, ringing, view }
    }

    fn view_of(i: &MemberInfo, ringing: bool) -> MemberView {
        MemberView {
            interface: i.interface.clone(),
            state_interface: i.state_interface.clone(),
            name: i.member_name.clone(),
            agent: i.agent,
            status: i.status,
            paused: i.paused,
            paused_reason: i.paused_reason.clone(),
            in_call: i.in_call,
            ringing,
            penalty: i.penalty,
            calls_taken: i.calls_taken,
            membership: i.membership.clone(),
        }
    }

    fn refresh(&mut self) {
        self.view = Arc::new(Self::view_of(&self.info, self.ringing));
    }
}

fn waiting_view(w: WaitingCaller) -> Arc<WaitingView> {
    Arc::new(WaitingView {
        uniqueid: w.uniqueid,
        linkedid: w.linkedid,
        channel: w.channel,
        caller_num: w.caller_num,
        caller_name: w.caller_name,
        joined_ms: w.joined_ms,
    })
}

/// The state of one queue.
#[derive(Clone, Debug)]
pub struct QueueState {
    asterisk_name: String,
    display_name: String,
    settings: QueueSettings,
    params: QueueParamsInfo,
    params_seen: bool,
    waiting: Vec<Arc<WaitingView>>,
    members: Vec<Member>,
    day: chrono::NaiveDate,
    counters: QueueCounters,
    /// Something shown changed since the last `take_dirty`.
    dirty: bool,
    /// Callers counted as offered and not settled yet (uniqueid -> join time): only their
    /// outcome is counted, so a caller who joined while Mayday was not looking never makes
    /// "answered" exceed "offered".
    offered_ids: HashMap<String, Millis>,
    /// Callers counted as answered whose call has not ended.
    answered_ids: HashMap<String, Millis>,
    /// Counters came back from storage and the first resync has not happened: the callers
    /// it lists were counted before the restart.
    restored: bool,
}

impl QueueState {
    pub fn new(asterisk_name: &str, name_prefix: &str, settings: QueueSettings, day: chrono::NaiveDate) -> Self {
        QueueState {
            asterisk_name: asterisk_name.to_string(),
            display_name: asterisk_name.strip_prefix(name_prefix).unwrap_or(asterisk_name).to_string(),
            settings,
            params: QueueParamsInfo::default(),
            params_seen: false,
            waiting: Vec::new(),
            members: Vec::new(),
            day,
            counters: QueueCounters::default(),
            dirty: true,
            offered_ids: HashMap::new(),
            answered_ids: HashMap::new(),
            restored: false,
        }
    }

    /// True (once) when something shown changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Restores persisted counters of `day` (ignored when they are of another day).
    pub fn restore(&mut self, day: chrono::NaiveDate, counters: QueueCounters) {
        if day == self.day {
            self.counters = counters;
            self.dirty = true;
            self.restored = true;
        }
    }

    pub fn set_settings(&mut self, settings: QueueSettings) {
        self.settings = settings;
        self.dirty = true;
    }

    /// The service-level threshold: Mayday's setting, else Asterisk's (when set), else 20 s.
    pub fn service_level_secs(&self) -> u64 {
        self.settings
            .service_level_secs
            .or((self.params_seen && self.params.service_level_secs > 0).then_some(self.params.service_level_secs))
            .unwrap_or(DEFAULT_SERVICE_LEVEL_SECS)
    }

    /// The wrap-up a member gets after a call: its own, else the queue's.
    pub fn wrapup_secs(&self, member_wrapup: u64) -> u64 {
        QueueSettings::wrapup_for(Some(&self.settings), member_wrapup)
    }

    pub fn day(&self) -> chrono::NaiveDate {
        self.day
    }

    pub fn counters(&self) -> &QueueCounters {
        &self.counters
    }

    /// A new day in the tenant's time zone: today's counters start from zero. Returns true
    /// when the day changed.
    pub fn roll_day(&mut self, today: chrono::NaiveDate) -> bool {
        if today == self.day {
            return false;
        }
        self.day = today;
        self.counters = QueueCounters::default();
        self.offered_ids.clear();
        self.answered_ids.clear();
        self.dirty = true;
        true
    }

    fn member_mut(&mut self, interface: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.info.interface.eq_ignore_ascii_case(interface))
    }

    /// Applies one fact; returns true when the counters changed (to persist them).
    pub fn apply(&mut self, fact: QueueFact) -> bool {
        self.dirty = true;
        let sl = self.service_level_secs();
        match fact {
            QueueFact::CallerJoined(caller) => {
                self.waiting.retain(|w| w.uniqueid != caller.uniqueid);
                self.offered_ids.insert(caller.uniqueid.clone(), caller.joined_ms);
                self.waiting.push(waiting_view(caller));
                self.counters.record_offered();
                true
            }
            QueueFact::CallerLeft { uniqueid } => {
                self.waiting.retain(|w| w.uniqueid != uniqueid);
                false
            }
            QueueFact::CallerAbandoned { uniqueid, wait_secs, hung_up } => {
                self.waiting.retain(|w| w.uniqueid != uniqueid);
                if self.offered_ids.remove(&uniqueid).is_none() {
                    return false;
                }
                if hung_up {
                    self.counters.record_abandoned(wait_secs, sl);
                } else {
                    self.counters.record_timed_out();
                }
                true
            }
            QueueFact::CallerConnected { uniqueid, wait_secs, interface } => {
                self.waiting.retain(|w| w.uniqueid != uniqueid);
                let counted = match self.offered_ids.remove(&uniqueid) {
                    Some(joined) => {
                        self.answered_ids.insert(uniqueid, joined);
                        self.counters.record_answered(wait_secs, sl);
                        true
                    }
                    None => false,
                };
                if let Some(m) = self.member_mut(&interface) {
                    m.ringing = false;
                    m.info.in_call = true;
                    m.refresh();
                }
                counted
            }
            QueueFact::CallCompleted { uniqueid, interface, talk_secs, transferred, wrapup_secs } => {
                // Without the caller's id (a late AgentComplete) the call is counted.
                let counted = uniqueid.is_none_or(|u| self.answered_ids.remove(&u).is_some());
                if counted {
                    self.counters.record_handled(talk_secs, 0, transferred);
                    if wrapup_secs > 0 {
                        self.counters.record_wrapup(wrapup_secs);
                    }
                }
                if let Some(m) = self.member_mut(&interface) {
                    m.info.in_call = false;
                    m.refresh();
                }
                counted
            }
            QueueFact::MemberRinging { interface, ringing } => {
                if let Some(m) = self.member_mut(&interface).filter(|m| m.ringing != ringing) {
                    m.ringing = ringing;
                    m.refresh();
                }
                false
            }
            QueueFact::Member(info) => {
                match self.member_mut(&info.interface) {
                    Some(m) if m.info == info => {}
                    Some(m) => {
                        m.info = info;
                        m.refresh();
                    }
                    None => self.members.push(Member::new(info, false)),
                }
                false
            }
            QueueFact::MemberRemoved { interface } => {
                self.members.retain(|m| !m.info.interface.eq_ignore_ascii_case(&interface));
                false
            }
            QueueFact::Params(p) => {
                self.params = p;
                self.params_seen = true;
                false
            }
            QueueFact::Members { params, members } => {
                self.replace_members(params, members, true);
                false
            }
            QueueFact::Resync { params, members, waiting } => {
                self.replace_members(params, members, false);
                // Callers who joined while Mayday was not looking are offered today; after a
                // restart with today's counters restored, they were counted already.
                let mut counted = false;
                for w in &waiting {
                    if !self.offered_ids.contains_key(&w.uniqueid) {
                        self.offered_ids.insert(w.uniqueid.clone(), w.joined_ms);
                        if !self.restored {
                            self.counters.record_offered();
                            counted = true;
                        }
                    }
                }
                // Callers who left while Mayday was away: their outcome is unknown.
                self.offered_ids.retain(|id, _| waiting.iter().any(|w| &w.uniqueid == id));
                self.restored = false;
                self.waiting = waiting.into_iter().map(waiting_view).collect();
                counted
            }
        }
    }

    /// What Asterisk lists now. With `keep_ringing` (the link stayed up, so the ring's end
    /// will be heard) a member ringing keeps showing it: its status may not say so (a Local
    /// member stays Not in use while its `;2` half rings). After a resync none rings until
    /// the tenant says which do.
    fn replace_members(&mut self, params: Option<QueueParamsInfo>, members: Vec<MemberInfo>, keep_ringing: bool) {
        if let Some(p) = params {
            self.params = p;
            self.params_seen = true;
        }
        let ringing: Vec<String> = if keep_ringing {
            self.members.iter().filter(|m| m.ringing).map(|m| m.info.interface.clone()).collect()
        } else {
            Vec::new()
        };
        self.members = members
            .into_iter()
            .map(|info| {
                let ringing = ringing.iter().any(|r| r.eq_ignore_ascii_case(&info.interface));
                Member::new(info, ringing)
            })
            .collect();
    }

    /// Members of this queue that map to an agent.
    pub fn agents(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.members.iter().filter_map(|m| m.info.agent)
    }

    pub fn snapshot(&self) -> QueueSnapshot {
        let members: Vec<Arc<MemberView>> = self.members.iter().map(|m| m.view.clone()).collect();
        let logged_in = members.iter().filter(|m| !m.status.is_offline()).count();
        let available = members
            .iter()
            .filter(|m| {
                !m.paused
                    && !m.in_call
                    && !m.ringing
                    && matches!(m.status, DeviceState::NotInuse | DeviceState::Unknown)
            })
            .count();
        QueueSnapshot {
            name: self.display_name.clone(),
            asterisk_name: self.asterisk_name.clone(),
            strategy: self.params.strategy.clone(),
            service_level_secs: self.service_level_secs(),
            day: self.day,
            waiting: self.waiting.clone(),
            oldest_joined_ms: self.waiting.iter().map(|w| w.joined_ms).min(),
            members,
            available: u32::try_from(available).unwrap_or(u32::MAX),
            logged_in: u32::try_from(logged_in).unwrap_or(u32::MAX),
            counters: self.counters.clone(),
            figures: self.counters.figures(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
    }

    fn caller(uid: &str, at: Millis) -> WaitingCaller {
        WaitingCaller {
            uniqueid: uid.into(),
            linkedid: uid.into(),
            channel: format!("PJSIP/trunk-{uid}"),
            caller_num: None,
            caller_name: None,
            joined_ms: at,
        }
    }

    fn member(iface: &str) -> MemberInfo {
        MemberInfo {
            interface: iface.into(),
            state_interface: iface.into(),
            member_name: iface.into(),
            membership: "realtime".into(),
            penalty: 0,
            calls_taken: 0,
            last_call: 0,
            in_call: false,
            status: DeviceState::NotInuse,
            paused: false,
            paused_reason: String::new(),
            wrapup_secs: 0,
            agent: None,
        }
    }

    #[test]
    fn a_day_of_calls_gives_the_hand_computed_figures() {
        // T = 20 s (QueueParams). 5 offered: answered after 10 s (talk 100, wrap-up 10) and
        // after 30 s (talk 60, transferred, wrap-up 10); one hangs up after 5 s (within T),
        // one after 40 s; one times out.
        let mut q = QueueState::new("acme-sales", "acme-", QueueSettings::default(), day());
        q.apply(QueueFact::Params(QueueParamsInfo {
            strategy: "rrmemory".into(),
            service_level_secs: 20,
            ..Default::default()
        }));
        q.apply(QueueFact::Member(member("PJSIP/acme-1001")));
        for (i, uid) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            q.apply(QueueFact::CallerJoined(caller(uid, i as i64 * 1000)));
        }
        assert_eq!(
            q.snapshot().waiting.iter().map(|w| w.uniqueid.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(q.snapshot().oldest_joined_ms, Some(0));
        q.apply(QueueFact::CallerLeft { uniqueid: "a".into() });
        q.apply(QueueFact::CallerConnected {
            uniqueid: "a".into(),
            wait_secs: 10,
            interface: "PJSIP/acme-1001".into(),
        });
        assert!(q.snapshot().members[0].in_call);
        q.apply(QueueFact::CallCompleted {
            uniqueid: None,
            interface: "PJSIP/acme-1001".into(),
            talk_secs: 100,
            transferred: false,
            wrapup_secs: 10,
        });
        q.apply(QueueFact::CallerConnected {
            uniqueid: "b".into(),
            wait_secs: 30,
            interface: "PJSIP/acme-1001".into(),
        });
        q.apply(QueueFact::CallCompleted {
            uniqueid: None,
            interface: "PJSIP/acme-1001".into(),
            talk_secs: 60,
            transferred: true,
            wrapup_secs: 10,
        });
        q.apply(QueueFact::CallerAbandoned { uniqueid: "c".into(), wait_secs: 5, hung_up: true });
        q.apply(QueueFact::CallerAbandoned { uniqueid: "d".into(), wait_secs: 40, hung_up: true });
        q.apply(QueueFact::CallerAbandoned { uniqueid: "e".into(), wait_secs: 300, hung_up: false });
        let s = q.snapshot();
        assert!(s.waiting.is_empty());
        let f = &s.figures;
        assert_eq!((f.offered, f.answered, f.abandoned, f.timed_out, f.answered_within_sl), (5, 2, 2, 1, 1));
        assert_eq!(f.sl1_pct, Some(50.0)); // 1 of 2 answered within 20 s
        assert_eq!(f.sl2_pct, Some(50.0)); // (1 + 1) of (2 + 2)
        assert_eq!(f.abandon_rate_pct, Some(40.0)); // 2 of 5
        assert_eq!(f.asa_secs, Some(20.0)); // (10 + 30) / 2
        assert_eq!(f.aht_secs, Some(90.0)); // (100 + 60 + 10 + 10) / 2
        assert_eq!(s.counters.transferred, 1);
    }

    #[test]
    fn the_threshold_comes_from_mayday_then_asterisk_then_20s() {
        let mut q = QueueState::new("sales", "", QueueSettings::default(), day());
        assert_eq!(q.service_level_secs(), 20);
        q.apply(QueueFact::Params(QueueParamsInfo { service_level_secs: 30, ..Default::default() }));
        assert_eq!(q.service_level_secs(), 30);
        q.set_settings(QueueSettings { service_level_secs: Some(15), wrapup_secs: Some(7) });
        assert_eq!(q.service_level_secs(), 15);
        assert_eq!(q.wrapup_secs(3), 3, "a member's own wrap-up comes first, as in app_queue");
        assert_eq!(q.wrapup_secs(0), 7);
        assert_eq!(QueueState::new("x", "", QueueSettings::default(), day()).wrapup_secs(3), 3);
    }

    #[test]
    fn a_new_day_starts_from_zero_and_restore_ignores_other_days() {
        let mut q = QueueState::new("sales", "", QueueSettings::default(), day());
        q.apply(QueueFact::CallerJoined(caller("a", 0)));
        assert!(!q.roll_day(day()));
        let tomorrow = day().succ_opt().expect("date");
        assert!(q.roll_day(tomorrow));
        assert_eq!(q.counters().offered, 0);
        let saved = QueueCounters { offered: 9, ..QueueCounters::default() };
        q.restore(day(), saved.clone());
        assert_eq!(q.counters().offered, 0, "yesterday's counters are not today's");
        q.restore(tomorrow, saved);
        assert_eq!(q.counters().offered, 9);
    }

    #[test]
    fn resync_replaces_members_and_waiting_callers_but_keeps_counters() {
        let mut q = QueueState::new("sales", "", QueueSettings::default(), day());
        q.apply(QueueFact::CallerJoined(caller("ghost", 0)));
        q.apply(QueueFact::Member(member("PJSIP/1001")));
        q.apply(QueueFact::Resync {
            params: None,
            members: vec![member("PJSIP/1002")],
            waiting: vec![caller("new", 5)],
        });
        let s = q.snapshot();
        assert_eq!(s.waiting.len(), 1);
        assert_eq!(s.waiting[0].uniqueid, "new");
        assert_eq!(s.members.len(), 1);
        assert_eq!(s.members[0].interface, "PJSIP/1002");
        assert_eq!(s.counters.offered, 2, "the caller who joined while Mayday was away is offered too");
        assert_eq!(s.available, 1);
    }

    #[test]
    fn only_callers_seen_joining_count_their_outcome_and_a_restart_does_not_count_twice() {
        let mut q = QueueState::new("sales", "", QueueSettings::default(), day());
        // A caller Mayday never saw join is answered: not counted.
        q.apply(QueueFact::CallerConnected { uniqueid: "x".into(), wait_secs: 3, interface: "PJSIP/1".into() });
        q.apply(QueueFact::CallCompleted {
            uniqueid: Some("x".into()),
            interface: "PJSIP/1".into(),
            talk_secs: 9,
            transferred: false,
            wrapup_secs: 0,
        });
        q.apply(QueueFact::CallerAbandoned { uniqueid: "y".into(), wait_secs: 3, hung_up: true });
        assert_eq!((q.counters().answered, q.counters().handled, q.counters().abandoned), (0, 0, 0));
        // Restored counters: the first resync's waiting callers were counted before.
        let mut restored = QueueState::new("sales", "", QueueSettings::default(), day());
        restored.restore(day(), QueueCounters { offered: 5, ..QueueCounters::default() });
        restored.apply(QueueFact::Resync { params: None, members: vec![], waiting: vec![caller("w", 0)] });
        assert_eq!(restored.counters().offered, 5);
        restored.apply(QueueFact::CallerConnected { uniqueid: "w".into(), wait_secs: 4, interface: "PJSIP/1".into() });
        assert_eq!(restored.counters().answered, 1, "its answer counts");
    }
}
