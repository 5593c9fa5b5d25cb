//! Live-side helpers: a simulated PBX in scripted mode, a PBX and tenant pointing at it,
//! agents, and Mayday's live REST views compared with the simulated PBX's ground truth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mayday::domain::{Role, TenantId};
use mayday::services;
use mayday_actors::live::agent::state::AgentSnapshot;
use mayday_actors::live::calls::LiveCall;
use mayday_actors::live::queue::state::QueueSnapshot;
use mayday_actors::sim::{
    self, compare, SimConfig, SimEndpoint, SimHandle, SimMember, SimQueue, StaticDirectory, Truth,
};
use serde_json::json;

use super::{suffix, TestApp, TestUser};

/// Millisecond timers for the live side.
pub const LIVE_ENV: [(&str, &str); 12] = [
    ("MAYDAY_LIVE", "true"),
    ("LIVE_ARBITERS", "1"),
    ("LIVE_PERSIST_AFTER", "20ms"),
    ("LIVE_PAUSE_CONFIRM", "2s"),
    ("AMI_CONNECT_TIMEOUT", "500ms"),
    ("AMI_LOGIN_TIMEOUT", "1s"),
    ("AMI_BOOT_WAIT", "200ms"),
    ("AMI_ACTION_TIMEOUT", "5s"),
    ("AMI_PING_INTERVAL", "60s"),
    ("AMI_BACKOFF_INITIAL", "20ms"),
    ("AMI_BACKOFF_MAX", "200ms"),
    ("AMI_AUTH_RETRY", "100ms"),
];

pub const SIM_SECRET: &str = "sim-secret";

/// `count` PJSIP agents `<prefix>1001...` (Asterisk `tenantid` set when given) in queues
/// `<prefix>sales` and `<prefix>support` (service level 20 s, no wrap-up).
pub fn directory(prefix: &str, tenantid: Option<&str>, count: usize) -> sim::DirectorySnapshot {
    let endpoints: Vec<SimEndpoint> = (0..count)
        .map(|i| SimEndpoint {
            id: format!("{prefix}{}", 1001 + i),
            name: format!("Agent {}", 1001 + i),
            tenantid: tenantid.map(str::to_string),
            context: "mayday-agents".into(),
            registered: true,
        })
        .collect();
    let members: Vec<SimMember> = endpoints
        .iter()
        .map(|e| SimMember {
            interface: format!("PJSIP/{}", e.id),
            membername: e.name.clone(),
            state_interface: format!("PJSIP/{}", e.id),
            penalty: 0,
            paused: false,
            realtime: true,
        })
        .collect();
    let queue = |name: &str| SimQueue {
        name: format!("{prefix}{name}"),
        strategy: "leastrecent".into(),
        ring_timeout_secs: 15,
        wrapup_secs: 0,
        service_level_secs: 20,
        max_len: 0,
        weight: 0,
        max_wait_secs: 0,
        tenantid: tenantid.map(str::to_string),
        caller_context: "mayday-inbound".into(),
        members: members.clone(),
    };
    sim::DirectorySnapshot { endpoints, queues: vec![queue("sales"), queue("support")] }
}

pub async fn start_sim(directory: sim::DirectorySnapshot) -> SimHandle {
    start_sim_with(Arc::new(StaticDirectory(directory))).await
}

/// The simulated PBX in scripted mode with any directory (e.g. the realtime tables).
pub async fn start_sim_with(directory: Arc<dyn sim::Directory>) -> SimHandle {
    let cfg = SimConfig {
        username: "mayday".into(),
        secret: SIM_SECRET.into(),
        failed_login_delay: Duration::from_millis(20),
        ..SimConfig::default()
    };
    sim::start(cfg, directory).await.expect("the simulated PBX starts")
}

/// A tenant on a PBX, with its manager and agents (extensions 1001...).
pub struct LiveTenant {
    pub id: u64,
    pub slug: String,
    pub prefix: String,
    pub manager: TestUser,
    pub manager_token: String,
    pub agents: Vec<TestUser>,
}

impl TestApp {
    /// Registers the simulated PBX (as a superadmin would).
    pub async fn pbx_for(&self, sim: &SimHandle) -> u64 {
        let input: services::pbxes::CreatePbx = serde_json::from_value(json!({
            "name": format!("sim-{}", suffix()),
            "ami_host": "127.0.0.1",
            "ami_port": sim.addr().port(),
            "ami_username": "mayday",
            "ami_secret": SIM_SECRET,
            "ami_auth": "md5",
        }))
        .expect("pbx input");
        services::pbxes::create(&self.state, None, input).await.expect("pbx created").id
    }

