//! The tenant's call routing compiled into Asterisk's realtime dialplan (table
//! `extensions`). Pure: the routing configuration in, rows out, the same rows for the same
//! configuration. The static contexts these rows rely on are in
//! `asterisk/extensions_mayday.conf`:
//!
//! - `<prefix>agents` (an agent phone's `MAYDAY_CONTEXT`, reached through `mayday-agents`):
//!   agents' extensions, outbound routes (`Gosub(outbound-dial,s,1(<number>,<DID>[,<trunks>]))`
//!   with the agent's default DID `${MAYDAY_DID}`), and the prefix-selected caller IDs
//!   (`_45X.` strips the two digits and presents the prefix's DID);
//! - `<prefix>rt` (reached through `mayday-rt` with `MAYDAY_RT` set): inbound routes
//!   (`in-<id>`), time conditions (`GotoIfTime` with the tenant's time zone, jumps to
//!   `exten,priority`: realtime rows cannot use labels), IVR menus (`ivr-<id>`);
//! - `mayday-inbound` (shared by every tenant, keyed by DID): one entry per inbound route that
//!   sets `__MAYDAY_TENANT` and goes on to the tenant's `in-<id>`.

pub mod pattern;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The context every tenant's DID rows live in (static `switch` in extensions_mayday.conf).
pub const INBOUND_CONTEXT: &str = "mayday-inbound";
/// Asterisk's `extensions.context`, `exten` and `appdata` widths.
pub const CONTEXT_MAX: usize = 40;
pub const EXTEN_MAX: usize = 40;
pub const APPDATA_MAX: usize = 256;
/// How deep destinations may nest (time condition in time condition ...).
pub const MAX_DEPTH: usize = 4;

/// One row of table `extensions`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Row {
    pub context: String,
    pub exten: String,
    pub priority: i32,
    pub app: String,
    pub appdata: String,
}

/// Where a call goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Destination {
    Queue {
        id: u64,
    },
    Agent {
        id: u64,
    },
    Ivr {
        id: u64,
    },
    /// Open hours to `open`, else `closed`.
    TimeCondition {
        id: u64,
        open: Box<Destination>,
        closed: Box<Destination>,
    },
    /// Wherever another inbound route sends its calls.
    Route {
        id: u64,
    },
    /// A number outside, through a trunk (the tenant's default without `trunk_id`).
    External {
        number: String,
        #[serde(default)]
        trunk_id: Option<u64>,
    },
    Hangup,
}

/// Weekly hours: days (`mon`..`sun`) and a time range `HH:MM`-`HH:MM`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyRange {
    pub days: Vec<String>,
    pub from: String,
    pub to: String,
}

/// A closed date (a holiday).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedDate {
    pub date: chrono::NaiveDate,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TimeCondition {
    pub weekly: Vec<WeeklyRange>,
    pub closed_dates: Vec<ClosedDate>,
}

#[derive(Clone, Debug)]
pub struct IvrMenu {
    /// What `Read()` plays (a sound path or an http URL); `None` plays nothing.
    pub prompt: Option<String>,
    pub timeout_secs: u32,
    pub retries: u32,
    pub options: BTreeMap<String, Destination>,
    pub timeout: Option<Destination>,
    pub invalid: Option<Destination>,
}

#[derive(Clone, Debug)]
pub struct InboundRoute {
    pub id: u64,
    pub pattern: String,
    pub destination: Destination,
    pub time_condition: Option<u64>,
    pub fallback: Option<Destination>,
}

/// Which DID an outbound route presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalleridPolicy {
    /// Always the agent's default DID; dial prefixes do not apply.
    Agent,
    /// The DID of the dial prefix the agent dialed, else the agent's default DID.
    Prefix,
    /// Always the route's fixed DID.
    Fixed,
}

