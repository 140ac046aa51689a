//! Document batches: read a client payload once, validate all of it, and split it into
//! one payload per node carrying the documents of every shard that node holds.
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
use crate::wire::SHARD_FIELD;

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

/// A batch split per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitBatch {
    /// The primary key every node is told to use; none for a batch without documents
    /// on an index without one (Meilisearch then leaves the key unset).
    pub primary_key: Option<String>,
    /// Documents in the client's payload.
    pub documents: usize,
    /// `bodies[node]`: the payload for `ShardMap::nodes[node]`, in `content_type`.
    pub bodies: Vec<Vec<u8>>,
    /// Documents in each node's payload.
    pub per_node: Vec<usize>,
    pub content_type: &'static str,
}

/// Validates `body` and splits it by the owners of each document's shard.
pub fn split(
    body: &[u8],
    format: PayloadFormat,
    key: PrimaryKeyInput<'_>,
    placement: &IndexPlacement,
    nodes: usize,
) -> Result<SplitBatch, BatchError> {
    if body.is_empty() {
        return Err(BatchError::Payload(MeiliError::new(
            Code::MissingPayload,
            format!("A {} payload is missing.", format.name()),
        )));
    }
    match format {
        PayloadFormat::Json | PayloadFormat::Ndjson => json::split(body, format, key, placement, nodes),
        PayloadFormat::Csv { delimiter } => csv::split(body, delimiter, key, placement, nodes),
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

/// Per-node output buffers, filled document by document.
struct NodeOutputs {
    bodies: Vec<Vec<u8>>,
    per_node: Vec<usize>,
}

impl NodeOutputs {
    fn new(nodes: usize, capacity_hint: usize) -> Self {
        NodeOutputs {
            bodies: (0..nodes).map(|_| Vec::with_capacity(capacity_hint)).collect(),
            per_node: vec![0; nodes],
        }
    }
}

fn reserved_field_error() -> BatchError {
    BatchError::Payload(MeiliError::new(
        Code::MiroirReservedField,
        format!("The field `{SHARD_FIELD}` is reserved by Miroir and cannot be set in a document."),
    ))
}

#[cfg(test)]
mod tests;
