//! The last rounds every write shares: turn the nodes' 202 answers into node tasks,
//! register one client task with the control plane, answer its summary.

use serde_json::{Map, Value};

use super::{first_refusal, node_task_uid, unavailable, Call, Next, Reply, Response, Target};
use crate::route::Method;
use crate::shard_map::ShardMap;
use crate::task::{summary, NodeTask, TaskRecord};
use crate::wire::TASKS_REGISTRY_PATH;

/// A client task being assembled from node tasks.
#[derive(Debug, Clone)]
pub(super) struct TaskDraft {
    pub record: TaskRecord,
}

impl TaskDraft {
    pub fn new(index: Option<String>, kind: &str, copies: usize) -> TaskDraft {
        TaskDraft {
            record: TaskRecord {
                uid: 0,
                index_uid: index,
                kind: kind.to_string(),
                enqueued_at: String::new(),
                node_tasks: Vec::new(),
                error: None,
                details: Map::new(),
                copies: copies.max(1) as u32,
                missed: Vec::new(),
                tombstones: None,
            },
        }
    }

    pub fn detail(mut self, key: &str, value: Value) -> TaskDraft {
        self.record.details.insert(key.to_string(), value);
        self
    }

    /// Adds the node tasks behind `replies` (one per node in `nodes`), or answers with
    /// the first refusal. `hidden` tasks count toward status only.
    pub fn accept(&mut self, map: &ShardMap, nodes: &[usize], replies: Vec<Reply>, hidden: bool) -> Result<(), Response> {
        let uids: Option<Vec<u64>> = replies.iter().map(node_task_uid).collect();
        let Some(uids) = uids else {
            return Err(first_refusal(replies, "this write"));
        };
        for (&node, task_uid) in nodes.iter().zip(uids) {
            let Some(n) = map.nodes.get(node) else { continue };
            self.record.node_tasks.push(NodeTask { node: n.id.clone(), task_uid, hidden });
        }
        Ok(())
    }

    /// The call that registers the task with the control plane.
    pub fn register(&self) -> Next {
        let body = serde_json::to_vec(&self.record).unwrap_or_default();
        Next::Send(vec![Call::json(Target::Control, Method::Post, TASKS_REGISTRY_PATH.to_string(), body)])
    }
}

/// The client's answer once the registry replied.
pub(super) fn registered(replies: Vec<Reply>) -> Next {
    let record = replies
        .into_iter()
        .next()
        .filter(|r| r.status == 200 || r.status == 201)
        .and_then(|r| serde_json::from_slice::<TaskRecord>(&r.body).ok());
    match record {
        Some(record) => Next::Respond(Response::json(202, &summary(&record))),
        None => unavailable("the task registry").into(),
    }
}
