//! `GET /tasks/{uid}`: the registry's record, combined with its node tasks' state.

use std::sync::Arc;

use serde_json::Value;

use super::{unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::shard_map::{NodeState, ShardMap};
use crate::task::{combine, TaskRecord};
use crate::task_scope::Scope;
use crate::wire::TASKS_REGISTRY_PATH;

pub(super) struct TaskGet {
    map: Arc<ShardMap>,
    uid: Result<u64, String>,
    record: Option<TaskRecord>,
    /// The guard judged the key (see [`Flow::scope_indexes`]): Miroir asks the nodes
    /// itself, and a task `scope` does not show is not found.
    judged: bool,
    scope: Option<Scope>,
}

impl TaskGet {
    pub fn new(map: Arc<ShardMap>, uid: &str) -> TaskGet {
        TaskGet { map, uid: uid.parse().map_err(|_| uid.to_string()), record: None, judged: false, scope: None }
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

    fn scope_indexes(&mut self, patterns: &[String]) {
        self.judged = true;
        self.scope = Scope::of(patterns);
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        let Some(record) = self.record.take() else {
            let reply = replies.into_iter().next().unwrap_or_default();
            return match (reply.status, serde_json::from_slice::<TaskRecord>(&reply.body)) {
                (200, Ok(record)) if self.shows(&record) => self.ask_nodes(record),
                (200, Ok(_)) | (404, _) => self.not_found(),
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
    fn shows(&self, record: &TaskRecord) -> bool {
        self.scope.as_ref().is_none_or(|s| s.shows_task(&record.kind, record.index_uid.as_deref()))
    }

    fn not_found(&self) -> Next {
        MeiliError::new(Code::TaskNotFound, format!("Task `{}` not found.", self.uid.clone().unwrap_or(0))).into()
    }

    fn ask_nodes(&mut self, mut record: TaskRecord) -> Next {
        if record.node_tasks.is_empty() && self.judged {
            return Next::Respond(Response::json(200, &combine(&record, &[])));
        }
        if record.node_tasks.is_empty() {
            // A task Miroir failed itself: a node still judges the client's key.
            let Some(&node) = super::live_nodes(&self.map).first() else { return unavailable("the task").into() };
            self.record = Some(record);
            return Next::Send(vec![Call::get(Target::Node(node), "/tasks?limit=1".into())]);
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
                let target = if self.judged { Target::NodeAsMiroir(node) } else { Target::Node(node) };
                Call::get(target, format!("/tasks/{}", t.task_uid))
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
    fn a_task_the_key_may_not_see_is_not_found() {
        let run = |patterns: &[&str]| {
            let mut flow = TaskGet::new(Arc::new(shard_map(2, 1, 1)), "3");
            flow.scope_indexes(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>());
            flow.start();
            flow.on_replies(vec![Reply { status: 200, body: serde_json::to_vec(&record()).unwrap() }])
        };
        let Next::Respond(hidden) = run(&["a", "n*"]) else { panic!() };
        assert_eq!(hidden.status, 404);
        assert_eq!(serde_json::from_slice::<Value>(&hidden.body).unwrap()["code"], "task_not_found");
        let Next::Send(calls) = run(&["m*"]) else { panic!() };
        assert_eq!(calls[0].target, Target::NodeAsMiroir(0), "the guard judged the key");
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
