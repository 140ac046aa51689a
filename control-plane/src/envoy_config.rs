//! The static Envoy bootstrap `miroir dev` runs: one listener whose wasm filter carries
//! the shard map, one cluster per Meilisearch node and one for the control plane.
//! The xDS control plane will later deliver the same pieces dynamically.

use std::collections::BTreeMap;
use std::path::Path;

use miroir_core::shard_map::{Node, NodeState, ShardMap};
use miroir_core::wire::DEFAULT_PAYLOAD_LIMIT_BYTES;
use miroir_core::MeiliError;
use serde_json::{json, Value};

/// The cluster the filter sends task registrations to.
pub const CONTROL_CLUSTER: &str = "miroir_control";
/// Room for Meilisearch's largest payload (100 MB) with headroom: Envoy's 1 MiB default
/// would answer 413 to a large document batch.
pub const BUFFER_LIMIT_BYTES: u64 = 209_715_200;
/// Per-call timeout the filter uses toward nodes and the control plane.
pub const CALL_TIMEOUT_MS: u64 = 30_000;

/// Where everything listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Envoy's listener: what clients call Miroir at.
    pub listener: u16,
    /// Node `i` listens on `node_base + i`.
    pub node_base: u16,
    pub control: u16,
    pub admin: u16,
}

/// The shape of a local mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    pub nodes: u32,
    pub replication_factor: u32,
    pub shards: u32,
    /// Replica groups; node `i` belongs to group `i % groups`.
    pub groups: u32,
    pub ports: Ports,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvoyConfigError {
    #[error("{0} nodes need ports {1}..={2}, past 65535: lower --node-base-port")]
    PortsOverflow(u32, u32, u32),
    #[error("port {port} is given both to {first} and to {second}")]
    PortClash { port: u16, first: String, second: String },
    #[error("--groups {groups} leaves replica group {group} without a node (only {nodes} nodes)")]
    EmptyGroup { groups: u32, group: u32, nodes: u32 },
    #[error("--rf {rf} needs {rf} nodes in every replica group, but group {group} has {nodes}")]
    TooFewReplicas { rf: u32, group: u32, nodes: u32 },
    #[error("the shard map is invalid: {}", .0.message)]
    ShardMap(MeiliError),
}

impl Topology {
    pub fn node_id(i: u32) -> String {
        format!("node{i}")
    }

    pub fn node_cluster(i: u32) -> String {
        format!("meili_node{i}")
    }

    pub fn node_group(&self, i: u32) -> u32 {
        i % self.groups.max(1)
    }

    /// Valid only once [`Topology::check`] passed.
    pub fn node_port(&self, i: u32) -> u16 {
        self.ports.node_base + i as u16
    }

    /// Catches the mistakes that would otherwise surface as a confusing Envoy or
    /// Meilisearch failure: ports past 65535 or used twice, groups without enough nodes.
    pub fn check(&self) -> Result<(), EnvoyConfigError> {
        let last = u32::from(self.ports.node_base) + self.nodes.saturating_sub(1);
        if last > u32::from(u16::MAX) {
            return Err(EnvoyConfigError::PortsOverflow(self.nodes, self.ports.node_base.into(), last));
        }
        let mut owners: BTreeMap<u16, String> = BTreeMap::new();
        let named = [("the listener (--port)", self.ports.listener), ("the control plane", self.ports.control), ("Envoy's admin", self.ports.admin)];
        let nodes = (0..self.nodes).map(|i| (Self::node_id(i), self.node_port(i)));
        for (name, port) in named.into_iter().map(|(n, p)| (n.to_string(), p)).chain(nodes) {
            if let Some(first) = owners.insert(port, name.clone()) {
                return Err(EnvoyConfigError::PortClash { port, first, second: name });
            }
        }
        for group in 0..self.groups.max(1) {
            let nodes = (0..self.nodes).filter(|i| self.node_group(*i) == group).count() as u32;
            if nodes == 0 {
                return Err(EnvoyConfigError::EmptyGroup { groups: self.groups, group, nodes: self.nodes });
            }
            if nodes < self.replication_factor {
                return Err(EnvoyConfigError::TooFewReplicas { rf: self.replication_factor, group, nodes });
            }
        }
        Ok(())
    }

    /// The filter's configuration for this mesh, validated.
    pub fn shard_map(&self) -> Result<ShardMap, EnvoyConfigError> {
        self.check()?;
        let map = ShardMap {
            version: 1,
            replication_factor: self.replication_factor,
            default_shards: self.shards,
            nodes: (0..self.nodes)
                .map(|i| Node { id: Self::node_id(i), cluster: Self::node_cluster(i), group: self.node_group(i), state: NodeState::Up })
                .collect(),
            indexes: BTreeMap::new(),
            control_cluster: CONTROL_CLUSTER.into(),
            timeout_ms: CALL_TIMEOUT_MS,
            payload_limit_bytes: DEFAULT_PAYLOAD_LIMIT_BYTES,
        };
        map.validate().map_err(EnvoyConfigError::ShardMap)?;
        Ok(map)
    }
}

/// The whole bootstrap. `filter_wasm` goes in as given: Envoy resolves a relative
/// path against its working directory.
pub fn bootstrap(topology: &Topology, filter_wasm: &Path) -> Result<Value, EnvoyConfigError> {
    let map = topology.shard_map()?;
    let map_json = serde_json::to_string(&map).expect("a ShardMap always serializes");
    let mut clusters: Vec<Value> = (0..topology.nodes).map(|i| cluster(&Topology::node_cluster(i), topology.node_port(i))).collect();
    clusters.push(cluster(CONTROL_CLUSTER, topology.ports.control));
    Ok(json!({
        "admin": {"address": socket_address(topology.ports.admin)},
        "static_resources": {
            "listeners": [listener(topology.ports.listener, &map_json, filter_wasm)],
            "clusters": clusters,
        },
    }))
}

