//! `POST`/`PUT /indexes/{uid}/documents`: one client batch, split by shard, one
//! request per node carrying every document of every shard that node holds.
//!
//! Rounds: probe the index on a live node (its primary key; the probe also meets the
//! node's auth check first, as Meilisearch checks auth before the payload) while the
//! body streams in; validate, stamp and split the whole batch; check the write quorum
//! (nothing is sent if a shard has too few owners taking writes); on a new index make
//! the shard field filterable; send the parts to every write owner not down; register
//! one task naming the owners that missed it; answer its summary, or the quorum error.

use std::sync::Arc;

use serde_json::json;

use crate::settings::bookkeeping_patch;
use super::quorum::{self, Owners};
use super::register::{refused_after_registering, registered, Part, TaskDraft, WriteScope};
use super::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::batch::{split, BatchError, PayloadFormat, PrimaryKeyInput, SplitBatch, SplitPlan};
use crate::error::{Code, MeiliError};
use crate::placement::IndexPlacement;
use crate::route::{query_param, Method, WriteMode};
use crate::shard_map::ShardMap;

/// What the probe learnt about the index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IndexState {
    Missing,
    Exists { primary_key: Option<String> },
}

#[derive(Debug)]
enum Stage {
    Probing { tried: usize },
    Probed(IndexState),
    Bookkeeping(SplitBatch),
    Writing,
    Registering,
    /// Registering a write that missed its quorum; then the error is the answer.
    RegisteringRefused(MeiliError),
}

pub(super) struct DocumentsWrite {
    map: Arc<ShardMap>,
    index: String,
    mode: WriteMode,
    query: String,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    stage: Stage,
    draft: TaskDraft,
    /// This write's version stamp.
    version: u64,
    placement: Option<IndexPlacement>,
    /// Shards the batch touches, and their write owners.
    shards: Vec<u32>,
    owners: Owners,
    /// The calls of the writing round.
    parts: Vec<Part>,
}

/// The client request, as the write flow needs it.
pub(super) struct WriteRequest {
    pub index: String,
    pub mode: WriteMode,
    pub query: String,
    pub content_type: Option<String>,
    pub version: u64,
}

impl DocumentsWrite {
    pub fn new(map: Arc<ShardMap>, req: WriteRequest) -> Self {
        let WriteRequest { index, mode, query, content_type, version } = req;
        let mut draft = TaskDraft::new(Some(index.clone()), "documentAdditionOrUpdate", 1);
        draft.record.custom_metadata = query_param(&query, "customMetadata");
        DocumentsWrite {
            map,
            index,
            mode,
            query,
            content_type,
            body: None,
            stage: Stage::Probing { tried: 0 },
            draft,
            version,
            placement: None,
            shards: Vec::new(),
            owners: Owners::default(),
            parts: Vec::new(),
        }
    }

    fn probe(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else {
            return unavailable("this write").into();
        };
        self.stage = Stage::Probing { tried: tried + 1 };
        Next::Send(vec![Call::get(Target::NodeAsMiroir(node), format!("/indexes/{}", encode_segment(&self.index)))])
    }

    /// Probe and body are both in: validate everything, then start writing.
    fn proceed(&mut self) -> Next {
        let (Stage::Probed(state), Some(body)) = (&self.stage, &self.body) else {
            return Next::Wait;
        };
        if let Err(e) = check_query(&self.query) {
            return e.into();
        }
        let csv_delimiter = query_param(&self.query, "csvDelimiter");
        let format = match PayloadFormat::from_request(self.content_type.as_deref(), csv_delimiter.as_deref()) {
            Ok(f) => f,
            Err(e) => return e.into(),
        };
        if body.len() as u64 > self.map.payload_limit_bytes {
            return payload_too_large(self.map.payload_limit_bytes).into();
        }
        let requested = query_param(&self.query, "primaryKey");
        let index_key = match state {
            IndexState::Exists { primary_key } => primary_key.as_deref(),
            IndexState::Missing => None,
        };
        let key = PrimaryKeyInput { index: index_key, requested: requested.as_deref() };
        let placement = IndexPlacement::compute(&self.map, &self.index);
        self.draft.record.copies = placement.copies() as u32;
        let missing = *state == IndexState::Missing;
        let plan = SplitPlan { placement: &placement, nodes: self.map.nodes.len(), version: self.version };
        let result = split(body, format, key, plan);
        if let Ok(batch) = &result {
            if let Err(e) = quorum::check_before(&self.map, &placement, &batch.shards, &self.index) {
                return e.into();
            }
            self.owners = quorum::owners(&self.map, &placement, &batch.shards);
            self.shards = batch.shards.clone();
        }
        self.placement = Some(placement);
        match result {
            Err(BatchError::Payload(e)) => e.into(),
            Err(BatchError::Task { error, documents }) => {
                // A node would accept the payload and fail the task: so does Miroir,
                // without sending anything anywhere.
                self.draft.record.error = Some(error.to_value());
                self.draft.record.details.insert("receivedDocuments".into(), json!(documents));
                self.draft.record.details.insert("indexedDocuments".into(), json!(0));
                self.stage = Stage::Registering;
                self.draft.register()
            }
            Ok(batch) => {
                self.draft.record.details.insert("receivedDocuments".into(), json!(batch.documents));
                self.body = None;
                if missing {
                    let path = format!("/indexes/{}/settings", encode_segment(&self.index));
                    let calls = self.writable_nodes().into_iter().map(|n| Call::json(Target::NodeAsMiroir(n), Method::Patch, path.clone(), bookkeeping_patch())).collect();
                    self.stage = Stage::Bookkeeping(batch);
                    Next::Send(calls)
                } else {
                    self.write(batch)
                }
            }
        }
    }

