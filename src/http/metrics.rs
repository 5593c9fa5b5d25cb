//! `GET /metrics`: Prometheus text format. With `METRICS_TOKEN` set it needs
//! `Authorization: Bearer <token>` (tenant ids and PBX ids are not for everyone).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::extract::bearer_token;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.config.metrics_token {
        let given = bearer_token(&req).unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
            return Err(ApiError::unauthorized());
        }
    }
    let mut body = render(&state);
    render_push(&state, &mut body).await;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> =
            labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
        let _ = if labels.is_empty() {
            writeln!(self.out, "{name} {value}")
        } else {
            writeln!(self.out, "{name}{{{}}} {value}", labels.join(","))
        };
    }
}

fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// The WebSocket push layer, with per-topic subscriber counts asked of each tenant.
async fn render_push(state: &AppState, out: &mut String) {
    let m = &state.push_metrics;
    let mut f = Family::new(out, "mayday_ws_sessions", "gauge", "open WebSocket sessions");
    f.sample("mayday_ws_sessions", &[], load(&m.sessions));
    for (name, help, c) in [
        ("mayday_ws_messages_pushed_total", "frames queued for subscribers (each payload serialised once)", &m.pushed),
        ("mayday_ws_messages_delivered_total", "frames written to sockets", &m.delivered),
        ("mayday_ws_coalesced_total", "times a slow subscriber's backlog was replaced by one snapshot", &m.coalesced),
        ("mayday_ws_dropped_total", "deltas dropped by coalescing", &m.dropped),
    ] {
        let mut f = Family::new(out, name, "counter", help);
        f.sample(name, &[], load(c));
    }
    let mut f = Family::new(out, "mayday_ws_closes_total", "counter", "WebSocket sessions closed, by reason");
    for (reason, c) in [
        ("slow_consumer", &m.closed_slow),
        ("idle_timeout", &m.closed_idle),
        ("session_ended", &m.closed_revoked),
        ("protocol_error", &m.closed_protocol),
        ("normal", &m.closed_normal),
        ("shutdown", &m.closed_shutdown),
    ] {
        f.sample("mayday_ws_closes_total", &[("reason", reason)], load(c));
    }
    let tenants: Vec<_> = state.live.registry.tenants.iter().map(|e| (*e.key(), e.value().addr.clone())).collect();
    let mut counts = Vec::new();
    for (id, addr) in tenants {
        if let Ok(list) = addr.send(mayday_actors::live::tenant::actor::GetSubscriberCounts).await {
            counts.push((id, list));
        }
    }
    counts.sort_by_key(|(id, _)| *id);
    let mut f = Family::new(out, "mayday_ws_topic_subscribers", "gauge", "subscribers of each topic with any");
    for (id, list) in counts {
        for (topic, n) in list {
            f.sample("mayday_ws_topic_subscribers", &[("tenant", &id.to_string()), ("topic", &topic)], n);
        }
    }
}

/// Reads one counter of a link.
type LinkCounter = fn(&mayday_actors::ami::link::LinkMetrics) -> &AtomicU64;

