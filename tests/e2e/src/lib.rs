//! Shared helpers for Miroir's end-to-end tests: a mesh started through `miroir dev`,
//! a single reference node, an HTTP client, and real corpora.
//!
//! Nodes are the Meilisearch test double unless `MIROIR_MEILI_BIN` names a real
//! Meilisearch binary; then every node, and the reference node, is real.

pub mod binaries;
pub mod corpus;
pub mod fidelity;
pub mod http;
pub mod mesh;
pub mod mesh_ops;
pub mod mesh_serve;
pub mod outcomes;
pub mod ports;
pub mod queries;
pub mod ties;

pub use http::{Answer, Client};
pub use mesh::{Mesh, MeshSpec, SingleNode};
pub use mesh_ops::Gateway;
pub use outcomes::assert_same_outcomes;

/// The master key every test deployment uses.
pub const MASTER_KEY: &str = "miroir-e2e-master-key";
