//! Writes overtaken by a swap's fence: built under a map that let them through, about to
//! reach a node after a newer map fenced their index.
//!
//! The fence (see [`crate::flow`]'s fence guard) holds requests that start once this
//! Envoy has the fenced map. A write that started earlier holds the old map for all its
//! rounds: if its node write went out after the control plane swapped the nodes, its
//! documents would land under the new names at the old placement. Every filter instance
//! publishes the newest map's fences to Envoy's shared data when it takes the map (before
//! Envoy ACKs it), and each request checks them before it sends a round that writes to a
//! node: a write its fence overtook is refused, unacknowledged, and may be retried. The
//! control plane's drain then only has to cover node writes already on the wire.

use crate::error::{Code, MeiliError};
use crate::flow::{Call, Target};
use crate::route::{split_path, Method};
use crate::shard_map::ShardMap;

/// The newest map's version and how it places and fences indexes, as published to
/// every worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceState {
    pub version: u64,
    pub default_shards: u32,
    /// The map's index entries: uid, placement key, shard count, fenced.
    pub entries: Vec<(String, String, u32, bool)>,
}

impl FenceState {
    pub fn of(map: &ShardMap) -> FenceState {
        let entries = map
            .indexes
            .iter()
            .map(|(uid, i)| (uid.clone(), map.placement_key_of(uid).to_string(), i.shards, i.fenced))
            .collect();
        FenceState { version: map.version, default_shards: map.default_shards, entries }
    }

    /// Where `index` is placed, and whether it is fenced.
    fn of_index<'a>(&'a self, index: &'a str) -> (&'a str, u32, bool) {
        match self.entries.iter().find(|(uid, ..)| uid == index) {
            Some((_, key, shards, fenced)) => (key, *shards, *fenced),
            None => (index, self.default_shards, false),
        }
    }

    /// `version default_shards`, then one `uid key shards fenced` line per entry (index
    /// uids hold no space or newline).
    pub fn encode(&self) -> Vec<u8> {
        let mut text = format!("{} {}", self.version, self.default_shards);
        for (uid, key, shards, fenced) in &self.entries {
            text.push_str(&format!("\n{uid} {key} {shards} {}", u8::from(*fenced)));
        }
        text.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Option<FenceState> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split('\n');
        let mut head = lines.next()?.split(' ');
        let (version, default_shards) = (head.next()?.parse().ok()?, head.next()?.parse().ok()?);
        let entries = lines
            .map(|line| {
                let mut f = line.split(' ');
                Some((f.next()?.to_string(), f.next()?.to_string(), f.next()?.parse().ok()?, f.next()? == "1"))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FenceState { version, default_shards, entries })
    }
}

/// Node calls with these endings only read, though sent as `POST`.
const READ_POSTS: [&str; 5] = ["/search", "/facet-search", "/documents/fetch", "/fields", "/similar"];

/// The call changes something on a node.
fn writes_to_node(call: &Call) -> bool {
    if !matches!(call.target, Target::Node(_) | Target::NodeAsMiroir(_)) || call.method == Method::Get {
        return false;
    }
    let path = call.path.split('?').next().unwrap_or_default();
    !(call.method == Method::Post && (path == "/multi-search" || READ_POSTS.iter().any(|end| path.ends_with(end))))
}

