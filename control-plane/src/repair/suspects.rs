//! Copies the repairer wrote and no pass has yet seen agree with the other replicas.
//! Such a copy may have replaced a newer live write (see `compare`), so it loses ties.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Suspects {
    /// (index, canonical id) → its shard and the nodes the repairer wrote (or deleted) it on.
    by_doc: Mutex<HashMap<(String, String), (u32, BTreeSet<String>)>>,
}

impl Suspects {
    pub fn mark(&self, index: &str, shard: u32, id: &str, node: &str) {
        let mut all = self.by_doc.lock().unwrap_or_else(|e| e.into_inner());
        all.entry((index.to_owned(), id.to_owned())).or_insert_with(|| (shard, BTreeSet::new())).1.insert(node.to_owned());
    }

    /// Shards of `index` with a suspect copy: they need another pass once it settled.
    pub fn shards(&self, index: &str) -> BTreeSet<u32> {
        let all = self.by_doc.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().filter(|((i, _), _)| i == index).map(|(_, (shard, _))| *shard).collect()
    }

    pub fn is_suspect(&self, index: &str, id: &str, node: &str) -> bool {
        let all = self.by_doc.lock().unwrap_or_else(|e| e.into_inner());
        all.get(&(index.to_owned(), id.to_owned())).is_some_and(|(_, nodes)| nodes.contains(node))
    }

    /// Every replica agrees on the id again: no copy of it is suspect any more.
    pub fn clear(&self, index: &str, ids: &[String]) {
        let mut all = self.by_doc.lock().unwrap_or_else(|e| e.into_inner());
        if all.is_empty() {
            return;
        }
        for id in ids {
            all.remove(&(index.to_owned(), id.clone()));
        }
    }

    /// A clean pass over the shard: every suspect copy in it was verified (a recent one
    /// would have blocked the pass) or has no copy left anywhere.
    pub fn clear_shard(&self, index: &str, shard: u32) {
        let mut all = self.by_doc.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(i, _), (s, _)| !(i == index && *s == shard));
    }

    pub fn len(&self) -> usize {
        self.by_doc.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_suspect_keeps_its_shard_pending_until_cleared() {
        let s = super::Suspects::default();
        s.mark("movies", 3, "42", "n1");
        s.mark("movies", 3, "42", "n2");
        s.mark("books", 1, "42", "n1");
        assert!(s.is_suspect("movies", "42", "n2") && !s.is_suspect("movies", "43", "n2"));
        assert_eq!(s.shards("movies").into_iter().collect::<Vec<_>>(), [3]);
        s.clear("movies", &["42".to_string()]);
        assert!(s.shards("movies").is_empty());
        assert_eq!(s.len(), 1);
    }
}