#[derive(Clone, Debug)]
pub struct OutboundRoute {
    pub patterns: Vec<String>,
    /// Trunk endpoints in failover order; empty = the tenant's default trunk.
    pub trunks: Vec<String>,
    pub strip: u32,
    pub prepend: String,
    pub policy: CalleridPolicy,
    pub fixed_did: Option<String>,
}

/// A DID with a dial prefix.
#[derive(Clone, Debug)]
pub struct PrefixDid {
    pub prefix: u8,
    pub did: String,
    /// The DID's own trunk endpoint.
    pub trunk: Option<String>,
}

/// Everything a tenant's dialplan is compiled from, with ids resolved to Asterisk names.
#[derive(Clone, Debug, Default)]
pub struct TenantPlan {
    pub slug: String,
    /// `<name prefix>`, or `<slug>-` for a tenant without one (its contexts need a name).
    pub context_prefix: String,
    pub timezone: String,
    /// (extension, endpoint) of enabled agents.
    pub agents: Vec<(String, String)>,
    pub agent_endpoints: BTreeMap<u64, String>,
    pub queues: BTreeMap<u64, String>,
    pub trunks: BTreeMap<u64, String>,
    pub default_trunk: Option<String>,
    pub time_conditions: BTreeMap<u64, TimeCondition>,
    pub ivrs: BTreeMap<u64, IvrMenu>,
    pub inbound: Vec<InboundRoute>,
    /// Enabled routes in order.
    pub outbound: Vec<OutboundRoute>,
    pub prefix_dids: Vec<PrefixDid>,
}

/// Why a plan does not compile (each names what the admin should fix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("{what} {id} does not exist")]
    Missing { what: &'static str, id: u64 },
    #[error("destinations nest deeper than {MAX_DEPTH} levels, or inbound routes point at each other in a loop")]
    TooDeep,
    #[error("{0} is longer than Asterisk's column allows")]
    TooLong(String),
    #[error("{0:?} is not a number to dial: digits, * and #, with an optional leading +, at most 32")]
    NotDialable(String),
}

impl TenantPlan {
    pub fn agents_context(&self) -> String {
        format!("{}agents", self.context_prefix)
    }

    pub fn rt_context(&self) -> String {
        format!("{}rt", self.context_prefix)
    }
}

/// Rows of one extension, numbered from 1.
struct Exten<'a> {
    out: &'a mut Vec<Row>,
    context: String,
    exten: String,
    next: i32,
}

impl Exten<'_> {
    fn push(&mut self, app: &str, appdata: impl Into<String>) {
        self.out.push(Row {
            context: self.context.clone(),
            exten: self.exten.clone(),
            priority: self.next,
            app: app.to_string(),
            appdata: appdata.into(),
        });
        self.next += 1;
    }
}

fn exten<'a>(out: &'a mut Vec<Row>, context: &str, name: &str) -> Exten<'a> {
    Exten { out, context: context.to_string(), exten: name.to_string(), next: 1 }
}

/// The version of what [`compile`] writes for a given plan. Bump it when the rows change
/// (a fix, a new feature): at start Mayday rewrites the rows of every tenant that an older
/// generation wrote. 2: the dialed number is filtered.
pub const GENERATION: u32 = 2;

/// The characters a dialed number may carry into an application's arguments.
const DIALABLE: &str = "0-9*#+";

/// `${EXTEN[:n]}` with everything but dialable characters removed. A SIP user part may
/// hold commas, and Asterisk splits an application's data at commas after expanding
/// variables: an agent dialing `0700,+1555,<trunk>` would otherwise choose the caller ID
/// and the trunk of `outbound-dial` (AST-2010-002).
fn exten_expr(skip: u32) -> String {
    if skip == 0 {
        format!("${{FILTER({DIALABLE},${{EXTEN}})}}")
    } else {
        format!("${{FILTER({DIALABLE},${{EXTEN:{skip}}})}}")
    }
}

/// `<prepend>` and the dialed number after its first `strip` digits.
fn number_expr(prepend: &str, strip: u32) -> String {
    format!("{prepend}{}", exten_expr(strip))
}

