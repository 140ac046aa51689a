//! CSV payloads. Meilisearch types a column by its header (`price:number`,
//! `active:boolean`, else string) and refuses a value that does not parse: the id is
//! read the same way, and each node gets the same rows plus `_miroir_shard` and
//! `_miroir_version` columns (strings: see [`crate::wire::encode_shard`]), written
//! with the client's delimiter.

use csv::{ReaderBuilder, WriterBuilder};
use serde_json::Value;

use super::primary_key::{infer, missing_id, KeySource, PrimaryKeyInput};
use super::{reserved_field_error, BatchError, FirstTaskError, NodeOutputs, SplitBatch, SplitPlan, Targets};
use crate::error::{Code, MeiliError};
use crate::id::canonical_id;
use crate::wire::{encode_shard, encode_version, is_bookkeeping, SHARD_FIELD, VERSION_FIELD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    String,
    Boolean,
    Number,
}

/// A header cell's field name and type; an unknown `:suffix` keeps the whole cell as the name.
fn column(header: &str) -> (&str, ColumnType) {
    match header.rsplit_once(':') {
        Some((name, "string")) => (name, ColumnType::String),
        Some((name, "boolean")) => (name, ColumnType::Boolean),
        Some((name, "number")) => (name, ColumnType::Number),
        _ => (header, ColumnType::String),
    }
}

/// The JSON value Meilisearch makes of a cell, or its refusal.
fn cell_value(raw: &str, ty: ColumnType, line: usize) -> Result<Value, MeiliError> {
    let trimmed = raw.trim();
    match ty {
        ColumnType::String if raw.is_empty() => Ok(Value::Null),
        ColumnType::String => Ok(Value::String(raw.to_string())),
        _ if trimmed.is_empty() => Ok(Value::Null),
        ColumnType::Number => trimmed
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| trimmed.parse::<f64>().map(Value::from))
            .map_err(|e| malformed(&format!("Error parsing number {raw:?} at line {line}: {e}"))),
        ColumnType::Boolean => trimmed
            .parse::<bool>()
            .map(Value::from)
            .map_err(|e| malformed(&format!("Error parsing boolean {raw:?} at line {line}: {e}"))),
    }
}

/// Checks a typed cell parses, without building its value.
fn check_cell(raw: &str, ty: ColumnType, line: usize) -> Result<(), MeiliError> {
    match ty {
        ColumnType::String => Ok(()),
        _ => cell_value(raw, ty, line).map(drop),
    }
}

fn malformed(detail: &str) -> MeiliError {
    MeiliError::new(Code::MalformedPayload, format!("The `csv` payload provided is malformed: `{detail}`."))
}

pub(super) fn split(body: &[u8], delimiter: u8, key: PrimaryKeyInput<'_>, plan: SplitPlan<'_>) -> Result<SplitBatch, BatchError> {
    let (placement, nodes) = (plan.placement, plan.nodes);
    let payload = |e: csv::Error| BatchError::Payload(malformed(&e.to_string()));
    let mut reader = ReaderBuilder::new().delimiter(delimiter).from_reader(body);
    let headers = reader.headers().map_err(payload)?.clone();
    let columns: Vec<(&str, ColumnType)> = headers.iter().map(column).collect();
    if let Some((name, _)) = columns.iter().find(|(name, _)| is_bookkeeping(name)) {
        return Err(reserved_field_error(name));
    }

    let mut task_error = FirstTaskError::default();
    // An inference failure only matters once there is a document to infer from.
    let mut inference_error = None;
    let key = match key.resolve() {
        Ok(KeySource::Known(k)) => Some(k.to_string()),
        Ok(KeySource::Infer) => match infer(columns.iter().map(|(n, _)| *n)) {
            Ok(k) => Some(k),
            Err(e) => {
                inference_error = Some(e);
                None
            }
        },
        Err(e) => {
            task_error.record(e);
            None
        }
    };
    // A nested key names a CSV column as a whole: cells are never objects.
    let key_column = key.as_deref().and_then(|k| columns.iter().position(|(n, _)| *n == k));

    let copies = placement.copies();
    let mut targets = Targets::new(&plan);
    let mut out = NodeOutputs::new(nodes, body.len() * copies / nodes.max(1) + 64);
    let mut writers: Vec<_> = out
        .bodies
        .drain(..)
        .map(|buf| WriterBuilder::new().delimiter(delimiter).from_writer(buf))
        .collect();
    let mut header_out = headers.as_byte_record().clone();
    header_out.push_field(SHARD_FIELD.as_bytes());
    header_out.push_field(VERSION_FIELD.as_bytes());
    let version_cell = encode_version(plan.version);
    for w in &mut writers {
        w.write_byte_record(&header_out).map_err(payload)?;
    }

    let mut record = csv::StringRecord::new();
    let mut documents = 0;
    let mut shard_cell = String::new();
    while reader.read_record(&mut record).map_err(payload)? {
        documents += 1;
        if let Some(e) = inference_error.take() {
            task_error.record(e);
        }
        // Typed cells must parse even when they are not the id, or Meilisearch refuses the payload.
        for (cell, (_, ty)) in record.iter().zip(&columns) {
            check_cell(cell, *ty, documents).map_err(BatchError::Payload)?;
        }
        if task_error.0.is_some() {
            continue;
        }
        let key = key.as_deref().unwrap_or("");
        let id = match key_column.and_then(|i| Some((record.get(i)?, columns[i].1))) {
            Some((cell, ty)) => cell_value(cell, ty, documents).map_err(BatchError::Payload)?,
            None => Value::Null,
        };
        let id = match (key_column, id) {
            (Some(_), value) => canonical_id(&value),
            (None, _) => Err(missing_id(key, &row_as_json(&columns, &record))),
        };
        let shard = match id {
            Ok(id) => placement.shard_of(&id),
            Err(e) => {
                task_error.record(e);
                continue;
            }
        };
        shard_cell.clear();
        shard_cell.push_str(&encode_shard(shard));
        for &slot in targets.of(shard) {
            if let (Some(w), Some(count)) = (writers.get_mut(slot), out.per_node.get_mut(slot)) {
                let bookkeeping = [shard_cell.as_str(), version_cell.as_str()];
                w.write_record(record.iter().chain(bookkeeping)).map_err(payload)?;
                *count += 1;
            }
        }
    }
    if let Some(error) = task_error.0 {
        return Err(BatchError::Task { error, documents });
    }
    let bodies = writers
        .into_iter()
        .map(|w| w.into_inner().map_err(|e| BatchError::Payload(malformed(&e.to_string()))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SplitBatch {
        primary_key: key,
        documents,
        bodies,
        per_node: out.per_node,
        shards: targets.shards(),
        content_type: "text/csv",
    })
}

/// The document as Meilisearch would print it in an error message.
fn row_as_json(columns: &[(&str, ColumnType)], record: &csv::StringRecord) -> String {
    let map: serde_json::Map<String, Value> = columns
        .iter()
        .zip(record.iter())
        .map(|((name, ty), cell)| ((*name).to_string(), cell_value(cell, *ty, 0).unwrap_or(Value::Null)))
        .collect();
    Value::Object(map).to_string()
}