    /// Nodes that take writes (not down), in map order.
    fn writable_nodes(&self) -> Vec<usize> {
        self.map.nodes.iter().enumerate().filter(|(_, n)| n.state.takes_writes()).map(|(i, _)| i).collect()
    }

    /// Sends every node not down its part; nodes without documents get an empty one so
    /// that every node has the index with the same primary key. A rebalance target's
    /// documents travel in a part of their own, hidden from the task's counts.
    fn write(&mut self, batch: SplitBatch) -> Next {
        let mut query: Vec<(String, String)> =
            form_urlencoded::parse(self.query.as_bytes()).filter(|(k, _)| k != "primaryKey").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if let Some(key) = &batch.primary_key {
            query.push(("primaryKey".into(), key.clone()));
        }
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        let path = match query.is_empty() {
            true => format!("/indexes/{}/documents", encode_segment(&self.index)),
            false => format!("/indexes/{}/documents?{query}", encode_segment(&self.index)),
        };
        let method = match self.mode {
            WriteMode::Replace => Method::Post,
            WriteMode::Update => Method::Put,
        };
        let nodes = self.map.nodes.len();
        let writable = self.writable_nodes();
        let content_type = batch.content_type;
        let counts = batch.per_node.clone();
        let mut bodies: Vec<Option<Vec<u8>>> = batch.bodies.into_iter().map(Some).collect();
        let mut calls = Vec::new();
        self.parts.clear();
        for node in writable {
            let (serving, extra) = (counts.get(node).copied().unwrap_or(0), counts.get(nodes + node).copied().unwrap_or(0));
            for (slot, hidden, documents, send) in [(node, false, serving, serving > 0 || extra == 0), (nodes + node, true, extra, extra > 0)] {
                let Some(body) = bodies.get_mut(slot).and_then(Option::take).filter(|_| send) else { continue };
                calls.push(Call { target: Target::Node(node), method, path: path.clone(), content_type: Some(content_type.to_string()), body: Some(body) });
                self.parts.push(Part { node, hidden, documents: documents as u64 });
            }
        }
        self.stage = Stage::Writing;
        Next::Send(calls)
    }

    /// The write round's replies: node tasks, missed owners, the quorum; then register.
    fn written(&mut self, replies: Vec<Reply>) -> Next {
        let accepted = match self.draft.accept_writes(&self.map, &self.parts, replies) {
            Ok(accepted) => accepted,
            Err(refusal) => return Next::Respond(refusal),
        };
        let Some(placement) = self.placement.as_ref() else { return Next::Wait };
        let scope = WriteScope { map: &self.map, placement, shards: &self.shards, index: &self.index };
        self.stage = match self.draft.settle(&scope, &self.owners, &accepted) {
            Ok(()) => Stage::Registering,
            Err(e) => Stage::RegisteringRefused(e),
        };
        self.draft.register()
    }
}

/// The query parameters a documents write accepts, in Meilisearch's order.
const WRITE_PARAMS: [&str; 4] = ["primaryKey", "csvDelimiter", "customMetadata", "skipCreation"];

/// Refuses an unknown query parameter as Meilisearch does, before looking at the payload.
fn check_query(query: &str) -> Result<(), MeiliError> {
    match form_urlencoded::parse(query.as_bytes()).find(|(k, _)| !WRITE_PARAMS.contains(&k.as_ref())) {
        Some((unknown, _)) => {
            let expected: Vec<String> = WRITE_PARAMS.iter().map(|p| format!("`{p}`")).collect();
            Err(MeiliError::new(Code::BadRequest, format!("Unknown parameter `{unknown}`: expected one of {}", expected.join(", "))))
        }
        None => Ok(()),
    }
}

/// Meilisearch's refusal of a payload over the limit.
pub fn payload_too_large(limit: u64) -> MeiliError {
    MeiliError::new(
        Code::PayloadTooLarge,
        format!("The provided payload reached the size limit. The maximum accepted payload size is {}.", human_size(limit)),
    )
}

/// Sizes as Meilisearch prints them: "100 MB", "1 GiB".
fn human_size(bytes: u64) -> String {
    let (base, units): (f64, [&str; 4]) =
        if bytes.is_multiple_of(1024) { (1024.0, ["B", "KiB", "MiB", "GiB"]) } else { (1000.0, ["B", "KB", "MB", "GB"]) };
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= base && unit < units.len() - 1 {
        value /= base;
        unit += 1;
    }
    format!("{value} {}", units[unit])
}

impl Flow for DocumentsWrite {
    fn start(&mut self) -> Next {
        self.probe(0)
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        self.body = Some(body);
        self.proceed()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        let stage = std::mem::replace(&mut self.stage, Stage::Writing);
        match stage {
            Stage::Probing { tried } => {
                let reply = replies.into_iter().next().unwrap_or_default();
                let state = match reply.status {
                    200 => IndexState::Exists {
                        primary_key: reply.json().and_then(|v| v.get("primaryKey")?.as_str().map(str::to_string)),
                    },
                    404 => IndexState::Missing,
                    _ if reply.is_unavailable() => return self.probe(tried),
                    _ => return Next::Respond(Response::relay(reply)),
                };
                self.stage = Stage::Probed(state);
                self.proceed()
            }
            Stage::Bookkeeping(batch) => {
                let nodes = self.writable_nodes();
                if let Err(refusal) = self.draft.accept(&self.map, &nodes, replies, true) {
                    return Next::Respond(refusal);
                }
                self.write(batch)
            }
            Stage::Writing => self.written(replies),
            Stage::Registering => registered(replies),
            Stage::RegisteringRefused(e) => refused_after_registering(&e),
            Stage::Probed(state) => {
                self.stage = Stage::Probed(state);
                Next::Wait
            }
        }
    }
}
