use super::*;

/// A node of an established cluster (not joining: these tests are not about moves).
fn add(state: &ClusterState, id: &str, port: u16, group: u32) -> ClusterState {
    let mut next = state.apply(&Change::AddNode { id: id.into(), address: format!("127.0.0.1:{port}"), group }).unwrap().unwrap();
    next.nodes.last_mut().unwrap().joining = false;
    next
}

fn three_nodes() -> ClusterState {
    let s = ClusterState::empty(2, 4);
    let s = add(&s, "n0", 7710, 0);
    let s = add(&s, "n1", 7711, 0);
    add(&s, "n2", 7712, 0)
}

#[test]
fn every_change_that_does_something_is_one_version_more() {
    let s = three_nodes();
    assert_eq!(s.version, 3);
    let drained = s.apply(&Change::Drain { id: "n1".into() }).unwrap().unwrap();
    assert_eq!(drained.version, 4);
    assert_eq!(drained.apply(&Change::Drain { id: "n1".into() }).unwrap(), None, "draining twice changes nothing");
    assert_eq!(s.apply(&Change::SetDown { id: "n0".into(), down: false }).unwrap(), None);
    let map = drained.shard_map().unwrap();
    assert_eq!(map.version, 4);
    assert_eq!(map.nodes[1].role, NodeRole::Leaving, "a drained node leaves; it serves until its shards moved");
    assert_eq!(map.nodes[1].state, NodeState::Up);
    assert_eq!(map.nodes[1].cluster, "meili_n1");
}

#[test]
fn an_empty_state_has_no_map_and_the_last_node_cannot_go() {
    let s = ClusterState::empty(1, 16);
    assert_eq!(s.shard_map(), None);
    let s = add(&s, "only", 7710, 0);
    assert!(matches!(s.apply(&Change::RemoveNode { id: "only".into() }), Err(ChangeError::Conflict(_))));
    let map = s.shard_map().unwrap();
    assert!(ShardMap::from_json(serde_json::to_string(&map).unwrap().as_bytes()).is_ok());
}

#[test]
fn bad_ids_addresses_and_duplicates_are_refused() {
    let s = three_nodes();
    let add = |id: &str, address: &str| s.apply(&Change::AddNode { id: id.into(), address: address.into(), group: 0 });
    assert!(matches!(add("n0", "127.0.0.1:9000"), Err(ChangeError::Conflict(_))));
    assert!(matches!(add("n9", "127.0.0.1:7710"), Err(ChangeError::Conflict(_))));
    assert!(matches!(add("a b", "127.0.0.1:9000"), Err(ChangeError::Invalid(_))));
    assert!(matches!(add("n9", "127.0.0.1"), Err(ChangeError::Invalid(_))));
    assert!(matches!(add("n9", "127.0.0.1:0"), Err(ChangeError::Invalid(_))));
    assert!(add("n9", "meili-9.internal:7700").is_ok());
    assert!(matches!(s.apply(&Change::Drain { id: "zz".into() }), Err(ChangeError::UnknownNode(_))));
    assert!(matches!(s.apply(&Change::SetIndex { uid: "i".into(), shards: 0 }), Err(ChangeError::Invalid(_))));
    assert!(matches!(s.apply(&Change::RemoveIndex { uid: "i".into() }), Err(ChangeError::UnknownIndex(_))));
}

#[test]
fn health_is_green_yellow_red_as_elasticsearch_defines_it() {
    let s = three_nodes().apply(&Change::SetIndex { uid: "movies".into(), shards: 4 }).unwrap().unwrap();
    assert_eq!(s.health().status, ClusterHealth::Green);
    assert_eq!(s.health().active_shards, 4);
    // One node down: every shard it held has one live copy of two.
    let s = s.apply(&Change::SetDown { id: "n0".into(), down: true }).unwrap().unwrap();
    let report = s.health();
    assert_eq!(report.status, ClusterHealth::Yellow);
    assert!(report.under_replicated_shards > 0 && report.unavailable_shards == 0, "{report:?}");
    // Two of three down with RF 2: some shard lives only on them.
    let s = s.apply(&Change::SetDown { id: "n1".into(), down: true }).unwrap().unwrap();
    assert_eq!(s.health().status, ClusterHealth::Red);
    let copies = s.shard_copies("movies");
    assert!(copies.iter().all(|c| c.nodes.len() == 2 && c.expected == 2));
    assert!(copies.iter().all(|c| c.live.iter().all(|n| n == "n2")));
}

#[test]
fn without_indexes_health_follows_the_nodes() {
    let s = three_nodes();
    assert_eq!(s.health().status, ClusterHealth::Green);
    let s = s.apply(&Change::SetDown { id: "n2".into(), down: true }).unwrap().unwrap();
    assert_eq!(s.health().status, ClusterHealth::Yellow);
}

#[test]
fn the_state_round_trips_through_json() {
    let s = three_nodes().apply(&Change::SetIndex { uid: "movies".into(), shards: 8 }).unwrap().unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<ClusterState>(&json).unwrap(), s);
    let change: Change = serde_json::from_str(r#"{"op":"addNode","id":"n3","address":"h:1"}"#).unwrap();
    assert_eq!(change, Change::AddNode { id: "n3".into(), address: "h:1".into(), group: 0 });
}

#[test]
fn nodes_join_leave_fail_and_recover_through_their_map_role_and_state() {
    let s = three_nodes();
    let s = s.apply(&Change::AddNode { id: "n3".into(), address: "127.0.0.1:7713".into(), group: 0 }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().nodes[3].role, NodeRole::Joining, "a node added to a running cluster joins empty");
    assert!(matches!(s.apply(&Change::Drain { id: "n3".into() }), Err(ChangeError::Conflict(_))), "nothing to drain from a joining node");
    let s = s.apply(&Change::Activate { id: "n3".into() }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().nodes[3].role, NodeRole::Active);
    // Down, then answering again: recovering (writes, no reads) until repaired.
    let s = s.apply(&Change::SetDown { id: "n0".into(), down: true }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().nodes[0].state, NodeState::Down);
    let s = s.apply(&Change::SetDown { id: "n0".into(), down: false }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().nodes[0].state, NodeState::Recovering);
    assert_eq!(s.apply(&Change::SetDown { id: "n0".into(), down: false }).unwrap(), None, "a recovering node is not up yet");
    let s = s.apply(&Change::Recovered { id: "n0".into() }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().nodes[0].state, NodeState::Up);
    // The write quorum reaches the map.
    assert!(matches!(s.apply(&Change::SetWriteQuorum { quorum: 0 }), Err(ChangeError::Invalid(_))));
    let s = s.apply(&Change::SetWriteQuorum { quorum: 2 }).unwrap().unwrap();
    assert_eq!(s.shard_map().unwrap().write_quorum, 2);
}

#[test]
fn a_node_added_without_a_rebalancer_serves_at_once() {
    let s = three_nodes().apply(&Change::AddActiveNode { id: "n3".into(), address: "127.0.0.1:7713".into(), group: 0 }).unwrap().unwrap();
    assert_eq!((s.version, s.shard_map().unwrap().nodes[3].role), (4, NodeRole::Active));
}
