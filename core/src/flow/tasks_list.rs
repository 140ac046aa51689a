//! `GET /tasks`: the registry's client tasks, each combined with its node tasks, with
//! Meilisearch's filters and paging.
//!
//! Design: the control plane pages through the records that pass the record-level
//! filters (uids, types, index uids, enqueue dates; see [`crate::tasks_query`]). For each
//! page the filter asks every node concerned for its node tasks in one call
//! (`GET /tasks?uids=...`, with the client's key, so the nodes judge the key), combines
//! each record as `GET /tasks/{uid}` does and applies the filters that need the combined
//! state (statuses, canceledBy, start and finish dates). Without such filters one page is
//! the answer. With them the pages continue until every candidate is seen, since
//! `total` counts every match: the cost grows with the candidates, which the
//! record-level filters (and `from`) bound.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::route::split_path;
use crate::shard_map::ShardMap;
use crate::task::{combine, TaskRecord};
use crate::task_scope::Scope;
use crate::tasks_query::TaskQuery;
use crate::wire::TASKS_REGISTRY_PATH;

/// Records asked of the registry at once when the combined state filters them.
const SCAN_PAGE: usize = 100;

enum Stage {
    /// The registry's page (and, the first time, a node judging the client's key).
    Records,
    /// The node tasks of `records`, one call per node in `nodes`.
    NodeTasks { records: Vec<TaskRecord>, nodes: Vec<usize>, next: Option<u64>, total: usize },
}

pub(super) struct TaskList {
    map: Arc<ShardMap>,
    query: Result<TaskQuery, crate::error::MeiliError>,
    stage: Stage,
    /// Matches so far (at most `limit + 1`), and how many in all.
    found: Vec<Value>,
    matched: usize,
    /// Collect mode (for `POST /tasks/cancel`): every match, with its record.
    collected: Option<Vec<(TaskRecord, Value)>>,
    /// Matches seen in the `limit + 1` window (shown or not).
    window: usize,
    /// The guard judged the key: Miroir asks the nodes itself and hides what `scope`
    /// does not show (else the nodes judge the client's key and hide it).
    judged: bool,
    scope: Option<Scope>,
}

impl TaskList {
    pub fn new(map: Arc<ShardMap>, path: &str) -> TaskList {
        let (_, query) = split_path(path);
        TaskList::with(map, TaskQuery::parse(query), None)
    }

    /// Scans every task `query` selects; the flow's answer is then meaningless and
    /// [`TaskList::take_collected`] gives the matches.
    pub fn collecting(map: Arc<ShardMap>, query: TaskQuery) -> TaskList {
        TaskList::with(map, Ok(query), Some(Vec::new()))
    }

    fn with(map: Arc<ShardMap>, query: Result<TaskQuery, crate::error::MeiliError>, collected: Option<Vec<(TaskRecord, Value)>>) -> TaskList {
        TaskList { map, query, stage: Stage::Records, found: Vec::new(), matched: 0, collected, window: 0, judged: false, scope: None }
    }

    /// The key passed the guard with these index patterns (see [`Flow::scope_indexes`]).
    pub fn restrict(&mut self, patterns: &[String]) {
        self.judged = true;
        self.scope = Scope::of(patterns);
    }

    /// Where node tasks are read: as Miroir once the key is judged.
    fn node(&self, node: usize) -> Target {
        if self.judged {
            Target::NodeAsMiroir(node)
        } else {
            Target::Node(node)
        }
    }

    pub fn take_collected(&mut self) -> Vec<(TaskRecord, Value)> {
        self.collected.take().unwrap_or_default()
    }

    /// Whether every page must be seen (filters on the combined state, or collecting).
    fn scans_all(&self) -> bool {
        self.collected.is_some() || self.query.as_ref().is_ok_and(TaskQuery::needs_view)
    }

    fn records(&mut self, from: Option<u64>, probe: bool) -> Next {
        let size = match &self.query {
            Ok(_) if self.scans_all() => SCAN_PAGE,
            // A restricted key's page is cut from `limit + 1` matches, as on a node.
            Ok(query) if self.scope.is_some() => query.limit.saturating_add(1),
            Ok(query) => query.limit,
            Err(_) => return Next::Wait,
        };
        let Ok(query) = &self.query else { return Next::Wait };
        let mut calls = vec![Call::get(Target::Control, format!("{TASKS_REGISTRY_PATH}?{}", query.record_query(from, size)))];
        if probe && !self.judged {
            let Some(&node) = live_nodes(&self.map).first() else { return unavailable("the task list").into() };
            calls.push(Call::get(Target::Node(node), "/tasks?limit=1".into()));
        }
        self.stage = Stage::Records;
        Next::Send(calls)
    }

