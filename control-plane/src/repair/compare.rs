//! Anti-entropy's decision for one shard, without I/O: given every replica's copy of
//! the shard and the tombstones, which documents each replica must get or lose.
//!
//! The winner of an id: among the *authoritative* replicas (state up and a read owner of
//! the shard: they received every acknowledged write, or they would have been marked
//! down), the copy with the highest `_miroir_version`; with no authoritative replica,
//! among all of them. A tombstone with a higher version than the winner makes it
//! "deleted"; no copy among the authoritative replicas makes it "absent". Copies on
//! joining or recovering replicas never win over an authoritative one: a partial update
//! (`PUT`) reaching a replica that lacks the document creates a partial copy with the
//! newest version, and it must not replace the whole document.
//!
//! A copy the repairer itself wrote is *suspect* for that id: it may have landed after a
//! newer live write and replaced it (Meilisearch has no conditional writes), and a later
//! partial update then merges onto the stale base with the newest version. So among
//! copies with equal versions and different content, one the repairer did not write wins.
//!
//! An id whose newest version (copy or tombstone) is recent is left alone: that write may
//! still be in a node's queue, and the write path delivers it to every write owner. But
//! the pass is not clean while the replicas disagree on it: a replica that lacked the
//! document when a partial update reached it holds a partial copy the write path never
//! completes, and once it serves reads it would be a reference like any other.

use std::collections::BTreeMap;

use miroir_core::id::canonical_id;
use miroir_core::wire::VERSION_FIELD;
use serde_json::Value;

use super::node_api::Doc;

/// One replica's copy of the shard.
#[derive(Debug, Clone)]
pub struct Replica {
    pub node: String,
    /// Up and a read owner of the shard: its copy is the reference.
    pub authoritative: bool,
    /// Serves reads (up), even if not yet authoritative (a joining node).
    pub up: bool,
    pub docs: Vec<Doc>,
}

/// What one replica must receive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fix {
    /// Whole documents to write (add or replace), bookkeeping fields included.
    pub put: Vec<Doc>,
    /// Primary-key values to delete, as the replica stores them.
    pub delete: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Per replica, in the order given.
    pub fixes: Vec<Fix>,
    /// Ids left alone because their newest version is recent.
    pub unsettled: usize,
    /// Ids every replica agrees on (or holds no copy of).
    pub agreed: Vec<String>,
    /// Recent ids on which a non-authoritative replica differs from an authoritative one,
    /// or with a suspect copy: the shard is not in sync until they settled and were compared.
    pub blocked: usize,
    /// Distinct ids compared.
    pub ids: usize,
}

impl Decision {
    /// Documents written plus deleted over all replicas.
    pub fn changes(&self) -> usize {
        self.fixes.iter().map(|f| f.put.len() + f.delete.len()).sum()
    }
}

/// The version a stored document carries; 0 when it has none (written before stamps).
pub fn version_of(doc: &Doc) -> u64 {
    doc.get(VERSION_FIELD).and_then(miroir_core::wire::decode_version).unwrap_or(0)
}

/// Decides the fixes. `tombstone(id)` gives the version of the last delete by id;
/// `suspect(id, replica)` whether the repairer wrote that replica's copy; versions at or
/// after `settled_before` are recent.
pub fn decide(
    primary_key: &str,
    replicas: &[Replica],
    tombstone: impl Fn(&str) -> Option<u64>,
    suspect: impl Fn(&str, usize) -> bool,
    settled_before: u64,
) -> Decision {
    // id → per replica, its copy.
    let mut by_id: BTreeMap<String, Vec<Option<&Doc>>> = BTreeMap::new();
    for (r, replica) in replicas.iter().enumerate() {
        for doc in &replica.docs {
            let Some(id) = doc.get(primary_key).and_then(|v| canonical_id(v).ok()) else { continue };
            by_id.entry(id).or_insert_with(|| vec![None; replicas.len()])[r] = Some(doc);
        }
    }
    let any_authoritative = replicas.iter().any(|r| r.authoritative);
    let mut decision = Decision { fixes: vec![Fix::default(); replicas.len()], unsettled: 0, ids: by_id.len(), agreed: Vec::new(), blocked: 0 };
    for (id, copies) in &by_id {
        let tomb = tombstone(id);
        let newest = copies.iter().flatten().map(|d| version_of(d)).chain(tomb).max().unwrap_or(0);
        if newest >= settled_before {
            decision.unsettled += 1;
            // Authoritative replicas that disagree only lag (each took every write); a
            // non-authoritative one may hold a partial copy the write path never completes.
            let reference = copies.iter().zip(replicas).find(|(_, r)| r.authoritative).map_or(copies[0], |(c, _)| *c);
            let partial = copies.iter().zip(replicas).any(|(c, r)| !r.authoritative && *c != reference);
            decision.blocked += usize::from(partial || (0..replicas.len()).any(|r| suspect(id, r)));
            continue;
        }
        let winner = winner(replicas, copies, any_authoritative, |r| suspect(id, r));
        let winner = match (winner, tomb) {
            (Some(doc), Some(t)) if t > version_of(doc) => None,
            (winner, _) => winner,
        };
        let before = decision.changes();
        for (r, copy) in copies.iter().enumerate() {
            match (winner, copy) {
                (Some(w), Some(c)) if w == *c => {}
                (Some(w), _) => decision.fixes[r].put.push(w.clone()),
                (None, Some(c)) => decision.fixes[r].delete.push(c.get(primary_key).cloned().unwrap_or(Value::Null)),
                (None, None) => {}
            }
        }
        if decision.changes() == before {
            decision.agreed.push(id.clone());
        }
    }
    decision
}

/// The copy every replica should hold, `None` when the reference has none.
fn winner<'a>(replicas: &[Replica], copies: &[Option<&'a Doc>], any_authoritative: bool, suspect: impl Fn(usize) -> bool) -> Option<&'a Doc> {
    // Higher version first, then not written by the repairer, authoritative, up, the earlier replica.
    let rank = |r: usize, doc: &Doc| (version_of(doc), !suspect(r), replicas[r].authoritative, replicas[r].up, std::cmp::Reverse(r));
    copies
        .iter()
        .enumerate()
        .filter(|(r, _)| !any_authoritative || replicas[*r].authoritative)
        .filter_map(|(r, c)| c.map(|doc| (rank(r, doc), doc)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, doc)| doc)
}

#[cfg(test)]
mod tests;
