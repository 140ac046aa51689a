//! Miroir's control plane: the task registry every gateway shares, the Envoy bootstrap
//! that carries the shard map to the filter, and `miroir dev`, which runs a whole local
//! mesh (Meilisearch nodes, the control plane, Envoy) from one command.
//!
//! `main.rs` only parses the command line; everything it runs lives here so tests can
//! drive the same parts.

pub mod api;
pub mod app;
pub mod cli;
pub mod envoy_config;
pub mod launcher;
pub mod registry;
pub mod signals;
