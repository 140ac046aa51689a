//! The per-shard write quorum: a write is acknowledged only when, for every shard it
//! touches, at least `ShardMap::write_quorum` write owners accepted it (answered 202
//! with a task). Checked before sending — too few owners able to take writes refuses
//! the request with nothing sent — and again on the replies.

use std::collections::BTreeSet;

use crate::error::{Code, MeiliError};
use crate::placement::IndexPlacement;
use crate::shard_map::ShardMap;

/// The write owners of `shards` a write goes to, and those it skips (down).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Owners {
    /// Write owners of at least one touched shard that take writes (up or recovering).
    pub reachable: BTreeSet<usize>,
    /// Write owners of at least one touched shard that are down: missed without a call.
    pub skipped: BTreeSet<usize>,
}

pub(super) fn owners(map: &ShardMap, placement: &IndexPlacement, shards: &[u32]) -> Owners {
    let mut out = Owners::default();
    for &shard in shards {
        for &n in placement.write_owners_of(shard) {
            match map.nodes.get(n) {
                Some(node) if node.state.takes_writes() => out.reachable.insert(n),
                Some(_) => out.skipped.insert(n),
                None => false,
            };
        }
    }
    out
}

/// Shards of `shards` with fewer than the quorum of write owners in `accepting`.
fn short(map: &ShardMap, placement: &IndexPlacement, shards: &[u32], accepting: impl Fn(usize) -> bool) -> Vec<u32> {
    let quorum = map.write_quorum.max(1) as usize;
    shards
        .iter()
        .copied()
        .filter(|&s| placement.write_owners_of(s).iter().filter(|&&n| accepting(n)).count() < quorum)
        .collect()
}

/// Before sending: refuses a write some shard of which has too few owners taking writes.
pub(super) fn check_before(map: &ShardMap, placement: &IndexPlacement, shards: &[u32], index: &str) -> Result<(), MeiliError> {
    let takes = |n: usize| map.nodes.get(n).is_some_and(|node| node.state.takes_writes());
    let short = short(map, placement, shards, takes);
    if short.is_empty() {
        return Ok(());
    }
    Err(MeiliError::new(
        Code::MiroirWriteQuorumUnavailable,
        format!(
            "Fewer than {} replicas can take writes for shard{} {} of index `{index}`; nothing was written.",
            map.write_quorum,
            plural(&short),
            list(&short)
        ),
    ))
}

/// After the replies: the error for a write some shard of which too few owners accepted.
pub(super) fn check_after(map: &ShardMap, placement: &IndexPlacement, shards: &[u32], accepted: &BTreeSet<usize>, index: &str) -> Option<MeiliError> {
    let short = short(map, placement, shards, |n| accepted.contains(&n));
    (!short.is_empty()).then(|| {
        MeiliError::new(
            Code::MiroirWriteQuorumUnavailable,
            format!(
                "Fewer than {} replicas accepted the write for shard{} {} of index `{index}`; it may be partly applied and was not acknowledged.",
                map.write_quorum,
                plural(&short),
                list(&short)
            ),
        )
    })
}

fn plural(shards: &[u32]) -> &'static str {
    if shards.len() == 1 {
        ""
    } else {
        "s"
    }
}

fn list(shards: &[u32]) -> String {
    shards.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}
