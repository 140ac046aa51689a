//! `GET /indexes/{uid}/documents` and `POST /indexes/{uid}/documents/fetch`: every
//! shard asked on one live replica, the answers merged into one order with the
//! client's page cut once (see [`crate::browse`] for the order and the rounds).
//!
//! A node refusing a shard's request (4xx) means one node would refuse the client's:
//! the client's own request then goes to one node and its error is relayed, so the
//! error is exactly a single node's (positions in a filter error included). A node that
//! fails or times out has its shards asked again on other live replicas; a shard with
//! no live replica is left out and named in `X-Miroir-Degraded`, or fails the request
//! under `X-Miroir-Degraded-Policy: fail`, as for search.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{encode_segment, live_nodes, relayed, unavailable, Call, ClientRequest, Flow, Next, Reply, Response, Target};
use crate::browse::{client_document, merge_sorted, window_slices, BrowseQuery, ShardSlice};
use crate::fanout::{degraded, plan_read};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::ShardMap;
use crate::wire::{decode_shard, SHARD_FIELD};

/// Unsorted pages ending this deep take one round (every shard sends its first
/// `offset + limit` documents with its count) rather than counts first, then the page.
const PREFIX_DEPTH: u64 = 100;


/// What a round asks every shard for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Unsorted, shallow page: every shard's count and first `offset + limit` documents
    /// in one round.
    Prefix,
    /// Unsorted, first round: counts only.
    Counts,
    /// Unsorted, second round: the slices under the client's page.
    Window,
    /// Sorted: every node's first `offset + limit` documents of its shards.
    Sorted,
}

enum Stage {
    AwaitBody,
    /// Each call: its node and the slices it asks for (one, or a node's shards when sorted).
    Fetching { round: Round, calls: Vec<(usize, Vec<ShardSlice>)> },
    Relaying { tried: usize },
}

pub(super) struct Browse {
    map: Arc<ShardMap>,
    index: String,
    request: ClientRequest,
    body: Vec<u8>,
    query: Option<BrowseQuery>,
    placement: IndexPlacement,
    stage: Stage,
    failed: BTreeSet<usize>,
    missing: Vec<u32>,
    /// Unsorted: each shard's count. Sorted: the nodes' totals summed in `sorted_total`.
    totals: BTreeMap<u32, u64>,
    sorted_total: u64,
    documents: BTreeMap<u32, Vec<Map<String, Value>>>,
    /// Fields added to the client's `fields` for the merge.
    added: Vec<String>,
}

impl Browse {
    pub fn new(map: Arc<ShardMap>, index: String, request: ClientRequest) -> Browse {
        let placement = IndexPlacement::compute(&map, &index);
        Browse {
            map,
            index,
            request,
            body: Vec::new(),
            query: None,
            placement,
            stage: Stage::AwaitBody,
            failed: BTreeSet::new(),
            missing: Vec::new(),
            totals: BTreeMap::new(),
            sorted_total: 0,
            documents: BTreeMap::new(),
            added: Vec::new(),
        }
    }

    fn begin(&mut self) -> Next {
        let Some(query) = &self.query else { return self.relay(0) };
        let (round, depth) = match (query.is_sorted(), query.depth()) {
            (true, depth) => (Round::Sorted, depth),
            (false, depth) if depth <= PREFIX_DEPTH => (Round::Prefix, depth),
            (false, _) => (Round::Counts, 0),
        };
        let slices = (0..self.placement.shards).map(|shard| ShardSlice { shard, offset: 0, limit: depth }).collect();
        self.fetch(round, slices)
    }

    /// Sends a round: each slice to one live replica of its shard, in one call per node
    /// when sorted, else one call per slice.
    fn fetch(&mut self, round: Round, slices: Vec<ShardSlice>) -> Next {
        let Some(query) = &self.query else { return self.relay(0) };
        let shards: Vec<u32> = slices.iter().map(|s| s.shard).collect();
        let plan = plan_read(&self.map, &self.placement, &shards, &self.failed, self.request.seed);
        self.missing.extend(&plan.missing);
        let node_of: BTreeMap<u32, usize> = plan.per_node.iter().flat_map(|(n, ss)| ss.iter().map(move |s| (*s, *n))).collect();
        let mut groups: Vec<(usize, Vec<ShardSlice>)> = Vec::new();
        for slice in slices {
            let Some(&node) = node_of.get(&slice.shard) else { continue };
            match groups.iter_mut().find(|(n, _)| *n == node && round == Round::Sorted) {
                Some((_, group)) => group.push(slice),
                None => groups.push((node, vec![slice])),
            }
        }
        let path = format!("/indexes/{}/documents/fetch", encode_segment(&self.index));
        let mut calls = Vec::new();
        for (node, group) in &groups {
            let shards: Vec<u32> = group.iter().map(|s| s.shard).collect();
            let (offset, limit) = group.first().map_or((0, 0), |s| (s.offset, s.limit));
            let (body, added) = query.node_body(&shards, offset, limit);
            self.added = added;
            calls.push(Call::json(Target::Node(*node), Method::Post, path.clone(), body.to_string().into_bytes()));
        }
        let sent = groups;
        if calls.is_empty() {
            return self.after_round(round);
        }
        self.stage = Stage::Fetching { round, calls: sent };
        Next::Send(calls)
    }

