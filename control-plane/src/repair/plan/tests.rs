use super::*;
use crate::state::{Change, ClusterState};

fn cluster(nodes: usize, rf: u32) -> ClusterState {
    let mut s = ClusterState::empty(rf, 8);
    for i in 0..nodes {
        s = s.apply(&Change::AddNode { id: format!("n{i}"), address: format!("127.0.0.1:{}", 7710 + i), group: 0 }).unwrap().unwrap();
        s.nodes[i].joining = false;
    }
    s
}

fn done_all(work: &[ShardWork]) -> BTreeSet<String> {
    work.iter().map(|w| Progress::key(&w.index, w.shard)).collect()
}

#[test]
fn a_steady_cluster_needs_no_pass_unless_asked() {
    let s = cluster(3, 2);
    let map = s.shard_map().unwrap();
    assert!(shard_work(&s, &map, "movies", false, &BTreeSet::new()).is_empty());
    assert_eq!(shard_work(&s, &map, "movies", true, &BTreeSet::new()).len(), 8);
    let also: BTreeSet<u32> = [2, 5].into();
    assert_eq!(shard_work(&s, &map, "movies", false, &also).iter().map(|w| w.shard).collect::<Vec<_>>(), [2, 5]);
    assert!(stray_shards(&map, "movies").iter().all(|(i, shards)| shards.len() < 8 && *i < 3));
}

#[test]
fn a_joining_node_is_filled_then_activated_and_only_its_shards_move() {
    let s = cluster(3, 2);
    let s = s.apply(&Change::AddNode { id: "n3".into(), address: "127.0.0.1:7799".into(), group: 0 }).unwrap().unwrap();
    let map = s.shard_map().unwrap();
    assert_eq!(map.nodes[3].role, NodeRole::Joining);
    let work = shard_work(&s, &map, "movies", false, &BTreeSet::new());
    assert!(!work.is_empty() && work.len() < 8, "only the shards n3 enters move: {}", work.len());
    for w in &work {
        assert!(w.complete);
        let joining = w.replicas.iter().find(|m| m.id == "n3").expect("the joining node writes every moving shard");
        assert!(!joining.authoritative, "a joining node is never the reference");
        assert_eq!(w.replicas.iter().filter(|m| m.authoritative).count(), 2);
    }
    assert!(flips(&map, &["movies".into()], &BTreeSet::new()).is_empty());
    let flipped = flips(&map, &["movies".into()], &done_all(&work));
    assert_eq!(flipped, vec![Change::Activate { id: "n3".into() }]);
    // Once active, each moved shard has exactly one old owner that no longer writes it.
    let before = plan_owners(&s.shard_map().unwrap());
    let s = s.apply(&flipped[0]).unwrap().unwrap();
    let map = s.shard_map().unwrap();
    let stray = stray_shards(&map, "movies");
    for w in &work {
        let left: Vec<usize> = before[w.shard as usize]
            .iter()
            .copied()
            .filter(|n| stray.iter().any(|(node, shards)| node == n && shards.contains(&w.shard)))
            .collect();
        assert_eq!(left.len(), 1, "shard {}: one old copy to remove", w.shard);
    }
}

#[test]
fn a_leaving_node_goes_once_its_shards_are_in_sync_elsewhere() {
    let s = cluster(3, 2).apply(&Change::Drain { id: "n1".into() }).unwrap().unwrap();
    let map = s.shard_map().unwrap();
    let work = shard_work(&s, &map, "movies", false, &BTreeSet::new());
    assert!(!work.is_empty());
    assert!(work.iter().all(|w| w.replicas.iter().any(|m| m.id == "n1" && m.authoritative)), "a leaving node is still a source");
    assert_eq!(flips(&map, &["movies".into()], &done_all(&work)), vec![Change::RemoveNode { id: "n1".into() }]);
}

#[test]
fn a_recovering_node_is_repaired_on_every_shard_it_writes_and_without_a_reference_the_pass_is_incomplete() {
    let s = cluster(2, 2);
    let s = s.apply(&Change::SetDown { id: "n0".into(), down: true }).unwrap().unwrap();
    let s = s.apply(&Change::SetDown { id: "n0".into(), down: false }).unwrap().unwrap();
    let map = s.shard_map().unwrap();
    assert_eq!(map.nodes[0].state, NodeState::Recovering);
    let work = shard_work(&s, &map, "movies", false, &BTreeSet::new());
    assert_eq!(work.len(), 8, "RF 2 on 2 nodes: it writes every shard");
    assert!(work.iter().all(|w| w.complete));
    assert_eq!(flips(&map, &["movies".into()], &done_all(&work)), vec![Change::Recovered { id: "n0".into() }]);
    // The other one down too: the recovering node alone is not a complete pass.
    let s = s.apply(&Change::SetDown { id: "n1".into(), down: true }).unwrap().unwrap();
    let map = s.shard_map().unwrap();
    assert!(shard_work(&s, &map, "movies", false, &BTreeSet::new()).iter().all(|w| !w.complete));
}

fn plan_owners(map: &ShardMap) -> Vec<Vec<usize>> {
    miroir_core::placement::IndexPlacement::compute(map, "movies").owners
}