/// The whole exposition.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(4096);
    let registry = &state.live.registry;
    let mut pbxes: Vec<_> = registry.pbxes.iter().map(|e| (*e.key(), e.value().clone())).collect();
    pbxes.sort_by_key(|(id, _)| *id);
    let mut tenants: Vec<_> = registry.tenants.iter().map(|e| (*e.key(), e.value().clone())).collect();
    tenants.sort_by_key(|(id, _)| *id);

    let per_pbx: [(&str, &str, &str, LinkCounter); 6] = [
        ("mayday_ami_events_received_total", "counter", "AMI events received and decoded", |m| &m.events_received),
        ("mayday_ami_bytes_received_total", "counter", "AMI bytes read from the PBX", |m| &m.bytes_received),
        ("mayday_ami_frames_dropped_total", "counter", "malformed or oversized AMI frames skipped", |m| {
            &m.frames_dropped
        }),
        ("mayday_ami_actions_sent_total", "counter", "AMI actions sent", |m| &m.actions_sent),
        ("mayday_ami_action_timeouts_total", "counter", "AMI actions that got no answer in time", |m| {
            &m.action_timeouts
        }),
        ("mayday_ami_reconnects_total", "counter", "successful reconnections after the first", |m| &m.reconnects),
    ];
    let mut f = Family::new(&mut out, "mayday_ami_link_up", "gauge", "whether the PBX link is connected");
    for (id, e) in &pbxes {
        let up = u8::from(e.link.status().state == mayday_actors::ami::LinkState::Connected);
        f.sample("mayday_ami_link_up", &[("pbx", &id.to_string())], up);
    }
    for (name, kind, help, get) in per_pbx {
        let mut f = Family::new(&mut out, name, kind, help);
        for (id, e) in &pbxes {
            f.sample(name, &[("pbx", &id.to_string())], load(get(e.link.metrics())));
        }
    }
    let mut f = Family::new(&mut out, "mayday_ami_events_routed_total", "counter", "events handed to a tenant");
    for (id, e) in &pbxes {
        f.sample("mayday_ami_events_routed_total", &[("pbx", &id.to_string())], load(&e.metrics.events_routed));
    }
    let mut f =
        Family::new(&mut out, "mayday_ami_events_unrouted_total", "counter", "events no tenant of the PBX claimed");
    for (id, e) in &pbxes {
        f.sample("mayday_ami_events_unrouted_total", &[("pbx", &id.to_string())], load(&e.metrics.events_unrouted));
    }
    let mut f =
        Family::new(&mut out, "mayday_resyncs_total", "counter", "resyncs after a dropped link or an Asterisk restart");
    for (id, e) in &pbxes {
        let pbx = id.to_string();
        f.sample(
            "mayday_resyncs_total",
            &[("pbx", &pbx), ("kind", "reconnected")],
            load(&e.metrics.resyncs_reconnected),
        );
        f.sample("mayday_resyncs_total", &[("pbx", &pbx), ("kind", "restarted")], load(&e.metrics.resyncs_restarted));
    }
    let mut f =
        Family::new(&mut out, "mayday_resync_failures_total", "counter", "resyncs that failed and were retried");
    for (id, e) in &pbxes {
        f.sample("mayday_resync_failures_total", &[("pbx", &id.to_string())], load(&e.metrics.resync_failures));
    }
    let mut f = Family::new(&mut out, "mayday_tenant_events_total", "counter", "AMI events handled by each tenant");
    for (id, e) in &tenants {
        f.sample("mayday_tenant_events_total", &[("tenant", &id.to_string())], load(&e.metrics.events));
    }
    let mut f = Family::new(
        &mut out,
        "mayday_tenant_mailbox_lag_seconds",
        "gauge",
        "time from the socket read to the tenant handling it",
    );
    for (id, e) in &tenants {
        let t = id.to_string();
        f.sample(
            "mayday_tenant_mailbox_lag_seconds",
            &[("tenant", &t), ("stat", "last")],
            load(&e.metrics.lag_last_us) as f64 / 1e6,
        );
        f.sample(
            "mayday_tenant_mailbox_lag_seconds",
            &[("tenant", &t), ("stat", "max")],
            load(&e.metrics.lag_max_us) as f64 / 1e6,
        );
    }
    let mut f = Family::new(&mut out, "mayday_tenant_resyncs_total", "counter", "resyncs each tenant went through");
    for (id, e) in &tenants {
        let t = id.to_string();
        f.sample("mayday_tenant_resyncs_total", &[("tenant", &t), ("kind", "first")], load(&e.metrics.resyncs_first));
        f.sample(
            "mayday_tenant_resyncs_total",
            &[("tenant", &t), ("kind", "reconnected")],
            load(&e.metrics.resyncs_reconnected),
        );
        f.sample(
            "mayday_tenant_resyncs_total",
            &[("tenant", &t), ("kind", "restarted")],
            load(&e.metrics.resyncs_restarted),
        );
    }
    out
}
