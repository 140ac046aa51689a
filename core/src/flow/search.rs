//! `GET`/`POST /indexes/{uid}/search`: one request per node, restricted to the shards
//! that node serves for this request; the answers merged into the one a single
//! Meilisearch holding every document gives.
//!
//! Rounds: the searches, planned by [`crate::fanout`], together with the index's
//! settings from one live node (the merge needs them; a node query depends on them
//! only for a `distinct` attribute the client does not retrieve, and the searches are
//! sent again in that rare case); then, for every node that fails or times out, its
//! shards again on other live replicas. A shard with no live replica anywhere is left
//! out and named in `X-Miroir-Degraded`, or fails the request when the client asks
//! for that (`X-Miroir-Degraded-Policy: fail`). A node refusing the query (4xx) means a
//! single node would refuse it too: the client's own request goes to one node and its
//! answer is relayed, so the error is exactly a single node's.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::search_params::to_search_body;
use super::{encode_segment, live_nodes, unavailable, Call, ClientRequest, Flow, Next, Reply, Response, Target};
use crate::error::MeiliError;
use crate::fanout::{degraded, plan_read, ReadPlan};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::search::{merge_facet_search, merge_json, node_facet_search_query, node_query, MergeSettings, SearchQuery};
use crate::settings::{hide, SettingsRoute};
use crate::shard_map::ShardMap;

/// A search or a facet search: what each node is asked, and how answers merge.
enum Query {
    Search(SearchQuery),
    Facets(serde_json::Value),
}

impl Query {
    fn parse(facets: bool, body: serde_json::Value) -> Option<Query> {
        match facets {
            true => body.is_object().then_some(Query::Facets(body)),
            false => SearchQuery::from_value(body).ok().map(Query::Search),
        }
    }

    fn route(&self) -> &'static str {
        match self {
            Query::Search(_) => "search",
            Query::Facets(_) => "facet-search",
        }
    }

    fn node_body(&self, shards: &[u32], settings: &MergeSettings) -> Result<serde_json::Value, MeiliError> {
        match self {
            Query::Search(q) => node_query(q, shards, settings),
            Query::Facets(body) => node_facet_search_query(body, shards),
        }
    }

    /// Node queries built before the settings were known must be sent again.
    fn needs_settings_first(&self, settings: &MergeSettings) -> bool {
        match self {
            Query::Search(q) => q.added_attributes(settings) != q.added_attributes(&MergeSettings::default()),
            Query::Facets(_) => false,
        }
    }

    fn merge(&self, settings: &MergeSettings, bodies: &[&[u8]]) -> Result<Vec<u8>, MeiliError> {
        match self {
            Query::Search(q) => merge_json(q, settings, bodies),
            Query::Facets(request) => {
                let answers = bodies.iter().map(|b| serde_json::from_slice(b).unwrap_or_default()).collect();
                merge_facet_search(request, settings, answers).map(|v| v.to_string().into_bytes())
            }
        }
    }
}

/// One call of a search round.
enum Slot {
    Settings,
    Search { node: usize, shards: Vec<u32> },
}

enum Stage {
    AwaitBody,
    Searching { round: Vec<Slot> },
    Relaying { tried: usize },
}

pub(super) struct Search {
    map: Arc<ShardMap>,
    index: String,
    request: ClientRequest,
    /// A facet search (`POST /indexes/{uid}/facet-search`) rather than a search.
    facets: bool,
    body: Vec<u8>,
    query: Option<Query>,
    settings: Option<MergeSettings>,
    placement: IndexPlacement,
    stage: Stage,
    answers: Vec<Vec<u8>>,
    failed: BTreeSet<usize>,
    missing: Vec<u32>,
    /// Live nodes already asked for the settings.
    settings_tried: usize,
    /// The searches were sent again once the settings were known.
    redone: bool,
}

impl Search {
    pub fn new(map: Arc<ShardMap>, index: String, request: ClientRequest, facets: bool) -> Search {
        let placement = IndexPlacement::compute(&map, &index);
        Search {
            map,
            index,
            request,
            facets,
            body: Vec::new(),
            query: None,
            settings: None,
            placement,
            stage: Stage::AwaitBody,
            answers: Vec::new(),
            failed: BTreeSet::new(),
            missing: Vec::new(),
            settings_tried: 0,
            redone: false,
        }
    }

