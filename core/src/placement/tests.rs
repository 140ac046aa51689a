use proptest::prelude::*;

use super::*;
use crate::id::canonical_id;
use crate::shard_map::{IndexConfig, ShardMap};

fn map(nodes: usize, rf: u32, groups: u32) -> ShardMap {
    crate::testing::shard_map(nodes, rf, groups)
}

/// Replica slots (index, shard, node id) over many indexes, so that balance and
/// movement are measured over thousands of shards rather than one index's 16.
fn replica_slots(map: &ShardMap, indexes: usize) -> std::collections::HashSet<(usize, u32, String)> {
    let mut slots = std::collections::HashSet::new();
    for i in 0..indexes {
        let p = IndexPlacement::compute(map, &format!("index{i}"));
        for shard in 0..p.shards {
            for &n in p.owners_of(shard) {
                slots.insert((i, shard, map.nodes[n].id.clone()));
            }
        }
    }
    slots
}

#[test]
fn each_shard_has_rf_owners_per_group() {
    let m = map(6, 2, 2);
    let p = IndexPlacement::compute(&m, "movies");
    for shard in 0..p.shards {
        let owners = p.owners_of(shard);
        assert_eq!(owners.len(), 4);
        for g in 0..2 {
            assert_eq!(owners.iter().filter(|&&n| m.nodes[n].group == g).count(), 2);
        }
        let mut dedup = owners.to_vec();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), 4, "a node holds a shard at most once");
    }
}

#[test]
fn integer_and_string_ids_land_on_the_same_shard() {
    for i in [0i64, 1, 42, -3, 9_007_199_254_740_993] {
        let as_int = canonical_id(&serde_json::json!(i)).unwrap();
        let as_str = canonical_id(&serde_json::json!(i.to_string())).unwrap();
        assert_eq!(shard_of(&as_int, 16), shard_of(&as_str, 16));
    }
}

#[test]
fn load_is_balanced_across_nodes() {
    // Report: max/mean replica load per node, over 200 indexes of 16 shards, RF 2.
    for n in 3..=20 {
        let m = map(n, 2, 1);
        let slots = replica_slots(&m, 200);
        let mut load = vec![0usize; n];
        for (_, _, node) in &slots {
            load[node.trim_start_matches("node").parse::<usize>().unwrap()] += 1;
        }
        let mean = slots.len() as f64 / n as f64;
        let max = *load.iter().max().unwrap() as f64;
        println!("N={n:2} max/mean={:.3}", max / mean);
        assert!(max / mean < 1.25, "N={n}: max/mean {:.3}", max / mean);
    }
}

#[test]
fn adding_a_node_moves_about_one_nth() {
    for n in 3..=20 {
        let before = replica_slots(&map(n, 2, 1), 200);
        let after = replica_slots(&map(n + 1, 2, 1), 200);
        let moved = before.difference(&after).count() as f64 / before.len() as f64;
        let ideal = 1.0 / (n as f64 + 1.0);
        println!("N={n:2}->{}: moved {moved:.4}, ideal {ideal:.4}", n + 1);
        assert!((moved - ideal).abs() < ideal * 0.25, "N={n}: moved {moved:.4}, ideal {ideal:.4}");
        // Every moved replica went to the new node: nothing moves between old nodes.
        let new_id = format!("node{n}");
        assert!(after.difference(&before).all(|(_, _, node)| *node == new_id));
    }
}

proptest! {
    #[test]
    fn placement_is_deterministic(index in "[a-z]{1,12}", nodes in 1usize..12, rf in 1u32..4) {
        let m = map(nodes, rf, 1);
        prop_assert_eq!(IndexPlacement::compute(&m, &index), IndexPlacement::compute(&m, &index));
    }

    #[test]
    fn shard_is_in_range_and_stable(id in "[a-zA-Z0-9_-]{1,64}", shards in 1u32..512) {
        let s = shard_of(&id, shards);
        prop_assert!(s < shards);
        prop_assert_eq!(s, shard_of(&id, shards));
    }

    #[test]
    fn removing_a_node_moves_only_its_replicas(nodes in 3usize..12, gone in 0usize..12) {
        let gone = gone % nodes;
        let full = map(nodes, 2, 1);
        let mut less = full.clone();
        less.nodes.remove(gone);
        let before = replica_slots(&full, 20);
        let after = replica_slots(&less, 20);
        let gone_id = format!("node{gone}");
        // Only the removed node's replicas disappear; every other replica stays put.
        prop_assert!(before.difference(&after).all(|(_, _, n)| *n == gone_id));
    }
}

/// The map with `node` given `role`.
fn with_role(mut m: ShardMap, node: usize, role: crate::shard_map::NodeRole) -> ShardMap {
    m.nodes[node].role = role;
    m
}