/// A number Mayday itself puts into dialplan data: digits, `*`, `#`, an optional leading
/// `+`; at most 32.
pub fn is_dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty() && number.len() <= 32 && digits.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

/// `Gosub(outbound-dial,...)` arguments: ARG3 only when it is not just the default trunk
/// (which `MAYDAY_TRUNK` carries).
fn dial_args(number: &str, did: &str, trunks: &[String], default: Option<&str>) -> String {
    let only_default = trunks.is_empty() || (trunks.len() == 1 && Some(trunks[0].as_str()) == default);
    if only_default {
        format!("outbound-dial,s,1({number},{did})")
    } else {
        format!("outbound-dial,s,1({number},{did},{})", trunks.join("&"))
    }
}

/// Compiles a tenant's plan into its rows, sorted (context, exten, priority).
pub fn compile(plan: &TenantPlan) -> Result<Vec<Row>, CompileError> {
    let mut rows = Vec::new();
    let agents_ctx = plan.agents_context();
    let rt_ctx = plan.rt_context();
    for ctx in [&agents_ctx, &rt_ctx] {
        if ctx.len() > CONTEXT_MAX {
            return Err(CompileError::TooLong(format!("context {ctx}")));
        }
    }
    compile_agents(plan, &agents_ctx, &mut rows);
    for route in &plan.inbound {
        let mut e = exten(&mut rows, INBOUND_CONTEXT, &route.pattern);
        e.push("Set", format!("__MAYDAY_TENANT={}", plan.slug));
        e.push("Set", format!("__MAYDAY_INBOUND_DID={}", exten_expr(0)));
        e.push("Set", format!("MAYDAY_RT={rt_ctx}"));
        e.push("Goto", format!("mayday-rt,in-{},1", route.id));
        let name = format!("in-{}", route.id);
        match route.time_condition {
            Some(tc) => {
                let open = route.destination.clone();
                let closed = route.fallback.clone().unwrap_or(Destination::Hangup);
                let d = Destination::TimeCondition { id: tc, open: Box::new(open), closed: Box::new(closed) };
                destination(plan, &rt_ctx, &name, &d, 0, &mut rows)?;
            }
            None => destination(plan, &rt_ctx, &name, &route.destination, 0, &mut rows)?,
        }
    }
    for (id, menu) in &plan.ivrs {
        ivr(plan, &rt_ctx, *id, menu, &mut rows)?;
    }
    for r in &rows {
        if r.exten.len() > EXTEN_MAX {
            return Err(CompileError::TooLong(format!("extension {}", r.exten)));
        }
        if r.appdata.len() > APPDATA_MAX {
            return Err(CompileError::TooLong(format!("the data of {}({})", r.app, r.appdata)));
        }
    }
    rows.sort();
    rows.dedup_by(|a, b| a.context == b.context && a.exten == b.exten && a.priority == b.priority);
    Ok(rows)
}

/// The plan with every external destination whose number is not dialable replaced by a
/// hang-up, and those numbers. New input is refused with such a number ([`check`]); this is
/// for data an older Mayday accepted (a `${SHELL()}` there would run on the PBX), so that the
/// tenant's dialplan is still rewritten safely and its admin can fix one route at a time.
pub fn without_undialable(plan: &TenantPlan) -> (TenantPlan, Vec<String>) {
    fn clean(d: &mut Destination, dropped: &mut Vec<String>) {
        match d {
            Destination::External { number, .. } if !is_dialable(number) => {
                dropped.push(std::mem::take(number));
                *d = Destination::Hangup;
            }
            Destination::TimeCondition { open, closed, .. } => {
                clean(open, dropped);
                clean(closed, dropped);
            }
            _ => {}
        }
    }
    let mut plan = plan.clone();
    let mut dropped = Vec::new();
    for r in &mut plan.inbound {
        clean(&mut r.destination, &mut dropped);
        if let Some(f) = &mut r.fallback {
            clean(f, &mut dropped);
        }
    }
    for m in plan.ivrs.values_mut() {
        for d in m.options.values_mut().chain(m.timeout.as_mut()).chain(m.invalid.as_mut()) {
            clean(d, &mut dropped);
        }
    }
    (plan, dropped)
}

