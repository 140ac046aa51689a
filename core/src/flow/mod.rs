//! Request flows: how Miroir serves each kind of request, as pure state machines.
//!
//! A flow proceeds in rounds. It asks for a set of [`Call`]s, gets every [`Reply`]
//! back in call order, and decides the next round or the [`Response`]. The filter only
//! executes rounds (dispatching calls, collecting replies), so every decision here is
//! testable natively without Envoy.

mod any_node;
mod auth;
mod batches;
mod global_stats;
mod instance;
mod keys;
mod sync_change;
mod broadcast;
mod browse;
mod delete_batch;
mod fence;
mod fields;
mod point;
mod quorum;
mod multi_search;
mod register;
mod search;
mod search_params;
mod similar;
mod stats;
mod swap;
mod task_bulk;
mod task_get;
mod tasks_list;
mod write;

use std::sync::Arc;

pub use write::payload_too_large;

use serde_json::Value;

use crate::access::{self, cache::{KeyCache, SharedKeys}};
use crate::api::ApiRoute;
use crate::error::{Code, MeiliError};
use crate::route::{classify, split_path, Method, Route};
use crate::settings::SettingsRoute;
use crate::shard_map::{NodeState, ShardMap};

/// Who a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `ShardMap::nodes[i]`.
    Node(usize),
    /// `ShardMap::nodes[i]`, called with Miroir's own key (the map's `nodeKey`) rather
    /// than the client's: bookkeeping the client's key may not allow, checked first.
    NodeAsMiroir(usize),
    /// The control plane (task registry).
    Control,
}

/// One HTTP request a flow wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub target: Target,
    pub method: Method,
    /// Path and query, already encoded.
    pub path: String,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
}

impl Call {
    pub fn get(target: Target, path: String) -> Call {
        Call { target, method: Method::Get, path, content_type: None, body: None }
    }

    pub fn json(target: Target, method: Method, path: String, body: Vec<u8>) -> Call {
        Call { target, method, path, content_type: Some("application/json".to_string()), body: Some(body) }
    }
}

/// What came back for a call. `status` 0 means no answer (reset, refused, unknown cluster).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The node is unusable for this request (no answer or a server error): try another.
    /// `501` is not: a node that does not implement a route answers for every node.
    pub fn is_unavailable(&self) -> bool {
        self.status == 0 || (self.status >= 500 && self.status != 501)
    }
}

/// The answer to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Response {
    pub fn json(status: u16, value: &Value) -> Response {
        Response { status, body: value.to_string().into_bytes(), headers: Vec::new() }
    }

    pub fn error(err: &MeiliError) -> Response {
        Response { status: err.status(), body: err.to_json().into_bytes(), headers: Vec::new() }
    }

    /// A node's answer, passed on as it is, but for Miroir's shard field in an error.
    pub fn relay(reply: Reply) -> Response {
        let body = match (reply.status >= 400, serde_json::from_slice::<Value>(&reply.body)) {
            (true, Ok(mut error)) if error.get("message").is_some() => {
                crate::scrub::scrub_error(&mut error);
                error.to_string().into_bytes()
            }
            _ => reply.body,
        };
        Response { status: reply.status, body, headers: Vec::new() }
    }
}

/// What a scatter-gather flow keeps of the client's request beyond its route.
pub(super) struct ClientRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub seed: u64,
    pub fail_when_degraded: bool,
}

impl ClientRequest {
    /// The request exactly as the client sent it, for one node: a request Miroir cannot
    /// read is answered by one node, so its refusal equals a single node's.
    fn as_sent(&self, node: usize, body: &[u8]) -> Call {
        let body = (self.method == Method::Post).then(|| body.to_vec());
        Call { target: Target::Node(node), method: self.method, path: self.path.clone(), content_type: self.content_type.clone(), body }
    }

    /// The client's JSON body as `parse` reads it; `None` for a body a node would refuse
    /// (content type, syntax), which is then left to a node to refuse.
    fn read_body<Q>(&self, body: &[u8], parse: impl FnOnce(Value) -> Option<Q>) -> Option<Q> {
        crate::json_body::check_content_type(self.content_type.as_deref()).ok()?;
        crate::json_body::parse::<Value>(body).ok().and_then(parse)
    }
}

