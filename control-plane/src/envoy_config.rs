//! The mesh `miroir dev` runs ([`Topology`]) and the Envoy bootstrap every Miroir Envoy
//! starts from: its listener, whose HTTP connection manager takes its routes (RDS) and
//! the Miroir filter (ECDS) over ADS, and the one static cluster reaching the control
//! plane's xDS server. Everything else (node clusters, the shard map) comes over ADS.

use std::collections::BTreeMap;

use miroir_core::shard_map::{Node, NodeState, ShardMap};
use miroir_core::wire::DEFAULT_PAYLOAD_LIMIT_BYTES;
use miroir_core::MeiliError;
use serde_json::{json, Value};

use crate::state::{ClusterState, NodeSpec};
use crate::xds::resources::{ROUTE_NAME, WASM_TYPE};

/// The cluster the filter sends task registrations to.
pub const CONTROL_CLUSTER: &str = "miroir_control";
/// Room for Meilisearch's largest payload (100 MB) with headroom: Envoy's 1 MiB default
/// would answer 413 to a large document batch.
pub const BUFFER_LIMIT_BYTES: u64 = 209_715_200;
/// The bootstrap's static cluster reaching the control plane's xDS server.
pub const XDS_CLUSTER: &str = "miroir_xds";
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

    /// The control plane's starting state for this mesh (nodes on 127.0.0.1).
    pub fn initial_state(&self) -> Result<ClusterState, EnvoyConfigError> {
        let map = self.shard_map()?;
        let mut state = ClusterState::empty(self.replication_factor, self.shards);
        state.version = map.version;
        state.nodes = (0..self.nodes)
            .map(|i| NodeSpec {
                id: Self::node_id(i),
                address: format!("127.0.0.1:{}", self.node_port(i)),
                group: self.node_group(i),
                draining: false,
                down: false,
            })
            .collect();
        Ok(state)
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
            node_key: None,
        };
        map.validate().map_err(EnvoyConfigError::ShardMap)?;
        Ok(map)
    }
}

/// What differs between one Miroir Envoy's bootstrap and another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The Envoy's node id: the control plane tracks ACKs per node id.
    pub node_id: String,
    /// Address the listener and admin bind (127.0.0.1, or 0.0.0.0 in a container).
    pub bind: String,
    pub listener_port: u16,
    pub admin_port: u16,
    /// The control plane's xDS replicas, `host:port` each.
    pub xds: Vec<(String, u16)>,
    /// Where the filter module is on this Envoy's machine; sent to the control plane
    /// as node metadata `filter_wasm`, which it puts in the filter's configuration.
    pub filter_wasm: String,
    /// Speak TLS to the xDS server, trusting this CA file.
    pub xds_tls_ca: Option<String>,
}

fn socket_address(host: &str, port: u16) -> Value {
    json!({"socket_address": {"address": host, "port_value": port}})
}

fn ads_source(initial_fetch_timeout: Option<&str>) -> Value {
    let mut source = json!({"ads": {}, "resource_api_version": "V3"});
    if let Some(timeout) = initial_fetch_timeout {
        source["initial_fetch_timeout"] = json!(timeout);
    }
    source
}

