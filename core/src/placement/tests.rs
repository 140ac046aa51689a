use proptest::prelude::*;

use super::*;
use crate::id::canonical_id;
use crate::shard_map::ShardMap;

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
