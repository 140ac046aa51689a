//! Which tasks and batches a key restricted to some indexes may see, as one
//! Meilisearch 1.50 decides (`get_task_ids_from_authorized_indexes`,
//! `get_batch_ids_from_authorized_indexes`).
//!
//! A task shows when its kind concerns one index and a key pattern covers that
//! index: cancelations, deletions, swaps, dumps... are hidden. A batch hides when it
//! names indexes and none is covered, or when its uid is the uid of a task of such a
//! kind: a node subtracts those *task* uids from the *batch* uids. On a node that is
//! the cancelation's own batch while batch and task uids run alike (no autobatching);
//! a Miroir batch's uid is its lead task's, so Miroir hides the batches such a task leads.
//! The restriction is applied after the `limit + 1` window is cut, and `total` ignores
//! it, as on a node (so a restricted key may get a short page with no `next`).

use serde_json::Value;

use crate::access::matches_pattern;

/// Task types not tied to one index (`Kind::related_to_one_index` is false).
const NOT_ONE_INDEX: [&str; 8] = [
    "indexSwap", "taskCancelation", "taskDeletion", "dumpCreation", "export", "upgradeDatabase", "networkTopologyChange",
    "snapshotCreation",
];

/// The index patterns of a key that does not cover every index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// `None` when a pattern is `*`: no restriction.
    pub fn of(patterns: &[String]) -> Option<Scope> {
        (!patterns.iter().any(|p| p == "*")).then(|| Scope(patterns.to_vec()))
    }

    pub fn covers(&self, index: &str) -> bool {
        self.0.iter().any(|p| matches_pattern(p, index))
    }

    /// A task of `kind` on `index`.
    pub fn shows_task(&self, kind: &str, index: Option<&str>) -> bool {
        !NOT_ONE_INDEX.contains(&kind) && index.is_some_and(|i| self.covers(i))
    }

    /// Batch `uid`, by its tasks' views (`uid`, `type`, `indexUid` of each).
    pub fn shows_batch(&self, uid: u64, tasks: &[Value]) -> bool {
        let lead_kind = tasks.iter().find(|t| t.get("uid").and_then(Value::as_u64) == Some(uid)).and_then(|t| t.get("type")?.as_str());
        if lead_kind.is_some_and(|k| NOT_ONE_INDEX.contains(&k)) {
            return false;
        }
        let mut indexes = tasks.iter().filter_map(|t| t.get("indexUid").and_then(Value::as_str)).peekable();
        indexes.peek().is_none() || indexes.any(|i| self.covers(i))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope(patterns: &[&str]) -> Option<Scope> {
        Scope::of(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_star_pattern_is_no_restriction() {
        assert_eq!(scope(&["movies", "*"]), None);
        assert!(scope(&["movies"]).is_some());
    }

    #[test]
    fn tasks_show_by_their_index_and_kind() {
        let s = scope(&["movies", "books_*"]).unwrap();
        assert!(s.shows_task("documentAdditionOrUpdate", Some("movies")));
        assert!(s.shows_task("settingsUpdate", Some("books_fr")));
        assert!(!s.shows_task("settingsUpdate", Some("books")), "the prefix needs its underscore");
        assert!(!s.shows_task("indexCreation", Some("songs")));
        assert!(!s.shows_task("taskCancelation", None));
        assert!(!s.shows_task("indexSwap", Some("movies")), "a swap concerns two indexes");
        assert!(!s.shows_task("dumpCreation", None));
    }

    #[test]
    fn a_batch_shows_when_one_of_its_indexes_is_covered_unless_such_a_task_leads_it() {
        let s = scope(&["a"]).unwrap();
        let task = |uid: u64, kind: &str, index: Option<&str>| json!({"uid": uid, "type": kind, "indexUid": index});
        assert!(s.shows_batch(1, &[task(1, "documentDeletion", Some("b")), task(2, "settingsUpdate", Some("a"))]));
        assert!(!s.shows_batch(1, &[task(1, "documentDeletion", Some("b"))]));
        assert!(!s.shows_batch(3, &[task(3, "taskCancelation", None), task(1, "documentDeletion", Some("a"))]));
        assert!(s.shows_batch(4, &[task(3, "taskCancelation", None)]), "a node's rule reads the batch uid as a task uid");
    }
}
