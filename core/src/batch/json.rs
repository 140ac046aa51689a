//! JSON (array or single object) and NDJSON payloads.
//!
//! Each document is taken as raw text and scanned once for its id; the text itself is
//! forwarded unchanged but for the shard and version fields inserted after its opening
//! brace, so a node parses exactly what the client sent. Nodes get NDJSON whatever the client sent:
//! Meilisearch only validates an NDJSON payload, where it rewrites a JSON array.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::members::each_member;
use super::primary_key::{flat_id, infer, nested_id, KeySource, PrimaryKeyInput};
use super::{bookkeeping_members, reserved_field_error, BatchError, FirstTaskError, NodeOutputs, PayloadFormat, SplitBatch, SplitPlan, Targets};
use crate::error::{Code, MeiliError};
use crate::placement::IndexPlacement;
use crate::wire::is_bookkeeping;

pub(super) fn split(body: &[u8], format: PayloadFormat, key: PrimaryKeyInput<'_>, plan: SplitPlan<'_>) -> Result<SplitBatch, BatchError> {
    let placement = plan.placement;
    let copies = placement.copies();
    let nodes = plan.nodes;
    let mut splitter = Splitter {
        task_error: FirstTaskError::default(),
        key: None,
        infer: false,
        placement,
        targets: Targets::new(&plan),
        openings: (0..placement.shards).map(|shard| format!("{{{}", bookkeeping_members(shard, plan.version))).collect(),
        out: NodeOutputs::new(nodes, body.len() * copies / nodes.max(1) + 2),
        documents: 0,
    };
    match key.resolve() {
        Ok(KeySource::Known(k)) => splitter.key = Some(k.to_string()),
        Ok(KeySource::Infer) => splitter.infer = true,
        Err(e) => splitter.task_error.record(e),
    }
    match format {
        PayloadFormat::Ndjson => each_ndjson_document(body, |raw| splitter.document(raw))?,
        _ => each_json_document(body, |raw| splitter.document(raw))?,
    }
    if let Some(error) = splitter.task_error.0 {
        return Err(BatchError::Task { error, documents: splitter.documents });
    }
    let Splitter { key, mut out, documents, targets, .. } = splitter;
    for b in out.bodies.iter_mut().filter(|b| b.is_empty()) {
        // A node refuses an empty payload (`missing_payload`); a blank line is zero documents.
        b.push(b'\n');
    }
    Ok(SplitBatch {
        primary_key: key,
        documents,
        bodies: out.bodies,
        per_node: out.per_node,
        shards: targets.shards(),
        content_type: "application/x-ndjson",
    })
}

struct Splitter<'p> {
    task_error: FirstTaskError,
    key: Option<String>,
    infer: bool,
    placement: &'p IndexPlacement,
    targets: Targets,
    /// Per shard: `{` and the bookkeeping members every stored document opens with.
    openings: Vec<String>,
    out: NodeOutputs,
    documents: usize,
}

impl Splitter<'_> {
    fn document(&mut self, raw: &RawValue) -> Result<(), BatchError> {
        let text = raw.get();
        if !text.starts_with('{') {
            return Err(not_an_object(text));
        }
        self.documents += 1;
        if self.infer && self.key.is_none() && self.task_error.0.is_none() {
            let doc = parse_object(text)?;
            match infer(doc.keys().map(String::as_str)) {
                Ok(k) => self.key = Some(k),
                Err(e) => self.task_error.record(e),
            }
        }
        let key = self.key.as_deref().unwrap_or("");
        let flat = !key.contains('.');
        let mut reserved = None;
        let mut id_value = None;
        each_member(text, |name, raw| {
            if reserved.is_none() && is_bookkeeping(name) {
                reserved = Some(name.to_string());
            }
            if flat && name == key && id_value.is_none() {
                id_value = Some(raw);
            }
        });
        if let Some(field) = reserved {
            return Err(reserved_field_error(&field));
        }
        if self.task_error.0.is_some() || self.key.is_none() {
            return Ok(()); // the task fails anyway: keep checking syntax only
        }
        let id_value = id_value.map(serde_json::from_str::<Value>).transpose().map_err(|_| not_objects())?;
        let id = if flat { flat_id(id_value.as_ref(), key, &compact(text)) } else { nested_id(&parse_object(text)?, key, &compact(text)) };
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                self.task_error.record(e);
                return Ok(());
            }
        };
        let shard = self.placement.shard_of(&id);
        let rest = text.trim_start().strip_prefix('{').unwrap_or(text);
        let opening = self.openings.get(shard as usize).map_or("{", String::as_str);
        for &slot in self.targets.of(shard) {
            let (Some(body), Some(count)) = (self.out.bodies.get_mut(slot), self.out.per_node.get_mut(slot)) else {
                continue;
            };
            body.extend_from_slice(opening.as_bytes());
            body.extend_from_slice(rest.as_bytes());
            body.push(b'\n');
            *count += 1;
        }
        Ok(())
    }
}

