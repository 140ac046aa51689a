//! `GET`/`POST /indexes/{uid}/similar` (see [`crate::similar`] for why it becomes a
//! semantic search on every shard). Rounds: the index's primary key, the reference
//! document's embedding (from a live owner of its shard) and `maxTotalHits`; then one
//! search per shard on a live replica. Anything a node refuses, or Miroir cannot read,
//! sends the client's own request to a live owner of the reference document's shard —
//! it holds the document, so its error is a single node's; its success is never passed
//! on (it would cover its shards only).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{encode_segment, live_nodes, relayed, unavailable, Call, ClientRequest, Flow, Next, Reply, Response, Target};
use crate::fanout::{degraded, plan_read};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::{NodeState, ShardMap};
use crate::similar::{reference_vector, ShardHits, SimilarQuery};


/// What the first round learned.
struct Reference {
    primary_key: String,
    vector: Value,
    max_total_hits: u64,
}

enum Stage {
    AwaitBody,
    Reading { tried: usize },
    Searching { calls: Vec<(usize, u32)> },
    Relaying { tried: usize },
}

pub(super) struct Similar {
    map: Arc<ShardMap>,
    index: String,
    request: ClientRequest,
    body: Vec<u8>,
    query: Option<SimilarQuery>,
    placement: IndexPlacement,
    stage: Stage,
    reference: Option<Reference>,
    failed: BTreeSet<usize>,
    missing: Vec<u32>,
    answers: Vec<ShardHits>,
}

