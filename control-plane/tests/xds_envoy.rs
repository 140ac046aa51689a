//! The control plane's xDS with the real Envoy and the real filter: a node added with
//! `miroir` reaches Envoy ACKed, an inconsistent map is NACKed while the previous one
//! keeps serving, and a node failing its health checks is marked down by itself.

mod support;

use std::time::Duration;

use miroir::xds::resources::HostPort;
use miroir::xds::Snapshot;
use serde_json::Value;
use support::control::{state, Control, TOKEN};
use support::mesh::{eventually, miroir, start_node, Envoy, Proc};

struct Mesh {
    dir: tempfile::TempDir,
    control: Control,
    envoy: Envoy,
    nodes: Vec<Proc>,
    node_base: u16,
}

fn mesh(nodes: u16, rf: u32) -> Mesh {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_ports(nodes + 4);
    let (port, admin, node_base) = (base, base + 1, base + 2);
    let nodes_running = (0..nodes).map(|i| start_node(dir.path(), &format!("node{i}"), node_base + i)).collect();
    let control = Control::start(dir.path(), state(nodes, node_base, rf));
    let envoy = Envoy::start(dir.path(), "envoy-a", port, admin, &[control.xds_port()], None);
    control.wait_acked("envoy-a", control.version());
    eventually("Miroir answers /health", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && support::http(port, "GET", "/health", "").0 == 200
    });
    Mesh { dir, control, envoy, nodes: nodes_running, node_base }
}

fn read(port: u16, id: u32) -> (u16, Value) {
    let (status, body) = support::http(port, "GET", &format!("/indexes/movies/documents/{id}"), "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn a_node_added_with_miroir_reaches_envoy_as_a_cluster_and_a_new_map_both_acked() {
    let mut m = mesh(2, 1);
    let before = m.control.version();
    let new_port = m.node_base + 2;
    m.nodes.push(start_node(m.dir.path(), "node2", new_port));
    let (ok, out, err) = miroir(&["nodes", "add", "node2", &format!("127.0.0.1:{new_port}"), "--control", &m.control.url(), "--admin-token", TOKEN]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), format!("shard map version {}", before + 1));
    m.control.wait_acked("envoy-a", before + 1);
    let status = m.control.envoy("envoy-a").unwrap();
    for t in ["clusters", "endpoints", "routes", "map"] {
        let t = &status.types[t];
        assert_eq!(t.acked_version, t.sent_version, "{t:?}");
        assert_eq!(t.nacks, 0);
    }
    // Envoy's own view agrees: the cluster is active and the filter holds the new map.
    assert!(m.envoy.active_clusters().contains(&"meili_node2".to_string()), "{:?}", m.envoy.active_clusters());
    assert_eq!(m.envoy.map_version(), Some(before + 1));
    // And a read of a document whose shard node2 now owns is served by node2.
    let map = m.control.app().controller().state().shard_map().unwrap();
    let (index, id) = ["movies", "books", "songs", "films", "games", "plays"]
        .iter()
        .flat_map(|index| (0..64u32).map(move |id| (*index, id)))
        .find(|(index, id)| {
            let placement = miroir_core::placement::IndexPlacement::compute(&map, index);
            placement.owners_of(placement.shard_of(&id.to_string())) == [2]
        })
        .expect("node2 owns some shard");
    let (status, body) = support::http(m.envoy.port, "GET", &format!("/indexes/{index}/documents/{id}"), "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"servedBy\":\"node2\""), "{body}");
}

#[test]
fn a_map_naming_an_unknown_cluster_is_nacked_and_the_previous_map_keeps_serving() {
    let m = mesh(2, 1);
    let good = m.control.app().controller().cache().current().unwrap();
    let served = good.map.as_ref().unwrap().version;

    // Bypassing the snapshot check: a map naming a cluster Envoy does not have.
    let mut ghost = m.control.app().controller().state().shard_map().unwrap();
    ghost.version = served + 10;
    ghost.nodes[1].cluster = "meili_ghost".into();
    let cache = m.control.app().controller().cache();
    let bad = Snapshot::from_parts(ghost.version, good.clusters.clone(), good.endpoints.clone(), Some(ghost), false);
    assert!(bad.check().is_err(), "the check would have refused it");
    cache.set_unchecked(bad);
    eventually("Envoy NACKs the route naming meili_ghost", Duration::from_secs(20), || {
        m.control.envoy("envoy-a").and_then(|e| e.types["routes"].last_nack.clone()).is_some_and(|n| n.error.contains("meili_ghost"))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(m.envoy.map_version(), Some(served), "the map naming meili_ghost never reached the filter");
    assert_eq!(m.control.envoy("envoy-a").unwrap().map_version, Some(served));
    for id in 0..20 {
        assert_eq!(read(m.envoy.port, id).0, 200, "the previous map keeps serving");
    }

    // A map the filter itself refuses (two nodes with one id) is NACKed by Envoy too.
    let mut twins = m.control.app().controller().state().shard_map().unwrap();
    twins.version = served + 20;
    twins.nodes[1].id = twins.nodes[0].id.clone();
    cache.set_unchecked(Snapshot::from_parts(twins.version, good.clusters.clone(), good.endpoints.clone(), Some(twins), false));
    eventually("Envoy NACKs the map", Duration::from_secs(20), || {
        m.control.envoy("envoy-a").and_then(|e| e.types["map"].last_nack.clone()).is_some_and(|n| n.version == (served + 20).to_string())
    });
    // With two nodes named alike, every shard would go to the first: reads reaching
    // node1 show the previous map still serves.
    std::thread::sleep(Duration::from_millis(300));
    let served_by: Vec<Value> = (0..40).map(|id| read(m.envoy.port, id).1["servedBy"].clone()).collect();
    assert!(served_by.contains(&Value::from("node1")), "the refused map is serving: {served_by:?}");
    assert_eq!(m.control.envoy("envoy-a").unwrap().map_version, Some(served));

    // A consistent snapshot again: everything converges on it.
    let control = [HostPort::parse(&m.control.app().addr().to_string()).unwrap()];
    let mut state = (*m.control.app().controller().state()).clone();
    state.version = served + 30;
    cache.set(Snapshot::build(&state, &control).unwrap()).unwrap();
    m.control.wait_acked("envoy-a", served + 30);
    assert_eq!(m.envoy.map_version(), Some(served + 30));
}

#[test]
fn a_node_failing_health_checks_is_marked_down_and_gets_no_reads() {
    let mut m = mesh(3, 2);
    let before = m.control.version();
    m.nodes[1].kill9();
    eventually("node1 is marked down in the map", Duration::from_secs(20), || {
        m.control.app().controller().state().node("node1").is_some_and(|n| n.down)
    });
    let version = m.control.version();
    assert!(version > before);
    m.control.wait_acked("envoy-a", version);
    let map: Value = serde_json::from_str(&support::http(m.control.port(), "GET", "/_miroir/admin/map", "").1).unwrap_or(Value::Null);
    assert_eq!(map["code"], "missing_authorization_header", "the admin API wants its token");
    let (ok, out, err) = miroir(&["status", "--json", "--control", &m.control.url(), "--admin-token", TOKEN]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["nodes"][1]["state"], "down");
    assert_eq!(status["health"]["status"], "yellow");
    for id in 0..40 {
        let (code, doc) = read(m.envoy.port, id);
        assert_eq!(code, 200, "{doc}");
        assert_ne!(doc["servedBy"], "node1");
    }
}
