//! The stream against a fake Envoy that checks the protocol on every response: each
//! nonce fresh, no response repeating the version Envoy holds, one in flight per type.

use std::collections::{BTreeMap, BTreeSet};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::protobuf::{value::Kind, Struct, Value};
use envoy_types::pb::google::rpc::Status;

use super::*;

fn now() -> Instant {
    Instant::now()
}
use crate::state::{Change, ClusterState};
use crate::xds::resources::HostPort;

fn state(nodes: &[&str]) -> ClusterState {
    let mut s = ClusterState::empty(1, 4);
    for (i, id) in nodes.iter().enumerate() {
        s = s.apply(&Change::AddNode { id: (*id).into(), address: format!("127.0.0.1:{}", 7710 + i), group: 0 }).unwrap().unwrap();
    }
    s
}

fn snapshot(s: &ClusterState) -> Snapshot {
    Snapshot::build(s, &[HostPort::parse("127.0.0.1:7701").unwrap()]).unwrap()
}

#[derive(Default)]
struct FakeEnvoy {
    nonces: BTreeSet<String>,
    /// type → (version held, nonce of the last response)
    held: BTreeMap<String, (String, String)>,
    /// type → names subscribed
    names: BTreeMap<String, Vec<String>>,
    /// Types whose next response the fake refuses.
    refuse: BTreeSet<String>,
    log: Vec<(String, String)>,
}

impl FakeEnvoy {
    fn request(&self, type_url: &str, first: bool) -> DiscoveryRequest {
        let (version, nonce) = self.held.get(type_url).cloned().unwrap_or_default();
        let mut metadata = Struct::default();
        metadata.fields.insert("filter_wasm".into(), Value { kind: Some(Kind::StringValue("/envoy/miroir.wasm".into())) });
        DiscoveryRequest {
            version_info: version,
            node: first.then(|| Node { id: "envoy-1".into(), metadata: Some(metadata), ..Default::default() }),
            resource_names: self.names.get(type_url).cloned().unwrap_or_default(),
            type_url: type_url.into(),
            response_nonce: nonce,
            ..Default::default()
        }
    }

    /// Checks the response, then answers it (ACK, or NACK if refused) as Envoy would.
    fn receive(&mut self, response: &DiscoveryResponse) -> DiscoveryRequest {
        assert!(self.nonces.insert(response.nonce.clone()), "nonce {} reused", response.nonce);
        let held = self.held.get(&response.type_url).map(|h| h.0.clone()).unwrap_or_default();
        assert_ne!(held, response.version_info, "a response repeats the version Envoy holds");
        self.log.push((short_name(&response.type_url).into(), response.version_info.clone()));
        let mut request = self.request(&response.type_url, false);
        request.response_nonce = response.nonce.clone();
        if self.refuse.remove(&response.type_url) {
            request.error_detail = Some(Status { code: 3, message: "refused".into(), ..Default::default() });
        } else {
            request.version_info = response.version_info.clone();
            self.held.insert(response.type_url.clone(), (response.version_info.clone(), response.nonce.clone()));
        }
        if response.type_url == CLUSTER_TYPE && request.error_detail.is_none() {
            // Envoy subscribes to the endpoints of the EDS clusters it now has.
            let names: Vec<String> = response.resources.iter().filter_map(eds_name).collect();
            self.names.insert(ENDPOINT_TYPE.into(), names);
        }
        request
    }
}

fn eds_name(any: &Any) -> Option<String> {
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use prost::Message;
    let cluster = Cluster::decode(any.value.as_slice()).ok()?;
    cluster.eds_cluster_config.is_some().then_some(cluster.name)
}

/// Runs the exchange until nothing more is due; returns the events.
fn settle(stream: &mut StreamState, envoy: &mut FakeEnvoy, snap: &Snapshot) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..50 {
        let (responses, sent) = stream.responses(snap, now());
        events.extend(sent);
        if responses.is_empty() {
            return events;
        }
        for response in responses {
            let request = envoy.receive(&response);
            events.extend(stream.on_request(&request, now()).unwrap());
            if response.type_url == CLUSTER_TYPE {
                let names_update = envoy.request(ENDPOINT_TYPE, false);
                events.extend(stream.on_request(&names_update, now()).unwrap());
            }
        }
    }
    panic!("the exchange never settled");
}

