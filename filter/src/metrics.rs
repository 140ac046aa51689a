//! The filter's counters and histograms, in Envoy's stats (prefixed `wasmcustom.`).
//! Each worker's VM defines its own ids once; a failure to define or record is ignored,
//! never a reason to fail a request.

use miroir_core::route::Route;
use proxy_wasm::hostcalls::{define_metric, increment_metric, record_metric};
use proxy_wasm::types::MetricType;

#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// `miroir_requests_<kind>`, in the order of `Route::KINDS`.
    requests: Vec<u32>,
    /// Calls per round sent to nodes and the control plane.
    fanout: Option<u32>,
    degraded: Option<u32>,
    /// Microseconds spent in the flow step that produced the answer (the merge, for a search).
    answer_step_us: Option<u32>,
    /// Calls to nodes carrying the client's key (not Miroir's own lookups): a request
    /// refused before fan-out adds none.
    client_calls: Option<u32>,
}

impl Metrics {
    pub fn define() -> Metrics {
        Metrics {
            requests: Route::KINDS.iter().filter_map(|k| define_metric(MetricType::Counter, &format!("miroir_requests_{k}")).ok()).collect(),
            fanout: define_metric(MetricType::Histogram, "miroir_fanout_width").ok(),
            degraded: define_metric(MetricType::Counter, "miroir_degraded_answers").ok(),
            answer_step_us: define_metric(MetricType::Histogram, "miroir_answer_step_us").ok(),
            client_calls: define_metric(MetricType::Counter, "miroir_client_key_calls").ok(),
        }
    }

    pub fn request(&self, kind: &str) {
        let id = Route::KINDS.iter().position(|k| *k == kind).and_then(|i| self.requests.get(i));
        if let Some(&id) = id {
            let _ = increment_metric(id, 1);
        }
    }

    pub fn round(&self, calls: usize) {
        if let Some(id) = self.fanout {
            let _ = record_metric(id, calls as u64);
        }
    }

    pub fn degraded(&self) {
        if let Some(id) = self.degraded {
            let _ = increment_metric(id, 1);
        }
    }

    pub fn client_call(&self) {
        if let Some(id) = self.client_calls {
            let _ = increment_metric(id, 1);
        }
    }

    pub fn answer_step(&self, micros: u64) {
        if let Some(id) = self.answer_step_us {
            let _ = record_metric(id, micros);
        }
    }
}
