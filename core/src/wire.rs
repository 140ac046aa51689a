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

/// Reserved document field holding the write's version stamp (issue 6: replicas of a
/// shard converge on the highest version). Hidden from clients like [`SHARD_FIELD`].
pub const VERSION_FIELD: &str = "_miroir_version";

/// Every reserved field Miroir adds to stored documents.
pub const BOOKKEEPING_FIELDS: [&str; 2] = [SHARD_FIELD, VERSION_FIELD];

/// Whether a document field is Miroir's own bookkeeping, never shown to clients.
pub fn is_bookkeeping(field: &str) -> bool {
    BOOKKEEPING_FIELDS.contains(&field)
}

/// Removes Miroir's bookkeeping fields from a stored document before a client sees it.
pub fn strip_bookkeeping(document: &mut serde_json::Map<String, serde_json::Value>) {
    for field in BOOKKEEPING_FIELDS {
        document.shift_remove(field);
    }
}
