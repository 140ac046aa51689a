//! The background worker: processes enqueued tasks in uid order, applies
//! them to the state, then persists a snapshot before the results become
//! visible (the state lock is held for the whole round).

use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::docid::{extract_id, guess_primary_key, id_error};
use crate::error::{ApiError, Code};
use crate::filter;
use crate::payload::Document;
use crate::store::{Db, Index};
use crate::tasks::{Status, TaskKind};
use crate::AppState;

/// Runs forever, waking up when tasks are enqueued.
pub async fn run(state: Arc<AppState>) {
    loop {
        let has_work = state
            .db
            .lock()
            .map(|db| db.tasks.values().any(|t| t.status == Status::Enqueued))
            .unwrap_or(false);
        if !has_work || state.paused.load(std::sync::atomic::Ordering::SeqCst) {
            state.wake.notified().await;
            continue;
        }
        let st = state.clone();
        let result = tokio::task::spawn_blocking(move || process_round(&st)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("meili-double: could not persist the state: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => {
                eprintln!("meili-double: worker panicked: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// Processes every task enqueued so far, then writes the snapshot.
pub fn process_round(state: &AppState) -> std::io::Result<()> {
    let Ok(mut db) = state.db.lock() else {
        return Err(std::io::Error::other("poisoned state"));
    };
    let pending = process_pending(&mut db);
    if pending.is_empty() {
        return Ok(());
    }
    state.persistence.write_snapshot(&db)?;
    for uid in pending {
        state.persistence.remove_queued(uid);
    }
    Ok(())
}

/// Processes the tasks enqueued so far (at most 1000): cancelations first,
/// then deletions, then the rest in uid order, as Meilisearch's scheduler
/// prioritizes them. Returns the uids it took.
fn process_pending(db: &mut Db) -> Vec<u32> {
    // cancelations first, then deletions, then the rest in uid order (as
    // Meilisearch's scheduler prioritizes them)
    let mut pending: Vec<(u8, u32)> = db
        .tasks
        .values()
        .filter(|t| t.status == Status::Enqueued)
        .map(|t| {
            let rank = match t.kind {
                TaskKind::TaskCancelation { .. } => 0,
                TaskKind::TaskDeletion { .. } => 1,
                _ => 2,
            };
            (rank, t.uid)
        })
        .take(1000)
        .collect();
    pending.sort();
    let pending: Vec<u32> = pending.into_iter().map(|(_, uid)| uid).collect();
    for uid in &pending {
        // a task canceled earlier in this round is not processed
        if db
            .tasks
            .get(uid)
            .is_some_and(|t| t.status == Status::Enqueued)
        {
            process_task(db, *uid);
        }
    }
    pending
}

/// Errors of the indexing engine carry the index name in Meilisearch's task errors.
fn in_index(uid: &str, e: ApiError) -> ApiError {
    ApiError::new(e.code(), format!("Index `{uid}`: {e}"))
}

fn process_task(db: &mut Db, uid: u32) {
    let Some(task) = db.tasks.get_mut(&uid) else {
        return;
    };
    let started = OffsetDateTime::now_utc();
    task.status = Status::Processing;
    task.started_at = Some(started);
    task.batch_uid = Some(db.next_batch_uid);
    db.next_batch_uid += 1;
    let kind = task.kind.clone();
    let index_uid = task.index_uid.clone().unwrap_or_default();
    let mut details = task.details.clone().unwrap_or_default();
    let documents = db.payloads.remove(&uid).unwrap_or_default();

    let result = match &kind {
        TaskKind::TaskCancelation { uids } => {
            let canceled = cancel(db, uid, uids, started);
            details.insert("canceledTasks".into(), json!(canceled));
            Ok(())
        }
        TaskKind::TaskDeletion { uids } => {
            let before = db.tasks.len();
            db.tasks
                .retain(|u, t| !(uids.contains(u) && crate::tasks::query::finished(t)));
            details.insert("deletedTasks".into(), json!(before - db.tasks.len()));
            Ok(())
        }
        TaskKind::IndexSwap { swaps } => crate::swap::apply(db, swaps, uid, started),
        _ => apply(db, &index_uid, &kind, documents, &mut details, started),
    };

    let finished = OffsetDateTime::now_utc();
    let Some(task) = db.tasks.get_mut(&uid) else {
        return;
    };
    match result {
        Ok(()) => {
            task.status = Status::Succeeded;
        }
        Err(e) => {
            task.status = Status::Failed;
            task.error = Some(e.body());
            for key in ["indexedDocuments", "deletedDocuments"] {
                if details.contains_key(key) {
                    details.insert(key.into(), json!(0));
                }
            }
        }
    }
    if task.details.is_some() {
        task.details = Some(details);
    }
    task.finished_at = Some(finished);
    db.last_update = Some(finished);
}

/// Cancels the enqueued tasks among `uids`; returns how many.
/// They join the cancelation's batch, as on Meilisearch.
fn cancel(db: &mut Db, by: u32, uids: &[u32], now: OffsetDateTime) -> usize {
    let mut canceled = 0;
    let batch = db.tasks.get(&by).and_then(|t| t.batch_uid);
    for u in uids {
        if let Some(t) = db.tasks.get_mut(u).filter(|t| t.status == Status::Enqueued) {
            t.status = Status::Canceled;
            t.canceled_by = Some(by);
            t.batch_uid = batch;
            t.started_at = Some(now);
            t.finished_at = Some(now);
            db.payloads.remove(u);
            canceled += 1;
        }
    }
    canceled
}

fn index_mut<'a>(db: &'a mut Db, uid: &str) -> Result<&'a mut Index, ApiError> {
    db.indexes
        .get_mut(uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))
}

fn apply(
    db: &mut Db,
    uid: &str,
    kind: &TaskKind,
    documents: Vec<Document>,
    details: &mut Map<String, Value>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    match kind {
        TaskKind::IndexCreation { primary_key } => {
            if db.indexes.contains_key(uid) {
                return Err(ApiError::IndexAlreadyExists(uid.to_string()));
            }
            let mut index = Index::new(uid, primary_key.clone(), now);
            if let Some(pk) = primary_key.as_deref().filter(|pk| !pk.contains('.')) {
                index.register_field(pk);
            }
            db.indexes.insert(uid.to_string(), index);
            Ok(())
        }
        TaskKind::IndexUpdate { primary_key } => {
            let index = index_mut(db, uid)?;
            if let Some(pk) = primary_key {
                match &index.primary_key {
                    Some(existing) if existing != pk && !index.docs.is_empty() => {
                        return Err(in_index(
                            uid,
                            ApiError::PrimaryKeyAlreadyExists(existing.clone()),
                        ));
                    }
                    _ => {
                        index.primary_key = Some(pk.clone());
                        if !pk.contains('.') {
                            index.register_field(pk);
                        }
                    }
                }
            }
            index.updated_at = now;
            Ok(())
        }
        TaskKind::IndexDeletion => {
            let index = db
                .indexes
                .remove(uid)
                .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))?;
            details.insert("deletedDocuments".into(), json!(index.docs.len()));
            Ok(())
        }
        TaskKind::DocumentClear => {
            let index = index_mut(db, uid)?;
            let n = index.clear();
            index.updated_at = now;
            details.insert("deletedDocuments".into(), json!(n));
            Ok(())
        }
        TaskKind::DocumentDeletion { ids } => {
            let index = index_mut(db, uid)?;
            let deleted = ids.iter().filter(|id| index.delete(id)).count();
            index.updated_at = now;
            details.insert("deletedDocuments".into(), json!(deleted));
            Ok(())
        }
        TaskKind::DocumentDeletionByFilter { filter } => {
            let index = index_mut(db, uid)?;
            let parsed = filter::parse_value(filter)
                .map_err(|e| in_index(uid, ApiError::new(Code::InvalidDocumentFilter, e)))?;
            let Some(parsed) = parsed else {
                return Err(ApiError::new(
                    Code::InvalidDocumentFilter,
                    "Sending an empty filter is forbidden.",
                ));
            };
            parsed
                .check_filterable(&index.settings)
                .map_err(|e| in_index(uid, ApiError::new(Code::InvalidDocumentFilter, e)))?;
            let ids: Vec<String> = index
                .docs
                .values()
                .filter(|d| parsed.matches(&d.doc))
                .map(|d| d.id.clone())
                .collect();
            for id in &ids {
                index.delete(id);
            }
            index.updated_at = now;
            details.insert("deletedDocuments".into(), json!(ids.len()));
            Ok(())
        }
        TaskKind::SettingsUpdate { settings } => {
            let index = db
                .indexes
                .entry(uid.to_string())
                .or_insert_with(|| Index::new(uid, None, now));
            index.settings.apply(settings);
            index.updated_at = now;
            Ok(())
        }
        TaskKind::DocumentAdditionOrUpdate { primary_key, merge } => {
            let index = db
                .indexes
                .entry(uid.to_string())
                .or_insert_with(|| Index::new(uid, None, now));
            add_documents(
                index,
                primary_key.as_deref(),
                *merge,
                documents,
                details,
                now,
            )
        }
        // handled by `process_task`
        TaskKind::TaskCancelation { .. }
        | TaskKind::TaskDeletion { .. }
        | TaskKind::IndexSwap { .. } => Ok(()),
    }
}

