//! Miroir's Envoy HTTP filter: thin glue between proxy-wasm and `miroir-core`.
//!
//! The root context parses the shard map once per configuration. Each request gets an
//! [`exchange::Exchange`] that runs the request's flow from core: dispatching the calls
//! of each round, collecting the replies, answering the client. No decision is made here.

mod exchange;
mod fence_state;
mod key_epoch;
mod metrics;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use miroir_core::access::cache::{KeyCache, SharedKeys};
use miroir_core::version::VersionClock;
use miroir_core::ShardMap;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { map: None, metrics: metrics::Metrics::default(), clock: Rc::default(), keys: KeyCache::shared() }) });
}}

struct Root {
    map: Option<Arc<ShardMap>>,
    metrics: metrics::Metrics,
    /// This filter instance's version stamps (one VM, one thread: shared by its requests).
    clock: Rc<Cell<VersionClock>>,
    /// Key views this instance fetched, shared by its requests (see `miroir_core::access::cache`).
    keys: SharedKeys,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, _: usize) -> bool {
        self.metrics = metrics::Metrics::define();
        true
    }

    /// Refusing a bad map makes Envoy reject (NACK) it and keep serving the last good one.
    fn on_configure(&mut self, _: usize) -> bool {
        let Some(bytes) = self.get_plugin_configuration() else {
            log::error!("miroir: no shard map in the plugin configuration");
            return false;
        };
        match ShardMap::from_json(&bytes) {
            Ok(map) => {
                fence_state::publish(&map);
                self.map = Some(Arc::new(map));
                // A new map may name other nodes or another node key.
                self.keys = KeyCache::shared();
                true
            }
            Err(e) => {
                log::error!("miroir: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(exchange::Exchange::new(self.map.clone(), context_id, self.metrics.clone(), self.clock.clone(), self.keys.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
