//! xDS: the Envoy side of the control plane (ADS, state of the world).
//!
//! [`snapshot`] turns a cluster state into checked, versioned resources; [`cache`]
//! holds the one being served; [`stream`] is the protocol per Envoy; [`server`] is the
//! gRPC glue; [`status`] records what every Envoy holds.

pub mod cache;
pub mod resources;
pub mod server;
pub mod snapshot;
pub mod status;
pub mod stream;

pub use cache::Cache;
pub use server::{Ads, TlsFiles, XdsError};
pub use snapshot::Snapshot;
pub use status::{EnvoyStatus, Envoys};
