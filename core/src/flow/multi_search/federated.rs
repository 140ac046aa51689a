//! `POST /multi-search` with `federation`: every node that serves some shard of a
//! searched index gets one federated request, its queries restricted to its shards
//! (see `crate::search::federated`), in the same round as each index's settings.
//! A node that fails or times out is left out and the round sent again; a shard no
//! live node holds is named in `X-Miroir-Degraded` (or fails the request with
//! `X-Miroir-Degraded-Policy: fail`). A node refusing its part means one Meilisearch
//! would refuse the request: the client's own body goes to one node, whose answer is
//! relayed, so the error is exactly a single node's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::fanout::{degraded, plan_read};
use crate::flow::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::search::{merge_federated, FederatedMerge, FederatedRequest, MergeSettings, NodeReply};
use crate::settings::{hide, SettingsRoute};
use crate::shard_map::ShardMap;

enum Slot {
    Settings(String),
    Search { node: usize, queries: Vec<usize> },
}

enum Stage {
    Searching(Vec<Slot>),
    Relaying { tried: usize },
    Done,
}

pub(super) struct Federated {
    map: Arc<ShardMap>,
    seed: u64,
    fail_when_degraded: bool,
    body: Vec<u8>,
    request: FederatedRequest,
    placements: BTreeMap<String, IndexPlacement>,
    settings: BTreeMap<String, MergeSettings>,
    settings_tried: usize,
    failed: BTreeSet<usize>,
    /// Each node's answer and the queries (by the client's numbering) it was sent.
    answers: Vec<(Vec<u8>, Vec<usize>)>,
    missing: BTreeSet<u32>,
    /// Node requests built before the settings were known were sent again.
    redone: bool,
    stage: Stage,
}

impl Federated {
    pub fn new(map: Arc<ShardMap>, seed: u64, fail_when_degraded: bool, body: Vec<u8>, request: FederatedRequest) -> Federated {
        let placements = request.indexes().into_iter().map(|i| (i.clone(), IndexPlacement::compute(&map, &i))).collect();
        Federated {
            map,
            seed,
            fail_when_degraded,
            body,
            request,
            placements,
            settings: BTreeMap::new(),
            settings_tried: 0,
            failed: BTreeSet::new(),
            answers: Vec::new(),
            missing: BTreeSet::new(),
            redone: false,
            stage: Stage::Done,
        }
    }

