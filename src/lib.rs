//! Mayday Switchboard: the server. `main.rs` only calls [`cli::run`]; tests and benches
//! start exactly what production starts through [`startup::Application`].

pub mod audio;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dialplan;
pub mod domain;
pub mod http;
pub mod ip_range;
pub mod license;
pub mod live;
pub mod outbound;
pub mod redis;
pub mod seats;
pub mod services;
pub mod sim_directory;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ws;
