//! One client request: runs its core flow round by round.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use miroir_core::flow::{self, payload_too_large, Call, Flow, Next, Reply, RequestInfo, Response, Target};
use miroir_core::route::{classify, Method};
use miroir_core::access::cache::SharedKeys;
use miroir_core::fence_state::overtaken;
use miroir_core::version::VersionClock;
use miroir_core::wire::{DEGRADED_HEADER, DEGRADED_POLICY_HEADER};
use miroir_core::{Code, MeiliError, ShardMap};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};

use crate::metrics::Metrics;

pub struct Exchange {
    map: Option<Arc<ShardMap>>,
    /// Envoy's id for this request: a per-request seed for spreading reads.
    context_id: u32,
    metrics: Metrics,
    clock: Rc<Cell<VersionClock>>,
    keys: SharedKeys,
    flow: Option<Box<dyn Flow>>,
    authorization: Option<String>,
    /// The client's path, for the fence check before each round.
    path: String,
    /// Dispatch token → position of its call in the current round.
    pending: HashMap<u32, usize>,
    replies: Vec<Reply>,
    answered: bool,
}

impl Exchange {
    pub fn new(map: Option<Arc<ShardMap>>, context_id: u32, metrics: Metrics, clock: Rc<Cell<VersionClock>>, keys: SharedKeys) -> Exchange {
        Exchange { map, context_id, metrics, clock, keys, flow: None, authorization: None, path: String::new(), pending: HashMap::new(), replies: Vec::new(), answered: false }
    }

    /// The next version stamp: the gateway's clock in microseconds, strictly increasing.
    fn stamp(&self) -> u64 {
        let now_us = now_micros();
        let mut clock = self.clock.get();
        let version = clock.stamp(now_us);
        self.clock.set(clock);
        version
    }

    fn run(&mut self, mut next: Next) {
        loop {
            if self.answered {
                return;
            }
            match next {
                Next::Wait => return,
                Next::Respond(response) => return self.respond(response),
                Next::Send(_) if !self.pending.is_empty() => {
                    let bug = MeiliError::new(Code::Internal, "a new round started before the last one ended");
                    return self.respond(Response::error(&bug));
                }
                Next::Send(calls) => {
                    let overtaken = self.map.as_deref().and_then(|map| overtaken(map, &self.path, &calls, crate::fence_state::read));
                    if let Some(refusal) = overtaken {
                        return self.respond(Response::error(&refusal));
                    }
                    self.metrics.round(calls.len());
                    self.replies = vec![Reply::default(); calls.len()];
                    for (position, call) in calls.into_iter().enumerate() {
                        // A call Envoy refuses (unknown cluster) keeps its empty reply.
                        if let Some(token) = self.dispatch(call) {
                            self.pending.insert(token, position);
                        }
                    }
                    if !self.pending.is_empty() {
                        return;
                    }
                    next = self.step(|flow, replies| flow.on_replies(replies));
                }
            }
        }
    }

    /// Advances the flow with the round's replies.
    fn step(&mut self, f: impl FnOnce(&mut dyn Flow, Vec<Reply>) -> Next) -> Next {
        let replies = std::mem::take(&mut self.replies);
        match self.flow.as_mut() {
            Some(flow) => f(flow.as_mut(), replies),
            None => Next::Wait,
        }
    }

    fn dispatch(&self, call: Call) -> Option<u32> {
        let map = self.map.as_ref()?;
        let client_key = || self.authorization.as_deref().map(Cow::Borrowed);
        let (cluster, auth) = match call.target {
            Target::Node(i) => {
                self.metrics.client_call();
                (map.nodes.get(i)?.cluster.as_str(), client_key())
            }
            // Miroir's own calls carry the nodes' key when the map has one, else the client's.
            Target::NodeAsMiroir(i) => {
                let own_key = map.node_key.as_ref().map(|k| Cow::Owned(format!("Bearer {k}")));
                (map.nodes.get(i)?.cluster.as_str(), own_key.or_else(client_key))
            }
            Target::Control => (map.control_cluster.as_str(), None),
        };
        let length = call.body.as_ref().map(|b| b.len().to_string());
        let mut headers = vec![(":method", call.method.as_str()), (":path", call.path.as_str()), (":authority", cluster)];
        if let Some(auth) = auth.as_deref() {
            headers.push(("authorization", auth));
        }
        if let Some(ct) = call.content_type.as_deref() {
            headers.push(("content-type", ct));
        }
        if let Some(len) = length.as_deref() {
            headers.push(("content-length", len));
        }
        let timeout = Duration::from_millis(map.timeout_ms);
        match self.dispatch_http_call(cluster, headers, call.body.as_deref(), vec![], timeout) {
            Ok(token) => Some(token),
            Err(status) => {
                log::warn!("miroir: call to {cluster} refused: {status:?}");
                None
            }
        }
    }

