//! `POST /multi-search` without `federation`: every query is a sharded search of its
//! own, all advancing together, one round of calls at a time; their answers become
//! `results` in query order. A query's error is the answer, prefixed as Meilisearch
//! prefixes it. A body a node would refuse outright goes to one node as it is.
//! With `federation`, [`federated::Federated`] serves it.

mod federated;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::search::Search;
use super::{encode_segment, live_nodes, unavailable, Call, ClientRequest, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::route::Method;
use crate::search::FederatedRequest;
use crate::shard_map::ShardMap;

enum Part {
    Calls(Vec<Call>),
    Done(Response),
}

pub(super) struct MultiSearch {
    map: Arc<ShardMap>,
    seed: u64,
    fail_when_degraded: bool,
    body: Vec<u8>,
    queries: Vec<Box<dyn Flow>>,
    parts: Vec<Part>,
    /// How many calls of the current round belong to each query.
    round: Vec<usize>,
    relaying: bool,
    federated: Option<federated::Federated>,
}

impl MultiSearch {
    pub fn new(map: Arc<ShardMap>, seed: u64, fail_when_degraded: bool) -> MultiSearch {
        MultiSearch { map, seed, fail_when_degraded, body: Vec::new(), queries: Vec::new(), parts: Vec::new(), round: Vec::new(), relaying: false, federated: None }
    }

    /// Lets one node answer (and refuse) the body as it is.
    fn relay(&mut self) -> Next {
        let Some(&node) = live_nodes(&self.map).first() else {
            return unavailable("this search").into();
        };
        self.relaying = true;
        Next::Send(vec![Call::json(Target::Node(node), Method::Post, "/multi-search".into(), self.body.clone())])
    }

    fn advance(&mut self, i: usize, next: Next) {
        self.parts[i] = match next {
            Next::Send(calls) => Part::Calls(calls),
            Next::Respond(r) => Part::Done(r),
            Next::Wait => Part::Done(Response::error(&MeiliError::new(Code::Internal, "a search stopped before answering"))),
        };
    }

    /// The next round: every unfinished query's calls; or the answer once all are done.
    fn next_round(&mut self) -> Next {
        self.round.clear();
        let mut calls = Vec::new();
        for part in &mut self.parts {
            match part {
                Part::Calls(pending) => {
                    self.round.push(pending.len());
                    calls.append(pending);
                }
                Part::Done(_) => self.round.push(0),
            }
        }
        if !calls.is_empty() {
            return Next::Send(calls);
        }
        self.answer()
    }

    fn answer(&mut self) -> Next {
        let mut results = Vec::with_capacity(self.parts.len());
        for (i, part) in self.parts.iter().enumerate() {
            let Part::Done(response) = part else { return Next::Wait };
            let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(&response.body) else {
                return Next::Respond(response.clone());
            };
            if response.status != 200 {
                return Next::Respond(prefixed(i, response.status, answer));
            }
            let mut result = Map::new();
            result.insert("indexUid".into(), self.index_uid(i));
            result.extend(answer);
            results.push(Value::Object(result));
        }
        let mut out = Map::new();
        out.insert("results".into(), Value::Array(results));
        Next::Respond(Response::json(200, &Value::Object(out)))
    }

    fn index_uid(&self, i: usize) -> Value {
        serde_json::from_slice::<Value>(&self.body).ok().and_then(|b| b["queries"].get(i)?.get("indexUid").cloned()).unwrap_or(Value::Null)
    }
}

/// A query's error as Meilisearch reports it from a multi-search: named by query, and a
/// missing index is a bad request there (`routes/multi_search.rs` passes 400 as its status).
///
/// Auth refusals: a missing or invalid key fails a multi-search as a whole, before any
/// query (so unprefixed); a valid key that may not search one query's index fails that
/// query with Meilisearch's generic "invalid" message.
fn prefixed(i: usize, status: u16, mut error: Map<String, Value>) -> Response {
    const INVALID: &str = "The provided API key is invalid.";
    let code = error.get("code").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(Value::String(message)) = error.get_mut("message") {
        match code.as_str() {
            "missing_authorization_header" => return Response::json(status, &Value::Object(error)),
            "invalid_api_key" if message == INVALID => return Response::json(status, &Value::Object(error)),
            "invalid_api_key" if message.starts_with("The API key cannot acces the index") => *message = format!("Inside `.queries[{i}]`: {INVALID}"),
            _ => *message = format!("Inside `.queries[{i}]`: {message}"),
        }
    }
    let status = if error.get("code").and_then(Value::as_str) == Some("index_not_found") { 400 } else { status };
    Response::json(status, &Value::Object(error))
}

impl Flow for MultiSearch {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        self.body = body;
        let parsed: Option<Value> = serde_json::from_slice(&self.body).ok();
        let Some(Value::Object(request)) = parsed else { return self.relay() };
        if request.get("federation").is_some_and(|f| !f.is_null()) {
            let Some(parsed) = FederatedRequest::from_value(&Value::Object(request)) else { return self.relay() };
            let flow = self.federated.insert(federated::Federated::new(self.map.clone(), self.seed, self.fail_when_degraded, self.body.clone(), parsed));
            return flow.on_body(Vec::new());
        }
        let Some(Value::Array(queries)) = request.get("queries") else { return self.relay() };
        // Refused by any node as a whole: let one node say how.
        let refused = |q: &Value| !q.get("indexUid").is_some_and(Value::is_string) || q.get("federationOptions").is_some_and(|o| !o.is_null());
        if queries.iter().any(refused) {
            return self.relay();
        }
        for (i, query) in queries.iter().enumerate() {
            let Some(Value::Object(query)) = Some(query) else { return self.relay() };
            let mut query = query.clone();
            let index = query.remove("indexUid").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let request = ClientRequest {
                method: Method::Post,
                path: format!("/indexes/{}/search", encode_segment(&index)),
                query: String::new(),
                content_type: Some("application/json".into()),
                seed: self.seed.wrapping_add(i as u64),
                fail_when_degraded: self.fail_when_degraded,
            };
            let mut flow: Box<dyn Flow> = Box::new(Search::new(self.map.clone(), index, request, false));
            flow.start();
            let next = flow.on_body(Value::Object(query).to_string().into_bytes());
            self.queries.push(flow);
            self.parts.push(Part::Done(Response::json(200, &Value::Null)));
            self.advance(i, next);
        }
        self.next_round()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if let Some(flow) = &mut self.federated {
            return flow.on_replies(replies);
        }
        if self.relaying {
            return match replies.into_iter().next() {
                Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
                _ => unavailable("this search").into(),
            };
        }
        let mut replies = replies.into_iter();
        let sizes = std::mem::take(&mut self.round);
        for (i, size) in sizes.into_iter().enumerate() {
            if size == 0 {
                continue;
            }
            let chunk: Vec<Reply> = replies.by_ref().take(size).collect();
            let next = self.queries[i].on_replies(chunk);
            self.advance(i, next);
        }
        self.next_round()
    }
}

#[cfg(test)]
mod auth_tests {
    use serde_json::json;

    use super::*;

    fn message(error: Value) -> (u16, Value) {
        let Value::Object(error) = error else { panic!() };
        let r = prefixed(1, 403, error);
        (r.status, serde_json::from_slice::<Value>(&r.body).unwrap()["message"].clone())
    }

    #[test]
    fn auth_refusals_read_as_on_one_node() {
        let invalid = json!({"code": "invalid_api_key", "message": "The provided API key is invalid."});
        assert_eq!(message(invalid), (403, json!("The provided API key is invalid.")));
        let index = json!({"code": "invalid_api_key", "message": "The API key cannot acces the index `b`, authorized indexes are [\"a\"]."});
        assert_eq!(message(index), (403, json!("Inside `.queries[1]`: The provided API key is invalid.")));
    }
}