    /// Lets one node answer the client's request as sent.
    fn relay(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this search").into();
        };
        self.stage = Stage::Relaying { tried: tried + 1 };
        Next::Send(vec![self.request.as_sent(node, &self.body)])
    }

    /// Plans every shard and sends the first round.
    fn begin(&mut self) -> Next {
        let shards: Vec<u32> = (0..self.placement.shards).collect();
        let plan = plan_read(&self.map, &self.placement, &shards, &self.failed, self.request.seed);
        self.search(plan)
    }

    /// Sends a round: the planned searches, and the settings while they are unknown.
    fn search(&mut self, plan: ReadPlan) -> Next {
        self.missing.extend(plan.missing);
        let Some(query) = &self.query else {
            return self.relay(0);
        };
        let settings = self.settings.clone().unwrap_or_default();
        let path = format!("/indexes/{}/{}", encode_segment(&self.index), query.route());
        let mut round = Vec::new();
        let mut calls = Vec::new();
        if self.settings.is_none() {
            let Some(&node) = live_nodes(&self.map).get(self.settings_tried) else {
                return unavailable("this search").into();
            };
            self.settings_tried += 1;
            round.push(Slot::Settings);
            calls.push(Call::get(Target::NodeAsMiroir(node), format!("/indexes/{}/settings", encode_segment(&self.index))));
        }
        for (node, shards) in plan.per_node {
            match query.node_body(&shards, &settings) {
                Ok(body) => calls.push(Call::json(Target::Node(node), Method::Post, path.clone(), body.to_string().into_bytes())),
                Err(_) => return self.relay(0),
            }
            round.push(Slot::Search { node, shards });
        }
        if calls.is_empty() {
            return self.finish();
        }
        self.stage = Stage::Searching { round };
        Next::Send(calls)
    }

    fn finish(&mut self) -> Next {
        let headers = match degraded(&self.missing, &format!("index `{}`", self.index), self.request.fail_when_degraded) {
            Ok(headers) => headers,
            Err(e) => return e.into(),
        };
        let (Some(query), Some(settings)) = (&self.query, &self.settings) else {
            return Next::Wait;
        };
        let bodies: Vec<&[u8]> = self.answers.iter().map(Vec::as_slice).collect();
        match query.merge(settings, &bodies) {
            Ok(body) => Next::Respond(Response { status: 200, body, headers }),
            Err(e) => e.into(),
        }
    }

    /// Reads the index's settings; `Err` is the client's answer.
    fn take_settings(&mut self, reply: Reply) -> Result<(), Next> {
        if reply.is_unavailable() {
            return Ok(()); // asked again in the next round
        }
        if reply.status != 200 {
            return Err(Next::Respond(Response::relay(reply)));
        }
        let mut settings = reply.json().ok_or(Next::Wait)?;
        hide(SettingsRoute::All, &mut settings);
        let settings = MergeSettings::from_settings_json(settings.to_string().as_bytes()).map_err(|_| Next::Wait)?;
        self.settings = Some(settings);
        Ok(())
    }

    fn on_search(&mut self, replies: Vec<Reply>, round: Vec<Slot>) -> Next {
        let mut retry = Vec::new();
        for (slot, reply) in round.into_iter().zip(replies) {
            match slot {
                Slot::Settings => match self.take_settings(reply) {
                    Ok(()) => {}
                    Err(Next::Wait) => return self.relay(0),
                    Err(answer) => return answer,
                },
                Slot::Search { .. } if reply.status == 200 => self.answers.push(reply.body),
                Slot::Search { node, shards } if reply.is_unavailable() => {
                    self.failed.insert(node);
                    retry.extend(shards);
                }
                Slot::Search { .. } => return self.relay(0),
            }
        }
        // Queries sent before the settings were known need them only for a hidden
        // distinct attribute: then ask again with them.
        if let (Some(query), Some(settings)) = (&self.query, &self.settings) {
            if query.needs_settings_first(settings) && !self.redone {
                self.redone = true;
                self.answers.clear();
                return self.begin();
            }
        }
        if retry.is_empty() {
            return match self.settings {
                Some(_) => self.finish(),
                None => self.search(ReadPlan::default()),
            };
        }
        retry.sort_unstable();
        let plan = plan_read(&self.map, &self.placement, &retry, &self.failed, self.request.seed);
        self.search(plan)
    }
}

impl Flow for Search {
    fn start(&mut self) -> Next {
        if self.request.method == Method::Get {
            self.query = to_search_body(&self.request.query).and_then(|b| Query::parse(false, b));
            return match self.query {
                Some(_) => self.begin(),
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
        let facets = self.facets;
        self.query = self.request.read_body(&body, |b| Query::parse(facets, b));
        self.body = body;
        match self.query {
            Some(_) => self.begin(),
            None => self.relay(0),
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::AwaitBody) {
            Stage::Searching { round } => self.on_search(replies, round),
            Stage::Relaying { tried } => match replies.into_iter().next() {
                Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
                _ => self.relay(tried),
            },
            Stage::AwaitBody => Next::Wait,
        }
    }
}