fn parse_object(text: &str) -> Result<Map<String, Value>, BatchError> {
    serde_json::from_str(text).map_err(|_| not_an_object(text))
}

/// A document as Meilisearch prints it in an error message: compact JSON.
fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text).map_or_else(|_| text.to_string(), |v| v.to_string())
}

/// A document that is JSON but not an object. Meilisearch turns serde's "data" error
/// into an I/O error here, so it answers `500 internal` with serde's message.
fn not_an_object(text: &str) -> BatchError {
    let message = match serde_json::from_str::<Map<String, Value>>(text) {
        Err(e) => e.to_string(),
        Ok(_) => "expected a map".to_string(),
    };
    BatchError::Payload(MeiliError::new(Code::Internal, message))
}

/// Calls `f` for each document of a JSON array, or once for a single object.
fn each_json_document<'de>(
    body: &'de [u8],
    mut f: impl FnMut(&'de RawValue) -> Result<(), BatchError>,
) -> Result<(), BatchError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let raw: &RawValue = serde_json::from_slice(body).map_err(|e| malformed(PayloadFormat::Json, &e))?;
        return f(raw);
    }
    if first != Some(&b'[') {
        // Let serde_json describe the syntax error, or report non-document data.
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Err(e) => malformed(PayloadFormat::Json, &e),
            Ok(_) => not_objects(),
        });
    }
    let mut failure = None;
    // Like Meilisearch, whatever follows the closing bracket is not read.
    let mut de = serde_json::Deserializer::from_slice(body);
    let visited = de.deserialize_seq(EachElement { f: &mut f, failure: &mut failure });
    match (visited, failure) {
        (Err(e), Some(BatchError::Payload(err))) if err.code == Code::Internal => Err(malformed(PayloadFormat::Json, &e)),
        (_, Some(err)) => Err(err),
        (visited, None) => visited.map_err(|e| malformed(PayloadFormat::Json, &e)),
    }
}

struct EachElement<'a, F> {
    f: &'a mut F,
    failure: &'a mut Option<BatchError>,
}

impl<'de, F> Visitor<'de> for EachElement<'_, F>
where
    F: FnMut(&'de RawValue) -> Result<(), BatchError>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of documents")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if let Err(e) = (self.f)(raw) {
                let stop_reading = matches!(&e, BatchError::Payload(err) if err.code == Code::Internal);
                *self.failure = Some(e);
                // Like Meilisearch: at a non-object, stop reading; serde_json then calls
                // whatever follows "trailing characters", a syntax error that wins.
                return if stop_reading { Ok(()) } else { Err(serde::de::Error::custom("document refused")) };
            }
        }
        Ok(())
    }
}

/// Calls `f` for each document of an NDJSON payload.
fn each_ndjson_document<'de>(
    body: &'de [u8],
    mut f: impl FnMut(&'de RawValue) -> Result<(), BatchError>,
) -> Result<(), BatchError> {
    for raw in serde_json::Deserializer::from_slice(body).into_iter::<&'de RawValue>() {
        let raw = raw.map_err(|e| malformed(PayloadFormat::Ndjson, &e))?;
        f(raw)?;
    }
    Ok(())
}

/// Meilisearch's message for a payload serde_json cannot read, shortened as it does.
fn malformed(format: PayloadFormat, err: &serde_json::Error) -> BatchError {
    let mut message = err.to_string();
    const PREFIX: usize = 50;
    const SUFFIX: usize = 85;
    if message.len() > PREFIX + SUFFIX + 3 && message.is_char_boundary(PREFIX) && message.is_char_boundary(message.len() - SUFFIX) {
        let end = message.len() - SUFFIX;
        message.replace_range(PREFIX..end, "...");
    }
    BatchError::Payload(MeiliError::new(
        Code::MalformedPayload,
        format!("The `{}` payload provided is malformed. `Couldn't serialize document value: {message}`.", format.name()),
    ))
}

fn not_objects() -> BatchError {
    BatchError::Payload(MeiliError::new(
        Code::MalformedPayload,
        "The `json` payload provided is malformed. `Couldn't serialize document value: data are neither an object nor a list of objects`.",
    ))
}
