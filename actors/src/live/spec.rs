//! What the server tells the live side: which PBXs to link, which tenants live on them,
//! their agents, queue settings, Mayday-owned pauses and today's persisted counters. The
//! server builds it from MariaDB; tests build it by hand.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::figures::QueueCounters;
use super::ids::{AgentId, Millis, TenantId};
use crate::ami::{AmiConfig, PbxId};
use crate::live::agent::state::AgentCounters;

/// One PBX link.
#[derive(Clone, Debug)]
pub struct PbxSpec {
    pub id: PbxId,
    pub ami: AmiConfig,
}

/// Mayday's own settings of a queue (from the provisioning API once it has them). `None`
/// falls back to what Asterisk reports (QueueParams ServiceLevel, member Wrapuptime).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSettings {
    pub service_level_secs: Option<u64>,
    pub wrapup_secs: Option<u64>,
}

impl QueueSettings {
    /// The wrap-up app_queue applies after a member's call (get_wrapuptime): the member's
    /// own `wrapuptime` when it has one, else the queue's.
    pub fn wrapup_for(settings: Option<&QueueSettings>, member_wrapup: u64) -> u64 {
        if member_wrapup > 0 {
            member_wrapup
        } else {
            settings.and_then(|s| s.wrapup_secs).unwrap_or(0)
        }
    }
}

/// A pause Mayday owns: applied to Asterisk, re-applied after an Asterisk restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseState {
    pub reason: String,
    pub since_ms: Millis,
}

/// An agent: a user with an extension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSpec {
    pub id: AgentId,
    /// The extension, without the tenant's name prefix.
    pub extension: String,
    pub name: String,
    pub pause: Option<PauseState>,
    /// Today's persisted counters (reloaded at start).
    #[serde(default)]
    pub today: Option<(chrono::NaiveDate, AgentCounters)>,
}

/// A tenant and everything its actors start from.
#[derive(Clone, Debug)]
pub struct TenantSpec {
    pub id: TenantId,
    pub slug: String,
    /// Prefix of every Asterisk object of this tenant (`<slug>-`, or empty alone on a PBX).
    pub name_prefix: String,
    /// What Asterisk puts in `Tenantid:` for this tenant's endpoints.
    pub asterisk_tenantid: String,
    pub timezone: chrono_tz::Tz,
    pub pbx: Option<PbxId>,
    pub agents: Vec<AgentSpec>,
    /// By Asterisk queue name (prefix included).
    pub queue_settings: HashMap<String, QueueSettings>,
    /// Today's persisted counters by Asterisk queue name.
    pub queue_counters: HashMap<String, (chrono::NaiveDate, QueueCounters)>,
}

impl TenantSpec {
    /// A tenant with no agents and default settings.
    pub fn new(id: TenantId, slug: &str, name_prefix: &str, pbx: Option<PbxId>) -> Self {
        TenantSpec {
            id,
            slug: slug.into(),
            name_prefix: name_prefix.into(),
            asterisk_tenantid: slug.into(),
            timezone: chrono_tz::UTC,
            pbx,
            agents: Vec::new(),
            queue_settings: HashMap::new(),
            queue_counters: HashMap::new(),
        }
    }

    /// The PJSIP device of an extension: `PJSIP/<prefix><extension>`.
    pub fn device_of(&self, extension: &str) -> String {
        format!("PJSIP/{}{}", self.name_prefix, extension)
    }
}

/// Everything live, at once.
#[derive(Clone, Debug, Default)]
pub struct LiveSpec {
    pub pbxes: Vec<PbxSpec>,
    pub tenants: Vec<Arc<TenantSpec>>,
}
