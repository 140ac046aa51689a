//! Immutable snapshots of everything the control plane serves, in go-control-plane's
//! sense: built from one cluster state, checked for consistency before they are
//! served (every cluster the map names exists, every EDS cluster has its endpoints),
//! with a version per resource type.

use std::collections::BTreeMap;

use envoy_types::pb::google::protobuf::Any;
use envoy_types::util::pack_any;
use xxhash_rust::xxh3::Xxh3;

use super::resources::{self, HostPort};
use crate::state::ClusterState;

/// Named resources of one type. The version is a hash of their content, so it is
/// the same on every control-plane replica for the same state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resources {
    pub items: BTreeMap<String, Any>,
}

impl Resources {
    pub fn new(items: impl IntoIterator<Item = (String, Any)>) -> Resources {
        Resources { items: items.into_iter().collect() }
    }

    pub fn version(&self) -> String {
        version_of(self.items.iter())
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.items.keys()
    }
}

/// The content hash of some named resources.
pub fn version_of<'a>(items: impl Iterator<Item = (&'a String, &'a Any)>) -> String {
    let mut hash = Xxh3::new();
    for (name, any) in items {
        for part in [name.as_bytes(), any.type_url.as_bytes(), &any.value] {
            hash.update(&(part.len() as u64).to_le_bytes());
            hash.update(part);
        }
    }
    format!("{:016x}", hash.digest())
}

/// The shard map as served: its own version, its JSON, the clusters it names.
#[derive(Debug, Clone, PartialEq)]
pub struct MapResource {
    pub version: u64,
    pub json: String,
    pub clusters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The cluster state's version this snapshot was built from.
    pub state_version: u64,
    pub clusters: Resources,
    pub endpoints: Resources,
    /// The guard route configuration (see [`resources::guard_routes`]).
    pub routes: Resources,
    /// `None` while the state has no node.
    pub map: Option<MapResource>,
    /// False only for a snapshot a test injected without the consistency check: the
    /// server then sends its guard route without waiting for the clusters.
    pub checked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("the shard map names cluster `{0}`, which the snapshot does not have")]
    MissingCluster(String),
    #[error("EDS cluster `{0}` has no endpoints in the snapshot")]
    MissingEndpoints(String),
    #[error("endpoints `{0}` belong to no cluster of the snapshot")]
    OrphanEndpoints(String),
    #[error("node `{0}` has an address Envoy cannot use")]
    BadAddress(String),
}

impl Snapshot {
    /// The snapshot of `state`, checked. `control` lists the control plane's replicas
    /// (the task registry) as the filter reaches them.
    pub fn build(state: &ClusterState, control: &[HostPort]) -> Result<Snapshot, SnapshotError> {
        if let Some(node) = state.nodes.iter().find(|n| HostPort::parse(&n.address).is_none()) {
            return Err(SnapshotError::BadAddress(node.id.clone()));
        }
        let (clusters, endpoints) = resources::clusters_of(state, control);
        let snapshot = Snapshot::from_parts(state.version, Resources::new(clusters), Resources::new(endpoints), state.shard_map(), true);
        snapshot.check()?;
        Ok(snapshot)
    }

    /// Assembles a snapshot from its parts without checking it.
    pub fn from_parts(
        state_version: u64,
        clusters: Resources,
        endpoints: Resources,
        map: Option<miroir_core::ShardMap>,
        checked: bool,
    ) -> Snapshot {
        let map = map.map(|map| MapResource {
            version: map.version,
            json: serde_json::to_string(&map).expect("a ShardMap always serializes"),
            clusters: resources::map_clusters(&map),
        });
        let routes = match &map {
            Some(map) => Resources::new([(resources::ROUTE_NAME.to_owned(), pack_any(resources::guard_routes(&map.clusters)))]),
            None => Resources::default(),
        };
        Snapshot { state_version, clusters, endpoints, routes, map, checked }
    }

