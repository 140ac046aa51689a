//! The newest map's fences, shared by Envoy's workers (see `miroir_core::fence_state`):
//! published when a filter instance takes a map, read before a round that writes to a node.
//! A failed read lets the round go: the control plane's drain remains.

use miroir_core::fence_state::FenceState;
use miroir_core::ShardMap;
use proxy_wasm::hostcalls;

const KEY: &str = "miroir.fences";

pub fn read() -> Option<FenceState> {
    match hostcalls::get_shared_data(KEY) {
        Ok((Some(bytes), _)) => FenceState::decode(&bytes),
        _ => None,
    }
}

/// Keeps the newest version's fences: workers taking the same map race harmlessly, and an
/// older map taken late never hides a newer fence.
pub fn publish(map: &ShardMap) {
    let state = FenceState::of(map);
    for _ in 0..8 {
        let (current, cas) = match hostcalls::get_shared_data(KEY) {
            Ok((bytes, cas)) => (bytes.and_then(|b| FenceState::decode(&b)), cas),
            Err(_) => (None, None),
        };
        if current.is_some_and(|c| c.version >= state.version) {
            return;
        }
        if hostcalls::set_shared_data(KEY, Some(&state.encode()), cas).is_ok() {
            return;
        }
    }
    log::warn!("miroir: could not publish the map's fences to the other workers");
}
