//! `POST /tasks/cancel`: the client tasks the filters select, canceled on every node
//! that runs one of their node tasks, as one client task of type `taskCancelation`.
//!
//! Rounds: the matching client tasks are gathered as `GET /tasks` gathers them (record
//! filters in the registry, status and date filters on the combined tasks); each node
//! gets `POST /tasks/cancel?uids=...` with its unfinished node tasks of those (not
//! Miroir's hidden bookkeeping tasks: an index must keep its shard settings); the
//! nodes' cancelation tasks are registered as one client task. `matchedTasks` counts
//! client tasks; `canceledTasks` is the nodes' count scaled by the client tasks asked
//! about over the node tasks asked about (exact when all of them were canceled). A
//! node that does not take the cancelation fails the client task with an error naming
//! it, though other nodes may cancel theirs. The canceled tasks show `canceledBy` this
//! task: its record lists them (`cancels`) and the registry links them.
//!
//! `DELETE /tasks` runs the same rounds with the finished client tasks instead: each
//! node gets `DELETE /tasks?uids=...` with all their node tasks (hidden ones too: they
//! are finished and belong to the client task), then the registry forgets the client
//! records (`POST /_miroir/tasks/forget`), then one `taskDeletion` client task is
//! registered. `deletedTasks` is the number of client records the registry forgot.

use std::sync::Arc;

use serde_json::{json, Value};

use super::register::{registered_with, TaskDraft};
use super::tasks_list::TaskList;
use super::{unavailable, Call, Fixed, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::route::{split_path, Method};
use crate::shard_map::ShardMap;
use crate::task::{NodeTask, TaskRecord};
use crate::tasks_query::TaskQuery;
use crate::wire::TASKS_REGISTRY_PATH;

enum Stage {
    Gathering,
    /// Each node asked, with how many node tasks it was asked about.
    Canceling { nodes: Vec<(usize, u64)> },
    Forgetting,
    Registering,
}

pub(super) struct TaskCancel {
    map: Arc<ShardMap>,
    gather: TaskList,
    draft: TaskDraft,
    stage: Stage,
    /// `DELETE /tasks` rather than `POST /tasks/cancel`.
    delete: bool,
    /// The finished client tasks a deletion makes the registry forget.
    forget: Vec<u64>,
}

pub(super) struct TaskBulk;

impl TaskBulk {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(map: Arc<ShardMap>, delete: bool, path: &str) -> Box<dyn Flow> {
        let (_, query) = split_path(path);
        match TaskQuery::parse_bulk(query, delete) {
            Err(e) => Box::new(Fixed(Response::error(&e))),
            Ok(parsed) => {
                let nodes = map.nodes.len();
                let filter = format!("?{query}");
                let kind = if delete { "taskDeletion" } else { "taskCancelation" };
                let draft = TaskDraft::new(None, kind, nodes).detail("originalFilter", json!(filter));
                Box::new(TaskCancel { gather: TaskList::collecting(map.clone(), parsed), map, draft, stage: Stage::Gathering, delete, forget: Vec::new() })
            }
        }
    }
}

fn unfinished(v: &Value) -> bool {
    matches!(v["status"].as_str(), Some("enqueued" | "processing"))
}

/// Per node (position in the map), the unfinished visible node tasks of `matches`.
fn to_cancel(map: &ShardMap, matches: &[(TaskRecord, Value)]) -> Vec<(usize, Vec<u64>)> {
    let tasks = matches.iter().filter(|(_, v)| unfinished(v)).flat_map(|(r, _)| &r.node_tasks).filter(|t| !t.hidden);
    per_node(map, tasks)
}

/// Per node, every node task (hidden too) of the finished client tasks of `matches`.
fn to_delete(map: &ShardMap, matches: &[(TaskRecord, Value)]) -> Vec<(usize, Vec<u64>)> {
    per_node(map, matches.iter().filter(|(_, v)| !unfinished(v)).flat_map(|(r, _)| &r.node_tasks))
}

fn per_node<'a>(map: &ShardMap, tasks: impl Iterator<Item = &'a NodeTask>) -> Vec<(usize, Vec<u64>)> {
    let mut per_node: Vec<(usize, Vec<u64>)> = Vec::new();
    for task in tasks {
        let Some(node) = map.nodes.iter().position(|n| n.id == task.node) else { continue };
        match per_node.iter_mut().find(|(n, _)| *n == node) {
            Some((_, uids)) => uids.push(task.task_uid),
            None => per_node.push((node, vec![task.task_uid])),
        }
    }
    per_node
}

