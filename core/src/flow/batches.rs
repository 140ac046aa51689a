//! `GET /batches` and `GET /batches/{uid}`: the client tasks gathered as `GET /tasks`
//! gathers them, grouped into batches (see [`crate::batches`]).
//!
//! A batch matches when one of its tasks does, and a canceled task sits in its
//! cancelation's batch, so most filters cannot be pushed to the registry: the list
//! scans every task (one round per 100 records, as `GET /tasks` with a status filter).
//! `batchUids` (and `canceledBy`, which names the cancelation's own batch) can: a
//! batch's tasks are its uid's task and the tasks that cancelation canceled, which the
//! registry finds (`batchUids` of [`TaskQuery`]).

use std::sync::Arc;

use super::tasks_list::TaskList;
use super::{Fixed, Flow, Next, Reply, Response};
use crate::batches::{group, page_shown, view};
use crate::error::{Code, MeiliError};
use crate::route::split_path;
use crate::shard_map::ShardMap;
use crate::task_scope::Scope;
use crate::tasks_query::TaskQuery;

pub(super) struct BatchList {
    gather: TaskList,
    query: TaskQuery,
    /// `GET /batches/{uid}`: the one batch, or `batch_not_found`.
    one: Option<u64>,
    /// The key's restriction (see [`Flow::scope_indexes`]), applied to whole batches.
    scope: Option<Scope>,
}

impl BatchList {
    /// `GET /batches?...`
    pub fn list(map: Arc<ShardMap>, path: &str) -> Box<dyn Flow> {
        let (_, query) = split_path(path);
        match TaskQuery::parse(query) {
            Err(e) => Box::new(Fixed(Response::error(&e))),
            Ok(query) => Box::new(BatchList { gather: TaskList::collecting(map, gather_query(&query)), query, one: None, scope: None }),
        }
    }

    /// `GET /batches/{uid}`
    pub fn one(map: Arc<ShardMap>, uid: &str) -> Box<dyn Flow> {
        let Ok(uid) = uid.parse::<u32>() else {
            let e = MeiliError::new(Code::InvalidBatchUids, format!("Batch uid `{uid}` is invalid. It should only contain numeric characters."));
            return Box::new(Fixed(Response::error(&e)));
        };
        let query = TaskQuery { batch_uids: Some(vec![u64::from(uid)]), ..TaskQuery::default() };
        Box::new(BatchList { gather: TaskList::collecting(map, query.clone()), query, one: Some(u64::from(uid)), scope: None })
    }

    fn answer(&mut self) -> Next {
        let batches = group(self.gather.take_collected().into_iter().map(|(_, view)| view));
        let shows = |uid: u64, tasks: &[serde_json::Value]| self.scope.as_ref().is_none_or(|s| s.shows_batch(uid, tasks));
        match self.one {
            None => Next::Respond(Response::json(200, &page_shown(&self.query, &batches, shows))),
            Some(uid) => match batches.get(&uid).filter(|tasks| shows(uid, tasks)) {
                Some(tasks) => Next::Respond(Response::json(200, &view(uid, tasks))),
                None => MeiliError::new(Code::BatchNotFound, format!("Batch `{uid}` not found.")).into(),
            },
        }
    }
}

/// The tasks the registry must hand over for `query`'s batches: all of them, unless
/// batch uids bound them.
fn gather_query(query: &TaskQuery) -> TaskQuery {
    let bound = match (&query.batch_uids, &query.canceled_by) {
        (Some(b), Some(c)) => Some(b.iter().filter(|u| c.contains(u)).copied().collect()),
        (Some(u), None) | (None, Some(u)) => Some(u.clone()),
        (None, None) => None,
    };
    TaskQuery { batch_uids: bound, ..TaskQuery::default() }
}

impl Flow for BatchList {
    fn start(&mut self) -> Next {
        self.gather.start()
    }

    /// Every task is gathered (a batch shows if one of its indexes does).
    fn scope_indexes(&mut self, patterns: &[String]) {
        self.gather.restrict(&["*".to_string()]);
        self.scope = Scope::of(patterns);
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match self.gather.on_replies(replies) {
            Next::Respond(r) if r.status == 200 => self.answer(),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::task::{NodeTask, TaskRecord};
    use crate::testing::shard_map;

    fn record(uid: u64, kind: &str, canceled_by: Option<u64>) -> TaskRecord {
        TaskRecord {
            uid,
            index_uid: (kind != "taskCancelation").then(|| "movies".into()),
            kind: kind.into(),
            enqueued_at: "2026-01-01T00:00:00Z".into(),
            node_tasks: vec![NodeTask { node: "node0".into(), task_uid: uid * 10, hidden: false, documents: 0 }],
            canceled_by,
            ..TaskRecord::default()
        }
    }

    fn reply(value: Value) -> Reply {
        Reply { status: 200, body: value.to_string().into_bytes() }
    }

    fn node(uid: u64, status: &str) -> Value {
        json!({"uid": uid, "status": status, "details": {}, "startedAt": "2026-01-01T00:00:01Z", "finishedAt": "2026-01-01T00:00:02Z", "duration": "PT1S"})
    }

    /// Runs `flow` over task 1 (canceled by 2), the cancelation 2, and 3 still enqueued.
    fn run(mut flow: Box<dyn Flow>) -> (String, Response) {
        let Next::Send(first) = flow.start() else { panic!() };
        let registry_path = first[0].path.clone();
        let records = json!({"results": [record(3, "documentAdditionOrUpdate", None), record(2, "taskCancelation", None),
            record(1, "documentAdditionOrUpdate", Some(2))], "next": null, "total": 3});
        let Next::Send(_) = flow.on_replies(vec![reply(records), reply(json!({"results": []}))]) else { panic!() };
        let nodes = json!({"results": [node(30, "enqueued"), node(20, "succeeded"), node(10, "canceled")]});
        let Next::Respond(answer) = flow.on_replies(vec![reply(nodes)]) else { panic!() };
        (registry_path, answer)
    }

    #[test]
    fn the_list_groups_the_canceled_task_into_its_cancelations_batch() {
        let (_, answer) = run(BatchList::list(Arc::new(shard_map(1, 1, 1)), "/batches"));
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["total"], 1);
        assert_eq!(body["results"][0]["uid"], 2);
        assert_eq!(body["results"][0]["stats"]["status"], json!({"succeeded": 1, "canceled": 1}));
    }

    #[test]
    fn one_batch_asks_the_registry_for_its_tasks_only() {
        let (path, answer) = run(BatchList::one(Arc::new(shard_map(1, 1, 1)), "2"));
        assert!(path.contains("batchUids=2"), "{path}");
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["stats"]["totalNbTasks"], 2);
        let (_, missing) = run(BatchList::one(Arc::new(shard_map(1, 1, 1)), "3"));
        assert_eq!(missing.status, 404, "an enqueued task has no batch yet");
    }

    #[test]
    fn bad_input_reaches_no_one() {
        for flow in [BatchList::one(Arc::new(shard_map(1, 1, 1)), "abc"), BatchList::list(Arc::new(shard_map(1, 1, 1)), "/batches?limit=x")] {
            let mut flow = flow;
            let Next::Respond(r) = flow.start() else { panic!() };
            assert_eq!(r.status, 400);
        }
    }
}
