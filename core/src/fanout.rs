//! Which node serves which shards for a scatter-gather read.
//!
//! One replica group answers when it can cover every shard with live nodes (a full
//! answer, not a degraded one); groups take turns by a per-request seed. Inside it, as
//! few nodes as cover every shard are asked (each node searches everything it holds,
//! so every extra node is extra work), the nodes taking turns by the seed. When no single group can cover
//! every shard, each shard takes any live owner. A shard with no live owner anywhere is
//! reported missing: the answer is degraded and says which shards it lacks.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Code, MeiliError};
use crate::placement::IndexPlacement;
use crate::wire::DEGRADED_HEADER;
use crate::shard_map::{NodeState, ShardMap};

/// Nodes to ask and the shards each must serve; shards nobody can serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadPlan {
    pub per_node: BTreeMap<usize, Vec<u32>>,
    pub missing: Vec<u32>,
}

/// Plans a read of `shards` avoiding `excluded` nodes (down in the map, or failed
/// during this request). `seed` varies per request to spread load.
pub fn plan_read(map: &ShardMap, placement: &IndexPlacement, shards: &[u32], excluded: &BTreeSet<usize>, seed: u64) -> ReadPlan {
    let live = |n: &usize| map.nodes.get(*n).is_some_and(|node| node.state == NodeState::Up) && !excluded.contains(n);
    let groups = map.groups();
    let rotation = if groups.is_empty() { 0 } else { (seed % groups.len() as u64) as usize };
    for group in groups.iter().cycle().skip(rotation).take(groups.len()) {
        let owners: Option<Vec<Vec<usize>>> = shards
            .iter()
            .map(|&shard| {
                let owners: Vec<usize> =
                    placement.owners_of(shard).iter().copied().filter(|n| map.nodes[*n].group == *group).filter(live).collect();
                (!owners.is_empty()).then_some(owners)
            })
            .collect();
        if let Some(owners) = owners {
            return plan_from(cover(shards, &owners, seed), Vec::new());
        }
    }
    // No group covers everything: take any live owner per shard.
    let mut covered = Vec::new();
    let mut owners = Vec::new();
    let mut missing = Vec::new();
    for &shard in shards {
        let live_owners: Vec<usize> = placement.owners_of(shard).iter().copied().filter(live).collect();
        if live_owners.is_empty() {
            missing.push(shard);
        } else {
            covered.push(shard);
            owners.push(live_owners);
        }
    }
    plan_from(cover(&covered, &owners, seed), missing)
}

/// Serves every shard (`owners[i]` are the live owners of `shards[i]`, none empty) from
/// as few nodes as a greedy cover finds: nodes are taken in an order rotated by `seed`
/// while they add an uncovered shard. Fewer nodes per search is less work in total:
/// each node searches all it holds before keeping its shards. Each shard then goes to
/// the chosen owner serving the fewest shards so far.
fn cover(shards: &[u32], owners: &[Vec<usize>], seed: u64) -> Vec<(u32, usize)> {
    let mut nodes: Vec<usize> = owners.iter().flatten().copied().collect();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.is_empty() {
        return Vec::new();
    }
    let start = (seed % nodes.len() as u64) as usize;
    nodes.rotate_left(start);
    let mut covered = vec![false; shards.len()];
    let mut chosen: Vec<usize> = Vec::new();
    for node in nodes {
        let mut adds = false;
        for (i, o) in owners.iter().enumerate() {
            if !covered[i] && o.contains(&node) {
                covered[i] = true;
                adds = true;
            }
        }
        if adds {
            chosen.push(node);
        }
        if covered.iter().all(|c| *c) {
            break;
        }
    }
    let mut load: Vec<usize> = vec![0; chosen.len()];
    let mut out = Vec::with_capacity(shards.len());
    for (&shard, o) in shards.iter().zip(owners) {
        let best = (0..chosen.len()).filter(|&c| o.contains(&chosen[c])).min_by_key(|&c| (load[c], c));
        if let Some(c) = best {
            load[c] += 1;
            out.push((shard, chosen[c]));
        }
    }
    out
}

fn plan_from(choice: Vec<(u32, usize)>, missing: Vec<u32>) -> ReadPlan {
    let mut per_node: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for (shard, node) in choice {
        per_node.entry(node).or_default().push(shard);
    }
    ReadPlan { per_node, missing }
}