    fn on_fetch(&mut self, round: Round, sent: Vec<(usize, Vec<ShardSlice>)>, replies: Vec<Reply>) -> Next {
        let mut retry = Vec::new();
        for ((node, slices), reply) in sent.into_iter().zip(replies) {
            if reply.is_unavailable() {
                self.failed.insert(node);
                retry.extend(slices);
                continue;
            }
            let Some((total, docs)) = (reply.status == 200).then(|| parse_page(&reply.body)).flatten() else {
                return self.relay(0);
            };
            match (round, slices.as_slice()) {
                (Round::Counts, [slice]) => drop(self.totals.insert(slice.shard, total)),
                (Round::Prefix, [slice]) => {
                    self.totals.insert(slice.shard, total);
                    self.documents.insert(slice.shard, docs);
                }
                (Round::Window, [slice]) => drop(self.documents.insert(slice.shard, docs)),
                (Round::Sorted, _) => {
                    self.sorted_total = self.sorted_total.saturating_add(total);
                    for doc in docs {
                        let Some(shard) = doc.get(SHARD_FIELD).and_then(decode_shard) else {
                            return self.relay(0);
                        };
                        self.documents.entry(shard).or_default().push(doc);
                    }
                }
                _ => return self.relay(0),
            }
        }
        if retry.is_empty() {
            return self.after_round(round);
        }
        self.fetch(round, retry)
    }

    fn after_round(&mut self, round: Round) -> Next {
        let Some(query) = &self.query else { return Next::Wait };
        match round {
            Round::Counts => {
                let totals: Vec<(u32, u64)> = self.totals.iter().map(|(s, t)| (*s, *t)).collect();
                let slices = window_slices(&totals, query.offset, query.limit);
                if slices.is_empty() {
                    return self.finish(Vec::new());
                }
                self.fetch(Round::Window, slices)
            }
            Round::Prefix => {
                let skip = usize::try_from(query.offset).unwrap_or(usize::MAX);
                let take = usize::try_from(query.limit).unwrap_or(usize::MAX);
                let docs = std::mem::take(&mut self.documents).into_values().flatten().skip(skip).take(take).collect();
                self.finish(docs)
            }
            Round::Window => {
                let docs = std::mem::take(&mut self.documents).into_values().flatten().collect();
                self.finish(docs)
            }
            Round::Sorted => {
                let lists = std::mem::take(&mut self.documents).into_iter().collect();
                let docs = merge_sorted(lists, &query.sort, query.offset, query.limit);
                self.finish(docs)
            }
        }
    }

    fn finish(&mut self, docs: Vec<Map<String, Value>>) -> Next {
        let Some(query) = &self.query else { return Next::Wait };
        let headers = match degraded(&self.missing, &format!("index `{}`", self.index), self.request.fail_when_degraded) {
            Ok(headers) => headers,
            Err(e) => return e.into(),
        };
        let results = docs.into_iter().map(|d| client_document(d, &self.added)).collect();
        let total = self.totals.values().sum::<u64>().saturating_add(self.sorted_total);
        let answer = query.answer(results, total);
        Next::Respond(Response { status: 200, body: answer.to_string().into_bytes(), headers })
    }

    /// Lets one node answer the client's request as sent: only its refusal is passed on.
    fn relay(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this documents browse").into();
        };
        self.stage = Stage::Relaying { tried: tried + 1 };
        Next::Send(vec![self.request.as_sent(node, &self.body)])
    }

    fn on_relayed(&mut self, tried: usize, reply: Reply) -> Next {
        let what = format!("{} {}", self.request.method.as_str(), self.request.path.split('?').next().unwrap_or_default());
        relayed(reply, &what).unwrap_or_else(|| self.relay(tried))
    }
}

/// `total` and `results` of a node's browse answer.
fn parse_page(body: &[u8]) -> Option<(u64, Vec<Map<String, Value>>)> {
    let mut page: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let total = page.get("total")?.as_u64()?;
    let Value::Array(results) = page.remove("results")? else { return None };
    let docs = results.into_iter().map(|d| match d {
        Value::Object(m) => Some(m),
        _ => None,
    });
    Some((total, docs.collect::<Option<Vec<_>>>()?))
}

impl Flow for Browse {
    fn start(&mut self) -> Next {
        if self.request.method != Method::Get {
            return Next::Wait;
        }
        self.query = BrowseQuery::from_query_string(&self.request.query);
        self.begin()
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if self.request.method == Method::Get || !matches!(self.stage, Stage::AwaitBody) {
            return Next::Wait;
        }
        self.query = self.request.read_body(&body, BrowseQuery::from_body);
        self.body = body;
        self.begin()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::AwaitBody) {
            Stage::Fetching { round, calls } => self.on_fetch(round, calls, replies),
            Stage::Relaying { tried } => self.on_relayed(tried, replies.into_iter().next().unwrap_or_default()),
            Stage::AwaitBody => Next::Wait,
        }
    }
}

#[cfg(test)]
#[path = "browse_tests.rs"]
mod tests;