    fn on_records(&mut self, replies: Vec<Reply>) -> Next {
        let mut replies = replies.into_iter();
        let page = replies.next().unwrap_or_default();
        if let Some(refusal) = replies.next().filter(|r| r.status == 401 || r.status == 403) {
            return Next::Respond(Response::relay(refusal));
        }
        if page.status != 200 {
            return match page.is_unavailable() {
                true => unavailable("the task registry").into(),
                false => Next::Respond(Response::relay(page)),
            };
        }
        let Some(page) = page.json() else { return unavailable("the task registry").into() };
        let records: Vec<TaskRecord> = serde_json::from_value(page["results"].clone()).unwrap_or_default();
        let next = page["next"].as_u64();
        let total = page["total"].as_u64().unwrap_or(0) as usize;
        // Node tasks grouped by node: one call per node.
        let mut per_node: Vec<(usize, Vec<u64>)> = Vec::new();
        for task in records.iter().flat_map(|r| &r.node_tasks) {
            let Some(node) = self.map.nodes.iter().position(|n| n.id == task.node) else { continue };
            match per_node.iter_mut().find(|(n, _)| *n == node) {
                Some((_, uids)) => uids.push(task.task_uid),
                None => per_node.push((node, vec![task.task_uid])),
            }
        }
        let calls: Vec<Call> = per_node
            .iter()
            .map(|(node, uids)| {
                let list: Vec<String> = uids.iter().map(u64::to_string).collect();
                Call::get(self.node(*node), format!("/tasks?uids={}&limit={}", list.join(","), uids.len()))
            })
            .collect();
        let nodes = per_node.into_iter().map(|(n, _)| n).collect();
        self.stage = Stage::NodeTasks { records, nodes, next, total };
        if calls.is_empty() {
            return self.on_node_tasks(Vec::new());
        }
        Next::Send(calls)
    }

    fn on_node_tasks(&mut self, replies: Vec<Reply>) -> Next {
        let Stage::NodeTasks { records, nodes, next, total } = std::mem::replace(&mut self.stage, Stage::Records) else {
            return Next::Wait;
        };
        if let Some(refusal) = replies.iter().find(|r| r.status == 401 || r.status == 403) {
            return Next::Respond(Response::relay(refusal.clone()));
        }
        let answered_all = replies.iter().all(|r| r.status == 200);
        let mut views: HashMap<(usize, u64), Value> = HashMap::new();
        for (node, reply) in nodes.iter().zip(&replies) {
            let Some(results) = reply.json().filter(|_| reply.status == 200).and_then(|v| v.get("results").cloned()) else { continue };
            for task in results.as_array().into_iter().flatten() {
                if let Some(uid) = task.get("uid").and_then(Value::as_u64) {
                    views.insert((*node, uid), task.clone());
                }
            }
        }
        let scans_all = self.scans_all();
        let Ok(query) = &self.query else { return Next::Wait };
        let needs_view = query.needs_view();
        let limit = query.limit;
        for record in &records {
            let node_views: Vec<Value> = record
                .node_tasks
                .iter()
                .map(|t| {
                    let node = self.map.nodes.iter().position(|n| n.id == t.node);
                    node.and_then(|n| views.get(&(n, t.task_uid)).cloned()).unwrap_or(Value::Null)
                })
                .collect();
            // Nodes answer only the tasks the client's key may see (a key limited to some
            // indexes): a record none of whose node tasks came back is not the client's to see.
            if !self.judged && !record.node_tasks.is_empty() && node_views.iter().all(Value::is_null) && answered_all {
                continue;
            }
            let view = combine(record, &node_views);
            if needs_view && !query.matches_view(&view) {
                continue;
            }
            // `total` counts what the key may not see, as on a node.
            self.matched += 1;
            let shown = self.scope.as_ref().is_none_or(|s| s.shows_task(&record.kind, record.index_uid.as_deref()));
            if let Some(collected) = &mut self.collected {
                if shown {
                    collected.push((record.clone(), view));
                }
            } else if self.window <= limit {
                self.window += 1;
                if shown {
                    self.found.push(view);
                }
            }
        }
        if !scans_all {
            let mut results: Vec<Value> = self.found.drain(..).collect();
            let next = match self.scope {
                Some(_) => (results.len() > limit).then(|| results.pop()).flatten().and_then(|v| v["uid"].as_u64()),
                None => next,
            };
            return Next::Respond(Response::json(200, &page(results, total, limit, next)));
        }
        match next {
            Some(from) => self.records(Some(from), false),
            None => {
                let mut results: Vec<Value> = std::mem::take(&mut self.found);
                let next = (results.len() > limit).then(|| results.pop()).flatten().and_then(|v| v["uid"].as_u64());
                Next::Respond(Response::json(200, &page(results, self.matched, limit, next)))
            }
        }
    }
}

