//! One Envoy's ADS stream as a state machine, free of I/O: requests go in, responses
//! come out. State of the world, per resource type: a fresh nonce per response, one
//! response in flight at a time, a request with any other nonce than the last one
//! sent is stale and ignored, an ACK records what Envoy applied, a NACK records the
//! error and leaves the previous config in place (Envoy keeps serving it), and a
//! response goes out only when its version differs from what Envoy has.
//!
//! Order: clusters and endpoints first; the guard route (naming every cluster of the
//! map) once Envoy has ACKed those clusters; the map once Envoy has ACKed its guard.
//! A cluster the map Envoy holds still names is kept (lingers) until Envoy ACKs a
//! map without it, and [`RETIRE_GRACE`] longer: removing a cluster resets the calls
//! still in flight to it, and requests started under the older map may still be.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use envoy_types::util::pack_any;

use super::resources::{self, CLUSTER_TYPE, ENDPOINT_TYPE, EXTENSION_TYPE, ROUTE_TYPE};
use super::snapshot::{version_of, Snapshot};

/// The types this server answers, in the order they are sent.
pub const TYPES: [&str; 4] = [CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE, EXTENSION_TYPE];

/// Short names for status and metrics.
pub fn short_name(type_url: &str) -> &'static str {
    match type_url {
        CLUSTER_TYPE => "clusters",
        ENDPOINT_TYPE => "endpoints",
        ROUTE_TYPE => "routes",
        EXTENSION_TYPE => "map",
        _ => "other",
    }
}

static NONCES: AtomicU64 = AtomicU64::new(1);

/// How long a cluster stays after Envoy ACKed the first map without it.
pub const RETIRE_GRACE: Duration = Duration::from_secs(5);

