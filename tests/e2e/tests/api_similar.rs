//! `/similar` through real Envoy compared with one node. Meilisearch needs an embedder
//! for it, which the test double does not model: against the double only the errors
//! are compared (the double has no `/similar` route, so both answer its 404); with
//! `MIROIR_MEILI_BIN` the answers themselves are.

use miroir_e2e::binaries::is_real_meilisearch;
use miroir_e2e::queries::Rng;
use miroir_e2e::{corpus, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

fn load(client: &Client, docs: &[Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "embedders": {"e": {"source": "userProvided", "dimensions": 4}}});
    let answer = client.json("PATCH", "/indexes/vec/settings", &settings);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
    let task = client.write_and_wait("POST", "/indexes/vec/documents?primaryKey=id", "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

/// Real documents, each with a pseudo-random embedding.
fn documents() -> Vec<Value> {
    let mut rng = Rng::new(11);
    corpus::documents(600)
        .into_iter()
        .map(|mut d| {
            let v: Vec<f64> = (0..4).map(|_| (rng.below(10_000) as f64) / 10_000.0 - 0.5).collect();
            d["_vectors"] = json!({"e": v});
            d
        })
        .collect()
}

/// What a client reads of an answer (the time taken aside).
fn seen(mut answer: Answer) -> (u16, Value) {
    if let Some(o) = answer.body.as_object_mut() {
        o.remove("processingTimeMs");
    }
    (answer.status, answer.body)
}

#[test]
fn similar_answers_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = documents();
    load(&mesh.client, &docs);
    load(&single.client, &docs);
    let real = is_real_meilisearch();
    for body in [
        json!({"id": 3, "embedder": "e"}),
        json!({"id": 42, "embedder": "e", "limit": 7, "offset": 5, "showRankingScore": true}),
        json!({"id": 7, "embedder": "e", "filter": "rank < 300", "attributesToRetrieve": ["name"], "showRankingScoreDetails": true}),
        json!({"id": "12", "embedder": "e", "limit": 4, "rankingScoreThreshold": 0.2, "showRankingScore": true}),
        json!({"id": 5, "embedder": "e", "filter": "month = \"nothing\""}),
        json!({"id": 99_999_999, "embedder": "e"}),
        json!({"id": 3, "embedder": "nope"}),
        json!({"id": 3}),
        json!({"id": 3, "embedder": "e", "filter": "summary = x"}),
    ] {
        let (m, s) = (seen(mesh.client.json("POST", "/indexes/vec/similar", &body)), seen(single.client.json("POST", "/indexes/vec/similar", &body)));
        if real || m.0 >= 400 {
            assert_eq!(m, s, "{body}");
        }
        if real && body.get("embedder") == Some(&json!("e")) && body["id"] != json!(99_999_999) && body.get("filter") != Some(&json!("summary = x")) {
            assert_eq!(m.0, 200, "{body}: {m:?}");
        }
    }
    let query = "id=9&embedder=e&limit=5&showRankingScore=true&attributesToRetrieve=id,rank";
    let (m, s) = (seen(mesh.client.get(&format!("/indexes/vec/similar?{query}"))), seen(single.client.get(&format!("/indexes/vec/similar?{query}"))));
    if real || m.0 >= 400 {
        assert_eq!(m, s);
    }
}