impl Similar {
    pub fn new(map: Arc<ShardMap>, index: String, request: ClientRequest) -> Similar {
        let placement = IndexPlacement::compute(&map, &index);
        Similar {
            map,
            index,
            request,
            body: Vec::new(),
            query: None,
            placement,
            stage: Stage::AwaitBody,
            reference: None,
            failed: BTreeSet::new(),
            missing: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// Live owners of the reference document's shard, or every live node without one.
    fn owners(&self) -> Vec<usize> {
        match &self.query {
            Some(q) => {
                let shard = self.placement.shard_of(&q.id);
                let live = |n: &usize| self.map.nodes.get(*n).is_some_and(|node| node.state == NodeState::Up);
                self.placement.owners_of(shard).iter().copied().filter(live).collect()
            }
            None => live_nodes(&self.map),
        }
    }

    fn read_reference(&mut self, tried: usize) -> Next {
        let (Some(query), Some(&owner), Some(&any)) = (&self.query, self.owners().get(tried), live_nodes(&self.map).get(tried)) else {
            return self.relay(0);
        };
        let index = encode_segment(&self.index);
        let calls = vec![
            Call::get(Target::Node(any), format!("/indexes/{index}")),
            Call::get(Target::Node(owner), format!("/indexes/{index}/documents/{}?retrieveVectors=true", encode_segment(&query.id))),
            Call::get(Target::Node(any), format!("/indexes/{index}/settings/pagination")),
        ];
        self.stage = Stage::Reading { tried: tried + 1 };
        Next::Send(calls)
    }

    fn on_reference(&mut self, tried: usize, replies: Vec<Reply>) -> Next {
        if replies.iter().any(Reply::is_unavailable) {
            return self.read_reference(tried);
        }
        let read = |i: usize| replies.get(i).filter(|r| r.status == 200).and_then(Reply::json);
        let (Some(index), Some(document), Some(pagination), Some(query)) = (read(0), read(1), read(2), &self.query) else {
            return self.relay(0);
        };
        let primary_key = index.get("primaryKey").and_then(Value::as_str).map(str::to_string);
        let vector = reference_vector(&document, &query.embedder);
        let max_total_hits = pagination.get("maxTotalHits").and_then(Value::as_u64);
        let (Some(primary_key), Some(vector), Some(max_total_hits)) = (primary_key, vector, max_total_hits) else {
            return self.relay(0);
        };
        self.reference = Some(Reference { primary_key, vector, max_total_hits });
        let shards: Vec<u32> = (0..self.placement.shards).collect();
        self.search(shards)
    }

    fn search(&mut self, shards: Vec<u32>) -> Next {
        let (Some(query), Some(reference)) = (&self.query, &self.reference) else { return self.relay(0) };
        let plan = plan_read(&self.map, &self.placement, &shards, &self.failed, self.request.seed);
        self.missing.extend(&plan.missing);
        let path = format!("/indexes/{}/search", encode_segment(&self.index));
        let mut calls = Vec::new();
        let mut sent = Vec::new();
        for (node, shards) in plan.per_node {
            for shard in shards {
                let (body, _) = query.shard_search(shard, &reference.vector, &reference.primary_key);
                calls.push(Call::json(Target::Node(node), Method::Post, path.clone(), body.to_string().into_bytes()));
                sent.push((node, shard));
            }
        }
        if calls.is_empty() {
            return self.finish();
        }
        self.stage = Stage::Searching { calls: sent };
        Next::Send(calls)
    }

    fn on_search(&mut self, sent: Vec<(usize, u32)>, replies: Vec<Reply>) -> Next {
        let mut retry = Vec::new();
        for ((node, shard), reply) in sent.into_iter().zip(replies) {
            if reply.is_unavailable() {
                self.failed.insert(node);
                retry.push(shard);
                continue;
            }
            let Some(hits) = (reply.status == 200).then(|| parse_hits(&reply.body, shard)).flatten() else {
                return self.relay(0);
            };
            self.answers.push(hits);
        }
        if retry.is_empty() {
            return self.finish();
        }
        self.search(retry)
    }

    fn finish(&mut self) -> Next {
        let (Some(query), Some(reference)) = (&self.query, &self.reference) else { return Next::Wait };
        let headers = match degraded(&self.missing, &format!("index `{}`", self.index), self.request.fail_when_degraded) {
            Ok(headers) => headers,
            Err(e) => return e.into(),
        };
        let added = query.adds_primary_key(&reference.primary_key);
        let answer = query.merge(std::mem::take(&mut self.answers), &reference.primary_key, added, reference.max_total_hits);
        Next::Respond(Response { status: 200, body: answer.to_string().into_bytes(), headers })
    }

    fn relay(&mut self, tried: usize) -> Next {
        let Some(&node) = self.owners().get(tried) else {
            return unavailable("this similar search").into();
        };
        self.stage = Stage::Relaying { tried: tried + 1 };
        Next::Send(vec![self.request.as_sent(node, &self.body)])
    }

    fn on_relayed(&mut self, tried: usize, reply: Reply) -> Next {
        let what = format!("{} /indexes/{}/similar", self.request.method.as_str(), self.index);
        relayed(reply, &what).unwrap_or_else(|| self.relay(tried))
    }
}

/// A shard's hits and its `estimatedTotalHits`.
fn parse_hits(body: &[u8], shard: u32) -> Option<ShardHits> {
    let mut answer: BTreeMap<String, Value> = serde_json::from_slice(body).ok()?;
    let total = answer.get("estimatedTotalHits")?.as_u64()?;
    let Value::Array(hits) = answer.remove("hits")? else { return None };
    let hits = hits.into_iter().map(|h| match h {
        Value::Object(m) => Some(m),
        _ => None,
    });
    Some(ShardHits { shard, hits: hits.collect::<Option<Vec<_>>>()?, total })
}

impl Flow for Similar {
    fn start(&mut self) -> Next {
        if self.request.method != Method::Get {
            return Next::Wait;
        }
        self.query = SimilarQuery::from_query_string(&self.request.query);
        self.read_reference(0)
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if self.request.method == Method::Get || !matches!(self.stage, Stage::AwaitBody) {
            return Next::Wait;
        }
        self.query = self.request.read_body(&body, SimilarQuery::from_body);
        self.body = body;
        self.read_reference(0)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::AwaitBody) {
            Stage::Reading { tried } => self.on_reference(tried, replies),
            Stage::Searching { calls } => self.on_search(calls, replies),
            Stage::Relaying { tried } => self.on_relayed(tried, replies.into_iter().next().unwrap_or_default()),
            Stage::AwaitBody => Next::Wait,
        }
    }
}

#[cfg(test)]
#[path = "similar_tests.rs"]
mod tests;
