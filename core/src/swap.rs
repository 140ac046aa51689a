//! `POST /swap-indexes`: the body read and refused as Meilisearch 1.50 refuses it, so a
//! bad body never reaches the control plane or a node.
//!
//! Meilisearch checks in three steps, and so does this: the JSON shape (deserr, first
//! error in document order), then every swap names two indexes, then no index appears
//! twice across the swaps. Whether the indexes exist is a task failure, decided later.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{Code, MeiliError};
use crate::search::fields::describe;

/// One pair of a swap request; `rename`: move `indexes.0` to the absent `indexes.1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSwap {
    pub indexes: (String, String),
    pub rename: bool,
}

/// The task's `details`, as Meilisearch shows them: `{"swaps": [{"indexes": [a, b], "rename": r}]}`.
pub fn details(swaps: &[IndexSwap]) -> Value {
    let list: Vec<Value> = swaps.iter().map(|s| json!({"indexes": [s.indexes.0, s.indexes.1], "rename": s.rename})).collect();
    json!({ "swaps": list })
}

/// Reads a swap body (content type and syntax included).
pub fn parse_body(content_type: Option<&str>, body: &[u8]) -> Result<Vec<IndexSwap>, MeiliError> {
    parse_for(content_type, body, |_| true)
}

/// As [`parse_body`], for a key that may reach only the indexes `allowed` accepts: as
/// Meilisearch, each swap in turn is checked for its length and then for the key's
/// access to both its indexes (`invalid_api_key`), before any duplicate is looked for.
pub fn parse_for(content_type: Option<&str>, body: &[u8], allowed: impl Fn(&str) -> bool) -> Result<Vec<IndexSwap>, MeiliError> {
    crate::json_body::check_content_type(content_type)?;
    let value: Value = crate::json_body::parse(body)?;
    let items = shape(&value)?;
    let mut swaps = Vec::with_capacity(items.len());
    for (names, rename) in items {
        let [a, b] = <[String; 2]>::try_from(names.clone()).map_err(|_| wrong_length(&names))?;
        if !allowed(&a) || !allowed(&b) {
            return Err(MeiliError::new(Code::InvalidApiKey, "The provided API key is invalid."));
        }
        swaps.push(IndexSwap { indexes: (a, b), rename });
    }
    check_duplicates(&swaps)?;
    Ok(swaps)
}

fn shape(value: &Value) -> Result<Vec<(Vec<String>, bool)>, MeiliError> {
    let Value::Array(items) = value else { return Err(invalid_type("", "an array", value, Code::BadRequest)) };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let Value::Object(obj) = item else { return Err(invalid_type(&at, "an object", item, Code::BadRequest)) };
        out.push(one(obj, &at)?);
    }
    Ok(out)
}

fn one(obj: &Map<String, Value>, at: &str) -> Result<(Vec<String>, bool), MeiliError> {
    const FIELDS: [&str; 2] = ["indexes", "rename"];
    let mut names = None;
    let mut rename = false;
    // deserr visits the fields in the body's order and stops at the first error.
    for (key, value) in obj {
        match key.as_str() {
            "indexes" => names = Some(index_list(value, at)?),
            "rename" => {
                rename = value
                    .as_bool()
                    .ok_or_else(|| invalid_type(&format!("{at}.rename"), "a boolean", value, Code::InvalidSwapRename))?
            }
            other => {
                return Err(MeiliError::new(
                    Code::BadRequest,
                    format!("Unknown field `{other}` inside `{at}`: {}expected one of {}", did_you_mean(other, &FIELDS), quoted(&FIELDS)),
                ))
            }
        }
    }
    let names = names.ok_or_else(|| MeiliError::new(Code::MissingSwapIndexes, format!("Missing field `indexes` inside `{at}`")))?;
    Ok((names, rename))
}

fn index_list(value: &Value, at: &str) -> Result<Vec<String>, MeiliError> {
    let path = format!("{at}.indexes");
    let Value::Array(list) = value else { return Err(invalid_type(&path, "an array", value, Code::InvalidSwapIndexes)) };
    list.iter()
        .enumerate()
        .map(|(j, v)| {
            let at = format!("{path}[{j}]");
            let Value::String(uid) = v else { return Err(invalid_type(&at, "a string", v, Code::InvalidSwapIndexes)) };
            if !valid_uid(uid) {
                return Err(MeiliError::new(Code::InvalidSwapIndexes, format!("Invalid value at `{at}`: {}", uid_message(uid))));
            }
            Ok(uid.clone())
        })
        .collect()
}

/// Meilisearch's index uid rule: 1 to 400 bytes of `a-z A-Z 0-9 - _`.
pub fn valid_uid(uid: &str) -> bool {
    !uid.is_empty() && uid.len() <= 400 && uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn uid_message(uid: &str) -> String {
    format!(
        "`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric \
         characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."
    )
}

fn wrong_length(names: &[String]) -> MeiliError {
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    MeiliError::new(
        Code::InvalidSwapIndexes,
        format!("Two indexes must be given for each swap. The list `[{}]` contains {} indexes.", list.join(", "), names.len()),
    )
}

fn check_duplicates(swaps: &[IndexSwap]) -> Result<(), MeiliError> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for swap in swaps {
        for name in [&swap.indexes.0, &swap.indexes.1] {
            if !seen.insert(name) {
                twice.insert(name);
            }
        }
    }
    if twice.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = twice.iter().map(|n| format!("`{n}`")).collect();
    let verb = if twice.len() == 1 { "was" } else { "were" };
    Err(MeiliError::new(
        Code::InvalidSwapDuplicateIndexFound,
        format!("Indexes must be declared only once during a swap. {} {verb} specified several times.", list.join(", ")),
    ))
}

fn invalid_type(path: &str, expected: &str, found: &Value, code: Code) -> MeiliError {
    let location = if path.is_empty() { String::new() } else { format!(" at `{path}`") };
    MeiliError::new(code, format!("Invalid value type{location}: expected {expected}, but found {}", describe(found)))
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// deserr's suggestion: the closest accepted name within a length-dependent distance.
fn did_you_mean(received: &str, accepted: &[&str]) -> String {
    let allowed = match received.len() {
        0..=3 => return String::new(),
        4..=7 => 1,
        8..=12 => 2,
        13..=17 => 3,
        18..=24 => 4,
        _ => 5,
    };
    accepted
        .iter()
        .map(|a| (a, osa_distance(received, a)))
        .filter(|(_, d)| *d <= allowed)
        .min_by_key(|(_, d)| *d)
        .map(|(a, _)| format!("did you mean `{a}`? "))
        .unwrap_or_default()
}

/// Optimal string alignment distance (edits and adjacent transpositions).
fn osa_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests;
