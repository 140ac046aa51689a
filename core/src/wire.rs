//! Wire names shared by the filter, the control plane and the tests, in one place.

/// Reserved document field holding the logical shard a document belongs to.
/// Every node keeps it filterable so a query or a migration can ask for
/// "only shards X, Y"; Miroir strips it from everything a client sees.
pub const SHARD_FIELD: &str = "_miroir_shard";

/// Meilisearch's default payload limit (`--http-payload-size-limit`, "100 MB").
pub const DEFAULT_PAYLOAD_LIMIT_BYTES: u64 = 100_000_000;

/// Header naming the shards that had no live replica in a degraded answer.
pub const DEGRADED_HEADER: &str = "x-miroir-degraded";

/// Request header asking for an error instead of a degraded answer: `fail`.
pub const DEGRADED_POLICY_HEADER: &str = "x-miroir-degraded-policy";

/// Internal task registry paths served by the control plane.
pub const TASKS_REGISTRY_PATH: &str = "/_miroir/tasks";