fn connect(envoy: &mut FakeEnvoy) -> StreamState {
    let mut stream = StreamState::new("/default.wasm");
    envoy.names.insert(ROUTE_TYPE.into(), vec!["miroir".into()]);
    envoy.names.insert(EXTENSION_TYPE.into(), vec!["miroir".into()]);
    for (i, t) in TYPES.iter().enumerate() {
        stream.on_request(&envoy.request(t, i == 0), now()).unwrap();
    }
    stream
}

fn order(envoy: &FakeEnvoy) -> Vec<&str> {
    envoy.log.iter().map(|(t, _)| t.as_str()).collect()
}

#[test]
fn a_fresh_envoy_gets_clusters_then_endpoints_then_the_guard_then_the_map() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let snap = snapshot(&state(&["a", "b"]));
    let events = settle(&mut stream, &mut envoy, &snap);
    assert_eq!(order(&envoy), ["clusters", "endpoints", "routes", "map"]);
    assert_eq!(envoy.held[EXTENSION_TYPE].0, "2");
    assert!(events.contains(&Event::Ack { type_url: EXTENSION_TYPE, version: "2".into(), map_version: Some(2) }));
    assert_eq!(stream.node_id(), Some("envoy-1"));
    // Nothing changed: nothing is pushed.
    assert!(stream.responses(&snap, now()).0.is_empty());
}

#[test]
fn the_map_carries_the_filter_path_the_envoy_announced() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let snap = snapshot(&state(&["a"]));
    let mut map = None;
    for _ in 0..6 {
        let (responses, _) = stream.responses(&snap, now());
        for r in responses {
            if r.type_url == EXTENSION_TYPE {
                map = Some(r.clone());
            }
            let request = envoy.receive(&r);
            stream.on_request(&request, now()).unwrap();
            stream.on_request(&envoy.request(ENDPOINT_TYPE, false), now()).unwrap();
        }
    }
    let map = map.expect("the map was sent");
    let bytes = &map.resources[0].value;
    assert!(bytes.windows(18).any(|w| w == b"/envoy/miroir.wasm"), "the node's filter_wasm is used");
}

#[test]
fn adding_a_node_sends_its_cluster_before_the_map_that_names_it() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    settle(&mut stream, &mut envoy, &snapshot(&state(&["a"])));
    envoy.log.clear();
    settle(&mut stream, &mut envoy, &snapshot(&state(&["a", "b"])));
    assert_eq!(order(&envoy), ["clusters", "endpoints", "routes", "map"]);
}

#[test]
fn removing_a_node_sends_the_map_first_and_drops_the_cluster_after_its_ack() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let two = state(&["a", "b"]);
    settle(&mut stream, &mut envoy, &snapshot(&two));
    envoy.log.clear();
    let one = two.apply(&Change::RemoveNode { id: "b".into() }).unwrap().unwrap();
    let snap = snapshot(&one);
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let (round, _) = stream.responses(&snap, now());
        for r in &round {
            kinds.push(short_name(&r.type_url));
            let request = envoy.receive(r);
            stream.on_request(&request, now()).unwrap();
        }
    }
    assert_eq!(kinds, ["routes", "map"], "clusters stay while the held map names meili_b");
    assert!(stream.responses(&snap, now()).0.is_empty(), "and for a grace after the map without it is held");
    let later = stream.next_wakeup().expect("a wakeup at the end of the grace");
    assert!(later >= now() + RETIRE_GRACE - Duration::from_secs(1));
    let (next, _) = stream.responses(&snap, later);
    assert_eq!(next[0].type_url, CLUSTER_TYPE);
    assert_eq!(next[0].resources.len(), 2, "meili_b is gone once the new map is held");
}

