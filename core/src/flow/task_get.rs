//! `GET /tasks/{uid}`: the registry's record, combined with its node tasks' state.

use std::sync::Arc;

use serde_json::Value;

use super::{unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::shard_map::{NodeState, ShardMap};
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
        let views: Vec<Value> = replies
            .into_iter()
            .map(|r| if r.status == 200 { r.json().unwrap_or(Value::Null) } else { Value::Null })
            .collect();
        Next::Respond(Response::json(200, &combine(&record, &views)))
    }
}

impl TaskGet {
    fn ask_nodes(&mut self, mut record: TaskRecord) -> Next {
        if record.node_tasks.is_empty() {
            return Next::Respond(Response::json(200, &combine(&record, &[])));
        }
        // A node down (or gone from the map) cannot say how its task went; the write
        // was acknowledged by a quorum and the repairer brings the node in line, so
        // the task is judged on the nodes that can answer — unless none can.
        let reachable = |node: &str| self.map.nodes.iter().any(|n| n.id == node && n.state != NodeState::Down);
        if record.node_tasks.iter().any(|t| reachable(&t.node)) {
            record.node_tasks.retain(|t| reachable(&t.node));
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

    fn record() -> TaskRecord {
        serde_json::from_value(json!({"uid": 3, "indexUid": "m", "type": "documentAdditionOrUpdate", "nodeTasks": [
            {"node": "node0", "taskUid": 1}, {"node": "node1", "taskUid": 2}]})).unwrap()
    }

    fn ask(map: ShardMap) -> (TaskGet, Vec<Call>) {
        let mut flow = TaskGet::new(Arc::new(map), "3");
        let Next::Send(calls) = flow.on_replies(vec![Reply { status: 200, body: serde_json::to_vec(&record()).unwrap() }]) else { panic!() };
        (flow, calls)
    }

    #[test]
    fn a_down_node_does_not_hold_a_task_back() {
        let mut map = crate::testing::shard_map(2, 2, 1);
        map.nodes[1].state = NodeState::Down;
        let (mut flow, calls) = ask(map);
        assert_eq!(calls.len(), 1);
        let done = json!({"status": "succeeded", "details": {}});
        let Next::Respond(r) = flow.on_replies(vec![Reply { status: 200, body: done.to_string().into_bytes() }]) else { panic!() };
        assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["status"], "succeeded");
    }

    #[test]
    fn with_every_node_down_the_task_is_not_called_done() {
        let mut map = crate::testing::shard_map(2, 2, 1);
        map.nodes.iter_mut().for_each(|n| n.state = NodeState::Down);
        let (mut flow, calls) = ask(map);
        assert_eq!(calls.len(), 2);
        let Next::Respond(r) = flow.on_replies(vec![Reply::default(), Reply::default()]) else { panic!() };
        assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["status"], "enqueued");
    }
}