/// Checks that a destination leads somewhere that exists in the plan, writing nothing.
pub fn check(plan: &TenantPlan, d: &Destination) -> Result<(), CompileError> {
    let mut scratch = Vec::new();
    destination(plan, "check", "check", d, 0, &mut scratch)
}

/// The implicit route when a tenant has none: everything out through the default trunk.
fn default_route() -> OutboundRoute {
    OutboundRoute {
        patterns: vec!["_X.".into()],
        trunks: Vec::new(),
        strip: 0,
        prepend: String::new(),
        policy: CalleridPolicy::Prefix,
        fixed_did: None,
    }
}

fn compile_agents(plan: &TenantPlan, ctx: &str, rows: &mut Vec<Row>) {
    let mut seen: Vec<String> = Vec::new();
    for (ext, endpoint) in &plan.agents {
        seen.push(ext.clone());
        let mut e = exten(rows, ctx, ext);
        e.push("Dial", format!("PJSIP/{endpoint},30"));
        e.push("Hangup", "");
    }
    let implicit = [default_route()];
    let routes: &[OutboundRoute] = if plan.outbound.is_empty() { &implicit } else { &plan.outbound };
    let default = plan.default_trunk.as_deref();
    let out = |rows: &mut Vec<Row>, name: String, args: String, seen: &mut Vec<String>| {
        // The first route that claims a pattern wins (routes are in order).
        if seen.contains(&name) {
            return;
        }
        seen.push(name.clone());
        let mut e = exten(rows, ctx, &name);
        if let Some(t) = default {
            e.push("Set", format!("MAYDAY_TRUNK={t}"));
        }
        e.push("Gosub", args);
        e.push("Hangup", "");
    };
    for route in routes {
        let did = match (route.policy, &route.fixed_did) {
            (CalleridPolicy::Fixed, Some(d)) => d.clone(),
            _ => "${MAYDAY_DID}".to_string(),
        };
        for p in &route.patterns {
            let args = dial_args(&number_expr(&route.prepend, route.strip), &did, &route.trunks, default);
            out(rows, p.clone(), args, &mut seen);
        }
    }
    // Dial prefixes: `<NN><pattern>` presents the prefix's DID on routes that allow it.
    for pd in &plan.prefix_dids {
        for route in routes.iter().filter(|r| r.policy == CalleridPolicy::Prefix) {
            let trunks: Vec<String> =
                if !route.trunks.is_empty() { route.trunks.clone() } else { pd.trunk.iter().cloned().collect() };
            for p in &route.patterns {
                let name = pattern::prefixed(&pd.prefix.to_string(), p);
                let args = dial_args(&number_expr(&route.prepend, route.strip + 2), &pd.did, &trunks, default);
                out(rows, name, args, &mut seen);
            }
        }
    }
}