    /// go-control-plane's consistency rules, plus: every cluster the map names exists.
    pub fn check(&self) -> Result<(), SnapshotError> {
        if let Some(map) = &self.map {
            if let Some(missing) = map.clusters.iter().find(|c| !self.clusters.items.contains_key(*c)) {
                return Err(SnapshotError::MissingCluster(missing.clone()));
            }
        }
        for (name, any) in &self.clusters.items {
            if is_eds(any) && !self.endpoints.items.contains_key(name) {
                return Err(SnapshotError::MissingEndpoints(name.clone()));
            }
        }
        if let Some(orphan) = self.endpoints.names().find(|n| !self.clusters.items.contains_key(*n)) {
            return Err(SnapshotError::OrphanEndpoints(orphan.clone()));
        }
        Ok(())
    }

    /// Whether cluster `name` takes its endpoints over EDS.
    pub fn is_eds_cluster(&self, name: &str) -> bool {
        self.endpoints.items.contains_key(name)
    }
}

fn is_eds(any: &Any) -> bool {
    use envoy_types::pb::envoy::config::cluster::v3::{cluster::ClusterDiscoveryType, cluster::DiscoveryType, Cluster};
    use prost::Message;
    Cluster::decode(any.value.as_slice())
        .is_ok_and(|c| c.cluster_discovery_type == Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Change;

    fn state() -> ClusterState {
        let s = ClusterState::empty(1, 4);
        let s = s.apply(&Change::AddNode { id: "a".into(), address: "127.0.0.1:7710".into(), group: 0 }).unwrap().unwrap();
        s.apply(&Change::AddNode { id: "b".into(), address: "meili-b:7700".into(), group: 0 }).unwrap().unwrap()
    }

    fn control() -> Vec<HostPort> {
        vec![HostPort::parse("127.0.0.1:7701").unwrap()]
    }

    #[test]
    fn a_state_becomes_a_consistent_snapshot_with_ip_nodes_over_eds() {
        let snap = Snapshot::build(&state(), &control()).unwrap();
        let names: Vec<&String> = snap.clusters.names().collect();
        assert_eq!(names, ["meili_a", "meili_b", "miroir_control"]);
        // A node known by name is resolved by Envoy (STRICT_DNS), so only `a` and the control plane use EDS.
        let eds: Vec<&String> = snap.endpoints.names().collect();
        assert_eq!(eds, ["meili_a", "miroir_control"]);
        let map = snap.map.as_ref().unwrap();
        assert_eq!(map.version, 2);
        assert_eq!(map.clusters, ["meili_a", "meili_b", "miroir_control"]);
        assert_eq!(snap.routes.names().collect::<Vec<_>>(), ["miroir"]);
    }

    #[test]
    fn versions_follow_content_only() {
        let a = Snapshot::build(&state(), &control()).unwrap();
        let b = Snapshot::build(&state(), &control()).unwrap();
        assert_eq!(a.clusters.version(), b.clusters.version());
        let drained = state().apply(&Change::Drain { id: "a".into() }).unwrap().unwrap();
        let c = Snapshot::build(&drained, &control()).unwrap();
        assert_eq!(a.clusters.version(), c.clusters.version(), "draining changes the map, not the clusters");
        assert_eq!(a.routes.version(), c.routes.version());
        assert_ne!(a.map.as_ref().unwrap().version, c.map.as_ref().unwrap().version);
    }

    #[test]
    fn a_map_naming_a_missing_cluster_or_endpoints_without_cluster_is_inconsistent() {
        let good = Snapshot::build(&state(), &control()).unwrap();
        let mut clusters = good.clusters.clone();
        clusters.items.remove("meili_b");
        let bad = Snapshot::from_parts(9, clusters, good.endpoints.clone(), state().shard_map(), false);
        assert_eq!(bad.check(), Err(SnapshotError::MissingCluster("meili_b".into())));
        let mut clusters = good.clusters.clone();
        clusters.items.remove("meili_a");
        let mut map = state().shard_map().unwrap();
        map.nodes.retain(|n| n.id != "a");
        let orphan = Snapshot::from_parts(9, clusters, good.endpoints.clone(), Some(map), false);
        assert_eq!(orphan.check(), Err(SnapshotError::OrphanEndpoints("meili_a".into())));
        let mut endpoints = good.endpoints.clone();
        endpoints.items.remove("meili_a");
        let no_endpoints = Snapshot::from_parts(9, good.clusters.clone(), endpoints, state().shard_map(), false);
        assert_eq!(no_endpoints.check(), Err(SnapshotError::MissingEndpoints("meili_a".into())));
    }
}
