//! The Envoy resources a cluster state becomes: a cluster per Meilisearch node (with
//! its endpoints over EDS), the control plane's cluster, the guard route naming every
//! cluster the map names, and the filter's configuration (the shard map) over ECDS.

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, CommonLbConfig, DiscoveryType, EdsClusterConfig, LbPolicy,
};
use envoy_types::pb::envoy::config::cluster::v3::{circuit_breakers::Thresholds, CircuitBreakers, Cluster, OutlierDetection};
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::health_check::{HealthChecker, HttpHealthCheck};
use envoy_types::pb::envoy::config::core::v3::{
    address, async_data_source, data_source, socket_address, Address, AggregatedConfigSource, ApiVersion,
    AsyncDataSource, ConfigSource, DataSource, HealthCheck, SocketAddress, TypedExtensionConfig,
};
use envoy_types::pb::envoy::config::endpoint::v3::{lb_endpoint, ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints};
use envoy_types::pb::envoy::config::route::v3::{
    route, route_action, route_match, DirectResponseAction, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost,
};
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::wasm::v3::{plugin_config, PluginConfig, VmConfig};
use envoy_types::pb::envoy::r#type::v3::Percent;
use envoy_types::pb::google::protobuf::{self as pbwk, Any, BoolValue, StringValue, UInt32Value};
use envoy_types::util::pack_any;
use miroir_core::ShardMap;

use crate::envoy_config::{BUFFER_LIMIT_BYTES, CONTROL_CLUSTER};
use crate::state::ClusterState;

pub const CLUSTER_TYPE: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
pub const ENDPOINT_TYPE: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
pub const ROUTE_TYPE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
pub const EXTENSION_TYPE: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";
pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
/// The name of the filter's ECDS resource and of the guard route configuration.
pub const FILTER_NAME: &str = "miroir";
pub const ROUTE_NAME: &str = "miroir";
/// Where the guard routes live; the filter answers every request, so they are never taken.
pub const GUARD_PREFIX: &str = "/_miroir/cluster/";
/// What a control-plane replica answers 200 on when it can serve the task registry.
pub const READY_PATH: &str = "/_miroir/ready";

/// One `host:port` the way Envoy wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn parse(s: &str) -> Option<HostPort> {
        let (host, port) = s.rsplit_once(':')?;
        Some(HostPort { host: host.to_owned(), port: port.parse().ok()? })
    }

    /// An IP literal can be an EDS endpoint; a name needs Envoy's DNS (STRICT_DNS).
    pub fn is_ip(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }
}

fn duration(d: Duration) -> pbwk::Duration {
    pbwk::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

fn u32v(value: u32) -> Option<UInt32Value> {
    Some(UInt32Value { value })
}

fn ads() -> ConfigSource {
    ConfigSource {
        resource_api_version: ApiVersion::V3 as i32,
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    }
}

pub fn socket(host: &str, port: u16) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: host.to_owned(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(u32::from(port))),
            ..Default::default()
        })),
    }
}

pub fn load_assignment(name: &str, endpoints: &[HostPort]) -> ClusterLoadAssignment {
    let lb_endpoints = endpoints
        .iter()
        .map(|e| LbEndpoint {
            host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                address: Some(socket(&e.host, e.port)),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    ClusterLoadAssignment {
        cluster_name: name.to_owned(),
        endpoints: vec![LocalityLbEndpoints { lb_endpoints, ..Default::default() }],
        ..Default::default()
    }
}

/// A cluster with active health checks on `health_path`, outlier detection and
/// connection limits; no panic routing, so an unhealthy host gets no traffic at all.
/// IP endpoints come over EDS (the returned assignment); names are resolved by Envoy.
pub fn cluster(name: &str, endpoints: &[HostPort], health_path: &str) -> (Cluster, Option<ClusterLoadAssignment>) {
    let second = Duration::from_secs(1);
    // A dead node (refused connections) is caught at once by outlier detection; a slow
    // /health needs three misses of 2 s, so a node busy indexing is not cut off.
    let health_check = HealthCheck {
        timeout: Some(duration(2 * second)),
        interval: Some(duration(second)),
        no_traffic_interval: Some(duration(second)),
        unhealthy_threshold: u32v(3),
        healthy_threshold: u32v(1),
        health_checker: Some(HealthChecker::HttpHealthCheck(HttpHealthCheck { path: health_path.to_owned(), ..Default::default() })),
        ..Default::default()
    };
    let limits = Thresholds {
        max_connections: u32v(1024),
        max_pending_requests: u32v(1024),
        max_requests: u32v(4096),
        ..Default::default()
    };
    let mut cluster = Cluster {
        name: name.to_owned(),
        connect_timeout: Some(duration(second)),
        per_connection_buffer_limit_bytes: u32v(BUFFER_LIMIT_BYTES as u32),
        lb_policy: LbPolicy::RoundRobin as i32,
        health_checks: vec![health_check],
        circuit_breakers: Some(CircuitBreakers { thresholds: vec![limits], ..Default::default() }),
        outlier_detection: Some(OutlierDetection {
            consecutive_5xx: u32v(5),
            interval: Some(duration(second)),
            base_ejection_time: Some(duration(Duration::from_secs(5))),
            max_ejection_percent: u32v(100),
            ..Default::default()
        }),
        common_lb_config: Some(CommonLbConfig { healthy_panic_threshold: Some(Percent { value: 0.0 }), ..Default::default() }),
        ..Default::default()
    };
    let assignment = load_assignment(name, endpoints);
    if endpoints.iter().all(HostPort::is_ip) {
        cluster.cluster_discovery_type = Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32));
        cluster.eds_cluster_config = Some(EdsClusterConfig { eds_config: Some(ads()), service_name: String::new() });
        (cluster, Some(assignment))
    } else {
        cluster.cluster_discovery_type = Some(ClusterDiscoveryType::Type(DiscoveryType::StrictDns as i32));
        cluster.load_assignment = Some(assignment);
        (cluster, None)
    }
}