/// The `X-Miroir-Degraded` header value naming missing shards: `shards=3,7,11`.
/// How a scatter-gather answers about shards no live replica holds: the degraded header
/// to send (none when nothing is missing), or Miroir's 503 when the client asked to fail
/// instead. `of` names what was read ("index `movies`") in the error.
pub fn degraded(missing: &[u32], of: &str, fail: bool) -> Result<Vec<(String, String)>, MeiliError> {
    let mut missing = missing.to_vec();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() && fail {
        return Err(MeiliError::new(Code::MiroirShardsUnavailable, format!("No live replica holds shards {missing:?} of {of}.")));
    }
    Ok(degraded_header(&missing).map(|v| (DEGRADED_HEADER.to_string(), v)).into_iter().collect())
}

pub fn degraded_header(missing: &[u32]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let ids: Vec<String> = missing.iter().map(u32::to_string).collect();
    Some(format!("shards={}", ids.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(nodes: usize, rf: u32, groups: u32) -> ShardMap {
        crate::testing::shard_map(nodes, rf, groups)
    }

    fn all_shards(p: &IndexPlacement) -> Vec<u32> {
        (0..p.shards).collect()
    }

    fn covered(plan: &ReadPlan) -> Vec<u32> {
        let mut shards: Vec<u32> = plan.per_node.values().flatten().copied().collect();
        shards.sort_unstable();
        shards
    }

    #[test]
    fn every_shard_is_served_once_by_one_of_its_owners() {
        let m = map(3, 2, 1);
        let p = IndexPlacement::compute(&m, "movies");
        for seed in 0..20 {
            let plan = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), seed);
            assert_eq!(covered(&plan), all_shards(&p));
            for (node, shards) in &plan.per_node {
                assert!(shards.iter().all(|s| p.owners_of(*s).contains(node)));
            }
        }
    }

    #[test]
    fn replicas_share_the_load_across_requests() {
        let m = map(3, 2, 1);
        let p = IndexPlacement::compute(&m, "movies");
        let mut served = [0usize; 3];
        for seed in 0..300 {
            for (node, shards) in plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), seed).per_node {
                served[node] += shards.len();
            }
        }
        assert!(served.iter().all(|&s| s > 0), "{served:?}");
    }

    #[test]
    fn with_rf_2_on_3_nodes_two_nodes_serve_each_search() {
        let m = map(3, 2, 1);
        let p = IndexPlacement::compute(&m, "movies");
        let mut asked = [0usize; 3];
        for seed in 0..30 {
            let plan = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), seed);
            assert_eq!(plan.per_node.len(), 2, "{plan:?}");
            assert_eq!(covered(&plan), all_shards(&p));
            for node in plan.per_node.keys() {
                asked[*node] += 1;
            }
        }
        assert!(asked.iter().all(|&a| a >= 15), "every node takes its turn: {asked:?}");
    }

    #[test]
    fn one_node_down_with_rf_2_still_covers_every_shard() {
        let mut m = map(3, 2, 1);
        m.nodes[1].state = NodeState::Down;
        let p = IndexPlacement::compute(&m, "movies");
        let plan = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), 7);
        assert!(plan.missing.is_empty());
        assert!(!plan.per_node.contains_key(&1));
        assert_eq!(covered(&plan), all_shards(&p));
    }

    #[test]
    fn a_group_that_cannot_cover_every_shard_yields_to_another() {
        let mut m = map(4, 1, 2); // group 0: nodes 0, 2; group 1: nodes 1, 3
        m.nodes[0].state = NodeState::Down;
        let p = IndexPlacement::compute(&m, "movies");
        for seed in 0..4 {
            let plan = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), seed);
            assert!(plan.missing.is_empty());
            assert!(plan.per_node.keys().all(|n| m.nodes[*n].group == 1), "{plan:?}");
        }
    }

    #[test]
    fn shards_without_any_live_replica_are_named() {
        let mut m = map(3, 1, 1);
        m.nodes[2].state = NodeState::Down;
        let p = IndexPlacement::compute(&m, "movies");
        let plan = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), 0);
        assert_eq!(plan.missing, p.shards_on(2));
        let expected: Vec<String> = p.shards_on(2).iter().map(u32::to_string).collect();
        assert_eq!(degraded_header(&plan.missing), Some(format!("shards={}", expected.join(","))));
        let mut rest = covered(&plan);
        rest.extend(&plan.missing);
        rest.sort_unstable();
        assert_eq!(rest, all_shards(&p));
    }

    #[test]
    fn a_node_failing_mid_request_is_excluded_from_the_retry() {
        let m = map(3, 2, 1);
        let p = IndexPlacement::compute(&m, "movies");
        let first = plan_read(&m, &p, &all_shards(&p), &BTreeSet::new(), 1);
        let (&failed, shards) = first.per_node.iter().next().unwrap();
        let retry = plan_read(&m, &p, shards, &[failed].into_iter().collect(), 1);
        assert!(retry.missing.is_empty());
        assert!(!retry.per_node.contains_key(&failed));
        assert_eq!(covered(&retry), *shards);
    }
}