impl TaskCancel {
    fn cancel(&mut self, matches: Vec<(TaskRecord, Value)>) -> Next {
        self.draft.record.details.insert("matchedTasks".into(), json!(matches.len()));
        let per_node = if self.delete {
            let finished: Vec<u64> = matches.iter().filter(|(_, v)| !unfinished(v)).map(|(r, _)| r.uid).collect();
            self.draft.record.details.insert("deletedTasks".into(), json!(finished.len()));
            self.forget = finished;
            to_delete(&self.map, &matches)
        } else {
            // The registry shows these tasks, once canceled, as `canceledBy` this one.
            self.draft.record.cancels = matches.iter().filter(|(_, v)| unfinished(v)).map(|(r, _)| r.uid).collect();
            to_cancel(&self.map, &matches)
        };
        if per_node.is_empty() {
            if !self.delete {
                self.draft.record.details.insert("canceledTasks".into(), json!(0));
            }
            return self.forget_then_register();
        }
        let (method, route) = if self.delete { (Method::Delete, "/tasks") } else { (Method::Post, "/tasks/cancel") };
        let calls = per_node
            .iter()
            .map(|(node, uids)| {
                let list: Vec<String> = uids.iter().map(u64::to_string).collect();
                Call { method, ..Call::get(Target::Node(*node), format!("{route}?uids={}", list.join(","))) }
            })
            .collect();
        self.stage = Stage::Canceling { nodes: per_node.into_iter().map(|(n, uids)| (n, uids.len() as u64)).collect() };
        Next::Send(calls)
    }

    fn canceled(&mut self, nodes: Vec<(usize, u64)>, replies: Vec<Reply>) -> Next {
        let what = if self.delete { "deletion" } else { "cancelation" };
        let uid = |r: &Reply| r.json().filter(|_| r.status == 200).and_then(|v| v.get("taskUid")?.as_u64());
        if replies.iter().all(|r| uid(r).is_none()) {
            return match replies.into_iter().find(|r| !r.is_unavailable()) {
                Some(refusal) => Next::Respond(Response::relay(refusal)),
                None => unavailable(&format!("this {what}")).into(),
            };
        }
        let mut missed = Vec::new();
        for ((node, asked), reply) in nodes.iter().zip(&replies) {
            let Some(n) = self.map.nodes.get(*node) else { continue };
            match uid(reply) {
                // `documents`: the node tasks asked about, so the nodes' `canceledTasks`
                // scale back to client tasks (see `crate::task::combine`).
                Some(task_uid) => self.draft.record.node_tasks.push(NodeTask { node: n.id.clone(), task_uid, hidden: false, documents: *asked }),
                None => missed.push(n.id.clone()),
            }
        }
        if !missed.is_empty() {
            let error = MeiliError::new(
                Code::MiroirNodeUnavailable,
                format!("Nodes {} did not take the {what}; the other nodes may {} their part.", missed.join(", "), if self.delete { "delete" } else { "cancel" }),
            );
            self.draft.record.error = Some(error.to_value());
        }
        self.forget_then_register()
    }

    /// For a deletion, the registry forgets the deleted client records first, so the
    /// `taskDeletion` task is only registered once they are gone.
    fn forget_then_register(&mut self) -> Next {
        if !self.delete || self.forget.is_empty() {
            return self.register();
        }
        self.stage = Stage::Forgetting;
        let body = json!({"uids": self.forget}).to_string().into_bytes();
        Next::Send(vec![Call::json(Target::Control, Method::Post, format!("{TASKS_REGISTRY_PATH}/forget"), body)])
    }