    /// A tenant on `pbx` with `agents` agents; `slug` and `prefix` as given.
    pub async fn live_tenant(&self, pbx: u64, slug: &str, prefix: &str, agents: usize) -> LiveTenant {
        let input = services::tenants::CreateTenant {
            slug: slug.into(),
            name: format!("Tenant {slug}"),
            timezone: Some("Africa/Nairobi".into()),
            enabled: Some(true),
            pbx_id: Some(pbx),
            name_prefix: Some(prefix.into()),
            domains: None,
        };
        let t = services::tenants::create(&self.state, None, input).await.expect("tenant created");
        let manager = self.user(TenantId(t.id), slug, Role::Manager).await;
        let mut list = Vec::new();
        for i in 0..agents {
            let password = format!("pw-{}-{}", suffix(), suffix());
            let username = format!("agent{}-{}", 1001 + i, suffix());
            let input = services::agents::CreateAgent {
                username: username.clone(),
                password: password.clone(),
                extension: format!("{}", 1001 + i),
                display_name: Some(format!("Agent {}", 1001 + i)),
                email: None,
                callerid: None,
                profile: None,
                codecs: None,
                sip_password: None,
                enabled: Some(true),
            };
            let u =
                services::agents::create(&self.state, None, TenantId(t.id), input).await.expect("agent created").user;
            list.push(TestUser {
                id: u.id,
                tenant_id: t.id,
                tenant_slug: slug.into(),
                username,
                password,
                role: Role::Agent,
            });
        }
        let manager_token = self.login(&manager).await;
        LiveTenant { id: t.id, slug: slug.into(), prefix: prefix.into(), manager, manager_token, agents: list }
    }

    /// Mayday's live views, as the REST API gives them.
    pub async fn live_views(&self, token: &str) -> (Vec<QueueSnapshot>, Vec<AgentSnapshot>, Vec<LiveCall>) {
        let q = self.get("/api/live/queues", Some(token)).await;
        let a = self.get("/api/live/agents", Some(token)).await;
        let c = self.get("/api/live/calls", Some(token)).await;
        assert_eq!(
            (q.status, a.status, c.status),
            (200, 200, 200),
            "live REST answers: {} {} {}",
            q.body,
            a.body,
            c.body
        );
        (
            serde_json::from_value(q.body).expect("queue snapshots"),
            serde_json::from_value(a.body).expect("agent snapshots"),
            serde_json::from_value(c.body).expect("live calls"),
        )
    }

    /// Waits (up to `within`) until the tenant's live views equal the truth of its part
    /// of the PBX; panics naming the differences. `counters: false` compares the live
    /// state only.
    pub async fn agrees_with(
        &self,
        sim: &SimHandle,
        tenant: &LiveTenant,
        step: &str,
        counters: bool,
        within: Duration,
    ) {
        let deadline = Instant::now() + within;
        loop {
            let truth = tenant_truth(sim.truth().await.expect("truth"), &tenant.prefix);
            let (q, a, c) = self.live_views(&tenant.manager_token).await;
            let d = if counters {
                compare::differences(&truth, &q, &a, &c)
            } else {
                compare::live_differences(&truth, &q, &a, &c)
            };
            if d.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!("after {step}, tenant {} differs from the truth:\n{}", tenant.slug, d.join("\n"));
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn agrees(&self, sim: &SimHandle, tenant: &LiveTenant, step: &str) {
        self.agrees_with(sim, tenant, step, true, Duration::from_secs(5)).await;
    }
}

/// The part of the truth that belongs to a tenant (by name prefix; everything when empty).
pub fn tenant_truth(mut truth: Truth, prefix: &str) -> Truth {
    if prefix.is_empty() {
        return truth;
    }
    truth.queues.retain(|name, _| name.starts_with(prefix));
    truth.agents.retain(|endpoint, _| endpoint.starts_with(prefix));
    truth.calls.retain(|c| {
        c.queue.as_deref().is_some_and(|q| q.starts_with(prefix))
            || c.agent_interface.as_deref().is_some_and(|i| i.contains(&format!("/{prefix}")))
    });
    truth
}
