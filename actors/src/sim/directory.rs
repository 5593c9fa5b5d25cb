//! Where the simulated PBX gets its agents and queues.
//!
//! The sim knows no SQL: a [`Directory`] hands it endpoints, queues and members. This crate
//! has a static one (built from flags or a JSON file); the server adds one that reads the
//! realtime tables Asterisk reads. Like Asterisk with realtime queues, the sim reloads the
//! directory at each queue load (QueueStatus, a caller entering a queue).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

/// A PJSIP endpoint (an agent's phone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimEndpoint {
    /// The endpoint id, e.g. `acme-1001` (with the tenant's name prefix).
    pub id: String,
    /// Display name used as caller id name.
    #[serde(default)]
    pub name: String,
    /// Asterisk's `ps_endpoints.tenantid`; copied into channel events as `Tenantid`.
    #[serde(default)]
    pub tenantid: Option<String>,
    /// Dialplan context of calls the endpoint makes.
    #[serde(default = "default_agent_context")]
    pub context: String,
    /// Whether a phone is registered (unregistered endpoints are UNAVAILABLE).
    #[serde(default = "yes")]
    pub registered: bool,
}

fn default_agent_context() -> String {
    "mayday-agents".into()
}

fn yes() -> bool {
    true
}

/// A queue member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimMember {
    /// `PJSIP/acme-1001`, or `Local/1001@agents/n`.
    pub interface: String,
    #[serde(default)]
    pub membername: String,
    /// Device whose state drives the member (defaults to the interface).
    #[serde(default)]
    pub state_interface: String,
    #[serde(default)]
    pub penalty: i32,
    #[serde(default)]
    pub paused: bool,
    /// True for rows of `queue_members` (realtime), false for queues.conf members.
    #[serde(default)]
    pub realtime: bool,
}

impl SimMember {
    pub fn state_interface(&self) -> &str {
        if self.state_interface.is_empty() {
            &self.interface
        } else {
            &self.state_interface
        }
    }

    pub fn member_name(&self) -> &str {
        if self.membername.is_empty() {
            &self.interface
        } else {
            &self.membername
        }
    }
}

/// A queue and its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimQueue {
    /// Queue name as Asterisk knows it (with the tenant's name prefix).
    pub name: String,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Seconds each member rings before the next attempt (queues.conf `timeout`).
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_secs: u32,
    #[serde(default)]
    pub wrapup_secs: u32,
    /// Service-level threshold (queues.conf `servicelevel`).
    #[serde(default)]
    pub service_level_secs: u32,
    #[serde(default)]
    pub max_len: u32,
    #[serde(default)]
    pub weight: i32,
    /// The `Queue()` application's timeout: a caller still waiting after this leaves the
    /// queue (QueueCallerAbandon without hanging up). 0 = no timeout.
    #[serde(default)]
    pub max_wait_secs: u32,
    /// Tenant id carried by callers' channels entering this queue (their trunk's tenantid).
    #[serde(default)]
    pub tenantid: Option<String>,
    /// Context of callers' channels (an inbound context with the tenant's prefix).
    #[serde(default = "default_inbound_context")]
    pub caller_context: String,
    #[serde(default)]
    pub members: Vec<SimMember>,
}

fn default_strategy() -> String {
    "rrmemory".into()
}

fn default_ring_timeout() -> u32 {
    15
}

fn default_inbound_context() -> String {
    "mayday-inbound".into()
}

/// Everything a directory knows at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySnapshot {
    #[serde(default)]
    pub endpoints: Vec<SimEndpoint>,
    #[serde(default)]
    pub queues: Vec<SimQueue>,
}

/// A boxed future, as the trait returns.
pub type DirectoryFuture = Pin<Box<dyn Future<Output = Result<DirectorySnapshot, String>> + Send>>;

/// The source of the sim's agents and queues.
pub trait Directory: Send + Sync + 'static {
    /// The current endpoints, queues and members.
    fn load(&self) -> DirectoryFuture;
}

/// A directory that never changes: from flags, a file, or code.
#[derive(Clone, Debug, Default)]
pub struct StaticDirectory(pub DirectorySnapshot);

impl Directory for StaticDirectory {
    fn load(&self) -> DirectoryFuture {
        let snapshot = self.0.clone();
        Box::pin(async move { Ok(snapshot) })
    }
}

impl StaticDirectory {
    /// `agents` endpoints (`<prefix>1001`...) spread over `queues` queues
    /// (`<prefix>queue-01`...); every agent is a member of one queue, and of a second one
    /// when there are several.
    pub fn generated(prefix: &str, agents: usize, queues: usize, tenantid: Option<&str>) -> Self {
        let queues = queues.max(1);
        let endpoints: Vec<SimEndpoint> = (0..agents)
            .map(|i| SimEndpoint {
                id: format!("{prefix}{}", 1001 + i),
                name: format!("Agent {}", 1001 + i),
                tenantid: tenantid.map(str::to_string),
                context: default_agent_context(),
                registered: true,
            })
            .collect();
        let mut qs: Vec<SimQueue> = (0..queues)
            .map(|q| SimQueue {
                name: format!("{prefix}queue-{:02}", q + 1),
                strategy: default_strategy(),
                ring_timeout_secs: 15,
                wrapup_secs: 5,
                service_level_secs: 20,
                max_len: 0,
                weight: 0,
                max_wait_secs: 300,
                tenantid: tenantid.map(str::to_string),
                caller_context: format!("{prefix}inbound"),
                members: Vec::new(),
            })
            .collect();
        for (i, ep) in endpoints.iter().enumerate() {
            let member = |realtime| SimMember {
                interface: format!("PJSIP/{}", ep.id),
                membername: ep.name.clone(),
                state_interface: format!("PJSIP/{}", ep.id),
                penalty: 0,
                paused: false,
                realtime,
            };
            qs[i % queues].members.push(member(true));
            if queues > 1 {
                qs[(i + 1) % queues].members.push(member(true));
            }
        }
        StaticDirectory(DirectorySnapshot { endpoints, queues: qs })
    }

    /// Reads a JSON file shaped like [`DirectorySnapshot`].
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map(StaticDirectory).map_err(|e| format!("directory file: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_directory_puts_every_agent_in_a_queue() {
        let d = StaticDirectory::generated("acme-", 10, 3, Some("acme")).0;
        assert_eq!(d.endpoints.len(), 10);
        assert_eq!(d.queues.len(), 3);
        let memberships: usize = d.queues.iter().map(|q| q.members.len()).sum();
        assert_eq!(memberships, 20);
        assert_eq!(d.queues[0].name, "acme-queue-01");
        assert_eq!(d.endpoints[0].tenantid.as_deref(), Some("acme"));
    }

    #[test]
    fn json_directory_fills_defaults() {
        let d = StaticDirectory::from_json(
            r#"{"endpoints":[{"id":"1001"}],"queues":[{"name":"support","members":[{"interface":"PJSIP/1001"}]}]}"#,
        )
        .expect("valid directory")
        .0;
        assert_eq!(d.queues[0].strategy, "rrmemory");
        assert_eq!(d.queues[0].members[0].state_interface(), "PJSIP/1001");
        assert!(d.endpoints[0].registered);
    }
}