/// Every cluster the map names: its nodes' and the control plane's.
pub fn map_clusters(map: &ShardMap) -> Vec<String> {
    let mut names: Vec<String> = map.nodes.iter().map(|n| n.cluster.clone()).collect();
    names.push(map.control_cluster.clone());
    names.sort();
    names.dedup();
    names
}

/// The guard route configuration: a route to every cluster the map names, loaded with
/// `validate_clusters`, so Envoy itself refuses (NACKs) it when one is unknown. The
/// map is sent only once its guard is accepted.
pub fn guard_routes(clusters: &[String]) -> RouteConfiguration {
    let mut routes: Vec<Route> = clusters
        .iter()
        .map(|c| Route {
            name: c.clone(),
            r#match: Some(RouteMatch {
                path_specifier: Some(route_match::PathSpecifier::Path(format!("{GUARD_PREFIX}{c}"))),
                ..Default::default()
            }),
            action: Some(route::Action::Route(RouteAction {
                cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(c.clone())),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    routes.push(Route {
        name: "unrouted".into(),
        r#match: Some(RouteMatch { path_specifier: Some(route_match::PathSpecifier::Prefix("/".into())), ..Default::default() }),
        action: Some(route::Action::DirectResponse(DirectResponseAction { status: 404, ..Default::default() })),
        ..Default::default()
    });
    RouteConfiguration {
        name: ROUTE_NAME.into(),
        virtual_hosts: vec![VirtualHost { name: ROUTE_NAME.into(), domains: vec!["*".into()], routes, ..Default::default() }],
        validate_clusters: Some(BoolValue { value: true }),
        ..Default::default()
    }
}

/// The filter's ECDS resource: the wasm filter loading `filter_wasm` (a path on the
/// Envoy's machine) with the shard map as its configuration.
pub fn filter_config(map_json: &str, filter_wasm: &str) -> TypedExtensionConfig {
    let vm = VmConfig {
        vm_id: FILTER_NAME.into(),
        runtime: "envoy.wasm.runtime.v8".into(),
        code: Some(AsyncDataSource {
            specifier: Some(async_data_source::Specifier::Local(DataSource {
                specifier: Some(data_source::Specifier::Filename(filter_wasm.to_owned())),
                ..Default::default()
            })),
        }),
        ..Default::default()
    };
    let plugin = PluginConfig {
        name: FILTER_NAME.into(),
        root_id: FILTER_NAME.into(),
        configuration: Some(pack_any(StringValue { value: map_json.to_owned() })),
        allow_on_headers_stop_iteration: Some(BoolValue { value: true }),
        vm: Some(plugin_config::Vm::VmConfig(vm)),
        ..Default::default()
    };
    TypedExtensionConfig { name: FILTER_NAME.into(), typed_config: Some(pack_any(Wasm { config: Some(plugin) })) }
}

/// Resources with their names.
pub type Named = Vec<(String, Any)>;

/// The cluster and endpoint resources of a state, by name.
pub fn clusters_of(state: &ClusterState, control: &[HostPort]) -> (Named, Named) {
    let mut clusters = Vec::new();
    let mut endpoints = Vec::new();
    let mut add = |name: String, hosts: Vec<HostPort>, health: &str| {
        let (cluster, assignment) = cluster(&name, &hosts, health);
        clusters.push((name.clone(), pack_any(cluster)));
        if let Some(assignment) = assignment {
            endpoints.push((name, pack_any(assignment)));
        }
    };
    for node in &state.nodes {
        let hosts = HostPort::parse(&node.address).into_iter().collect();
        add(node.cluster(), hosts, "/health");
    }
    add(CONTROL_CLUSTER.to_owned(), control.to_vec(), READY_PATH);
    clusters.sort_by(|a, b| a.0.cmp(&b.0));
    endpoints.sort_by(|a, b| a.0.cmp(&b.0));
    (clusters, endpoints)
}