/// The rows of a destination at extension `name` of the tenant's rt context.
fn destination(
    plan: &TenantPlan,
    ctx: &str,
    name: &str,
    d: &Destination,
    depth: usize,
    rows: &mut Vec<Row>,
) -> Result<(), CompileError> {
    if depth > MAX_DEPTH {
        return Err(CompileError::TooDeep);
    }
    let mut nested: Vec<(String, Destination)> = Vec::new();
    {
        let mut e = exten(rows, ctx, name);
        match d {
            Destination::Queue { id } => {
                let q = plan.queues.get(id).ok_or(CompileError::Missing { what: "queue", id: *id })?;
                e.push("Queue", q.clone());
                e.push("Hangup", "");
            }
            Destination::Agent { id } => {
                let ep = plan.agent_endpoints.get(id).ok_or(CompileError::Missing { what: "agent", id: *id })?;
                e.push("Dial", format!("PJSIP/{ep},30"));
                e.push("Hangup", "");
            }
            Destination::Ivr { id } => {
                if !plan.ivrs.contains_key(id) {
                    return Err(CompileError::Missing { what: "IVR menu", id: *id });
                }
                e.push("Goto", format!("ivr-{id},1"));
            }
            Destination::Route { id } => {
                if !plan.inbound.iter().any(|r| r.id == *id) {
                    return Err(CompileError::Missing { what: "inbound route", id: *id });
                }
                // Follow the chain now so that a loop is an error, not a call that spins.
                follow_route(plan, *id, depth + 1)?;
                e.push("Goto", format!("in-{id},1"));
            }
            Destination::External { number, trunk_id } => {
                if !is_dialable(number) {
                    return Err(CompileError::NotDialable(number.clone()));
                }
                let trunks: Vec<String> = match trunk_id {
                    Some(t) => vec![plan.trunks.get(t).ok_or(CompileError::Missing { what: "trunk", id: *t })?.clone()],
                    None => Vec::new(),
                };
                if let Some(t) = &plan.default_trunk {
                    e.push("Set", format!("MAYDAY_TRUNK={t}"));
                }
                let args = dial_args(number, "${MAYDAY_INBOUND_DID}", &trunks, plan.default_trunk.as_deref());
                e.push("Gosub", args);
                e.push("Hangup", "");
            }
            Destination::Hangup => e.push("Hangup", ""),
            Destination::TimeCondition { id, open, closed } => {
                let tc =
                    plan.time_conditions.get(id).ok_or(CompileError::Missing { what: "time condition", id: *id })?;
                let (o, c) = (format!("{name}-o"), format!("{name}-c"));
                let tz = &plan.timezone;
                for day in &tc.closed_dates {
                    e.push(
                        "GotoIf",
                        format!(
                            "$[\"${{STRFTIME(${{EPOCH}},{tz},%Y-%m-%d)}}\" = \"{}\"]?{c},1",
                            day.date.format("%Y-%m-%d")
                        ),
                    );
                }
                for w in &tc.weekly {
                    e.push("GotoIfTime", format!("{}-{},{},*,*,{tz}?{o},1", w.from, w.to, w.days.join("&")));
                }
                e.push("Goto", format!("{c},1"));
                nested.push((o, (**open).clone()));
                nested.push((c, (**closed).clone()));
            }
        }
    }
    for (n, d) in nested {
        destination(plan, ctx, &n, &d, depth + 1, rows)?;
    }
    Ok(())
}

fn follow_route(plan: &TenantPlan, id: u64, depth: usize) -> Result<(), CompileError> {
    if depth > MAX_DEPTH {
        return Err(CompileError::TooDeep);
    }
    let Some(route) = plan.inbound.iter().find(|r| r.id == id) else {
        return Err(CompileError::Missing { what: "inbound route", id });
    };
    let mut stack = vec![&route.destination];
    stack.extend(route.fallback.iter());
    while let Some(d) = stack.pop() {
        match d {
            Destination::Route { id } => follow_route(plan, *id, depth + 1)?,
            Destination::TimeCondition { open, closed, .. } => {
                stack.push(open);
                stack.push(closed);
            }
            _ => {}
        }
    }
    Ok(())
}

