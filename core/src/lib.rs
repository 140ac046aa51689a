//! Miroir's core: everything the data plane and the control plane decide, as pure
//! functions over Miroir's own types. No I/O, no proxy-wasm, no tokio: it builds
//! for `wasm32-wasip1` (inside Envoy) and natively (tests, control plane).

pub mod access;
pub mod api;
pub mod batch;
pub mod batches;
pub mod browse;
pub mod error;
pub mod fanout;
pub mod fence_state;
pub mod flow;
pub mod id;
pub mod json_body;
pub mod placement;
pub mod route;
pub mod scrub;
pub mod search;
pub mod settings;
pub mod shard_map;
pub mod similar;
pub mod swap;
pub mod task;
pub mod task_scope;
pub mod tasks_query;
pub mod timestamp;
pub mod version;
pub mod wire;

#[cfg(test)]
mod testing;

pub use error::{Code, MeiliError};
pub use shard_map::ShardMap;
