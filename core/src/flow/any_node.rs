//! Requests any one node answers for all: every node holds the same index metadata,
//! settings and version. Tried on each live node in turn until one answers.

use std::sync::Arc;

use super::{live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::shard_map::ShardMap;

pub(super) struct AnyNode {
    path: String,
    candidates: Vec<usize>,
    tried: usize,
}

impl AnyNode {
    pub fn new(map: Arc<ShardMap>, path: String) -> AnyNode {
        AnyNode { path, candidates: live_nodes(&map), tried: 0 }
    }

    fn next_call(&mut self) -> Next {
        let Some(&node) = self.candidates.get(self.tried) else {
            return unavailable("this request").into();
        };
        self.tried += 1;
        Next::Send(vec![Call::get(Target::Node(node), self.path.clone())])
    }
}

impl Flow for AnyNode {
    fn start(&mut self) -> Next {
        self.next_call()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match replies.into_iter().next() {
            Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
            _ => self.next_call(),
        }
    }
}