#[test]
fn a_joining_node_appears_only_in_write_owners() {
    use crate::shard_map::NodeRole;
    let m = with_role(map(4, 2, 1), 3, NodeRole::Joining);
    let p = IndexPlacement::compute(&m, "movies");
    let before = IndexPlacement::compute(&map(3, 2, 1), "movies");
    let after = IndexPlacement::compute(&with_role(map(4, 2, 1), 3, NodeRole::Active), "movies");
    let mut joined = 0;
    for shard in 0..p.shards {
        assert!(!p.owners_of(shard).contains(&3), "a joining node serves no reads");
        assert_eq!(p.owners_of(shard), before.owners_of(shard), "reads stay where they were");
        let future = after.owners_of(shard);
        assert!(future.iter().all(|n| p.write_owners_of(shard).contains(n)), "future owners get every write");
        joined += usize::from(p.write_owners_of(shard).contains(&3));
    }
    assert!(joined > 0, "the new node is a target for some shards");
}

#[test]
fn a_leaving_node_keeps_serving_while_its_successors_take_writes() {
    use crate::shard_map::NodeRole;
    let m = with_role(map(4, 2, 1), 1, NodeRole::Leaving);
    let p = IndexPlacement::compute(&m, "movies");
    let full = IndexPlacement::compute(&map(4, 2, 1), "movies");
    let mut without = map(4, 2, 1);
    without.nodes.remove(1);
    let gone = IndexPlacement::compute(&without, "movies");
    for shard in 0..p.shards {
        assert_eq!(p.owners_of(shard), full.owners_of(shard), "reads unchanged until the leaver is removed");
        // Owners after removal (indexes shift past the removed node).
        let future: Vec<usize> = gone.owners_of(shard).iter().map(|&n| if n >= 1 { n + 1 } else { n }).collect();
        assert!(future.iter().all(|n| p.write_owners_of(shard).contains(n)));
    }
}

fn roles() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..6, 2..10)
}

/// Active mostly, some joining (1) and leaving (2), some down (5).
fn map_with(roles: &[u8], rf: u32, groups: u32) -> ShardMap {
    use crate::shard_map::{NodeRole, NodeState};
    let mut m = map(roles.len(), rf, groups);
    for (node, r) in m.nodes.iter_mut().zip(roles) {
        node.role = match r {
            1 => NodeRole::Joining,
            2 => NodeRole::Leaving,
            _ => NodeRole::Active,
        };
        if *r == 5 {
            node.state = NodeState::Down;
        }
    }
    m
}

proptest! {
    #[test]
    fn write_owners_contain_owners_without_duplicates(roles in roles(), rf in 1u32..4, groups in 1u32..3) {
        let m = map_with(&roles, rf, groups);
        let p = IndexPlacement::compute(&m, "idx");
        for shard in 0..p.shards {
            let w = p.write_owners_of(shard);
            prop_assert!(p.owners_of(shard).iter().all(|n| w.contains(n)));
            let mut dedup = w.to_vec();
            dedup.sort_unstable();
            dedup.dedup();
            prop_assert_eq!(dedup.len(), w.len());
            // Group by group, ascending.
            prop_assert!(w.windows(2).all(|p| m.nodes[p[0]].group <= m.nodes[p[1]].group));
            // Reads never go to a joining node.
            prop_assert!(p.owners_of(shard).iter().all(|&n| m.nodes[n].role.serving()));
        }
    }

    #[test]
    fn without_joining_or_leaving_nodes_write_owners_are_owners(states in proptest::collection::vec(any::<bool>(), 1..10), rf in 1u32..4) {
        let mut m = map(states.len(), rf, 1);
        for (node, down) in m.nodes.iter_mut().zip(states) {
            if down {
                node.state = crate::shard_map::NodeState::Down;
            }
        }
        let p = IndexPlacement::compute(&m, "idx");
        prop_assert_eq!(&p.owners, &p.write_owners);
    }
}

#[test]
fn an_index_is_placed_by_its_placement_key() {
    let mut m = map(5, 1, 1);
    let (movies, films) = (IndexPlacement::compute(&m, "movies"), IndexPlacement::compute(&m, "films"));
    assert_ne!(movies, films, "two names place shards differently");
    // After a swap, `movies` is placed as `films` was, and the other way round.
    m.indexes.insert("movies".into(), IndexConfig { shards: 16, placement_key: Some("films".into()), fenced: false });
    m.indexes.insert("films".into(), IndexConfig { shards: 16, placement_key: Some("movies".into()), fenced: false });
    assert_eq!(IndexPlacement::compute(&m, "movies"), films);
    assert_eq!(IndexPlacement::compute(&m, "films"), movies);
    // The shard count travels with the entry.
    m.indexes.insert("renamed".into(), IndexConfig { shards: 3, placement_key: Some("movies".into()), fenced: false });
    let renamed = IndexPlacement::compute(&m, "renamed");
    assert_eq!(renamed.shards, 3);
    m.indexes.insert("movies".into(), IndexConfig::with_shards(3));
    assert_eq!(IndexPlacement::compute(&m, "movies"), renamed);
}
