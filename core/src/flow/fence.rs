//! Requests that name an index a swap is moving wait for it, then run under the map
//! that follows the swap.
//!
//! While the control plane swaps two indexes on the nodes, neither the old nor the new
//! placement is right for both names, so no read or write may touch them. A fenced
//! request asks the control plane (`GET /_miroir/fence?index=…`, a long poll) and gets
//! the newest shard map once the fence lifts; the request's flow is built only then.
//! The answer's node key is never sent: this Envoy's own is kept, and so are its nodes
//! (calls address nodes by their place in the Envoy's map), only the index entries and
//! the version are taken from the answer.

use std::sync::Arc;

use serde_json::Value;

use super::{encode_segment, Call, Flow, Next, Reply, RequestInfo, Target};
use crate::error::{Code, MeiliError};
use crate::route::{split_path, Route, TaskKind};
use crate::shard_map::ShardMap;
use crate::wire::FENCE_PATH;

/// Long polls a request makes before giving up (each one bounded by the control plane).
const MAX_POLLS: u32 = 60;

/// The indexes a request names in its path (`/indexes/{uid}/…`).
pub(super) fn path_index(path: &str) -> Option<String> {
    let (segments, _) = split_path(path);
    match segments.as_slice() {
        [first, uid, ..] if first == "indexes" => Some(uid.clone()),
        _ => None,
    }
}

/// The fenced index a body names, if any: a multi-search query's `indexUid`, or the
/// `uid` of an index creation (creating a swap's rename target while it runs could
/// reach some nodes before the swap and others after).
fn fenced_in_body(map: &ShardMap, body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let queries = value.get("queries").and_then(Value::as_array).into_iter().flatten().filter_map(|q| q.get("indexUid")?.as_str());
    let created = value.get("uid").and_then(Value::as_str);
    queries.chain(created).find(|uid| map.is_fenced(uid)).map(str::to_string)
}

/// Routes whose index is in the body.
fn names_index_in_body(route: &Route) -> bool {
    matches!(route, Route::MultiSearch | Route::Broadcast { kind: TaskKind::IndexCreation, .. })
}

/// How the request is built once no fence holds it.
pub(super) type Build = Box<dyn FnOnce(Arc<ShardMap>, Route, RequestInfo) -> Box<dyn Flow>>;

/// Wraps the request's flow when a fence may hold it; else builds it at once (boxing
/// `build` only for a request that waits).
pub(super) fn guard<F>(map: Arc<ShardMap>, route: Route, req: RequestInfo, build: F) -> Box<dyn Flow>
where
    F: FnOnce(Arc<ShardMap>, Route, RequestInfo) -> Box<dyn Flow> + 'static,
{
    if !map.indexes.values().any(|i| i.fenced) {
        return build(map, route, req);
    }
    let fenced = path_index(&req.path).filter(|uid| map.is_fenced(uid));
    let by_body = names_index_in_body(&route);
    if fenced.is_none() && !by_body {
        return build(map, route, req);
    }
    Box::new(Fenced { map, route: Some((route, req)), build: Some(Box::new(build)), inner: None, body: None, waiting_on: fenced, by_body, polls: 0 })
}

struct Fenced {
    map: Arc<ShardMap>,
    route: Option<(Route, RequestInfo)>,
    build: Option<Build>,
    inner: Option<Box<dyn Flow>>,
    body: Option<Vec<u8>>,
    /// The index whose fence the request waits on.
    waiting_on: Option<String>,
    /// A multi-search or an index creation: its indexes are known once the body is in.
    by_body: bool,
    polls: u32,
}

impl Fenced {
    fn poll(&mut self, index: &str) -> Next {
        self.polls += 1;
        if self.polls > MAX_POLLS {
            return MeiliError::new(Code::MiroirNodeUnavailable, format!("Index `{index}` is being swapped; try again.")).into();
        }
        Next::Send(vec![Call::get(Target::Control, format!("{FENCE_PATH}?index={}", encode_segment(index)))])
    }

    /// Builds the request's flow under `self.map` and replays what it has missed.
    fn run(&mut self) -> Next {
        let (Some((route, req)), Some(build)) = (self.route.take(), self.build.take()) else { return Next::Wait };
        let inner = self.inner.insert(build(self.map.clone(), route, req));
        let first = inner.start();
        let Some(body) = self.body.take() else { return first };
        match first {
            Next::Wait => inner.on_body(body),
            Next::Respond(r) => Next::Respond(r),
            Next::Send(calls) => match inner.on_body(body) {
                Next::Wait => Next::Send(calls),
                Next::Respond(r) => Next::Respond(r),
                Next::Send(_) => MeiliError::new(Code::Internal, "a flow sent two rounds at once").into(),
            },
        }
    }

    /// The Envoy's map with the index entries (and version) of the control plane's.
    fn adopt(&mut self, reply: &Reply) -> bool {
        let Ok(newer) = serde_json::from_slice::<ShardMap>(&reply.body) else { return false };
        if reply.status != 200 || newer.version < self.map.version {
            return false;
        }
        let mut map = (*self.map).clone();
        map.indexes = newer.indexes;
        map.version = newer.version;
        if map.validate().is_err() {
            return false;
        }
        self.map = Arc::new(map);
        true
    }
}

impl Flow for Fenced {
    fn start(&mut self) -> Next {
        match self.waiting_on.clone() {
            Some(index) => self.poll(&index),
            None => Next::Wait,
        }
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if let Some(inner) = self.inner.as_mut() {
            return inner.on_body(body);
        }
        if self.waiting_on.is_none() && self.by_body {
            self.waiting_on = fenced_in_body(&self.map, &body);
            self.body = Some(body);
            return match self.waiting_on.clone() {
                Some(index) => self.poll(&index),
                None => self.run(),
            };
        }
        self.body = Some(body);
        Next::Wait
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if let Some(inner) = self.inner.as_mut() {
            return inner.on_replies(replies);
        }
        let Some(index) = self.waiting_on.clone() else { return Next::Wait };
        let reply = replies.into_iter().next().unwrap_or_default();
        self.adopt(&reply);
        let still = if self.map.is_fenced(&index) {
            Some(index)
        } else {
            self.body.as_deref().filter(|_| self.by_body).and_then(|b| fenced_in_body(&self.map, b))
        };
        if let Some(index) = still {
            self.waiting_on = Some(index.clone());
            return self.poll(&index);
        }
        // A path request whose body has not arrived yet runs now; the body follows.
        if !self.by_body || self.body.is_some() {
            return self.run();
        }
        Next::Wait
    }
}

#[cfg(test)]
mod tests;