#[test]
fn a_nack_keeps_the_old_version_is_not_resent_and_a_newer_snapshot_goes_out() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let s = state(&["a", "b"]);
    settle(&mut stream, &mut envoy, &snapshot(&s));
    envoy.refuse.insert(EXTENSION_TYPE.into());
    let drained = s.apply(&Change::Drain { id: "a".into() }).unwrap().unwrap();
    let events = settle(&mut stream, &mut envoy, &snapshot(&drained));
    assert!(events.contains(&Event::Nack { type_url: EXTENSION_TYPE, version: "3".into(), error: "refused".into() }), "{events:?}");
    assert_eq!(envoy.held[EXTENSION_TYPE].0, "2", "Envoy keeps the last good map");
    assert!(stream.responses(&snapshot(&drained), now()).0.is_empty(), "the refused version is not sent again");
    let undrained = drained.apply(&Change::Undrain { id: "a".into() }).unwrap().unwrap();
    settle(&mut stream, &mut envoy, &snapshot(&undrained));
    assert_eq!(envoy.held[EXTENSION_TYPE].0, "4");
}

#[test]
fn stale_nonces_are_ignored() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let snap = snapshot(&state(&["a"]));
    let (responses, _) = stream.responses(&snap, now());
    let mut stale = envoy.request(CLUSTER_TYPE, false);
    stale.response_nonce = "not-ours".into();
    stale.error_detail = Some(Status { code: 3, message: "old news".into(), ..Default::default() });
    assert_eq!(stream.on_request(&stale, now()).unwrap(), vec![]);
    let ack = envoy.receive(&responses[0]);
    assert!(matches!(stream.on_request(&ack, now()).unwrap().as_slice(), [Event::Ack { .. }]));
}

#[test]
fn an_injected_map_naming_an_unknown_cluster_sends_its_guard_but_never_the_map() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let s = state(&["a"]);
    let good = snapshot(&s);
    settle(&mut stream, &mut envoy, &good);
    let mut ghost = s.shard_map().unwrap();
    ghost.version = 50;
    ghost.nodes[0].cluster = "meili_ghost".into();
    let bad = Snapshot::from_parts(50, good.clusters.clone(), good.endpoints.clone(), Some(ghost), false);
    envoy.refuse.insert(ROUTE_TYPE.into()); // as Envoy's validate_clusters does
    envoy.log.clear();
    let events = settle(&mut stream, &mut envoy, &bad);
    assert_eq!(order(&envoy), ["routes"]);
    assert!(events.iter().any(|e| matches!(e, Event::Nack { type_url: ROUTE_TYPE, .. })));
    assert_eq!(envoy.held[EXTENSION_TYPE].0, "1");
}

#[test]
fn a_reconnecting_envoy_that_holds_the_current_versions_gets_nothing() {
    let mut envoy = FakeEnvoy::default();
    let mut stream = connect(&mut envoy);
    let snap = snapshot(&state(&["a", "b"]));
    settle(&mut stream, &mut envoy, &snap);
    // A new stream (another replica, a restart): Envoy sends what it holds, no nonce.
    for held in envoy.held.values_mut() {
        held.1.clear();
    }
    let mut again = StreamState::new("/default.wasm");
    let mut held = Vec::new();
    for (i, t) in TYPES.iter().enumerate() {
        held.extend(again.on_request(&envoy.request(t, i == 0), now()).unwrap());
    }
    assert!(held.contains(&Event::Held { type_url: EXTENSION_TYPE, version: "2".into(), map_version: Some(2) }), "{held:?}");
    let (responses, _) = again.responses(&snap, now());
    assert!(responses.is_empty(), "{:?}", responses.iter().map(|r| &r.type_url).collect::<Vec<_>>());
}

#[test]
fn a_stream_without_a_node_is_refused() {
    let mut stream = StreamState::new("/x.wasm");
    let request = DiscoveryRequest { type_url: CLUSTER_TYPE.into(), ..Default::default() };
    assert_eq!(stream.on_request(&request, now()), Err(ProtocolError::NoNode));
}
