//! The browse flow against simulated nodes that answer `documents/fetch` for one shard.

use std::sync::Arc;

use serde_json::{json, Value};

use super::super::{for_request, Call, Next, Reply, RequestInfo, Response, Target};
use crate::placement::IndexPlacement;
use crate::shard_map::{NodeState, ShardMap};

fn map(nodes: usize, rf: u32) -> Arc<ShardMap> {
    Arc::new(crate::testing::shard_map(nodes, rf, 1))
}

/// 300 documents `{id, v, seq, _miroir_shard}` in their shards, in insertion order (`seq`).
fn corpus(p: &IndexPlacement) -> Vec<Vec<Value>> {
    let mut shards = vec![Vec::new(); p.shards as usize];
    for i in 0..300u32 {
        let id = format!("d{i}");
        let shard = p.shard_of(&id);
        shards[shard as usize].push(json!({"id": id, "v": (i * 7) % 11, "seq": i, "_miroir_shard": shard}));
    }
    shards
}

/// The shards a call's last filter clause names (see `wire::shard_filter`).
fn shards_of(call: &Call) -> Vec<usize> {
    let body: Value = serde_json::from_slice(call.body.as_ref().unwrap()).unwrap();
    let clause = body["filter"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    crate::wire::shards_in_filter(&clause).into_iter().map(|s| s as usize).collect()
}

/// A node answering a fetch as Meilisearch would: documents in insertion order (`seq`),
/// or sorted by `v:desc` (numbers only), ties in insertion order.
fn node_answer(call: &Call, shards: &[Vec<Value>]) -> Reply {
    let body: Value = serde_json::from_slice(call.body.as_ref().unwrap()).unwrap();
    let mut docs: Vec<Value> = shards_of(call).into_iter().flat_map(|s| shards[s].clone()).collect();
    docs.sort_by_key(|d| d["seq"].as_u64().unwrap());
    if body.get("sort").is_some() {
        docs.sort_by_key(|d| std::cmp::Reverse(d["v"].as_u64().unwrap()));
    }
    let total = docs.len();
    let (offset, limit) = (body["offset"].as_u64().unwrap() as usize, body["limit"].as_u64().unwrap() as usize);
    let fields: Option<Vec<String>> = body.get("fields").map(|f| serde_json::from_value(f.clone()).unwrap());
    let results: Vec<Value> = docs
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|d| match &fields {
            Some(fields) => Value::Object(d.as_object().unwrap().iter().filter(|(k, _)| fields.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()),
            None => d,
        })
        .collect();
    Reply { status: 200, body: json!({"results": results, "offset": offset, "limit": limit, "total": total}).to_string().into_bytes() }
}

/// A `documents/fetch` request and its body.
fn post(body: Value) -> (RequestInfo, Option<Value>) {
    let req = RequestInfo {
        method: "POST".into(),
        path: "/indexes/movies/documents/fetch".into(),
        content_type: Some("application/json".into()),
        seed: 3,
        ..Default::default()
    };
    (req, Some(body))
}

fn get(path: &str) -> (RequestInfo, Option<Value>) {
    (RequestInfo { method: "GET".into(), path: path.into(), seed: 1, ..Default::default() }, None)
}

/// Runs a browse to its answer, nodes answering from `shards`; returns it and the rounds.
fn run(
    m: Arc<ShardMap>,
    (req, body): (RequestInfo, Option<Value>),
    shards: &[Vec<Value>],
    mut fault: impl FnMut(&Call) -> Option<Reply>,
) -> (Response, Vec<Vec<Call>>) {
    let mut flow = for_request(m, req);
    let mut next = flow.start();
    if let Some(body) = body {
        assert_eq!(next, Next::Wait);
        next = flow.on_body(body.to_string().into_bytes());
    }
    let mut rounds = Vec::new();
    loop {
        match next {
            Next::Send(calls) => {
                let replies = calls.iter().map(|c| fault(c).unwrap_or_else(|| node_answer(c, shards))).collect();
                rounds.push(calls);
                next = flow.on_replies(replies);
            }
            Next::Respond(r) => return (r, rounds),
            Next::Wait => panic!("flow stalled"),
        }
    }
}

fn ids(r: &Response) -> Vec<String> {
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["results"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn unsorted_pages_walk_every_document_once_shard_by_shard() {
    let m = map(3, 2);
    let p = IndexPlacement::compute(&m, "movies");
    let shards = corpus(&p);
    let expected: Vec<String> = shards.iter().flatten().map(|d| d["id"].as_str().unwrap().to_string()).collect();
    let mut seen = Vec::new();
    // Shallow pages take one round, deeper ones count first: both walk the same order.
    for page in 0..44 {
        let (r, rounds) = run(m.clone(), post(json!({"offset": page * 7, "limit": 7})), &shards, |_| None);
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((v["total"].clone(), v["offset"].clone(), v["limit"].clone()), (json!(300), json!(page * 7), json!(7)));
        assert!(v["results"].as_array().unwrap().iter().all(|d| d.get("_miroir_shard").is_none()));
        assert_eq!(rounds[0].len(), 16, "every shard counted");
        match page * 7 + 7 {
            0..=100 => assert_eq!(rounds.len(), 1),
            _ if page * 7 >= 300 => assert_eq!(rounds.len(), 1, "nothing to fetch past the end"),
            _ => assert!(rounds.len() == 2 && rounds[1].len() <= 3, "only the shards under the page are fetched"),
        }
        seen.extend(ids(&r));
    }
    assert_eq!(seen, expected);
}

#[test]
fn get_parameters_browse_like_the_post_body() {
    let m = map(3, 2);
    let shards = corpus(&IndexPlacement::compute(&m, "movies"));
    let (by_get, _) = run(m.clone(), get("/indexes/movies/documents?offset=5&limit=9"), &shards, |_| None);
    let (by_post, _) = run(m, post(json!({"offset": 5, "limit": 9})), &shards, |_| None);
    assert_eq!(by_get.body, by_post.body);
}

#[test]
fn sorted_browse_merges_on_the_sort_key_and_hides_merge_fields() {
    let m = map(3, 2);
    let p = IndexPlacement::compute(&m, "movies");
    let shards = corpus(&p);
    let mut all: Vec<(u64, u32, usize, String)> = Vec::new();
    for (s, docs) in shards.iter().enumerate() {
        let mut docs: Vec<&Value> = docs.iter().collect();
        docs.sort_by_key(|d| std::cmp::Reverse(d["v"].as_u64().unwrap()));
        for (i, d) in docs.iter().enumerate() {
            all.push((d["v"].as_u64().unwrap(), s as u32, i, d["id"].as_str().unwrap().to_string()));
        }
    }
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let expected: Vec<String> = all.into_iter().map(|t| t.3).skip(10).take(15).collect();
    let (r, rounds) = run(m, post(json!({"offset": 10, "limit": 15, "sort": ["v:desc"], "fields": ["id"]})), &shards, |_| None);
    assert_eq!(rounds.len(), 1);
    assert!(rounds[0].len() <= 3, "one call per node");
    assert!(rounds[0].iter().all(|c| serde_json::from_slice::<Value>(c.body.as_ref().unwrap()).unwrap()["limit"] == json!(25)));
    assert_eq!(ids(&r), expected);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v["results"].as_array().unwrap().iter().all(|d| d.as_object().unwrap().len() == 1), "{v}");
}

#[test]
fn a_refused_shard_request_sends_the_clients_own_request_to_one_node() {
    let m = map(3, 2);
    let shards = corpus(&IndexPlacement::compute(&m, "movies"));
    let refusal = json!({"message": "Attribute `x` is not filterable. Available filterable attribute patterns are: `_miroir_shard`, `v`.", "code": "invalid_document_filter", "type": "invalid_request", "link": ""});
    let (r, rounds) = run(m, post(json!({"filter": "x = 1"})), &shards, |_| Some(Reply { status: 400, body: refusal.to_string().into_bytes() }));
    assert_eq!(rounds.len(), 2);
    assert_eq!(rounds[1].len(), 1);
    assert_eq!(rounds[1][0].body.as_deref(), Some(json!({"filter": "x = 1"}).to_string().as_bytes()));
    assert_eq!(r.status, 400);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["message"], json!("Attribute `x` is not filterable. Available filterable attribute patterns are: `v`."));
}

#[test]
fn a_node_that_fails_has_its_shards_asked_on_another_replica() {
    let m = map(3, 2);
    let shards = corpus(&IndexPlacement::compute(&m, "movies"));
    let (r, rounds) = run(m.clone(), post(json!({"limit": 1000})), &shards, |c| (c.target == Target::Node(1)).then(Reply::default));
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r).len(), 300);
    assert!(r.headers.is_empty());
    assert!(rounds.len() >= 3);
    let sorted = json!({"limit": 1000, "sort": ["v:desc"]});
    let (healthy, _) = run(m.clone(), post(sorted.clone()), &shards, |_| None);
    let (failing, rounds) = run(m.clone(), post(sorted), &shards, |c| (c.target == Target::Node(1)).then(Reply::default));
    assert_eq!(rounds.len(), 2, "the failed node's shards asked again");
    assert_eq!(failing.body, healthy.body, "a sorted browse is the same whichever replica serves");
    // With a node down and RF 1 its shards are missing: named, or refused on request.
    let mut down = crate::testing::shard_map(3, 1, 1);
    down.nodes[2].state = NodeState::Down;
    let down = Arc::new(down);
    let p = IndexPlacement::compute(&down, "movies");
    let (r, _) = run(down.clone(), post(json!({"limit": 1000})), &corpus(&p), |_| None);
    let lost: usize = p.shards_on(2).iter().map(|s| corpus(&p)[*s as usize].len()).sum();
    assert_eq!(ids(&r).len(), 300 - lost);
    assert_eq!(r.headers[0].0, crate::wire::DEGRADED_HEADER);
    let (req, body) = post(json!({}));
    let strict = (RequestInfo { fail_when_degraded: true, ..req }, body);
    let (r, _) = run(down, strict, &corpus(&p), |_| None);
    assert_eq!(r.status, 503);
}

#[test]
fn a_request_miroir_cannot_read_is_never_answered_from_one_node() {
    let m = map(3, 2);
    let shards = corpus(&IndexPlacement::compute(&m, "movies"));
    let (r, rounds) = run(m, get("/indexes/movies/documents?somethingNew=1"), &shards, |_| Some(Reply { status: 200, body: b"{\"results\":[],\"total\":0}".to_vec() }));
    assert_eq!(rounds.len(), 1);
    assert_eq!(r.status, 501);
}
