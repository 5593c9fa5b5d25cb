//! Live state: the PBX router, tenant, queue and agent actors, and the figures they keep.

pub mod figures;