fn socket_address(port: u16) -> Value {
    json!({"socket_address": {"address": "127.0.0.1", "port_value": port}})
}

fn listener(port: u16, map_json: &str, filter_wasm: &Path) -> Value {
    json!({
        "name": "miroir",
        "address": socket_address(port),
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT_BYTES,
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "codec_type": "AUTO",
                "stat_prefix": "miroir",
                // The filter answers every request itself; Envoy still wants a route.
                "route_config": {
                    "name": "miroir",
                    "virtual_hosts": [{
                        "name": "miroir",
                        "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": Topology::node_cluster(0), "timeout": "0s"}}],
                    }],
                },
                "http_filters": [wasm_filter(map_json, filter_wasm), {
                    "name": "envoy.filters.http.router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                }],
            },
        }]}],
    })
}

fn wasm_filter(map_json: &str, filter_wasm: &Path) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "miroir",
                "root_id": "miroir",
                // The filter pauses in the headers callback while the body is still coming.
                "allow_on_headers_stop_iteration": true,
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": map_json},
                "vm_config": {
                    "vm_id": "miroir",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": filter_wasm.to_string_lossy()}},
                },
            },
        },
    })
}

fn cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "lb_policy": "ROUND_ROBIN",
        "connect_timeout": "1s",
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT_BYTES,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(port)}}]}],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(nodes: u32, rf: u32, groups: u32) -> Topology {
        Topology {
            nodes,
            replication_factor: rf,
            shards: 16,
            groups,
            ports: Ports { listener: 7700, node_base: 7710, control: 7701, admin: 9901 },
        }
    }

    fn wasm_config(bootstrap: &Value) -> &Value {
        &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]
            ["typed_config"]["config"]
    }

    #[test]
    fn the_bootstrap_names_every_node_cluster_and_the_control_cluster() {
        let t = topology(3, 2, 1);
        let b = bootstrap(&t, Path::new("/abs/miroir_filter.wasm")).unwrap();
        let clusters = b["static_resources"]["clusters"].as_array().unwrap();
        let names: Vec<&str> = clusters.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["meili_node0", "meili_node1", "meili_node2", CONTROL_CLUSTER]);
        let port = |c: &Value| c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"].clone();
        let ports: Vec<Value> = clusters.iter().map(port).collect();
        assert_eq!(ports, [json!(7710), json!(7711), json!(7712), json!(7701)]);
        assert!(clusters.iter().all(|c| c["per_connection_buffer_limit_bytes"] == BUFFER_LIMIT_BYTES));
    }

    #[test]
    fn the_wasm_configuration_parses_back_into_the_same_shard_map() {
        let t = topology(4, 1, 2);
        let b = bootstrap(&t, Path::new("/abs/miroir_filter.wasm")).unwrap();
        let config = wasm_config(&b);
        assert_eq!(config["configuration"]["@type"], "type.googleapis.com/google.protobuf.StringValue");
        let value = config["configuration"]["value"].as_str().unwrap();
        let parsed = ShardMap::from_json(value.as_bytes()).unwrap();
        assert_eq!(parsed, t.shard_map().unwrap());
        let groups: Vec<u32> = parsed.nodes.iter().map(|n| n.group).collect();
        assert_eq!(groups, [0, 1, 0, 1]);
        assert_eq!(parsed.control_cluster, CONTROL_CLUSTER);
        let clusters: Vec<&str> = parsed.nodes.iter().map(|n| n.cluster.as_str()).collect();
        assert_eq!(clusters, ["meili_node0", "meili_node1", "meili_node2", "meili_node3"]);
    }

    #[test]
    fn the_listener_takes_meilisearch_sized_payloads_and_runs_the_filter_before_the_router() {
        let b = bootstrap(&topology(1, 1, 1), Path::new("/abs/f.wasm")).unwrap();
        let listener = &b["static_resources"]["listeners"][0];
        assert_eq!(listener["per_connection_buffer_limit_bytes"], BUFFER_LIMIT_BYTES);
        assert_eq!(listener["address"]["socket_address"]["port_value"], 7700);
        let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
        let filters: Vec<&str> = hcm["http_filters"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(filters, ["envoy.filters.http.wasm", "envoy.filters.http.router"]);
        let config = wasm_config(&b);
        assert_eq!(config["allow_on_headers_stop_iteration"], true);
        assert_eq!(config["vm_config"]["code"]["local"]["filename"], "/abs/f.wasm");
        assert_eq!(b["admin"]["address"]["socket_address"]["port_value"], 9901);
    }

    #[test]
    fn a_replication_factor_larger_than_a_group_is_refused() {
        let err = topology(3, 2, 2).check().unwrap_err();
        assert!(matches!(err, EnvoyConfigError::TooFewReplicas { rf: 2, group: 1, nodes: 1 }), "{err}");
        assert!(matches!(topology(2, 1, 3).check(), Err(EnvoyConfigError::EmptyGroup { group: 2, .. })));
    }

    #[test]
    fn ports_used_twice_or_past_65535_are_refused() {
        let mut t = topology(3, 1, 1);
        t.ports.control = 7711;
        assert!(matches!(t.check(), Err(EnvoyConfigError::PortClash { port: 7711, .. })));
        let mut t = topology(3, 1, 1);
        t.ports.node_base = 65534;
        assert!(matches!(t.check(), Err(EnvoyConfigError::PortsOverflow(3, 65534, 65536))));
    }
}