    /// Lets one node answer the client's request as sent.
    pub fn relay(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this search").into();
        };
        self.stage = Stage::Relaying { tried: tried + 1 };
        Next::Send(vec![Call::json(Target::Node(node), Method::Post, "/multi-search".into(), self.body.clone())])
    }

    fn setting(&self, index: &str) -> MergeSettings {
        self.settings.get(index).cloned().unwrap_or_default()
    }

    /// Which queries each node serves, and on which shards, avoiding failed nodes.
    fn plan(&mut self) -> BTreeMap<usize, Vec<(usize, Vec<u32>)>> {
        self.missing.clear();
        let mut per_node: BTreeMap<usize, Vec<(usize, Vec<u32>)>> = BTreeMap::new();
        for (index, placement) in &self.placements {
            let shards: Vec<u32> = (0..placement.shards).collect();
            // One plan per index: a document is served by one node for every query.
            let plan = plan_read(&self.map, placement, &shards, &self.failed, self.seed);
            self.missing.extend(plan.missing);
            for (i, _) in self.request.queries.iter().enumerate().filter(|(_, q)| q.index == *index) {
                for (node, shards) in &plan.per_node {
                    per_node.entry(*node).or_default().push((i, shards.clone()));
                }
            }
        }
        for parts in per_node.values_mut() {
            parts.sort_by_key(|(i, _)| *i);
        }
        per_node
    }

    /// Sends a round: every node's part, and the settings still unknown.
    fn search(&mut self) -> Next {
        self.answers.clear();
        let mut slots = Vec::new();
        let mut calls = Vec::new();
        let unknown: Vec<String> = self.placements.keys().filter(|i| !self.settings.contains_key(*i)).cloned().collect();
        if !unknown.is_empty() {
            let Some(&node) = live_nodes(&self.map).get(self.settings_tried) else {
                return unavailable("this search").into();
            };
            self.settings_tried += 1;
            for index in unknown {
                calls.push(Call::get(Target::Node(node), format!("/indexes/{}/settings", encode_segment(&index))));
                slots.push(Slot::Settings(index));
            }
        }
        let settings = self.settings.clone();
        let setting = move |index: &str| settings.get(index).cloned().unwrap_or_default();
        for (node, parts) in self.plan() {
            let body = self.request.node_body(&parts, &setting);
            calls.push(Call::json(Target::Node(node), Method::Post, "/multi-search".into(), body.to_string().into_bytes()));
            slots.push(Slot::Search { node, queries: parts.into_iter().map(|(i, _)| i).collect() });
        }
        if calls.is_empty() {
            return self.finish();
        }
        self.stage = Stage::Searching(slots);
        Next::Send(calls)
    }

    /// Whether node requests built with default settings lack an attribute the real
    /// settings make them retrieve (a hidden `distinct` attribute).
    fn needs_redo(&self) -> bool {
        (0..self.request.queries.len()).any(|i| {
            let index = &self.request.queries[i].index;
            self.request.added_attributes(i, &self.setting(index)) != self.request.added_attributes(i, &MergeSettings::default())
        })
    }

    fn finish(&mut self) -> Next {
        self.stage = Stage::Done;
        let missing: Vec<u32> = self.missing.iter().copied().collect();
        let headers = match degraded(&missing, "the searched indexes", self.fail_when_degraded) {
            Ok(headers) => headers,
            Err(e) => return e.into(),
        };
        let replies: Vec<NodeReply<'_>> = self.answers.iter().map(|(body, queries)| NodeReply { body, queries }).collect();
        match merge_federated(&self.request, &self.settings, &replies) {
            Ok(FederatedMerge::Answer(body)) => Next::Respond(Response { status: 200, body, headers }),
            Ok(FederatedMerge::Relay) => self.relay(0),
            Err(e) => e.into(),
        }
    }

    /// Reads one index's settings; `Err` means the client's request goes to a node.
    fn take_settings(&mut self, index: String, reply: Reply) -> Result<(), ()> {
        if reply.is_unavailable() {
            return Ok(()); // asked again in the next round
        }
        let mut value = reply.json().filter(|_| reply.status == 200).ok_or(())?;
        hide(SettingsRoute::All, &mut value);
        let settings = MergeSettings::from_settings(&value).map_err(|_| ())?;
        self.settings.insert(index, settings);
        Ok(())
    }

    fn on_search(&mut self, replies: Vec<Reply>, slots: Vec<Slot>) -> Next {
        let mut failed_any = false;
        for (slot, reply) in slots.into_iter().zip(replies) {
            match slot {
                Slot::Settings(index) => {
                    if self.take_settings(index, reply).is_err() {
                        return self.relay(0);
                    }
                }
                Slot::Search { queries, .. } if reply.status == 200 => self.answers.push((reply.body, queries)),
                Slot::Search { node, .. } if reply.is_unavailable() => {
                    self.failed.insert(node);
                    failed_any = true;
                }
                Slot::Search { .. } => return self.relay(0),
            }
        }
        let settings_known = self.placements.keys().all(|i| self.settings.contains_key(i));
        if settings_known && !self.redone && self.needs_redo() {
            self.redone = true;
            return self.search();
        }
        if failed_any || !settings_known {
            return self.search();
        }
        self.finish()
    }
}

impl Flow for Federated {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, _body: Vec<u8>) -> Next {
        self.search()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Searching(slots) => self.on_search(replies, slots),
            Stage::Relaying { tried } => match replies.into_iter().next() {
                Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
                _ => self.relay(tried),
            },
            Stage::Done => Next::Wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::flow::{for_request, Next, Reply, RequestInfo};

    fn shards_of(call_body: &Value, index: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for q in call_body["queries"].as_array().into_iter().flatten().filter(|q| q["indexUid"] == index) {
            let clause = q["filter"].as_array().and_then(|f| f.last()).and_then(Value::as_str).unwrap_or("");
            out.extend(crate::wire::shards_in_filter(clause).into_iter().map(u64::from));
        }
        out
    }