impl Bootstrap {
    /// The whole bootstrap, as Envoy's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "node": {"id": self.node_id, "cluster": "miroir", "metadata": {"filter_wasm": self.filter_wasm}},
            "admin": {"address": socket_address(&self.bind, self.admin_port)},
            "dynamic_resources": {
                "ads_config": {
                    "api_type": "GRPC",
                    "transport_api_version": "V3",
                    "set_node_on_first_message_only": true,
                    "grpc_services": [{"envoy_grpc": {"cluster_name": XDS_CLUSTER}}],
                },
                "cds_config": ads_source(None),
            },
            "static_resources": {
                "listeners": [self.listener()],
                "clusters": [self.xds_cluster()],
            },
        })
    }

    fn listener(&self) -> Value {
        json!({
            "name": "miroir",
            "address": socket_address(&self.bind, self.listener_port),
            "per_connection_buffer_limit_bytes": BUFFER_LIMIT_BYTES,
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "codec_type": "AUTO",
                    "stat_prefix": "miroir",
                    // Not before the control plane sent it: no serving without a shard map.
                    "rds": {"config_source": ads_source(Some("0s")), "route_config_name": ROUTE_NAME},
                    "http_filters": [
                        {
                            "name": "miroir",
                            "config_discovery": {"config_source": ads_source(Some("0s")), "type_urls": [WASM_TYPE]},
                        },
                        {
                            "name": "envoy.filters.http.router",
                            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                        },
                    ],
                },
            }]}],
        })
    }

    fn xds_cluster(&self) -> Value {
        let endpoints: Vec<Value> = self.xds.iter().map(|(host, port)| json!({"endpoint": {"address": socket_address(host, *port)}})).collect();
        let mut cluster = json!({
            "name": XDS_CLUSTER,
            "type": "STRICT_DNS",
            "connect_timeout": "1s",
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}},
                },
            },
            "load_assignment": {"cluster_name": XDS_CLUSTER, "endpoints": [{"lb_endpoints": endpoints}]},
        });
        if let Some(ca) = &self.xds_tls_ca {
            let mut tls = json!({
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "common_tls_context": {"validation_context": {"trusted_ca": {"filename": ca}}},
            });
            // SNI is a host name; an IP literal is left out.
            if let Some((host, _)) = self.xds.first().filter(|(h, _)| h.parse::<std::net::IpAddr>().is_err()) {
                tls["sni"] = json!(host);
            }
            cluster["transport_socket"] = json!({"name": "envoy.transport_sockets.tls", "typed_config": tls});
        }
        cluster
    }
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

    fn bootstrap() -> Bootstrap {
        Bootstrap {
            node_id: "envoy-0".into(),
            bind: "127.0.0.1".into(),
            listener_port: 7700,
            admin_port: 9901,
            xds: vec![("127.0.0.1".into(), 18000)],
            filter_wasm: "/abs/miroir_filter.wasm".into(),
            xds_tls_ca: None,
        }
    }

    #[test]
    fn the_bootstrap_gets_everything_over_ads_and_names_the_filter_for_ecds() {
        let b = bootstrap().to_json();
        assert_eq!(b["node"]["metadata"]["filter_wasm"], "/abs/miroir_filter.wasm");
        assert_eq!(b["dynamic_resources"]["ads_config"]["grpc_services"][0]["envoy_grpc"]["cluster_name"], XDS_CLUSTER);
        assert!(b["dynamic_resources"]["cds_config"]["ads"].is_object());
        let clusters = b["static_resources"]["clusters"].as_array().unwrap();
        assert_eq!(clusters.len(), 1, "only the xDS cluster is static");
        let listener = &b["static_resources"]["listeners"][0];
        assert_eq!(listener["per_connection_buffer_limit_bytes"], BUFFER_LIMIT_BYTES);
        let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
        assert_eq!(hcm["rds"]["route_config_name"], ROUTE_NAME);
        let filter = &hcm["http_filters"][0];
        assert_eq!(filter["name"], "miroir");
        assert_eq!(filter["config_discovery"]["type_urls"][0], WASM_TYPE);
        assert!(filter["config_discovery"]["config_source"]["ads"].is_object());
        assert_eq!(hcm["http_filters"][1]["name"], "envoy.filters.http.router");
        assert!(clusters[0].get("transport_socket").is_none());
    }

    #[test]
    fn with_a_ca_the_xds_cluster_speaks_tls() {
        let b = Bootstrap { xds_tls_ca: Some("/ca.pem".into()), ..bootstrap() }.to_json();
        let tls = &b["static_resources"]["clusters"][0]["transport_socket"];
        assert_eq!(tls["typed_config"]["common_tls_context"]["validation_context"]["trusted_ca"]["filename"], "/ca.pem");
    }

    #[test]
    fn the_initial_state_serves_the_same_map_as_the_topology() {
        let t = topology(4, 1, 2);
        let state = t.initial_state().unwrap();
        assert_eq!(state.shard_map().unwrap(), t.shard_map().unwrap());
        assert_eq!(state.nodes[3].address, "127.0.0.1:7713");
        let groups: Vec<u32> = state.nodes.iter().map(|n| n.group).collect();
        assert_eq!(groups, [0, 1, 0, 1]);
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
