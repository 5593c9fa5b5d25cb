//! Where HTTP handlers and WebSocket sessions find the live actors without a global lock:
//! tenants and PBX links by id, in `dashmap`s.

use std::sync::Arc;

use actix::Addr;
use dashmap::DashMap;

use super::ids::TenantId;
use super::metrics::{PbxMetrics, TenantMetrics};
use super::router::PbxRouter;
use super::tenant::TenantActor;
use crate::ami::{AmiLink, PbxId};

/// A running tenant.
#[derive(Clone)]
pub struct TenantEntry {
    pub addr: Addr<TenantActor>,
    pub pbx: Option<PbxId>,
    pub metrics: Arc<TenantMetrics>,
}

/// A running PBX link.
#[derive(Clone)]
pub struct PbxEntry {
    pub router: Addr<PbxRouter>,
    pub link: AmiLink,
    pub name: String,
    pub metrics: Arc<PbxMetrics>,
}

/// Every live actor, by id.
#[derive(Default)]
pub struct Registry {
    pub tenants: DashMap<TenantId, TenantEntry>,
    pub pbxes: DashMap<PbxId, PbxEntry>,
}

impl Registry {
    pub fn tenant(&self, id: TenantId) -> Option<TenantEntry> {
        self.tenants.get(&id).map(|e| e.clone())
    }

    pub fn pbx(&self, id: PbxId) -> Option<PbxEntry> {
        self.pbxes.get(&id).map(|e| e.clone())
    }
}