/// An IVR menu: play the prompt and read one digit, up to `retries + 1` times.
fn ivr(plan: &TenantPlan, ctx: &str, id: u64, menu: &IvrMenu, rows: &mut Vec<Row>) -> Result<(), CompileError> {
    let name = format!("ivr-{id}");
    let tries = menu.retries + 1;
    {
        let mut e = exten(rows, ctx, &name);
        e.push("Answer", "");
        e.push("Set", "MAYDAY_IVR_TRY=0");
        // Priority 3: where a retry comes back to.
        e.push("Set", "MAYDAY_IVR_TRY=$[${MAYDAY_IVR_TRY} + 1]");
        e.push(
            "Read",
            format!("MAYDAY_DIGIT,{},1,,1,{}", menu.prompt.as_deref().unwrap_or("silence/1"), menu.timeout_secs),
        );
        for digit in menu.options.keys() {
            e.push("GotoIf", format!("$[\"${{MAYDAY_DIGIT}}\" = \"{digit}\"]?{name}-{digit},1"));
        }
        e.push("GotoIf", format!("$[\"${{MAYDAY_DIGIT}}\" = \"\"]?{name}-t,1"));
        e.push("Goto", format!("{name}-i,1"));
    }
    for (digit, d) in &menu.options {
        destination(plan, ctx, &format!("{name}-{digit}"), d, 1, rows)?;
    }
    let retry = format!("$[${{MAYDAY_IVR_TRY}} < {tries}]?{name},3");
    // No digit: try again, then the timeout destination.
    let after_timeout = format!("{name}-t-x");
    {
        let mut e = exten(rows, ctx, &format!("{name}-t"));
        e.push("GotoIf", retry.clone());
        e.push("Goto", format!("{after_timeout},1"));
    }
    destination(plan, ctx, &after_timeout, menu.timeout.as_ref().unwrap_or(&Destination::Hangup), 1, rows)?;
    let after_invalid = format!("{name}-i-x");
    {
        let mut e = exten(rows, ctx, &format!("{name}-i"));
        e.push("Playback", "option-is-invalid");
        e.push("GotoIf", retry);
        e.push("Goto", format!("{after_invalid},1"));
    }
    destination(plan, ctx, &after_invalid, menu.invalid.as_ref().unwrap_or(&Destination::Hangup), 1, rows)?;
    Ok(())
}

