//! The similar flow against simulated nodes.

use std::sync::Arc;

use serde_json::{json, Value};

use super::super::{for_request, Call, Next, Reply, RequestInfo, Target};
use crate::placement::IndexPlacement;

fn reply(status: u16, body: Value) -> Reply {
    Reply { status, body: body.to_string().into_bytes() }
}

fn calls(next: Next) -> Vec<Call> {
    match next {
        Next::Send(calls) => calls,
        other => panic!("expected calls, got {other:?}"),
    }
}

fn post(body: Value) -> (RequestInfo, Vec<u8>) {
    let req = RequestInfo {
        method: "POST".into(),
        path: "/indexes/v/similar".into(),
        content_type: Some("application/json".into()),
        ..Default::default()
    };
    (req, body.to_string().into_bytes())
}

fn node(call: &Call) -> usize {
    match call.target {
        Target::Node(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn similar_becomes_one_semantic_search_per_shard_without_the_reference() {
    let m = Arc::new(crate::testing::shard_map(3, 2, 1));
    let p = IndexPlacement::compute(&m, "v");
    let (req, body) = post(json!({"id": 5, "embedder": "e", "limit": 2, "showRankingScore": true}));
    let mut flow = for_request(m.clone(), req);
    assert_eq!(flow.start(), Next::Wait);
    let first = calls(flow.on_body(body));
    assert_eq!(first[0].path, "/indexes/v");
    assert_eq!(first[1].path, "/indexes/v/documents/5?retrieveVectors=true");
    assert!(p.owners_of(p.shard_of("5")).contains(&node(&first[1])), "the reference is read from an owner");
    assert_eq!(first[2].path, "/indexes/v/settings/pagination");
    let searches = calls(flow.on_replies(vec![
        reply(200, json!({"uid": "v", "primaryKey": "id"})),
        reply(200, json!({"id": 5, "_vectors": {"e": {"embeddings": [[0.5, 0.5]], "regenerate": false}}})),
        reply(200, json!({"maxTotalHits": 1000})),
    ]));
    assert_eq!(searches.len(), 16, "one search per shard");
    let reference_shard = p.shard_of("5");
    let replies = searches
        .iter()
        .map(|c| {
            let body: Value = serde_json::from_slice(c.body.as_ref().unwrap()).unwrap();
            assert_eq!(body["vector"], json!([0.5, 0.5]));
            assert_eq!(body["limit"], json!(3));
            let clause = body["filter"][0].as_str().unwrap().to_string();
            let shard: u32 = crate::wire::shards_in_filter(&clause)[0];
            assert!(p.owners_of(shard).contains(&node(c)));
            let mut hits = vec![json!({"id": 100 + shard, "_rankingScore": 0.5 + f64::from(shard) / 100.0})];
            if shard == reference_shard {
                hits.insert(0, json!({"id": 5, "_rankingScore": 1.0}));
            }
            reply(200, json!({"hits": hits, "estimatedTotalHits": 4}))
        })
        .collect();
    let Next::Respond(answer) = flow.on_replies(replies) else { panic!("no answer") };
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer["hits"], json!([{"id": 115, "_rankingScore": 0.65}, {"id": 114, "_rankingScore": 0.64}]));
    assert_eq!(answer["estimatedTotalHits"], json!(16 * 4 - 1));
    assert_eq!((answer["id"].clone(), answer["limit"].clone(), answer["offset"].clone()), (json!("5"), json!(2), json!(0)));
}

#[test]
fn a_missing_reference_gets_its_owners_own_error() {
    let m = Arc::new(crate::testing::shard_map(3, 2, 1));
    let p = IndexPlacement::compute(&m, "v");
    let (req, body) = post(json!({"id": "nope", "embedder": "e"}));
    let mut flow = for_request(m, req);
    flow.start();
    calls(flow.on_body(body.clone()));
    let not_found = json!({"message": "Document `nope` not found.", "code": "not_found_similar_id", "type": "invalid_request", "link": ""});
    let relay = calls(flow.on_replies(vec![reply(200, json!({"primaryKey": "id"})), reply(404, json!({"code": "document_not_found"})), reply(200, json!({"maxTotalHits": 1000}))]));
    assert_eq!(relay.len(), 1);
    assert_eq!(relay[0].path, "/indexes/v/similar");
    assert_eq!(relay[0].body.as_deref(), Some(body.as_slice()));
    assert!(p.owners_of(p.shard_of("nope")).contains(&node(&relay[0])));
    let Next::Respond(answer) = flow.on_replies(vec![reply(404, not_found.clone())]) else { panic!("no answer") };
    assert_eq!((answer.status, serde_json::from_slice::<Value>(&answer.body).unwrap()), (404, not_found));
}
