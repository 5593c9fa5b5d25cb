//! One repository per table group: diesel-async queries only, no business rules.

pub mod agents;
pub mod audit;
pub mod licenses;
pub mod live;
pub mod pbxes;
pub mod queues;
pub mod routing;
pub mod sms;
pub mod tenants;
pub mod trunks;
pub mod users;

/// The connection every repository function takes (a pooled one derefs to it, and so does
/// a connection inside a transaction).
pub type Conn = diesel_async::AsyncMysqlConnection;