/// What happened on the stream, for the status registry and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Sent { type_url: &'static str, version: String },
    Ack { type_url: &'static str, version: String, map_version: Option<u64> },
    Nack { type_url: &'static str, version: String, error: String },
    /// A new stream from an Envoy that already holds `version` (from an earlier stream,
    /// perhaps with another replica or before a restart).
    Held { type_url: &'static str, version: String, map_version: Option<u64> },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("the first request on the stream carries no node")]
    NoNode,
}

/// A response Envoy got, and what it held.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    nonce: String,
    version: String,
    /// `None` when Envoy came with a version from an earlier stream: known only by name.
    resources: Option<BTreeMap<String, Any>>,
    /// For the map: its version and the clusters it names.
    map: Option<(u64, Vec<String>)>,
}

#[derive(Debug, Default)]
struct TypeState {
    subscribed: bool,
    names: BTreeSet<String>,
    last_nonce: String,
    in_flight: Option<Sent>,
    acked: Option<Sent>,
    nacked_version: Option<String>,
}

/// What one type should hold now.
struct Desired {
    version: String,
    resources: BTreeMap<String, Any>,
    map: Option<(u64, Vec<String>)>,
}

#[derive(Debug)]
pub struct StreamState {
    node_id: Option<String>,
    /// Where this Envoy's filter module is (its node metadata `filter_wasm`).
    filter_wasm: Option<String>,
    default_filter_wasm: String,
    types: BTreeMap<&'static str, TypeState>,
    /// Clusters of maps Envoy held before its current one, and when it moved on.
    retiring: Vec<(Instant, Vec<String>)>,
}

impl StreamState {
    pub fn new(default_filter_wasm: &str) -> StreamState {
        StreamState {
            node_id: None,
            filter_wasm: None,
            default_filter_wasm: default_filter_wasm.to_owned(),
            types: TYPES.iter().map(|t| (*t, TypeState::default())).collect(),
            retiring: Vec::new(),
        }
    }

    pub fn node_id(&self) -> Option<&str> {
        self.node_id.as_deref()
    }

    /// When a retiring cluster's grace ends: the stream should look again then.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.retiring.iter().map(|(at, _)| *at + RETIRE_GRACE).min()
    }

    /// Takes in one request at `now`; returns what it told us.
    pub fn on_request(&mut self, request: &DiscoveryRequest, now: Instant) -> Result<Vec<Event>, ProtocolError> {
        if self.node_id.is_none() {
            let node = request.node.as_ref().filter(|n| !n.id.is_empty()).ok_or(ProtocolError::NoNode)?;
            self.node_id = Some(node.id.clone());
            self.filter_wasm = node_string(node, "filter_wasm");
        }
        let Some((type_url, state)) = self.types.iter_mut().find(|(t, _)| **t == request.type_url) else {
            return Ok(Vec::new()); // a type this server does not serve: never answered
        };
        let type_url: &'static str = type_url;
        let mut events = Vec::new();
        if request.response_nonce.is_empty() {
            // A new subscription; Envoy may still hold a version from an earlier stream.
            state.in_flight = None;
            state.acked = (!request.version_info.is_empty())
                .then(|| Sent { nonce: String::new(), version: request.version_info.clone(), resources: None, map: None });
            if !request.version_info.is_empty() {
                let map_version = (type_url == EXTENSION_TYPE).then(|| request.version_info.parse().ok()).flatten();
                events.push(Event::Held { type_url, version: request.version_info.clone(), map_version });
            }
        } else if request.response_nonce != state.last_nonce {
            return Ok(events); // stale: answers a response Envoy has since been superseded
        } else if let Some(sent) = state.in_flight.take() {
            match &request.error_detail {
                Some(status) => {
                    events.push(Event::Nack { type_url, version: sent.version.clone(), error: status.message.clone() });
                    state.nacked_version = Some(sent.version);
                }
                None => {
                    events.push(Event::Ack { type_url, version: sent.version.clone(), map_version: sent.map.as_ref().map(|m| m.0) });
                    let previous = state.acked.replace(sent);
                    if let Some((_, clusters)) = previous.and_then(|p| p.map) {
                        self.retiring.push((now, clusters));
                    }
                }
            }
        }
        state.subscribed = true;
        state.names = request.resource_names.iter().cloned().collect();
        Ok(events)
    }

    /// The responses due at `now` for `snapshot`, each recorded as in flight.
    pub fn responses(&mut self, snapshot: &Snapshot, now: Instant) -> (Vec<DiscoveryResponse>, Vec<Event>) {
        self.retiring.retain(|(at, _)| now < *at + RETIRE_GRACE);
        let mut out = Vec::new();
        let mut events = Vec::new();
        for type_url in TYPES {
            let Some(desired) = self.desired(type_url, snapshot) else { continue };
            let state = self.types.get_mut(type_url).expect("every served type has a state");
            if !state.subscribed || state.in_flight.is_some() {
                continue;
            }
            if let Some(acked) = state.acked.as_mut().filter(|a| a.version == desired.version) {
                if acked.resources.is_none() {
                    acked.resources = Some(desired.resources);
                    acked.map = desired.map;
                }
                continue;
            }
            if state.nacked_version.as_deref() == Some(desired.version.as_str()) {
                continue;
            }
            let nonce = NONCES.fetch_add(1, Ordering::Relaxed).to_string();
            out.push(DiscoveryResponse {
                version_info: desired.version.clone(),
                resources: desired.resources.values().cloned().collect(),
                type_url: type_url.to_owned(),
                nonce: nonce.clone(),
                ..Default::default()
            });
            events.push(Event::Sent { type_url, version: desired.version.clone() });
            state.last_nonce = nonce.clone();
            state.in_flight =
                Some(Sent { nonce, version: desired.version, resources: Some(desired.resources), map: desired.map });
        }
        (out, events)
    }

    fn acked_resources(&self, type_url: &str) -> Option<&BTreeMap<String, Any>> {
        self.types[type_url].acked.as_ref()?.resources.as_ref()
    }

    /// Clusters a map Envoy holds, is being sent, or held within the grace still names.
    fn clusters_in_use(&self) -> BTreeSet<&String> {
        let map = &self.types[EXTENSION_TYPE];
        let current = [map.acked.as_ref(), map.in_flight.as_ref()].into_iter().flatten().filter_map(|s| s.map.as_ref()).flat_map(|m| &m.1);
        current.chain(self.retiring.iter().flat_map(|(_, clusters)| clusters)).collect()
    }

    fn requested(&self, type_url: &str, name: &str) -> bool {
        let names = &self.types[type_url].names;
        names.is_empty() || names.contains(name)
    }

    fn desired(&self, type_url: &str, snapshot: &Snapshot) -> Option<Desired> {
        let mut resources = BTreeMap::new();
        let mut map = None;
        match type_url {
            CLUSTER_TYPE => {
                resources.extend(snapshot.clusters.items.iter().map(|(n, a)| (n.clone(), a.clone())));
                self.add_lingering(CLUSTER_TYPE, &mut resources);
            }
            ENDPOINT_TYPE => {
                if self.types[ENDPOINT_TYPE].names.is_empty() {
                    return None; // Envoy names the endpoints it wants; none yet
                }
                resources.extend(snapshot.endpoints.items.iter().map(|(n, a)| (n.clone(), a.clone())));
                self.add_lingering(ENDPOINT_TYPE, &mut resources);
                resources.retain(|n, _| self.types[ENDPOINT_TYPE].names.contains(n));
            }
            ROUTE_TYPE => {
                let map = snapshot.map.as_ref()?;
                if snapshot.checked && !self.clusters_ready(snapshot, &map.clusters) {
                    return None;
                }
                resources.extend(snapshot.routes.items.iter().map(|(n, a)| (n.clone(), a.clone())));
                resources.retain(|n, _| self.requested(ROUTE_TYPE, n));
            }
            _ => {
                let served = snapshot.map.as_ref()?;
                let guard = &self.types[ROUTE_TYPE];
                let guarded = if guard.subscribed {
                    guard.acked.as_ref().is_some_and(|a| a.version == snapshot.routes.version())
                } else {
                    self.clusters_ready(snapshot, &served.clusters)
                };
                if !guarded || !self.requested(EXTENSION_TYPE, resources::FILTER_NAME) {
                    return None;
                }
                let wasm = self.filter_wasm.as_deref().unwrap_or(&self.default_filter_wasm);
                resources.insert(resources::FILTER_NAME.to_owned(), pack_any(resources::filter_config(&served.json, wasm)));
                map = Some((served.version, served.clusters.clone()));
                return Some(Desired { version: served.version.to_string(), resources, map });
            }
        }
        Some(Desired { version: version_of(resources.iter()), resources, map })
    }

    /// Keeps what Envoy holds of clusters a map still in use names.
    fn add_lingering(&self, type_url: &str, resources: &mut BTreeMap<String, Any>) {
        let Some(acked) = self.acked_resources(type_url) else { return };
        for name in self.clusters_in_use() {
            if let (false, Some(any)) = (resources.contains_key(name), acked.get(name)) {
                resources.insert(name.clone(), any.clone());
            }
        }
    }

    /// Envoy has ACKed every cluster in `clusters`, and the endpoints of those on EDS.
    fn clusters_ready(&self, snapshot: &Snapshot, clusters: &[String]) -> bool {
        let (Some(cds), eds) = (self.acked_resources(CLUSTER_TYPE), self.acked_resources(ENDPOINT_TYPE)) else {
            return false;
        };
        clusters.iter().all(|c| {
            cds.get(c) == snapshot.clusters.items.get(c)
                && (!snapshot.is_eds_cluster(c) || eds.and_then(|e| e.get(c)) == snapshot.endpoints.items.get(c))
        })
    }
}

fn node_string(node: &envoy_types::pb::envoy::config::core::v3::Node, key: &str) -> Option<String> {
    use envoy_types::pb::google::protobuf::value::Kind;
    match node.metadata.as_ref()?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
