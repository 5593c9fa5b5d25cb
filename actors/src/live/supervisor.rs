//! Starts and stops the live actors to match what the server says ([`LiveSpec`]): one PBX
//! router with its `AmiConnection` per enabled PBX (never one per tenant), one tenant actor
//! per tenant, spread over arbiters (threads) for parallelism, all registered in the
//! [`Registry`]. Applying the same spec again changes nothing; a changed PBX address or
//! secret restarts its link.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use super::ids::TenantId;
use super::metrics::{PbxMetrics, TenantMetrics};
use super::registry::{PbxEntry, Registry, TenantEntry};
use super::router::{PbxRouter, SetTenants, StopRouter, TenantRoute};
use super::routing::Route;
use super::spec::{LiveSpec, PbxSpec, TenantSpec};
use super::store::LiveStore;
use super::tenant::actor::{LiveTimings, StopTenant, UpdateSpec};
use super::tenant::TenantActor;
use crate::ami::{AmiConnection, PbxId};

/// Apply a new spec.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Apply(pub LiveSpec);

pub struct LiveSupervisor {
    registry: Arc<Registry>,
    store: Arc<dyn LiveStore>,
    timings: LiveTimings,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    tenants: HashMap<TenantId, Arc<TenantSpec>>,
    pbxes: HashMap<PbxId, PbxSpec>,
}

/// What identifies a link: changing any of it restarts the connection.
fn link_identity(p: &PbxSpec) -> (String, u16, String, String, crate::ami::AuthMode) {
    (p.ami.host.clone(), p.ami.port, p.ami.username.clone(), p.ami.secret.expose().to_string(), p.ami.auth)
}

impl LiveSupervisor {
    /// `arbiters`: threads for tenant actors (0 = run them on the supervisor's own thread).
    pub fn new(registry: Arc<Registry>, store: Arc<dyn LiveStore>, timings: LiveTimings, arbiters: usize) -> Self {
        let arbiters = (0..arbiters).map(|_| Arbiter::new().handle()).collect();
        LiveSupervisor {
            registry,
            store,
            timings,
            arbiters,
            next_arbiter: 0,
            tenants: HashMap::new(),
            pbxes: HashMap::new(),
        }
    }

    fn start_tenant(&mut self, spec: Arc<TenantSpec>) {
        let metrics = Arc::new(TenantMetrics::default());
        let (store, timings, m) = (self.store.clone(), self.timings, metrics.clone());
        let s = spec.clone();
        let addr = match self.arbiters.get(self.next_arbiter % self.arbiters.len().max(1)) {
            Some(arbiter) => {
                self.next_arbiter += 1;
                TenantActor::start_in_arbiter(arbiter, move |_| TenantActor::new(s, store, timings, m))
            }
            None => TenantActor::new(s, store, timings, m).start(),
        };
        self.registry.tenants.insert(spec.id, TenantEntry { addr, pbx: spec.pbx, metrics });
    }

    fn routes_of(&self, pbx: PbxId) -> Vec<TenantRoute> {
        let mut specs: Vec<&Arc<TenantSpec>> = self.tenants.values().filter(|t| t.pbx == Some(pbx)).collect();
        specs.sort_by_key(|t| t.id);
        let alone = specs.len() == 1;
        specs
            .into_iter()
            .filter_map(|t| {
                let entry = self.registry.tenant(t.id)?;
                // Alone on its PBX a tenant gets everything, whatever its prefix.
                let route = if alone {
                    Route { prefix: String::new(), tenantid: String::new() }
                } else {
                    Route { prefix: t.name_prefix.clone(), tenantid: t.asterisk_tenantid.clone() }
                };
                Some(TenantRoute { route, addr: entry.addr })
            })
            .collect()
    }

    fn start_pbx(&mut self, spec: &PbxSpec) {
        let routes = self.routes_of(spec.id);
        let metrics = Arc::new(PbxMetrics::default());
        let mut link_out = None;
        let (id, cfg, m, every) = (spec.id, spec.ami.clone(), metrics.clone(), self.timings.queue_refresh);
        let router = PbxRouter::create(|ctx| {
            let link = AmiConnection::start(cfg, ctx.address().recipient(), ctx.address().recipient());
            link_out = Some(link.clone());
            PbxRouter::new(id, link, routes, m, every)
        });
        if let Some(link) = link_out {
            self.registry.pbxes.insert(spec.id, PbxEntry { router, link, name: spec.ami.host.clone(), metrics });
        }
    }

    fn stop_pbx(&mut self, id: PbxId) {
        if let Some((_, entry)) = self.registry.pbxes.remove(&id) {
            entry.router.do_send(StopRouter);
        }
    }

    fn apply(&mut self, spec: LiveSpec) {
        // Tenants first: routers need their addresses.
        let wanted: HashMap<TenantId, Arc<TenantSpec>> = spec.tenants.into_iter().map(|t| (t.id, t)).collect();
        let gone: Vec<TenantId> = self.tenants.keys().copied().filter(|id| !wanted.contains_key(id)).collect();
        for id in gone {
            self.tenants.remove(&id);
            if let Some((_, e)) = self.registry.tenants.remove(&id) {
                e.addr.do_send(StopTenant);
            }
        }
        for (id, t) in wanted {
            match self.tenants.get(&id) {
                None => {
                    self.tenants.insert(id, t.clone());
                    self.start_tenant(t);
                }
                Some(old) if !Arc::ptr_eq(old, &t) => {
                    if let Some(e) = self.registry.tenant(id) {
                        e.addr.do_send(UpdateSpec(t.clone()));
                        self.registry.tenants.insert(id, TenantEntry { pbx: t.pbx, ..e });
                    }
                    self.tenants.insert(id, t);
                }
                Some(_) => {}
            }
        }
        // Then PBXs.
        let wanted: HashMap<PbxId, PbxSpec> = spec.pbxes.into_iter().map(|p| (p.id, p)).collect();
        let gone: Vec<PbxId> = self.pbxes.keys().copied().filter(|id| !wanted.contains_key(id)).collect();
        for id in gone {
            self.pbxes.remove(&id);
            self.stop_pbx(id);
        }
        for (id, p) in wanted {
            let restart = self.pbxes.get(&id).map(|old| link_identity(old) != link_identity(&p));
            match restart {
                None => self.start_pbx(&p),
                Some(true) => {
                    tracing::info!(pbx.id = %id, "PBX settings changed; reconnecting");
                    self.stop_pbx(id);
                    self.start_pbx(&p);
                }
                Some(false) => {
                    if let Some(e) = self.registry.pbx(id) {
                        e.router.do_send(SetTenants(self.routes_of(id)));
                    }
                }
            }
            self.pbxes.insert(id, p);
        }
    }
}

impl Actor for LiveSupervisor {
    type Context = Context<Self>;
}

impl Handler<Apply> for LiveSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Apply, _: &mut Context<Self>) {
        self.apply(msg.0);
    }
}
