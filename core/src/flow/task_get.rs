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
        if record.node_tasks.is_empty() {
            return Next::Respond(Response::json(200, &combine(&record, &[])));
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
            // A task Miroir failed itself: a node still judges the client's key.
            let Some(&node) = super::live_nodes(&self.map).first() else { return unavailable("the task").into() };
            self.record = Some(record);
            return Next::Send(vec![Call::get(Target::Node(node), "/tasks?limit=1".into())]);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::shard_map;

    fn failed_by_miroir(probe: Reply) -> Response {
        let mut flow = TaskGet::new(Arc::new(shard_map(2, 1, 1)), "3");
        let Next::Send(registry) = flow.start() else { panic!() };
        assert_eq!(registry[0].target, Target::Control);
        let record = json!({"uid": 3, "indexUid": "movies", "type": "settingsUpdate", "enqueuedAt": "2026-01-01T00:00:00Z",
            "nodeTasks": [], "error": {"code": "index_not_found"}});
        let Next::Send(check) = flow.on_replies(vec![Reply { status: 200, body: record.to_string().into_bytes() }]) else { panic!() };
        assert_eq!((check[0].target, check[0].path.as_str()), (Target::Node(0), "/tasks?limit=1"));
        let Next::Respond(answer) = flow.on_replies(vec![probe]) else { panic!() };
        answer
    }

    #[test]
    fn a_task_without_node_tasks_is_shown_only_to_a_key_the_nodes_accept() {
        let refused = failed_by_miroir(Reply { status: 401, body: br#"{"code":"missing_authorization_header"}"#.to_vec() });
        assert_eq!(refused.status, 401);
        let shown = failed_by_miroir(Reply { status: 200, body: br#"{"results":[]}"#.to_vec() });
        assert_eq!(shown.status, 200);
        assert_eq!(serde_json::from_slice::<Value>(&shown.body).unwrap()["status"], "failed");
    }
}
