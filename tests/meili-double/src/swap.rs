//! `POST /swap-indexes`: swaps the content of pairs of indexes, or renames
//! an index (`rename: true`), as one `indexSwap` task. The task history
//! follows: tasks of a swapped index now name the other one.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::indexes::validate_uid;
use crate::params::{check_fields, invalid_type, json_body};
use crate::store::Db;
use crate::tasks::TaskKind;
use crate::AppState;

fn parse(body: &Value, allowed: &dyn Fn(&str) -> bool) -> ApiResult<Vec<(String, String, bool)>> {
    let Value::Array(items) = body else {
        return Err(invalid_type("", "an array", body, Code::BadRequest));
    };
    let mut swaps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let Value::Object(obj) = item else {
            return Err(invalid_type(&at, "an object", item, Code::BadRequest));
        };
        check_fields(obj, &["indexes", "rename"], &at)?;
        let code = Code::Other("invalid_swap_indexes");
        let names: Vec<String> = match obj.get("indexes") {
            None => {
                return Err(ApiError::new(
                    Code::Other("missing_swap_indexes"),
                    format!("Missing field `indexes` inside `{at}`"),
                ))
            }
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(j, v)| match v {
                    // Meilisearch 1.50 names the place and keeps the swap's code.
                    Value::String(s) => match validate_uid(s) {
                        Ok(()) => Ok(s.clone()),
                        Err(e) => Err(ApiError::new(
                            code,
                            format!("Invalid value at `{at}.indexes[{j}]`: {e}"),
                        )),
                    },
                    other => Err(invalid_type(
                        &format!("{at}.indexes[{j}]"),
                        "a string",
                        other,
                        code,
                    )),
                })
                .collect::<ApiResult<_>>()?,
            Some(other) => {
                return Err(invalid_type(
                    &format!("{at}.indexes"),
                    "an array",
                    other,
                    code,
                ))
            }
        };
        let rename = match obj.get("rename") {
            // `null` is refused like any other non-boolean (checked on 1.50).
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid_type(
                    &format!("{at}.rename"),
                    "a boolean",
                    other,
                    Code::Other("invalid_swap_rename"),
                ))
            }
        };
        if names.len() != 2 {
            return Err(ApiError::new(
                code,
                format!(
                    "Two indexes must be given for each swap. The list `[{}]` contains {} indexes.",
                    names
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    names.len()
                ),
            ));
        }
        // Swap by swap, after its length: the key must reach both indexes.
        if !allowed(&names[0]) || !allowed(&names[1]) {
            return Err(ApiError::InvalidApiKey);
        }
        swaps.push((names[0].clone(), names[1].clone(), rename));
    }
    let mut seen = BTreeSet::new();
    let mut twice = Vec::new();
    for (a, b, _) in &swaps {
        for n in [a, b] {
            if !seen.insert(n.clone()) && !twice.contains(n) {
                twice.push(n.clone());
            }
        }
    }
    if !twice.is_empty() {
        let list = twice
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let verb = if twice.len() == 1 { "was" } else { "were" };
        return Err(ApiError::new(
            Code::Other("invalid_swap_duplicate_index_found"),
            format!("Indexes must be declared only once during a swap. {list} {verb} specified several times."),
        ));
    }
    Ok(swaps)
}

/// `POST /swap-indexes`
pub async fn swap_indexes(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_body(&headers, &body, state.payload_limit)?;
    let rules = access.and_then(|Extension(a)| a.key_indexes);
    let swaps = parse(&body, &|uid| rules.as_ref().is_none_or(|r| r.allows(uid)))?;
    let mut details = Map::new();
    details.insert(
        "swaps".into(),
        json!(swaps
            .iter()
            .map(|(a, b, rename)| json!({"indexes": [a, b], "rename": rename}))
            .collect::<Vec<_>>()),
    );
    let summary = state.enqueue(None, TaskKind::IndexSwap { swaps }, Some(details), None)?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// Renames indexes in every other task (index uid, swap details).
fn rename_in_tasks(db: &mut Db, current: u32, map: &dyn Fn(&str) -> Option<String>) {
    // the swap's own details keep the names it was given
    for task in db.tasks.values_mut().filter(|t| t.uid != current) {
        if let Some(new) = task.index_uid.as_deref().and_then(map) {
            task.index_uid = Some(new);
        }
        if let TaskKind::IndexSwap { swaps } = &mut task.kind {
            for (a, b, _) in swaps.iter_mut() {
                for n in [a, b] {
                    if let Some(new) = map(n) {
                        *n = new;
                    }
                }
            }
        }
        if let Some(Value::Array(list)) = task.details.as_mut().and_then(|d| d.get_mut("swaps")) {
            for swap in list {
                if let Some(Value::Array(names)) = swap.get_mut("indexes") {
                    for n in names {
                        if let Some(new) = n.as_str().and_then(map) {
                            *n = Value::String(new);
                        }
                    }
                }
            }
        }
    }
}

/// Processes an `indexSwap` task.
pub fn apply(
    db: &mut Db,
    swaps: &[(String, String, bool)],
    current: u32,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    for (a, b, rename) in swaps {
        if !db.indexes.contains_key(a) {
            return Err(ApiError::IndexNotFound(a.clone()));
        }
        if *rename {
            if db.indexes.contains_key(b) {
                return Err(ApiError::IndexAlreadyExists(b.clone()));
            }
        } else if !db.indexes.contains_key(b) {
            return Err(ApiError::IndexNotFound(b.clone()));
        }
    }
    for (a, b, rename) in swaps {
        let mut first = db
            .indexes
            .remove(a)
            .ok_or_else(|| ApiError::IndexNotFound(a.clone()))?;
        if *rename {
            first.uid = b.clone();
            first.updated_at = now;
            db.indexes.insert(b.clone(), first);
            let (from, to) = (a.clone(), b.clone());
            rename_in_tasks(db, current, &move |n| (n == from).then(|| to.clone()));
        } else {
            let mut second = db
                .indexes
                .remove(b)
                .ok_or_else(|| ApiError::IndexNotFound(b.clone()))?;
            first.uid = b.clone();
            second.uid = a.clone();
            first.updated_at = now;
            second.updated_at = now;
            db.indexes.insert(b.clone(), first);
            db.indexes.insert(a.clone(), second);
            let (x, y) = (a.clone(), b.clone());
            rename_in_tasks(db, current, &move |n| {
                if n == x {
                    Some(y.clone())
                } else if n == y {
                    Some(x.clone())
                } else {
                    None
                }
            });
        }
    }
    Ok(())
}