    fn register(&mut self) -> Next {
        self.stage = Stage::Registering;
        self.draft.register()
    }
}

impl Flow for TaskCancel {
    fn start(&mut self) -> Next {
        self.gather.start()
    }

    /// Only the tasks the key may see are canceled or deleted (and counted).
    fn scope_indexes(&mut self, patterns: &[String]) {
        self.gather.restrict(patterns);
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Gathering) {
            Stage::Gathering => match self.gather.on_replies(replies) {
                Next::Respond(r) if r.status == 200 => {
                    let matches = self.gather.take_collected();
                    self.cancel(matches)
                }
                other => other,
            },
            Stage::Canceling { nodes } => self.canceled(nodes, replies),
            Stage::Forgetting => match replies.into_iter().next() {
                Some(r) if r.status == 200 => self.register(),
                Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
                _ => unavailable("the task registry").into(),
            },
            // Meilisearch answers a cancelation with 200, not 202.
            Stage::Registering => registered_with(replies, 200),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::shard_map;

    fn record(uid: u64, hidden_too: bool) -> TaskRecord {
        let mut node_tasks = vec![
            NodeTask { node: "node0".into(), task_uid: uid * 10, hidden: false, documents: 0 },
            NodeTask { node: "node1".into(), task_uid: uid * 10 + 1, hidden: false, documents: 0 },
        ];
        if hidden_too {
            node_tasks.push(NodeTask { node: "node0".into(), task_uid: uid * 10 + 2, hidden: true, documents: 0 });
        }
        TaskRecord {
            uid,
            index_uid: Some("movies".into()),
            kind: "documentAdditionOrUpdate".into(),
            enqueued_at: "2026-01-01T00:00:00Z".into(),
            node_tasks,
            ..TaskRecord::default()
        }
    }

    #[test]
    fn only_unfinished_visible_node_tasks_are_canceled() {
        let map = shard_map(2, 1, 1);
        let matches = vec![(record(1, true), json!({"status": "processing"})), (record(2, false), json!({"status": "succeeded"}))];
        assert_eq!(to_cancel(&map, &matches), [(0, vec![10]), (1, vec![11])]);
    }

    #[test]
    fn the_nodes_cancelations_become_one_client_task() {
        let map = Arc::new(shard_map(2, 1, 1));
        let mut flow = TaskCancel {
            gather: TaskList::collecting(map.clone(), TaskQuery::parse("uids=1").unwrap()),
            draft: TaskDraft::new(None, "taskCancelation", 2).detail("originalFilter", json!("?uids=1")),
            map,
            stage: Stage::Gathering,
            delete: false,
            forget: Vec::new(),
        };
        let Next::Send(calls) = flow.cancel(vec![(record(1, false), json!({"status": "enqueued"}))]) else { panic!() };
        assert_eq!(calls[0].path, "/tasks/cancel?uids=10");
        assert_eq!(calls[0].method, Method::Post);
        let ok = |uid: u64| Reply { status: 200, body: json!({"taskUid": uid}).to_string().into_bytes() };
        let Next::Send(register) = flow.on_replies(vec![ok(7), ok(8)]) else { panic!() };
        let record: TaskRecord = serde_json::from_slice(register[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(record.kind, "taskCancelation");
        assert_eq!(record.node_tasks.iter().map(|t| t.task_uid).collect::<Vec<_>>(), [7, 8]);
        assert_eq!(record.details["matchedTasks"], 1);
        assert_eq!(record.cancels, [1], "the registry links the canceled task to this one");
        assert_eq!(record.error, None);
    }

    #[test]
    fn a_deletion_deletes_finished_node_tasks_forgets_the_records_then_registers() {
        let map = Arc::new(shard_map(2, 1, 1));
        let mut flow = TaskCancel {
            gather: TaskList::collecting(map.clone(), TaskQuery::parse("uids=1,2").unwrap()),
            draft: TaskDraft::new(None, "taskDeletion", 2).detail("originalFilter", json!("?uids=1,2")),
            map,
            stage: Stage::Gathering,
            delete: true,
            forget: Vec::new(),
        };
        let matches = vec![(record(1, true), json!({"status": "succeeded"})), (record(2, false), json!({"status": "processing"}))];
        let Next::Send(calls) = flow.cancel(matches) else { panic!() };
        assert_eq!((calls[0].method, calls[0].path.as_str()), (Method::Delete, "/tasks?uids=10,12"));
        assert_eq!(calls[1].path, "/tasks?uids=11");
        let ok = |uid: u64| Reply { status: 200, body: json!({"taskUid": uid}).to_string().into_bytes() };
        let Next::Send(forget) = flow.on_replies(vec![ok(7), ok(8)]) else { panic!() };
        assert_eq!((forget[0].target, forget[0].path.as_str()), (Target::Control, "/_miroir/tasks/forget"));
        let body: Value = serde_json::from_slice(forget[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"uids": [1]}), "an unfinished task is not deleted");
        let Next::Send(register) = flow.on_replies(vec![ok(0)]) else { panic!() };
        let record: TaskRecord = serde_json::from_slice(register[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(record.kind, "taskDeletion");
        assert_eq!((record.details["matchedTasks"].clone(), record.details["deletedTasks"].clone()), (json!(2), json!(1)));
    }

    #[test]
    fn a_restricted_key_cancels_and_counts_only_its_indexes_tasks() {
        let mut flow = TaskBulk::new(Arc::new(shard_map(2, 1, 1)), false, "/tasks/cancel?statuses=enqueued");
        flow.scope_indexes(&["mov*".to_string()]);
        let Next::Send(first) = flow.start() else { panic!() };
        assert_eq!(first.len(), 1, "the guard judged the key: no node probe");
        let books = TaskRecord { index_uid: Some("books".into()), ..record(2, false) };
        let page = json!({"results": [books, record(1, false)], "next": null, "total": 2});
        let Next::Send(reads) = flow.on_replies(vec![Reply { status: 200, body: page.to_string().into_bytes() }]) else { panic!() };
        assert!(reads.iter().all(|c| matches!(c.target, Target::NodeAsMiroir(_))));
        let enqueued = |uids: [u64; 2]| Reply { status: 200, body: json!({"results": uids.map(|u| json!({"uid": u, "status": "enqueued"}))}).to_string().into_bytes() };
        let Next::Send(cancels) = flow.on_replies(vec![enqueued([20, 10]), enqueued([21, 11])]) else { panic!() };
        assert_eq!(cancels.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["/tasks/cancel?uids=10", "/tasks/cancel?uids=11"]);
        let ok = |uid: u64| Reply { status: 200, body: json!({"taskUid": uid}).to_string().into_bytes() };
        let Next::Send(register) = flow.on_replies(vec![ok(7), ok(8)]) else { panic!() };
        let record: TaskRecord = serde_json::from_slice(register[0].body.as_deref().unwrap()).unwrap();
        assert_eq!((record.details["matchedTasks"].clone(), record.cancels), (json!(1), vec![1]));
    }

    #[test]
    fn a_registry_refusing_to_forget_registers_nothing() {
        let map = Arc::new(shard_map(1, 1, 1));
        let mut flow = TaskCancel {
            gather: TaskList::collecting(map.clone(), TaskQuery::parse("uids=1").unwrap()),
            draft: TaskDraft::new(None, "taskDeletion", 1),
            map,
            stage: Stage::Gathering,
            delete: true,
            forget: Vec::new(),
        };
        let Next::Send(_) = flow.cancel(vec![(record(1, false), json!({"status": "failed"}))]) else { panic!() };
        let Next::Send(_) = flow.on_replies(vec![Reply { status: 200, body: br#"{"taskUid":3}"#.to_vec() }]) else { panic!() };
        let Next::Respond(r) = flow.on_replies(vec![Reply { status: 0, body: Vec::new() }]) else { panic!() };
        assert_eq!(r.status, 503);
    }
}
