//! Document batches: read a client payload once, validate all of it, and split it into
//! one payload per node carrying the documents of every shard that node holds, each
//! stamped with its shard and the write's version.
//!
//! Meilisearch checks a payload's syntax while receiving it (a bad one is refused at
//! once with 400/415/413) and checks primary keys and ids later, in the task (a bad
//! one makes the task fail). [`BatchError`] keeps that distinction so Miroir answers
//! each the way a node would; either way nothing reaches any node.

mod csv;
mod format;
mod json;
mod members;
mod primary_key;

pub use format::PayloadFormat;
pub use primary_key::{KeySource, PrimaryKeyInput};

use crate::error::{Code, MeiliError};
use crate::placement::IndexPlacement;
use crate::wire::{encode_shard, encode_version, SHARD_FIELD, VERSION_FIELD};

/// Why a batch cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Refused synchronously, with this error's HTTP status.
    #[error("payload refused: {0}")]
    Payload(MeiliError),
    /// Accepted by a node, then failed in its task: answer 202 and a failed task.
    #[error("task would fail: {error}")]
    Task { error: MeiliError, documents: usize },
}

/// Where a batch goes and what it is stamped with.
#[derive(Debug, Clone, Copy)]
pub struct SplitPlan<'p> {
    pub placement: &'p IndexPlacement,
    /// `ShardMap::nodes.len()`.
    pub nodes: usize,
    /// The write's version stamp, written into every document as [`VERSION_FIELD`]
    /// (encoded by [`encode_version`]).
    pub version: u64,
}

/// A batch split per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitBatch {
    /// The primary key every node is told to use; none for a batch without documents
    /// on an index without one (Meilisearch then leaves the key unset).
    pub primary_key: Option<String>,
    /// Documents in the client's payload.
    pub documents: usize,
    /// Payloads in `content_type`, two per node: `bodies[node]` carries the documents
    /// of shards `ShardMap::nodes[node]` serves (it is in their `owners`);
    /// `bodies[nodes + node]` those it only takes writes for (a rebalance target), kept
    /// apart so that they do not count in the task's details.
    pub bodies: Vec<Vec<u8>>,
    /// Documents in each payload, same layout as `bodies`.
    pub per_node: Vec<usize>,
    /// Shards with at least one document, ascending.
    pub shards: Vec<u32>,
    pub content_type: &'static str,
}

impl SplitBatch {
    /// The node a payload of `bodies` goes to, and whether it is a rebalance target's part.
    pub fn part_of(&self, slot: usize) -> (usize, bool) {
        let nodes = self.bodies.len() / 2;
        if slot < nodes {
            (slot, false)
        } else {
            (slot - nodes, true)
        }
    }
}

/// Validates `body` and splits it by the write owners of each document's shard.
pub fn split(body: &[u8], format: PayloadFormat, key: PrimaryKeyInput<'_>, plan: SplitPlan<'_>) -> Result<SplitBatch, BatchError> {
    if body.is_empty() {
        return Err(BatchError::Payload(MeiliError::new(
            Code::MissingPayload,
            format!("A {} payload is missing.", format.name()),
        )));
    }
    match format {
        PayloadFormat::Json | PayloadFormat::Ndjson => json::split(body, format, key, plan),
        PayloadFormat::Csv { delimiter } => csv::split(body, delimiter, key, plan),
    }
}

/// Collects the first task-level error while the rest of the payload is still checked
/// for syntax, because a syntax error anywhere wins over an id error.
#[derive(Default)]
struct FirstTaskError(Option<MeiliError>);

impl FirstTaskError {
    fn record(&mut self, err: MeiliError) {
        self.0.get_or_insert(err);
    }
}

/// Per-payload output buffers (see [`SplitBatch::bodies`]), filled document by document.
struct NodeOutputs {
    bodies: Vec<Vec<u8>>,
    per_node: Vec<usize>,
}

impl NodeOutputs {
    fn new(nodes: usize, capacity_hint: usize) -> Self {
        NodeOutputs {
            bodies: (0..nodes * 2).map(|i| Vec::with_capacity(if i < nodes { capacity_hint } else { 0 })).collect(),
            per_node: vec![0; nodes * 2],
        }
    }
}

/// Which payloads each shard's documents go to, and which shards the batch touched.
struct Targets {
    slots: Vec<Vec<usize>>,
    touched: Vec<bool>,
}

impl Targets {
    fn new(plan: &SplitPlan<'_>) -> Targets {
        let p = plan.placement;
        let slots = (0..p.shards)
            .map(|shard| {
                let serving = p.owners_of(shard);
                p.write_owners_of(shard)
                    .iter()
                    .filter(|&&n| n < plan.nodes)
                    .map(|&n| if serving.contains(&n) { n } else { plan.nodes + n })
                    .collect()
            })
            .collect();
        Targets { slots, touched: vec![false; p.shards as usize] }
    }

    /// The payloads a document of `shard` goes to.
    fn of(&mut self, shard: u32) -> &[usize] {
        if let Some(t) = self.touched.get_mut(shard as usize) {
            *t = true;
        }
        self.slots.get(shard as usize).map_or(&[], Vec::as_slice)
    }

    fn shards(&self) -> Vec<u32> {
        self.touched.iter().enumerate().filter(|(_, t)| **t).map(|(s, _)| s as u32).collect()
    }
}

/// A client document (or CSV column) naming one of Miroir's bookkeeping fields.
fn reserved_field_error(field: &str) -> BatchError {
    BatchError::Payload(MeiliError::new(
        Code::MiroirReservedField,
        format!("The field `{field}` is reserved by Miroir and cannot be set in a document."),
    ))
}

/// The `"_miroir_shard":"…","_miroir_version":"…",` members opening each stored document.
fn bookkeeping_members(shard: u32, version: u64) -> String {
    format!("\"{SHARD_FIELD}\":\"{}\",\"{VERSION_FIELD}\":\"{}\",", encode_shard(shard), encode_version(version))
}

#[cfg(test)]
mod tests;