    fn respond(&mut self, response: Response) {
        self.answered = true;
        crate::key_epoch::publish(&self.keys);
        if response.headers.iter().any(|(k, _)| k == DEGRADED_HEADER) {
            self.metrics.degraded();
        }
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        headers.extend(response.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.send_http_response(u32::from(response.status), headers, Some(&response.body));
    }

    fn deliver_body(&mut self, body: Vec<u8>) {
        let next = match self.flow.as_mut() {
            Some(flow) => flow.on_body(body),
            None => Next::Wait,
        };
        self.run(next);
    }
}

/// The host clock in microseconds since the Unix epoch; 0 when there is none.
fn now_micros() -> u64 {
    // Through the host call: the SDK's own getter panics where it errs.
    let now = hostcalls::get_current_time().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    now.map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A request header; the SDK's own getter panics where the host call errs.
fn request_header(name: &str) -> Option<String> {
    hostcalls::get_map_value(MapType::HttpRequestHeaders, name).ok().flatten()
}

impl Context for Exchange {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let Some(position) = self.pending.remove(&token) else { return };
        // A reset comes back without headers, and the SDK's own getters panic then (a
        // panic kills this worker's VM): read through the host calls, whose errors are
        // values. No `:status` means no answer: status 0.
        let status = hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size).ok().flatten().unwrap_or_default();
        if let Some(slot) = self.replies.get_mut(position) {
            *slot = Reply { status, body };
        }
        if self.pending.is_empty() && !self.answered {
            let started = self.get_current_time();
            let next = self.step(|flow, replies| flow.on_replies(replies));
            if matches!(next, Next::Respond(_)) {
                let micros = self.get_current_time().duration_since(started).map_or(0, |d| d.as_micros() as u64);
                self.metrics.answer_step(micros);
            }
            self.run(next);
        }
    }
}

impl HttpContext for Exchange {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        let Some(map) = self.map.clone() else {
            let err = MeiliError::new(Code::MiroirInvalidConfig, "Miroir has no shard map yet.");
            self.respond(Response::error(&err));
            return Action::Pause;
        };
        let mut request = RequestInfo {
            method: request_header(":method").unwrap_or_default(),
            path: request_header(":path").unwrap_or_default(),
            content_type: request_header("content-type"),
            seed: u64::from(self.context_id),
            fail_when_degraded: request_header(DEGRADED_POLICY_HEADER).is_some_and(|p| p.eq_ignore_ascii_case("fail")),
            authorization: request_header("authorization"),
            version: 0,
            now_ms: now_micros() / 1000,
        };
        self.authorization = request.authorization.clone();
        self.path = request.path.clone();
        crate::key_epoch::sync(&self.keys);
        let route = classify(Method::parse(&request.method), &request.path);
        if route.is_stamped() {
            request.version = self.stamp();
        }
        self.metrics.request(route.kind());
        let mut flow = flow::for_route_with(map, route, request, &self.keys);
        let next = flow.start();
        self.flow = Some(flow);
        self.run(next);
        if end_of_stream {
            self.deliver_body(Vec::new());
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.answered {
            return Action::Pause;
        }
        let limit = self.map.as_ref().map_or(u64::MAX, |m| m.payload_limit_bytes);
        if body_size as u64 > limit {
            self.respond(Response::error(&payload_too_large(limit)));
            return Action::Pause;
        }
        if end_of_stream {
            let body = hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size).ok().flatten().unwrap_or_default();
            self.deliver_body(body);
        }
        Action::Pause
    }
}