/// The refusal for a round of `calls` of the request to `path`, built under `built`,
/// when the newest published map (`latest`, read only if the round writes) fences its
/// index or places it otherwise (a swap ran while the request was under way).
pub fn overtaken(built: &ShardMap, path: &str, calls: &[Call], latest: impl FnOnce() -> Option<FenceState>) -> Option<MeiliError> {
    if !calls.iter().any(writes_to_node) {
        return None;
    }
    let (segments, _) = split_path(path);
    let [first, index, ..] = segments.as_slice() else { return None };
    if first != "indexes" || built.is_fenced(index) {
        return None;
    }
    let latest = latest()?;
    let (key, shards, fenced) = latest.of_index(index);
    let moved = key != built.placement_key_of(index) || shards != built.shards_of(index);
    (latest.version > built.version && (fenced || moved))
        .then(|| MeiliError::new(Code::MiroirNodeUnavailable, format!("Index `{index}` is being swapped; try again.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(version: u64, fenced: bool) -> ShardMap {
        let json = format!(
            r#"{{"version": {version}, "replicationFactor": 1, "controlCluster": "c", "nodes": [{{"id": "a", "cluster": "ca"}}],
                "indexes": {{"movies": {{"shards": 4, "fenced": {fenced}}}}}}}"#
        );
        ShardMap::from_json(json.as_bytes()).unwrap()
    }

    fn write() -> Call {
        Call::json(Target::Node(0), Method::Post, "/indexes/movies/documents".into(), b"[]".to_vec())
    }

    #[test]
    fn the_published_state_round_trips() {
        let state = FenceState::of(&map(7, true));
        assert_eq!(state, FenceState { version: 7, default_shards: 16, entries: vec![("movies".into(), "movies".into(), 4, true)] });
        assert_eq!(FenceState::decode(&state.encode()), Some(state));
        assert_eq!(FenceState::decode(b"3 16"), Some(FenceState { version: 3, default_shards: 16, entries: vec![] }));
        assert_eq!(FenceState::decode(b"x"), None);
    }

    #[test]
    fn a_write_built_before_the_fence_is_refused_once_a_newer_map_fences_its_index() {
        let newer = || Some(FenceState::of(&map(2, true)));
        let refused = overtaken(&map(1, false), "/indexes/movies/documents", &[write()], newer).unwrap();
        assert_eq!(refused.code, Code::MiroirNodeUnavailable);
        // Another index, an older or equal state, or no state: the write goes on.
        assert!(overtaken(&map(1, false), "/indexes/books/documents", &[write()], newer).is_none());
        assert!(overtaken(&map(2, false), "/indexes/movies/documents", &[write()], newer).is_none());
        assert!(overtaken(&map(1, false), "/indexes/movies/documents", &[write()], || None).is_none());
        // Built under the fenced (then lifted) map: it already waited for the swap.
        assert!(overtaken(&map(2, true), "/indexes/movies/documents", &[write()], newer).is_none());
    }

    #[test]
    fn a_write_that_outlived_a_whole_swap_is_refused_too() {
        // Fence lifted, but the index now has another's placement key: built under v1, it
        // would write by the old placement.
        let lifted = FenceState { version: 3, default_shards: 16, entries: vec![("movies".into(), "books".into(), 4, false)] };
        assert!(overtaken(&map(1, false), "/indexes/movies/documents", &[write()], || Some(lifted.clone())).is_some());
        let same = FenceState::of(&map(3, false));
        assert!(overtaken(&map(1, false), "/indexes/movies/documents", &[write()], || Some(same)).is_none());
    }

    #[test]
    fn reads_and_control_plane_calls_are_not_writes() {
        let newer = || Some(FenceState::of(&map(2, true)));
        let search = Call::json(Target::Node(0), Method::Post, "/indexes/movies/search".into(), b"{}".to_vec());
        let fetch = Call::json(Target::Node(0), Method::Post, "/indexes/movies/documents/fetch".into(), b"{}".to_vec());
        let get = Call::get(Target::NodeAsMiroir(0), "/indexes/movies/settings".into());
        let register = Call::json(Target::Control, Method::Post, "/_miroir/tasks".into(), b"{}".to_vec());
        let reads = [search, fetch, get, register];
        assert!(overtaken(&map(1, false), "/indexes/movies/search", &reads, newer).is_none());
        let delete = Call { method: Method::Delete, ..Call::get(Target::Node(0), "/indexes/movies/documents/1".into()) };
        assert!(overtaken(&map(1, false), "/indexes/movies/documents/1", &[delete], newer).is_some());
    }
}
