//! Integration tests of the AMI link and the simulated PBX, over real TCP.

mod fidelity;
mod helpers;
mod link;
mod live;
mod recorded;
mod sim_flows;
mod typed;
