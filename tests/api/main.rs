//! Integration tests: the real server on a random port, real MariaDB and Redis.

mod auth;
mod bad_input;
mod balance;
mod browser;
mod calls;
mod config;
mod health;
mod helpers;
mod history;
mod licenses;
mod live;
mod migrations;
mod pbxes;
mod provisioning;
mod routing;
mod sms;
mod tenants;
mod users;
mod ws;