    #[test]
    fn every_shard_of_every_index_is_searched_once_and_the_answers_merge() {
        let map = std::sync::Arc::new(crate::testing::shard_map(3, 2, 1));
        let info = RequestInfo { method: "POST".into(), path: "/multi-search".into(), content_type: Some("application/json".into()), seed: 3, ..Default::default() };
        let mut flow = for_request(map, info);
        assert_eq!(flow.start(), Next::Wait);
        let body = json!({"federation": {}, "queries": [{"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "b"}, {"indexUid": "movies", "q": "c"}]});
        let Next::Send(round) = flow.on_body(body.to_string().into_bytes()) else { panic!("expected calls") };
        let settings: Vec<&str> = round.iter().filter(|c| c.path.ends_with("/settings")).map(|c| c.path.as_str()).collect();
        assert_eq!(settings, ["/indexes/books/settings", "/indexes/movies/settings"]);
        let searches: Vec<Value> =
            round.iter().filter(|c| c.path == "/multi-search").map(|c| serde_json::from_slice(c.body.as_deref().unwrap_or_default()).unwrap()).collect();
        for index in ["movies", "books"] {
            let mut all: Vec<u64> = searches.iter().flat_map(|b| shards_of(b, index)).collect();
            all.sort_unstable();
            let expected: Vec<u64> = if index == "movies" { (0..16).flat_map(|s| [s, s]).collect() } else { (0..16).collect() };
            assert_eq!(all, expected, "{index}: each shard once per query");
        }
        let replies = round
            .iter()
            .map(|c| match c.path.ends_with("/settings") {
                true => Reply { status: 200, body: b"{}".to_vec() },
                false => {
                    let hit = json!({"id": 1, "_federation": {"indexUid": "books", "queriesPosition": 0, "weightedRankingScore": 1.0},
                        "_rankingScore": 1.0, "_rankingScoreDetails": {"words": {"order": 0, "matchingWords": 1, "maxMatchingWords": 1, "score": 1.0}}});
                    let body = json!({"hits": [hit], "processingTimeMs": 1, "limit": 20, "offset": 0, "estimatedTotalHits": 1});
                    Reply { status: 200, body: body.to_string().into_bytes() }
                }
            })
            .collect();
        let Next::Respond(r) = flow.on_replies(replies) else { panic!("expected the answer") };
        let out: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(out["estimatedTotalHits"], json!(searches.len()));
        assert_eq!(out["hits"].as_array().map(Vec::len), Some(searches.len()));
    }

    #[test]
    fn a_node_failing_mid_request_is_left_out_and_the_round_sent_again() {
        let map = std::sync::Arc::new(crate::testing::shard_map(3, 2, 1));
        let info = RequestInfo { method: "POST".into(), path: "/multi-search".into(), content_type: Some("application/json".into()), seed: 1, ..Default::default() };
        let mut flow = for_request(map, info);
        flow.start();
        let body = json!({"federation": {}, "queries": [{"indexUid": "movies", "q": "a"}]});
        let Next::Send(round) = flow.on_body(body.to_string().into_bytes()) else { panic!("expected calls") };
        let empty = json!({"hits": [], "processingTimeMs": 1, "limit": 20, "offset": 0, "estimatedTotalHits": 0}).to_string().into_bytes();
        let failed = round.iter().find(|c| c.path == "/multi-search").map(|c| c.target).unwrap();
        let replies = round
            .iter()
            .map(|c| match (c.path.ends_with("/settings"), c.target == failed) {
                (true, _) => Reply { status: 200, body: b"{}".to_vec() },
                (false, true) => Reply { status: 0, body: Vec::new() },
                (false, false) => Reply { status: 200, body: empty.clone() },
            })
            .collect();
        let Next::Send(again) = flow.on_replies(replies) else { panic!("expected the round again") };
        assert!(again.iter().all(|c| c.target != failed && c.path == "/multi-search"), "{again:?}");
        let mut shards: Vec<u64> = again.iter().flat_map(|c| shards_of(&serde_json::from_slice(c.body.as_deref().unwrap_or_default()).unwrap(), "movies")).collect();
        shards.sort_unstable();
        assert_eq!(shards, (0..16).collect::<Vec<u64>>());
        let Next::Respond(r) = flow.on_replies(again.iter().map(|_| Reply { status: 200, body: empty.clone() }).collect()) else { panic!("expected the answer") };
        assert_eq!(r.status, 200);
        assert!(r.headers.is_empty(), "RF 2 covers every shard without the failed node: {:?}", r.headers);
    }
}
