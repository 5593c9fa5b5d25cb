//! Domain nouns shared by every layer of the server: ids and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use mayday_actors::ami::PbxId;
/// A tenant (`tenants.id`); the live side uses the same type.
pub use mayday_actors::live::TenantId;

/// A user (`users.id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The slug of the reserved tenant superadmins belong to.
pub const PLATFORM_TENANT: &str = "platform";

/// What a user may do. Ordered: a higher role may do what a lower one may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Manager,
    Admin,
    Superadmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Superadmin => "superadmin",
        }
    }

    /// True when this role includes everything `other` may do.
    pub fn at_least(self, other: Role) -> bool {
        self >= other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Role::Agent),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            "superadmin" => Ok(Role::Superadmin),
            other => Err(format!("unknown role {other:?} (superadmin, admin, manager or agent)")),
        }
    }
}

/// Who is calling: the user behind a live session, with their tenant and role. Every
/// service function that touches tenant data takes one (or a `TenantId` taken from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub tenant: TenantId,
    pub role: Role,
    /// The Redis session id.
    pub session: String,
}

impl Caller {
    pub fn is_superadmin(&self) -> bool {
        self.role == Role::Superadmin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power_and_round_trip_as_text() {
        assert!(Role::Superadmin.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::Manager));
        assert!(!Role::Agent.at_least(Role::Manager));
        for r in [Role::Agent, Role::Manager, Role::Admin, Role::Superadmin] {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
