//! Requests any one node answers for all: every node holds the same index metadata,
//! settings and version. Tried on each live node in turn until one answers.

use std::sync::Arc;

use super::{live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::settings::{hide, SettingsRoute};
use crate::shard_map::ShardMap;

pub(super) struct AnyNode {
    path: String,
    hide: SettingsRoute,
    candidates: Vec<usize>,
    tried: usize,
}

impl AnyNode {
    pub fn new(map: Arc<ShardMap>, path: String, hide: SettingsRoute) -> AnyNode {
        AnyNode { path, hide, candidates: live_nodes(&map), tried: 0 }
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
            Some(r) if r.status == 200 && self.hide != SettingsRoute::Other => match r.json() {
                Some(mut settings) => {
                    hide(self.hide, &mut settings);
                    Next::Respond(Response::json(200, &settings))
                }
                None => Next::Respond(Response::relay(r)),
            },
            Some(r) if !r.is_unavailable() => Next::Respond(Response::relay(r)),
            _ => self.next_call(),
        }
    }
}
