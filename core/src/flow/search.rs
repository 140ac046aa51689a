//! `GET`/`POST /indexes/{uid}/search`: one request per node, restricted to the shards
//! that node serves for this request; the answers merged into the one a single
//! Meilisearch holding every document gives.
//!
//! Rounds: the index's settings from one live node (the merge needs them); the
//! searches, planned by [`crate::fanout`]; for every node that fails or times out, its
//! shards again on other live replicas. A shard with no live replica anywhere is left
//! out and named in `X-Miroir-Degraded`, or fails the request when the client asks
//! for that (`X-Miroir-Degraded-Policy: fail`). A node refusing the query (4xx) means a
//! single node would refuse it too: the client's own request goes to one node and its
//! answer is relayed, so the error is exactly a single node's.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::search_params::to_search_body;
use super::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::fanout::{degraded_header, plan_read, ReadPlan};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::search::{merge_json, node_query, MergeSettings, SearchQuery};
use crate::settings::{hide, SettingsRoute};
use crate::shard_map::ShardMap;
use crate::wire::DEGRADED_HEADER;

/// What the flow knows about the request beyond its route.
pub(super) struct SearchRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub seed: u64,
    pub fail_when_degraded: bool,
}

enum Stage {
    AwaitBody,
    Settings { tried: usize },
    Searching { round: Vec<(usize, Vec<u32>)> },
    Relaying { tried: usize },
}

pub(super) struct Search {
    map: Arc<ShardMap>,
    index: String,
    request: SearchRequest,
    body: Vec<u8>,
    query: Option<SearchQuery>,
    settings: Option<MergeSettings>,
    placement: IndexPlacement,
    stage: Stage,
    answers: Vec<Vec<u8>>,
    failed: BTreeSet<usize>,
    missing: Vec<u32>,
}

impl Search {
    pub fn new(map: Arc<ShardMap>, index: String, request: SearchRequest) -> Search {
        let placement = IndexPlacement::compute(&map, &index);
        Search {
            map,
            index,
            request,
            body: Vec::new(),
            query: None,
            settings: None,
            placement,
            stage: Stage::AwaitBody,
            answers: Vec::new(),
            failed: BTreeSet::new(),
            missing: Vec::new(),
        }
    }

    fn ask_settings(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this search").into();
        };
        self.stage = Stage::Settings { tried: tried + 1 };
        Next::Send(vec![Call::get(Target::Node(node), format!("/indexes/{}/settings", encode_segment(&self.index)))])
    }

    /// Lets one node answer the client's request as sent.
    fn relay(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this search").into();
        };
        self.stage = Stage::Relaying { tried: tried + 1 };
        let body = (self.request.method == Method::Post).then(|| self.body.clone());
        let content_type = self.request.content_type.clone();
        Next::Send(vec![Call { target: Target::Node(node), method: self.request.method, path: self.request.path.clone(), content_type, body }])
    }

    fn search(&mut self, plan: ReadPlan) -> Next {
        self.missing.extend(plan.missing);
        let (Some(query), Some(settings)) = (&self.query, &self.settings) else {
            return self.relay(0);
        };
        if plan.per_node.is_empty() {
            return self.finish();
        }
        let path = format!("/indexes/{}/search", encode_segment(&self.index));
        let mut calls = Vec::with_capacity(plan.per_node.len());
        for (node, shards) in &plan.per_node {
            match node_query(query, shards, settings) {
                Ok(body) => calls.push(Call::json(Target::Node(*node), Method::Post, path.clone(), body.to_string().into_bytes())),
                Err(_) => return self.relay(0),
            }
        }
        self.stage = Stage::Searching { round: plan.per_node.into_iter().collect() };
        Next::Send(calls)
    }

    fn finish(&mut self) -> Next {
        self.missing.sort_unstable();
        if !self.missing.is_empty() && self.request.fail_when_degraded {
            return MeiliError::new(
                Code::MiroirShardsUnavailable,
                format!("No live replica holds shards {:?} of index `{}`.", self.missing, self.index),
            )
            .into();
        }
        let (Some(query), Some(settings)) = (&self.query, &self.settings) else {
            return Next::Wait;
        };
        let bodies: Vec<&[u8]> = self.answers.iter().map(Vec::as_slice).collect();
        match merge_json(query, settings, &bodies) {
            Ok(body) => {
                let headers = degraded_header(&self.missing).map(|v| (DEGRADED_HEADER.to_string(), v)).into_iter().collect();
                Next::Respond(Response { status: 200, body, headers })
            }
            Err(e) => e.into(),
        }
    }

    fn on_settings(&mut self, reply: Reply, tried: usize) -> Next {
        if reply.is_unavailable() {
            return self.ask_settings(tried);
        }
        if reply.status != 200 {
            return Next::Respond(Response::relay(reply));
        }
        let Some(mut settings) = reply.json() else { return self.relay(0) };
        hide(SettingsRoute::All, &mut settings);
        match MergeSettings::from_settings_json(settings.to_string().as_bytes()) {
            Ok(settings) => self.settings = Some(settings),
            Err(_) => return self.relay(0),
        }
        let shards: Vec<u32> = (0..self.placement.shards).collect();
        let plan = plan_read(&self.map, &self.placement, &shards, &self.failed, self.request.seed);
        self.search(plan)
    }

    fn on_search(&mut self, replies: Vec<Reply>, round: Vec<(usize, Vec<u32>)>) -> Next {
        let mut retry = Vec::new();
        for ((node, shards), reply) in round.into_iter().zip(replies) {
            if reply.status == 200 {
                self.answers.push(reply.body);
            } else if reply.is_unavailable() {
                self.failed.insert(node);
                retry.extend(shards);
            } else {
                return self.relay(0);
            }
        }
        if retry.is_empty() {
            return self.finish();
        }
        retry.sort_unstable();
        let plan = plan_read(&self.map, &self.placement, &retry, &self.failed, self.request.seed);
        self.search(plan)
    }
}

impl Flow for Search {
    fn start(&mut self) -> Next {
        if self.request.method == Method::Get {
            self.query = to_search_body(&self.request.query).and_then(|b| SearchQuery::from_value(b).ok());
            return match self.query {
                Some(_) => self.ask_settings(0),
                None => self.relay(0),
            };
        }
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if !matches!(self.stage, Stage::AwaitBody) || self.request.method == Method::Get {
            return Next::Wait;
        }
        // A body a node would refuse (content type included) is left to a node to refuse.
        let json = crate::json_body::check_content_type(self.request.content_type.as_deref()).is_ok();
        self.query = if json { SearchQuery::from_json(&body).ok() } else { None };
        self.body = body;
        match self.query {
            Some(_) => self.ask_settings(0),
            None => self.relay(0),
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::AwaitBody) {
            Stage::Settings { tried } => self.on_settings(replies.into_iter().next().unwrap_or_default(), tried),
            Stage::Searching { round } => self.on_search(replies, round),
            Stage::Relaying { tried } => match replies.into_iter().next() {
                Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
                _ => self.relay(tried),
            },
            Stage::AwaitBody => Next::Wait,
        }
    }
}
