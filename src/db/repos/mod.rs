//! One repository per table group: diesel-async queries only, no business rules.

pub mod audit;
pub mod live;
pub mod pbxes;
pub mod tenants;
pub mod users;

/// The connection every repository function takes (a pooled one derefs to it, and so does
/// a connection inside a transaction).
pub type Conn = diesel_async::AsyncMysqlConnection;
