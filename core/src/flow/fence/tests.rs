use super::*;
use crate::flow::for_route;
use crate::route::{classify, Method};
use crate::shard_map::IndexConfig;

fn fenced_map(fenced: bool) -> ShardMap {
    let mut map = crate::testing::shard_map(3, 1, 1);
    map.node_key = Some("envoy-key".into());
    map.indexes.insert("movies".into(), IndexConfig { shards: 16, placement_key: Some("films".into()), fenced });
    map
}

fn request(method: &str, path: &str) -> (Route, RequestInfo) {
    let req = RequestInfo {
        method: method.into(),
        path: path.into(),
        content_type: Some("application/json".into()),
        seed: 1,
        authorization: Some("Bearer envoy-key".into()),
        ..RequestInfo::default()
    };
    (classify(Method::parse(method), path), req)
}

fn lifted(version: u64) -> Reply {
    let mut map = fenced_map(false);
    map.version = version;
    map.node_key = None;
    Reply { status: 200, body: serde_json::to_vec(&map).unwrap() }
}

fn is_poll(next: &Next, index: &str) -> bool {
    matches!(next, Next::Send(calls) if calls.len() == 1 && calls[0].target == Target::Control
        && calls[0].path == format!("{FENCE_PATH}?index={index}"))
}

#[test]
fn a_request_on_an_unfenced_index_runs_at_once() {
    let (route, req) = request("GET", "/indexes/books/search?q=a");
    let mut flow = for_route(Arc::new(fenced_map(true)), route, req);
    let next = flow.start();
    assert!(!is_poll(&next, "books"));
    assert!(matches!(next, Next::Send(calls) if calls.iter().all(|c| c.target != Target::Control)));
}

#[test]
fn a_search_on_a_fenced_index_waits_then_runs_under_the_lifted_map() {
    let (route, req) = request("GET", "/indexes/movies/search?q=a");
    let mut flow = for_route(Arc::new(fenced_map(true)), route, req);
    assert!(is_poll(&flow.start(), "movies"));
    // Still fenced (the long poll timed out): ask again.
    let mut still = lifted(2);
    still.body = serde_json::to_vec(&fenced_map(true)).unwrap();
    assert!(is_poll(&flow.on_replies(vec![still]), "movies"));
    let next = flow.on_replies(vec![lifted(3)]);
    assert!(matches!(&next, Next::Send(calls) if !calls.is_empty() && calls.iter().all(|c| c.target != Target::Control)), "{next:?}");
}

#[test]
fn a_write_whose_body_arrives_while_it_waits_gets_it_after_the_fence() {
    let (route, req) = request("POST", "/indexes/movies/documents");
    let mut flow = for_route(Arc::new(fenced_map(true)), route, req);
    assert!(is_poll(&flow.start(), "movies"));
    assert_eq!(flow.on_body(br#"[{"id": 1}]"#.to_vec()), Next::Wait);
    // The write's first round (its key check with the Envoy's own node key) follows.
    let next = flow.on_replies(vec![lifted(3)]);
    assert!(matches!(&next, Next::Send(calls) if calls.iter().all(|c| c.target != Target::Control)), "{next:?}");
}

#[test]
fn a_multi_search_waits_only_when_a_query_names_a_fenced_index() {
    let (route, req) = request("POST", "/multi-search");
    let mut flow = for_route(Arc::new(fenced_map(true)), route.clone(), req.clone());
    assert_eq!(flow.start(), Next::Wait);
    assert!(is_poll(&flow.on_body(br#"{"queries":[{"indexUid":"books"},{"indexUid":"movies"}]}"#.to_vec()), "movies"));
    let next = flow.on_replies(vec![lifted(3)]);
    assert!(matches!(&next, Next::Send(calls) if calls.iter().all(|c| c.target != Target::Control)), "{next:?}");
    let mut other = for_route(Arc::new(fenced_map(true)), route, req);
    assert_eq!(other.start(), Next::Wait);
    assert!(!is_poll(&other.on_body(br#"{"queries":[{"indexUid":"books"}]}"#.to_vec()), "books"));
}

#[test]
fn the_lifted_map_brings_index_entries_but_never_a_key_or_nodes() {
    let mut fenced = Fenced {
        map: Arc::new(fenced_map(true)),
        route: None,
        build: Some(Box::new(|_, _, _| unreachable!())),
        inner: None,
        body: None,
        waiting_on: Some("movies".into()),
        by_body: false,
        polls: 0,
    };
    let mut answer = crate::testing::shard_map(1, 1, 1);
    answer.version = 9;
    answer.node_key = Some("other".into());
    answer.indexes.insert("movies".into(), IndexConfig { shards: 4, placement_key: None, fenced: false });
    assert!(fenced.adopt(&Reply { status: 200, body: serde_json::to_vec(&answer).unwrap() }));
    assert_eq!((fenced.map.version, fenced.map.nodes.len(), fenced.map.node_key.as_deref()), (9, 3, Some("envoy-key")));
    assert_eq!(fenced.map.shards_of("movies"), 4);
    // An older map or an error is not taken.
    assert!(!fenced.adopt(&lifted(2)));
    assert!(!fenced.adopt(&Reply { status: 503, body: b"{}".to_vec() }));
}

#[test]
fn a_request_gives_up_after_many_polls() {
    let (route, req) = request("GET", "/indexes/movies/stats");
    let mut flow = for_route(Arc::new(fenced_map(true)), route, req);
    let mut next = flow.start();
    for _ in 0..MAX_POLLS {
        next = flow.on_replies(vec![Reply::default()]);
    }
    assert!(matches!(next, Next::Respond(ref r) if r.status == 503), "{next:?}");
}

#[test]
fn creating_a_fenced_index_waits_for_the_swap() {
    let (route, req) = request("POST", "/indexes");
    let mut flow = for_route(Arc::new(fenced_map(true)), route.clone(), req.clone());
    assert_eq!(flow.start(), Next::Wait);
    assert!(is_poll(&flow.on_body(br#"{"uid": "movies"}"#.to_vec()), "movies"));
    let next = flow.on_replies(vec![lifted(3)]);
    assert!(matches!(&next, Next::Send(calls) if calls.iter().all(|c| c.target != Target::Control)), "{next:?}");
    let mut other = for_route(Arc::new(fenced_map(true)), route, req);
    assert_eq!(other.start(), Next::Wait);
    assert!(!is_poll(&other.on_body(br#"{"uid": "books"}"#.to_vec()), "books"));
}
