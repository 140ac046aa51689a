//! Miroir's control plane: the task registry every gateway shares, the cluster state
//! (nodes, replica groups, indexes) served to every Envoy over xDS as clusters and the
//! filter's shard map, the admin API and `miroir dev`, which runs a whole local mesh
//! (Meilisearch nodes, the control plane, Envoy) from one command.
//!
//! `main.rs` only parses the command line; everything it runs lives here so tests can
//! drive the same parts.

pub mod admin;
pub mod api;
pub mod app;
pub mod cli;
pub mod control;
pub mod envoy_config;
pub mod ha;
pub mod launcher;
pub mod metrics;
pub mod prober;
pub mod registry;
pub mod rebalance_cli;
pub mod repair;
pub mod signals;
pub mod state;
pub mod swap;
pub mod xds;
