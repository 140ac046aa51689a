//! Prometheus metrics of the control plane, as one typed struct; `/metrics` encodes it.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    pub pushes: Family<Labels, Counter>,
    pub acks: Family<Labels, Counter>,
    pub nacks: Family<Labels, Counter>,
    pub streams: Gauge,
    /// Per Envoy node and type: the version it ACKed (the map's number; a content
    /// hash's first 8 hex digits for the others).
    pub acked_version: Family<Labels, Gauge>,
    pub map_version: Gauge,
    pub node_up: Family<Labels, Gauge>,
    /// 0 green, 1 yellow, 2 red.
    pub cluster_health: Gauge,
    pub leader: Gauge,
    /// Rebalancing and repair (see `repair/`).
    pub repair_copied: Counter,
    pub repair_deleted: Counter,
    pub repair_passes: Counter,
    /// Per index and shard: passes this process made (after a restart, the shards the
    /// saved progress had finished get none — see tests/e2e/tests/rebalance_resume.rs).
    pub repair_shard_passes: Family<Labels, Counter>,
    pub repair_shards_pending: Gauge,
    pub repair_cleaned: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("miroir");
        let metrics = Metrics {
            pushes: Family::default(),
            acks: Family::default(),
            nacks: Family::default(),
            streams: Gauge::default(),
            acked_version: Family::default(),
            map_version: Gauge::default(),
            node_up: Family::default(),
            cluster_health: Gauge::default(),
            leader: Gauge::default(),
            repair_copied: Counter::default(),
            repair_deleted: Counter::default(),
            repair_passes: Counter::default(),
            repair_shard_passes: Family::default(),
            repair_shards_pending: Gauge::default(),
            repair_cleaned: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("xds_pushes", "xDS responses sent, by type", metrics.pushes.clone());
        registry.register("xds_acks", "xDS responses Envoy ACKed, by type", metrics.acks.clone());
        registry.register("xds_nacks", "xDS responses Envoy NACKed, by type", metrics.nacks.clone());
        registry.register("xds_streams", "ADS streams open", metrics.streams.clone());
        registry.register("envoy_acked_version", "Version each Envoy ACKed, by node and type", metrics.acked_version.clone());
        registry.register("shard_map_version", "Version of the shard map served", metrics.map_version.clone());
        registry.register("node_up", "1 when a Meilisearch node serves reads", metrics.node_up.clone());
        registry.register("cluster_health", "0 green, 1 yellow, 2 red", metrics.cluster_health.clone());
        registry.register("leader", "1 when this replica leads", metrics.leader.clone());
        registry.register("repair_documents_copied", "Documents anti-entropy wrote to a replica", metrics.repair_copied.clone());
        registry.register("repair_documents_deleted", "Documents anti-entropy deleted from a replica", metrics.repair_deleted.clone());
        registry.register("repair_passes", "Anti-entropy passes over one shard", metrics.repair_passes.clone());
        registry.register("repair_shard_passes", "Anti-entropy passes by index and shard", metrics.repair_shard_passes.clone());
        registry.register("repair_shards_pending", "Shards the rebalancer still has to bring in sync", metrics.repair_shards_pending.clone());
        registry.register("repair_documents_cleaned", "Documents removed from nodes that no longer own their shard", metrics.repair_cleaned.clone());
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A gauge value for a version string: the map's number, or a hash's first 8 hex digits.
pub fn version_number(version: &str) -> i64 {
    version.parse::<i64>().unwrap_or_else(|_| i64::from_str_radix(version.get(..8).unwrap_or("0"), 16).unwrap_or(0))
}
