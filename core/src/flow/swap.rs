//! `POST /swap-indexes`: the body is checked here, as a node checks it, so a refused
//! swap reaches nobody; an accepted one goes to the control plane, which registers the
//! `indexSwap` task, answers its summary and runs the swap (fence, nodes, map).

use super::{unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::route::Method;
use crate::swap::parse_body;
use crate::wire::SWAP_PATH;

pub(super) struct SwapIndexes {
    content_type: Option<String>,
}

impl SwapIndexes {
    pub fn new(content_type: Option<String>) -> SwapIndexes {
        SwapIndexes { content_type }
    }
}

impl Flow for SwapIndexes {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        let swaps = match parse_body(self.content_type.as_deref(), &body) {
            Ok(swaps) => swaps,
            Err(err) => return err.into(),
        };
        let Ok(body) = serde_json::to_vec(&swaps) else { return unavailable("this swap").into() };
        Next::Send(vec![Call::json(Target::Control, Method::Post, SWAP_PATH.to_string(), body)])
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match replies.into_iter().next() {
            Some(reply) if !reply.is_unavailable() => Next::Respond(Response::relay(reply)),
            _ => unavailable("this swap").into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_body_reaches_nobody_and_a_good_one_goes_to_the_control_plane() {
        let mut flow = SwapIndexes::new(Some("application/json".into()));
        assert_eq!(flow.start(), Next::Wait);
        let Next::Respond(refusal) = flow.on_body(br#"[{"indexes":["a"]}]"#.to_vec()) else { panic!("refused") };
        assert_eq!(refusal.status, 400);
        let mut flow = SwapIndexes::new(Some("application/json".into()));
        let Next::Send(calls) = flow.on_body(br#"[{"indexes":["a","b"],"rename":true}]"#.to_vec()) else { panic!("sent") };
        assert_eq!((calls.len(), calls[0].target, calls[0].path.as_str()), (1, Target::Control, SWAP_PATH));
        let sent: serde_json::Value = serde_json::from_slice(calls[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(sent, serde_json::json!([{"indexes": ["a", "b"], "rename": true}]));
        let summary = Reply { status: 202, body: br#"{"taskUid":4,"indexUid":null,"status":"enqueued","type":"indexSwap"}"#.to_vec() };
        let Next::Respond(answer) = flow.on_replies(vec![summary]) else { panic!("answered") };
        assert_eq!(answer.status, 202);
        let Next::Respond(down) = SwapIndexes::new(None).on_replies(vec![Reply::default()]) else { panic!("answered") };
        assert_eq!(down.status, 503);
    }
}
