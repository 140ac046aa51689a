//! `GET /tasks/{uid}`: the registry's record, combined with its node tasks' state.

use std::sync::Arc;

use serde_json::Value;

use super::{unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::shard_map::ShardMap;
use crate::task::{combine, TaskRecord};
use crate::wire::TASKS_REGISTRY_PATH;

pub(super) struct TaskGet {
    map: Arc<ShardMap>,
    uid: Result<u64, String>,
    record: Option<TaskRecord>,
}

impl TaskGet {
    pub fn new(map: Arc<ShardMap>, uid: &str) -> TaskGet {
        TaskGet { map, uid: uid.parse().map_err(|_| uid.to_string()), record: None }
    }
}

impl Flow for TaskGet {
    fn start(&mut self) -> Next {
        match &self.uid {
            Ok(uid) => Next::Send(vec![Call::get(Target::Control, format!("{TASKS_REGISTRY_PATH}/{uid}"))]),
            Err(raw) => MeiliError::new(
                Code::InvalidTaskUids,
                format!("Invalid value in parameter `taskUid`: could not parse `{raw}` as a positive integer"),
            )
            .into(),
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        let Some(record) = self.record.take() else {
            let reply = replies.into_iter().next().unwrap_or_default();
            return match (reply.status, serde_json::from_slice::<TaskRecord>(&reply.body)) {
                (200, Ok(record)) => self.ask_nodes(record),
                (404, _) => MeiliError::new(Code::TaskNotFound, format!("Task `{}` not found.", self.uid.clone().unwrap_or(0))).into(),
                _ => unavailable("the task registry").into(),
            };
        };
        // The nodes judge the client's key: a refusal is the answer.
        if let Some(refusal) = replies.iter().find(|r| r.status == 401 || r.status == 403) {
            return Next::Respond(Response::relay(refusal.clone()));
        }
        let views: Vec<Value> = replies
            .into_iter()
            .map(|r| if r.status == 200 { r.json().unwrap_or(Value::Null) } else { Value::Null })
            .collect();
        Next::Respond(Response::json(200, &combine(&record, &views)))
    }
}

impl TaskGet {
    fn ask_nodes(&mut self, record: TaskRecord) -> Next {
        if record.node_tasks.is_empty() {
            return Next::Respond(Response::json(200, &combine(&record, &[])));
        }
        let calls = record
            .node_tasks
            .iter()
            .map(|t| {
                // A node gone from the map answers nothing: the call fails and its view is null.
                let node = self.map.nodes.iter().position(|n| n.id == t.node).unwrap_or(usize::MAX);
                Call::get(Target::Node(node), format!("/tasks/{}", t.task_uid))
            })
            .collect();
        self.record = Some(record);
        Next::Send(calls)
    }
}