fn page(results: Vec<Value>, total: usize, limit: usize, next: Option<u64>) -> Value {
    let from = results.first().and_then(|v| v["uid"].as_u64());
    json!({"results": results, "total": total, "limit": limit, "from": from, "next": next})
}

impl Flow for TaskList {
    fn start(&mut self) -> Next {
        match &self.query {
            Err(e) => e.clone().into(),
            Ok(query) => {
                let from = query.from;
                self.records(from, true)
            }
        }
    }

    fn scope_indexes(&mut self, patterns: &[String]) {
        self.restrict(patterns);
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match self.stage {
            Stage::Records => self.on_records(replies),
            Stage::NodeTasks { .. } => self.on_node_tasks(replies),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::NodeTask;
    use crate::testing::shard_map;

    fn record(uid: u64, node_uid: u64) -> TaskRecord {
        TaskRecord {
            uid,
            index_uid: Some("movies".into()),
            kind: "documentAdditionOrUpdate".into(),
            enqueued_at: "2026-01-01T00:00:00Z".into(),
            node_tasks: vec![
                NodeTask { node: "node0".into(), task_uid: node_uid, hidden: false, documents: 0 },
                NodeTask { node: "node1".into(), task_uid: node_uid + 100, hidden: false, documents: 0 },
            ],
            ..TaskRecord::default()
        }
    }

    fn reply(value: Value) -> Reply {
        Reply { status: 200, body: value.to_string().into_bytes() }
    }

    fn node_tasks(uids: &[(u64, &str)]) -> Reply {
        reply(json!({"results": uids.iter().map(|(u, s)| json!({"uid": u, "status": s})).collect::<Vec<_>>()}))
    }

    #[test]
    fn a_status_filter_applies_to_the_combined_status_over_every_page() {
        let mut flow = TaskList::new(Arc::new(shard_map(2, 1, 1)), "/tasks?statuses=succeeded&limit=1");
        let Next::Send(first) = flow.start() else { panic!() };
        assert_eq!(first.len(), 2, "the registry and a node judging the key");
        assert!(first[0].path.contains("limit=100"));
        let page1 = json!({"results": [record(5, 50), record(4, 40)], "next": 3, "total": 3});
        let Next::Send(nodes) = flow.on_replies(vec![reply(page1), reply(json!({"results": []}))]) else { panic!() };
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].path.starts_with("/tasks?uids=50,40"));
        // Task 5 is done on one node only; task 4 everywhere.
        let Next::Send(more) =
            flow.on_replies(vec![node_tasks(&[(50, "succeeded"), (40, "succeeded")]), node_tasks(&[(150, "processing"), (140, "succeeded")])])
        else {
            panic!()
        };
        assert!(more[0].path.contains("from=3"));
        let Next::Send(_) = flow.on_replies(vec![reply(json!({"results": [record(3, 30)], "next": null, "total": 3}))]) else { panic!() };
        let Next::Respond(answer) = flow.on_replies(vec![node_tasks(&[(30, "succeeded")]), node_tasks(&[(130, "succeeded")])]) else { panic!() };
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["results"].as_array().unwrap().iter().map(|t| t["uid"].clone()).collect::<Vec<_>>(), [json!(4)]);
        assert_eq!((body["total"].clone(), body["next"].clone(), body["from"].clone()), (json!(2), json!(3), json!(4)));
    }

    #[test]
    fn tasks_the_nodes_do_not_show_the_key_are_left_out() {
        let mut flow = TaskList::new(Arc::new(shard_map(2, 1, 1)), "/tasks");
        flow.start();
        let page = json!({"results": [record(5, 50), record(4, 40)], "next": null, "total": 2});
        let Next::Send(_) = flow.on_replies(vec![reply(page), reply(json!({"results": []}))]) else { panic!() };
        let Next::Respond(answer) = flow.on_replies(vec![node_tasks(&[(40, "succeeded")]), node_tasks(&[(140, "succeeded")])]) else { panic!() };
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["results"].as_array().unwrap().iter().map(|t| t["uid"].clone()).collect::<Vec<_>>(), [json!(4)]);
    }

    fn on(uid: u64, kind: &str, index: Option<&str>) -> TaskRecord {
        TaskRecord { kind: kind.into(), index_uid: index.map(str::to_string), ..record(uid, uid * 10) }
    }

    /// `GET /tasks{query}` for a key on index `a`, over records 5 (b), 4 (a), 3 (a
    /// cancelation), 2 (a); every node task succeeded.
    fn restricted(query: &str) -> Value {
        let mut flow = TaskList::new(Arc::new(shard_map(2, 1, 1)), &format!("/tasks{query}"));
        flow.scope_indexes(&["a".to_string()]);
        let Next::Send(first) = flow.start() else { panic!() };
        assert_eq!(first.len(), 1, "the guard judged the key: no node probe");
        let all = [on(5, "documentAdditionOrUpdate", Some("b")), on(4, "settingsUpdate", Some("a")), on(3, "taskCancelation", None), on(2, "indexCreation", Some("a"))];
        let size: usize = first[0].path.split("limit=").nth(1).and_then(|l| l.split('&').next()).unwrap().parse().unwrap();
        let page = json!({"results": all.iter().take(size).collect::<Vec<_>>(), "next": all.get(size).map(|r| r.uid), "total": 4});
        let Next::Send(nodes) = flow.on_replies(vec![reply(page)]) else { panic!() };
        assert!(nodes.iter().all(|c| matches!(c.target, Target::NodeAsMiroir(_))));
        let done: Vec<Reply> = nodes
            .iter()
            .map(|c| {
                let uids = c.path.split("uids=").nth(1).unwrap().split('&').next().unwrap();
                node_tasks(&uids.split(',').map(|u| (u.parse().unwrap(), "succeeded")).collect::<Vec<_>>())
            })
            .collect();
        let Next::Respond(answer) = flow.on_replies(done) else { panic!() };
        serde_json::from_slice(&answer.body).unwrap()
    }

    fn uids(body: &Value) -> Vec<u64> {
        body["results"].as_array().unwrap().iter().map(|t| t["uid"].as_u64().unwrap()).collect()
    }

    #[test]
    fn a_restricted_key_sees_its_indexes_tasks_cut_from_the_window_and_total_counts_all() {
        let body = restricted("");
        assert_eq!((uids(&body), body["total"].clone(), body["next"].clone()), (vec![4, 2], json!(4), json!(null)));
        // As on a node: the `limit + 1` window (5, 4, 3) is cut first, then filtered.
        let body = restricted("?limit=2");
        assert_eq!((uids(&body), body["total"].clone(), body["next"].clone()), (vec![4], json!(4), json!(null)));
        let body = restricted("?limit=1");
        assert_eq!((uids(&body), body["next"].clone()), (vec![4], json!(null)));
        // With a filter on the combined state, every page is scanned: the same answers.
        let body = restricted("?statuses=succeeded&limit=2");
        assert_eq!((uids(&body), body["total"].clone(), body["next"].clone()), (vec![4], json!(4), json!(null)));
        let body = restricted("?statuses=succeeded");
        assert_eq!((uids(&body), body["total"].clone()), (vec![4, 2], json!(4)));
    }

    #[test]
    fn a_refused_key_is_the_nodes_answer() {
        let mut flow = TaskList::new(Arc::new(shard_map(2, 1, 1)), "/tasks");
        flow.start();
        let refusal = Reply { status: 401, body: br#"{"message":"m","code":"missing_authorization_header","type":"auth","link":"l"}"#.to_vec() };
        let Next::Respond(answer) = flow.on_replies(vec![reply(json!({"results": [], "next": null, "total": 0})), refusal]) else { panic!() };
        assert_eq!(answer.status, 401);
    }

    #[test]
    fn bad_parameters_reach_no_one() {
        let mut flow = TaskList::new(Arc::new(shard_map(2, 1, 1)), "/tasks?statuses=nope");
        let Next::Respond(answer) = flow.start() else { panic!() };
        assert_eq!(answer.status, 400);
    }
}
