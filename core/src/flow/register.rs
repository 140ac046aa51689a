//! The last rounds every write shares: turn the nodes' 202 answers into node tasks,
//! register one client task with the control plane, answer its summary.

use std::collections::BTreeSet;

use serde_json::Value;

use super::quorum::{self, Owners};
use super::{first_refusal, node_task_uid, unavailable, Call, Next, Reply, Response, Target};
use crate::error::MeiliError;
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::ShardMap;
use crate::task::{summary, NodeTask, TaskRecord};
use crate::wire::TASKS_REGISTRY_PATH;

/// One call of a write round: the node it went to, and whether its node task only
/// counts toward status (a rebalance target's part, or Miroir's own settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Part {
    pub node: usize,
    pub hidden: bool,
    /// Documents (or ids) in the call.
    pub documents: u64,
}

/// A client task being assembled from node tasks.
#[derive(Debug, Clone)]
pub(super) struct TaskDraft {
    pub record: TaskRecord,
}

impl TaskDraft {
    pub fn new(index: Option<String>, kind: &str, copies: usize) -> TaskDraft {
        TaskDraft {
            record: TaskRecord {
                index_uid: index,
                kind: kind.to_string(),
                copies: copies.max(1) as u32,
                ..TaskRecord::default()
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
            self.record.node_tasks.push(NodeTask { node: n.id.clone(), task_uid, hidden, documents: 0 });
        }
        Ok(())
    }

    /// Adds the node tasks of a write round (`replies[i]` answers `parts[i]`) and returns
    /// the nodes whose every call was accepted. A node that did not answer, answered 5xx
    /// or answered without a task is left out, for the quorum to judge; any other refusal
    /// (a 4xx, which every node would give alike) is the client's answer.
    pub fn accept_writes(&mut self, map: &ShardMap, parts: &[Part], replies: Vec<Reply>) -> Result<BTreeSet<usize>, Response> {
        let mut failed = BTreeSet::new();
        let mut tasks = Vec::new();
        for (part, reply) in parts.iter().zip(&replies) {
            match node_task_uid(reply) {
                Some(task_uid) => tasks.push((part, task_uid)),
                // No answer, a 5xx, or a success without a task: the node missed it.
                None if reply.is_unavailable() || reply.status < 300 => {
                    failed.insert(part.node);
                }
                None => return Err(Response::relay(reply.clone())),
            }
        }
        if replies.len() < parts.len() {
            failed.extend(parts[replies.len()..].iter().map(|p| p.node));
        }
        for (part, task_uid) in tasks {
            let Some(n) = map.nodes.get(part.node) else { continue };
            self.record.node_tasks.push(NodeTask { node: n.id.clone(), task_uid, hidden: part.hidden, documents: part.documents });
        }
        Ok(parts.iter().map(|p| p.node).filter(|n| !failed.contains(n)).collect())
    }

    /// Notes the write owners that missed the write (skipped as down, or failed) and
    /// judges the quorum: `Err` carries the client's error, once registered.
    pub fn settle(&mut self, write: &WriteScope<'_>, owners: &Owners, accepted: &BTreeSet<usize>) -> Result<(), MeiliError> {
        let missed = owners.skipped.iter().chain(owners.reachable.iter().filter(|n| !accepted.contains(n)));
        let mut ids: Vec<String> = missed.filter_map(|&n| write.map.nodes.get(n)).map(|n| n.id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.record.missed = ids;
        match quorum::check_after(write.map, write.placement, write.shards, accepted, write.index) {
            Some(err) => {
                self.record.error = Some(err.to_value());
                Err(err)
            }
            None => Ok(()),
        }
    }

    /// The call that registers the task with the control plane.
    pub fn register(&self) -> Next {
        let body = serde_json::to_vec(&self.record).unwrap_or_default();
        Next::Send(vec![Call::json(Target::Control, Method::Post, TASKS_REGISTRY_PATH.to_string(), body)])
    }
}

/// The client's answer once the registry replied.
pub(super) fn registered(replies: Vec<Reply>) -> Next {
    registered_with(replies, 202)
}

/// As [`registered`], answered with `status` (a cancelation is answered with 200).
pub(super) fn registered_with(replies: Vec<Reply>, status: u16) -> Next {
    let record = replies
        .into_iter()
        .next()
        .filter(|r| r.status == 200 || r.status == 201)
        .and_then(|r| serde_json::from_slice::<TaskRecord>(&r.body).ok());
    match record {
        Some(record) => Next::Respond(Response::json(status, &summary(&record))),
        None => unavailable("the task registry").into(),
    }
}

/// What a write touches, for the quorum.
pub(super) struct WriteScope<'a> {
    pub map: &'a ShardMap,
    pub placement: &'a IndexPlacement,
    pub shards: &'a [u32],
    pub index: &'a str,
}

/// The client's answer to a write that missed its quorum, once registered (so the
/// control plane learnt which nodes missed it): the error, whatever the registry said.
pub(super) fn refused_after_registering(err: &MeiliError) -> Next {
    Next::Respond(Response::error(err))
}