/// A node's answer to [`ClientRequest::as_sent`]: `None` when the node is unavailable
/// (ask the next), else its refusal passed on, or Miroir's error when it accepted what
/// Miroir could not read (its answer would cover its own shards only). `what` names the
/// request in that error.
fn relayed(reply: Reply, what: &str) -> Option<Next> {
    if reply.is_unavailable() {
        return None;
    }
    if reply.status >= 400 {
        return Some(Next::Respond(Response::relay(reply)));
    }
    Some(MeiliError::new(Code::MiroirUnsupportedRoute, format!("Miroir does not support `{what}` with these parameters yet.")).into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Send(Vec<Call>),
    Respond(Response),
    /// Nothing to do until the body or the outstanding replies arrive.
    Wait,
}

impl From<MeiliError> for Next {
    fn from(err: MeiliError) -> Next {
        Next::Respond(Response::error(&err))
    }
}

pub trait Flow {
    /// The request's headers are in.
    fn start(&mut self) -> Next;
    /// The whole body is in (called once, after `start`, for every request).
    fn on_body(&mut self, _body: Vec<u8>) -> Next {
        Next::Wait
    }
    /// Every call of the last round answered, in call order.
    fn on_replies(&mut self, replies: Vec<Reply>) -> Next;
    /// The guard passed the client's key, whose `indexes` are `patterns` (before
    /// `start`): flows reading the task registry show only what the key may see.
    fn scope_indexes(&mut self, _patterns: &[String]) {}
}

/// What the flows need from the client request beyond its route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub method: String,
    /// Path and query as the client sent them.
    pub path: String,
    pub content_type: Option<String>,
    /// Varies per request: spreads reads over replicas and groups.
    pub seed: u64,
    /// `X-Miroir-Degraded-Policy: fail`: refuse rather than answer without some shards.
    pub fail_when_degraded: bool,
    /// The client's `Authorization` header.
    pub authorization: Option<String>,
    /// The write's version stamp (see [`crate::version`]), for routes that
    /// [`Route::is_stamped`]; 0 otherwise.
    pub version: u64,
    /// The host clock in milliseconds since the Unix epoch (0: unknown): judges keys'
    /// and tenant tokens' expiry, and the age of cached key views.
    pub now_ms: u64,
}

/// The flow serving a request.
pub fn for_request(map: Arc<ShardMap>, req: RequestInfo) -> Box<dyn Flow> {
    let route = classify(Method::parse(&req.method), &req.path);
    for_route(map, route, req)
}

/// The flow serving a request already classified (`route` is `classify` of it), with no
/// key views cached: see [`for_route_with`].
pub fn for_route(map: Arc<ShardMap>, route: Route, req: RequestInfo) -> Box<dyn Flow> {
    for_route_with(map, route, req, &KeyCache::shared())
}

/// The flow serving a request already classified; a request is refused before anything
/// reaches a node when the client's key does not allow it. `keys`: the key views this
/// filter instance already fetched.
/// A request naming an index a swap fences waits for the swap first (see [`fence`]).
pub fn for_route_with(map: Arc<ShardMap>, route: Route, req: RequestInfo, keys: &SharedKeys) -> Box<dyn Flow> {
    let keys = keys.clone();
    fence::guard(map, route, req, move |map, route, req| guarded(map, route, req, &keys))
}

fn guarded(map: Arc<ShardMap>, route: Route, req: RequestInfo, keys: &SharedKeys) -> Box<dyn Flow> {
    let need = access::need_of(&route, Method::parse(&req.method), &req.path);
    let check = auth::Check {
        authorization: req.authorization.clone(),
        content_type: req.content_type.clone(),
        now_ms: req.now_ms,
        multi_search: route == Route::MultiSearch,
    };
    let deleted_key = match &route {
        Route::Api(ApiRoute::KeyDelete { key }) => Some(key.clone()),
        _ => None,
    };
    let mut flow = build(map.clone(), route, req);
    if let Some(key) = deleted_key {
        flow = Box::new(Forgetting { key, keys: keys.clone(), inner: flow });
    }
    auth::guard(map, check, keys.clone(), need, flow)
}

/// `DELETE /keys/{key}`: once deleted, the key's cached view goes too.
struct Forgetting {
    key: String,
    keys: SharedKeys,
    inner: Box<dyn Flow>,
}

impl Forgetting {
    fn after(&self, next: Next) -> Next {
        if matches!(&next, Next::Respond(r) if r.status == 204) {
            self.keys.borrow_mut().forget(&self.key);
        }
        next
    }
}

impl Flow for Forgetting {
    fn start(&mut self) -> Next {
        let next = self.inner.start();
        self.after(next)
    }
    fn on_body(&mut self, body: Vec<u8>) -> Next {
        let next = self.inner.on_body(body);
        self.after(next)
    }
    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        let next = self.inner.on_replies(replies);
        self.after(next)
    }
}