/// Rows as `exten => <exten>,<priority>,<app>(<data>)` lines (`GET /api/dialplan/...`).
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut context = "";
    for r in rows {
        if r.context != context {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{}]\n", r.context));
            context = &r.context;
        }
        out.push_str(&format!("exten => {},{},{}({})\n", r.exten, r.priority, r.app, r.appdata));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> TenantPlan {
        let mut p = TenantPlan {
            slug: "acme".into(),
            context_prefix: "acme-".into(),
            timezone: "Africa/Kampala".into(),
            agents: vec![("1001".into(), "acme-1001".into())],
            default_trunk: Some("acme-carrier".into()),
            ..TenantPlan::default()
        };
        p.agent_endpoints.insert(7, "acme-1001".into());
        p.queues.insert(3, "acme-support".into());
        p.prefix_dids.push(PrefixDid { prefix: 45, did: "0323300245".into(), trunk: Some("acme-carrier".into()) });
        p
    }

    fn find<'a>(rows: &'a [Row], ctx: &str, exten: &str) -> Vec<(&'a str, &'a str)> {
        rows.iter()
            .filter(|r| r.context == ctx && r.exten == exten)
            .map(|r| (r.app.as_str(), r.appdata.as_str()))
            .collect()
    }

    #[test]
    fn agents_dial_out_with_their_did_or_the_prefix_s() {
        let rows = compile(&plan()).expect("compiles");
        assert_eq!(find(&rows, "acme-agents", "1001"), [("Dial", "PJSIP/acme-1001,30"), ("Hangup", "")]);
        assert_eq!(
            find(&rows, "acme-agents", "_X."),
            [
                ("Set", "MAYDAY_TRUNK=acme-carrier"),
                ("Gosub", "outbound-dial,s,1(${FILTER(0-9*#+,${EXTEN})},${MAYDAY_DID})"),
                ("Hangup", "")
            ]
        );
        assert_eq!(
            find(&rows, "acme-agents", "_45X."),
            [
                ("Set", "MAYDAY_TRUNK=acme-carrier"),
                ("Gosub", "outbound-dial,s,1(${FILTER(0-9*#+,${EXTEN:2})},0323300245)"),
                ("Hangup", "")
            ]
        );
        assert_eq!(compile(&plan()).expect("again"), rows, "deterministic");
    }

    #[test]
    fn time_conditions_jump_to_exten_priority_with_the_time_zone() {
        let mut p = plan();
        p.time_conditions.insert(
            5,
            TimeCondition {
                weekly: vec![WeeklyRange {
                    days: vec!["mon".into(), "tue".into()],
                    from: "08:00".into(),
                    to: "17:00".into(),
                }],
                closed_dates: vec![ClosedDate {
                    date: chrono::NaiveDate::from_ymd_opt(2026, 12, 25).expect("date"),
                    name: None,
                }],
            },
        );
        p.inbound.push(InboundRoute {
            id: 9,
            pattern: "0323300245".into(),
            destination: Destination::Queue { id: 3 },
            time_condition: Some(5),
            fallback: None,
        });
        let rows = compile(&p).expect("compiles");
        assert_eq!(
            find(&rows, "acme-rt", "in-9"),
            [
                ("GotoIf", "$[\"${STRFTIME(${EPOCH},Africa/Kampala,%Y-%m-%d)}\" = \"2026-12-25\"]?in-9-c,1"),
                ("GotoIfTime", "08:00-17:00,mon&tue,*,*,Africa/Kampala?in-9-o,1"),
                ("Goto", "in-9-c,1"),
            ]
        );
        assert_eq!(find(&rows, "acme-rt", "in-9-o"), [("Queue", "acme-support"), ("Hangup", "")]);
        assert_eq!(find(&rows, "acme-rt", "in-9-c"), [("Hangup", "")]);
        assert_eq!(find(&rows, INBOUND_CONTEXT, "0323300245")[0], ("Set", "__MAYDAY_TENANT=acme"));
        p.inbound[0].destination = Destination::Queue { id: 99 };
        assert_eq!(compile(&p), Err(CompileError::Missing { what: "queue", id: 99 }));
        p.inbound[0].destination = Destination::Route { id: 9 };
        assert_eq!(compile(&p), Err(CompileError::TooDeep), "a route that points at itself is a loop");
    }

    #[test]
    fn nothing_a_caller_or_an_admin_types_reaches_an_application_s_arguments_unfiltered() {
        let mut p = plan();
        p.inbound.push(InboundRoute {
            id: 4,
            pattern: "_0323X.".into(),
            destination: Destination::External { number: "+256700123456".into(), trunk_id: None },
            time_condition: None,
            fallback: None,
        });
        let rows = compile(&p).expect("compiles");
        assert_eq!(
            find(&rows, INBOUND_CONTEXT, "_0323X.")[1],
            ("Set", "__MAYDAY_INBOUND_DID=${FILTER(0-9*#+,${EXTEN})}")
        );
        for r in rows.iter().filter(|r| r.appdata.contains("EXTEN")) {
            let (all, filtered) =
                (r.appdata.matches("${EXTEN").count(), r.appdata.matches("${FILTER(0-9*#+,${EXTEN").count());
            assert_eq!(all, filtered, "every ${{EXTEN}} filtered: {r:?}");
        }
        // Asterisk evaluates functions and splits at commas in application data.
        for bad in ["${SHELL(id)}", "1,+15550000,other-trunk", "", "+", "12a", &"1".repeat(33)] {
            p.inbound[0].destination = Destination::External { number: bad.into(), trunk_id: None };
            assert_eq!(compile(&p), Err(CompileError::NotDialable(bad.into())), "{bad:?}");
            assert!(check(&p, &p.inbound[0].destination).is_err());
            // What an older Mayday stored is rewritten as a hang-up, never as data.
            let (clean, dropped) = without_undialable(&p);
            assert_eq!(dropped, [bad.to_string()]);
            let rows = compile(&clean).expect("the rest compiles");
            assert!(rows.iter().all(|r| bad.len() < 3 || !r.appdata.contains(bad)), "{bad:?}");
            assert_eq!(find(&rows, "acme-rt", "in-4"), [("Hangup", "")]);
        }
    }
}
