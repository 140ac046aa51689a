//! `/indexes/{uid}/stats` and `/stats`, with the keys Meilisearch 1.50 returns.
//! Sizes are plausible figures derived from the stored JSON, not LMDB sizes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::indexes::validate_uid;
use crate::store::{Db, Index};
use crate::tasks::{fmt_time, Status};
use crate::AppState;

fn is_indexing(db: &Db, uid: &str) -> bool {
    db.tasks.values().any(|t| {
        matches!(t.status, Status::Enqueued | Status::Processing)
            && t.index_uid.as_deref() == Some(uid)
    })
}

fn index_stats(db: &Db, index: &Index) -> Value {
    let n = index.docs.len() as u64;
    let raw = index.raw_size();
    let raw_db = if n == 0 {
        0
    } else {
        raw.div_ceil(4096).max(1) * 4096
    };
    json!({
        "numberOfDocuments": n,
        "rawDocumentDbSize": raw_db,
        "avgDocumentSize": raw_db.checked_div(n).unwrap_or(0),
        "isIndexing": is_indexing(db, &index.uid),
        "numberOfEmbeddings": 0,
        "numberOfEmbeddedDocuments": 0,
        "fieldDistribution": index.field_distribution(),
    })
}

/// `GET /indexes/{uid}/stats`
pub async fn index_stats_route(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let db = state.lock()?;
    let index = db
        .indexes
        .get(&uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.clone()))?;
    Ok(Json(index_stats(&db, index)))
}

/// `GET /stats`
pub async fn global_stats(
    State(state): State<Arc<AppState>>,
    access: Option<axum::Extension<crate::access::Access>>,
) -> ApiResult<Json<Value>> {
    let access = access.map(|axum::Extension(a)| a).unwrap_or_default();
    let db = state.lock()?;
    let mut indexes = Map::new();
    let mut used = 0u64;
    // a key restricted to some indexes sees only those
    for (uid, index) in db.indexes.iter().filter(|(uid, _)| access.allows(uid)) {
        let stats = index_stats(&db, index);
        used += stats["rawDocumentDbSize"].as_u64().unwrap_or(0);
        indexes.insert(uid.clone(), stats);
    }
    let used = used + 65_536;
    Ok(Json(json!({
        "databaseSize": used.div_ceil(65_536) * 65_536 * 2,
        "usedDatabaseSize": used,
        "lastUpdate": db.last_update.map(fmt_time),
        "indexes": indexes,
    })))
}
