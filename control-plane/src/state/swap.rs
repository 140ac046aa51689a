//! How a swap changes the cluster state: a fence while the nodes swap, then the two
//! indexes' placement entries (shard count, placement key) exchanged — or moved, for
//! a rename — in the same version that lifts the fence. No document moves: each stays
//! on the nodes its placement key chose, now reached under the other name.

use std::collections::BTreeMap;

use miroir_core::shard_map::IndexConfig;
use miroir_core::swap::IndexSwap;

use super::ClusterState;

impl ClusterState {
    /// Fences (or unfences) `indexes`; whether anything changed.
    pub(super) fn fence(&mut self, indexes: &[String], on: bool) -> bool {
        let mut changed = false;
        for uid in indexes {
            changed |= if on { self.fenced.insert(uid.clone()) } else { self.fenced.remove(uid) };
        }
        changed
    }

    /// Applies swaps as the nodes did, then lifts their fences.
    pub(super) fn swap_indexes(&mut self, swaps: &[IndexSwap]) -> bool {
        for swap in swaps {
            let (a, b) = (&swap.indexes.0, &swap.indexes.1);
            let (shards_a, shards_b) = (self.indexes.remove(a), self.indexes.remove(b));
            let (key_a, key_b) = (self.placement_key(a), self.placement_key(b));
            self.placement_keys.remove(a);
            self.placement_keys.remove(b);
            if let Some(shards) = shards_a {
                self.indexes.insert(b.clone(), shards);
            }
            self.set_placement_key(b, key_a);
            if !swap.rename {
                if let Some(shards) = shards_b {
                    self.indexes.insert(a.clone(), shards);
                }
                self.set_placement_key(a, key_b);
            }
        }
        let involved: Vec<String> = swaps.iter().flat_map(|s| [s.indexes.0.clone(), s.indexes.1.clone()]).collect();
        self.fence(&involved, false);
        // A swap always changes the map version: the Envoys' fences lift with it.
        true
    }

    fn placement_key(&self, uid: &str) -> String {
        self.placement_keys.get(uid).cloned().unwrap_or_else(|| uid.to_owned())
    }

    fn set_placement_key(&mut self, uid: &str, key: String) {
        if key != uid {
            self.placement_keys.insert(uid.to_owned(), key);
        }
    }

    /// The map's per-index entries: every index with a shard count, a placement key or a fence.
    pub(super) fn index_configs(&self) -> BTreeMap<String, IndexConfig> {
        let uids = self.indexes.keys().chain(self.placement_keys.keys()).chain(self.fenced.iter());
        uids.map(|uid| {
            let config = IndexConfig {
                shards: self.indexes.get(uid).copied().unwrap_or(self.default_shards),
                placement_key: self.placement_keys.get(uid).cloned(),
                fenced: self.fenced.contains(uid),
            };
            (uid.clone(), config)
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use miroir_core::placement::IndexPlacement;

    use super::*;
    use crate::state::Change;

    fn state() -> ClusterState {
        let mut s = ClusterState::empty(1, 16);
        for (i, id) in ["n0", "n1", "n2", "n3"].iter().enumerate() {
            s = s.apply(&Change::AddActiveNode { id: (*id).into(), address: format!("127.0.0.1:{}", 7700 + i), group: 0 }).unwrap().unwrap();
        }
        s.apply(&Change::SetIndex { uid: "movies".into(), shards: 4 }).unwrap().unwrap()
    }

    fn swap(a: &str, b: &str, rename: bool) -> Change {
        Change::SwapIndexes { swaps: vec![IndexSwap { indexes: (a.into(), b.into()), rename }] }
    }

    fn placement(s: &ClusterState, uid: &str) -> IndexPlacement {
        IndexPlacement::compute(&s.shard_map().unwrap(), uid)
    }

    #[test]
    fn a_fence_shows_in_the_map_and_lifts() {
        let s = state();
        let fenced = s.apply(&Change::Fence { indexes: vec!["movies".into(), "films".into()], on: true }).unwrap().unwrap();
        let map = fenced.shard_map().unwrap();
        assert!(map.is_fenced("movies") && map.is_fenced("films") && !map.is_fenced("books"));
        assert_eq!(map.shards_of("films"), 16);
        assert_eq!(fenced.apply(&Change::Fence { indexes: vec!["movies".into()], on: true }).unwrap(), None);
        let lifted = fenced.apply(&Change::Fence { indexes: vec!["movies".into(), "films".into()], on: false }).unwrap().unwrap();
        assert_eq!(lifted.shard_map().unwrap().indexes, s.shard_map().unwrap().indexes);
    }

    #[test]
    fn a_swap_exchanges_placements_and_swapping_back_restores_the_map() {
        let s = state();
        let (movies, films) = (placement(&s, "movies"), placement(&s, "films"));
        let fenced = s.apply(&Change::Fence { indexes: vec!["movies".into(), "films".into()], on: true }).unwrap().unwrap();
        let swapped = fenced.apply(&swap("movies", "films", false)).unwrap().unwrap();
        assert_eq!(swapped.version, s.version + 2);
        assert_eq!(placement(&swapped, "films"), movies);
        assert_eq!(placement(&swapped, "movies"), films);
        assert!(swapped.fenced.is_empty());
        let back = swapped.apply(&swap("films", "movies", false)).unwrap().unwrap();
        assert_eq!((back.indexes.clone(), back.placement_keys.clone()), (s.indexes.clone(), s.placement_keys.clone()));
    }

    #[test]
    fn a_rename_moves_the_placement_and_the_old_name_starts_fresh() {
        let s = state();
        let movies = placement(&s, "movies");
        let renamed = s.apply(&swap("movies", "films", true)).unwrap().unwrap();
        assert_eq!(placement(&renamed, "films"), movies);
        assert_eq!(renamed.shard_map().unwrap().shards_of("movies"), 16);
        assert_eq!(renamed.shard_map().unwrap().placement_key_of("movies"), "movies");
    }

    #[test]
    fn the_state_round_trips_with_keys_and_fences() {
        let s = state().apply(&swap("movies", "films", false)).unwrap().unwrap();
        let s = s.apply(&Change::Fence { indexes: vec!["books".into()], on: true }).unwrap().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: ClusterState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // A state written before swaps existed still reads.
        let old: ClusterState = serde_json::from_str(&serde_json::to_string(&state()).unwrap()).unwrap();
        assert!(old.placement_keys.is_empty() && old.fenced.is_empty());
    }
}