fn build(map: Arc<ShardMap>, route: Route, req: RequestInfo) -> Box<dyn Flow> {
    let method = Method::parse(&req.method);
    let (_, query) = split_path(&req.path);
    let query = query.to_string();
    match route {
        Route::Health => Box::new(Fixed(Response::json(200, &serde_json::json!({"status": "available"})))),
        Route::Version => Box::new(any_node::AnyNode::new(map, req.path, SettingsRoute::Other)),
        Route::AnyNode { hide } => Box::new(any_node::AnyNode::new(map, req.path, hide)),
        Route::IndexStats { index } => Box::new(stats::IndexStats::new(map, &index)),
        Route::Search { index } => search_flow(map, index, false, method, req, query),
        Route::FacetSearch { index } => search_flow(map, index, true, method, req, query),
        Route::Browse { index } => Box::new(browse::Browse::new(map, index, client_request(method, req, query))),
        Route::Fields { index } => Box::new(fields::Fields::new(map, index, req.content_type, req.fail_when_degraded)),
        Route::Similar { index } => Box::new(similar::Similar::new(map, index, client_request(method, req, query))),
        Route::MultiSearch => Box::new(multi_search::MultiSearch::new(map, req.seed, req.fail_when_degraded)),
        Route::DocumentsWrite { index, mode } => Box::new(write::DocumentsWrite::new(
            map,
            write::WriteRequest { index, mode, query, content_type: req.content_type, version: req.version },
        )),
        Route::DocumentGet { index, id } => Box::new(point::DocumentGet::new(map, &index, &id, &query)),
        Route::DocumentDelete { index, id } => Box::new(point::DocumentDelete::new(map, &index, &id, &query, req.version)),
        Route::DocumentsDeleteBatch { index } => {
            Box::new(delete_batch::DeleteBatch::new(map, index, req.content_type, &query, req.version))
        }
        Route::Broadcast { index, kind, settings } => Box::new(broadcast::Broadcast::new(
            map,
            broadcast::Request { method, path: req.path, content_type: req.content_type },
            index,
            kind,
            settings,
        )),
        Route::SwapIndexes => Box::new(swap::SwapIndexes::new(req.content_type)),
        Route::Task { uid } => Box::new(task_get::TaskGet::new(map, &uid)),
        Route::Api(api) => instance::flow(map, api, req),
        Route::Unsupported { what } => Box::new(Fixed(Response::error(&MeiliError::new(
            Code::MiroirUnsupportedRoute,
            format!("Miroir does not support `{what}` yet."),
        )))),
    }
}

fn client_request(method: Method, req: RequestInfo, query: String) -> ClientRequest {
    ClientRequest { method, path: req.path, query, content_type: req.content_type, seed: req.seed, fail_when_degraded: req.fail_when_degraded }
}

fn search_flow(map: Arc<ShardMap>, index: String, facets: bool, method: Method, req: RequestInfo, query: String) -> Box<dyn Flow> {
    Box::new(search::Search::new(map, index, client_request(method, req, query), facets))
}

/// A flow whose answer is known from the headers.
pub(super) struct Fixed(pub(super) Response);

impl Flow for Fixed {
    fn start(&mut self) -> Next {
        Next::Respond(self.0.clone())
    }
    fn on_replies(&mut self, _: Vec<Reply>) -> Next {
        Next::Wait
    }
}

/// Nodes that may serve reads: up ones, serving nodes first (a joining node may not
/// have every index yet), in map order.
fn live_nodes(map: &ShardMap) -> Vec<usize> {
    let up = |serving: bool| {
        map.nodes.iter().enumerate().filter(move |(_, n)| n.state == NodeState::Up && n.role.serving() == serving).map(|(i, _)| i)
    };
    up(true).chain(up(false)).collect()
}

fn unavailable(what: &str) -> MeiliError {
    MeiliError::new(Code::MiroirNodeUnavailable, format!("No live Meilisearch node could serve {what}."))
}

/// Percent-encodes one path segment (index uids and document ids are usually plain).
pub fn encode_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// The `taskUid` of a node's 202 answer.
fn node_task_uid(reply: &Reply) -> Option<u64> {
    if reply.status != 202 {
        return None;
    }
    reply.json()?.get("taskUid")?.as_u64()
}

/// The first reply that is not an accepted task, as the client's answer.
fn first_refusal(replies: Vec<Reply>, what: &str) -> Response {
    match replies.into_iter().find(|r| node_task_uid(r).is_none()) {
        Some(r) if !r.is_unavailable() => Response::relay(r),
        _ => Response::error(&unavailable(what)),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod quorum_tests;