fn add_documents(
    index: &mut Index,
    primary_key: Option<&str>,
    merge: bool,
    documents: Vec<Document>,
    details: &mut Map<String, Value>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let count = documents.len();
    if count == 0 {
        details.insert("indexedDocuments".into(), json!(0));
        index.updated_at = now;
        return Ok(());
    }
    let (pk, newly_set, guessed) = match (&index.primary_key, primary_key) {
        (Some(existing), Some(requested)) if existing != requested => {
            return Err(ApiError::PrimaryKeyAlreadyExists(existing.clone()));
        }
        (Some(existing), _) => (existing.clone(), false, false),
        (None, Some(requested)) => (requested.to_string(), true, false),
        (None, None) => (guess_primary_key(documents.first())?, true, true),
    };
    let mut with_ids = Vec::with_capacity(count);
    for doc in documents {
        match extract_id(&doc, &pk) {
            Ok(id) => with_ids.push((id, doc)),
            Err(e) => return Err(id_error(e, &pk, &doc)),
        }
    }
    if guessed {
        // guessing registers every field of the first document, in order
        if let Some(first) = with_ids.first() {
            let keys: Vec<String> = first.1.keys().cloned().collect();
            keys.iter().for_each(|k| index.register_field(k));
        }
    }
    if newly_set {
        index.primary_key = Some(pk.clone());
        if !pk.contains('.') {
            index.register_field(&pk);
        }
    }
    // a document id repeated in one payload is indexed once (the last one wins, or merges)
    let distinct: std::collections::HashSet<&String> = with_ids.iter().map(|(id, _)| id).collect();
    let indexed = distinct.len();
    for (id, doc) in with_ids {
        index.upsert(id, doc, merge);
    }
    index.updated_at = now;
    details.insert("indexedDocuments".into(), json!(indexed));
    Ok(())
}

#[cfg(test)]
mod tests;
