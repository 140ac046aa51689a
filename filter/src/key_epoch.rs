//! The deletions epoch shared by Envoy's workers: each worker's VM caches key views,
//! and a key deleted through one worker must leave every worker's cache. A deletion
//! bumps the epoch in Envoy's shared data; each request first syncs its VM's cache with
//! it (one host call). Failures leave the epoch as it was: the cache's age bound remains.

use miroir_core::access::cache::SharedKeys;
use proxy_wasm::hostcalls;

const KEY: &str = "miroir.keys.deleted_epoch";

fn read() -> (u64, Option<u32>) {
    match hostcalls::get_shared_data(KEY) {
        Ok((Some(bytes), cas)) => (bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes), cas),
        Ok((None, cas)) => (0, cas),
        Err(_) => (0, None),
    }
}

/// Before a request: drop this VM's views if a key was deleted anywhere since.
pub fn sync(keys: &SharedKeys) {
    keys.borrow_mut().sync(read().0);
}

/// After a request: a key deleted through this VM bumps the shared epoch.
pub fn publish(keys: &SharedKeys) {
    if !keys.borrow_mut().take_forgotten() {
        return;
    }
    for _ in 0..8 {
        let (epoch, cas) = read();
        if hostcalls::set_shared_data(KEY, Some(&(epoch + 1).to_le_bytes()), cas).is_ok() {
            return;
        }
    }
    log::warn!("miroir: could not publish a key deletion to the other workers");
}
