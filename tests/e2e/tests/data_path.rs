//! The data path through real Envoy: writes split by shard, point reads and deletes,
//! and bad input refused exactly as one Meilisearch node refuses it.

use std::collections::{BTreeMap, BTreeSet};

use miroir_e2e::{corpus, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const SHARD_FIELD: &str = miroir_core::wire::SHARD_FIELD;
const VERSION_FIELD: &str = miroir_core::wire::VERSION_FIELD;

fn create_index(client: &Client, uid: &str, primary_key: Option<&str>) {
    let answer = client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": primary_key}));
    assert_eq!(answer.status, 202, "{answer:?}");
    let task = client.wait_task(answer.body["taskUid"].as_u64().unwrap());
    assert_eq!(task["status"], "succeeded", "{task}");
}

/// Ids of the documents a node holds in `index`, with the shard each was tagged with.
fn ids_on_node(node: &Client, index: &str) -> BTreeMap<String, u64> {
    let answer = node.json("POST", &format!("/indexes/{index}/documents/fetch"), &json!({"limit": 1_000_000, "fields": ["id", SHARD_FIELD]}));
    if answer.status == 404 {
        return BTreeMap::new();
    }
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (id_string(&d["id"]), miroir_core::wire::decode_shard(&d[SHARD_FIELD]).map(u64::from).expect("every stored document carries its shard")))
        .collect()
}

fn id_string(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Asserts every node holds exactly the documents placement gives it, tagged with their shard.
fn assert_placed(mesh: &Mesh, index: &str, ids: &BTreeSet<String>) {
    let placement = mesh.placement(index);
    for (n, node) in mesh.nodes.iter().enumerate() {
        let held = ids_on_node(node, index);
        let expected: BTreeSet<String> =
            ids.iter().filter(|id| placement.owners_of(placement.shard_of(id)).contains(&n)).cloned().collect();
        assert_eq!(held.keys().cloned().collect::<BTreeSet<_>>(), expected, "node{n} holds the wrong documents");
        for (id, shard) in held {
            assert_eq!(shard, u64::from(placement.shard_of(&id)), "document {id} tagged with the wrong shard");
        }
    }
    let copies: usize = mesh.nodes.iter().map(|n| ids_on_node(n, index).len()).sum();
    assert_eq!(copies, ids.len() * mesh.spec.rf as usize, "each document on exactly RF nodes");
}

/// Node-side document-write tasks: a refused batch must leave none.
fn write_tasks_on_nodes(mesh: &Mesh) -> u64 {
    mesh.nodes
        .iter()
        .map(|n| n.get("/tasks?types=documentAdditionOrUpdate&limit=1").body["total"].as_u64().unwrap_or(0))
        .sum()
}

/// Sends the same request to Miroir and to the reference; returns both answers, with
/// tasks waited for.
fn both(mesh: &Mesh, single: &SingleNode, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> (Answer, Answer) {
    let settle = |client: &Client, answer: Answer| -> Answer {
        if answer.status == 202 {
            let task = client.wait_task(answer.body["taskUid"].as_u64().expect("integer taskUid"));
            Answer { status: 202, body: task, headers: Vec::new() }
        } else {
            answer
        }
    };
    let miroir = settle(&mesh.client, mesh.client.send(method, path, ct, Some(body)));
    let reference = settle(&single.client, single.client.send(method, path, ct, Some(body)));
    (miroir, reference)
}

#[test]
fn bad_batches_are_refused_like_a_single_node_and_write_nothing() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    create_index(&mesh.client, "movies", Some("id"));
    create_index(&single.client, "movies", Some("id"));
    let long_id = format!(r#"[{{"id": "{}"}}]"#, "x".repeat(512));
    let cases: Vec<(&str, &str, Option<&str>, Vec<u8>)> = vec![
        ("malformed json", "", Some("application/json"), br#"[{"id": 1}, {"id": "#.to_vec()),
        ("json object trailing garbage", "", Some("application/json"), br#"{"id": 1} x"#.to_vec()),
        ("json scalar", "", Some("application/json"), b"42".to_vec()),
        ("json array of scalars", "", Some("application/json"), b"[1,2]".to_vec()),
        ("json array ending in a scalar", "", Some("application/json"), br#"[{"id": 1}, 5]"#.to_vec()),
        ("ndjson scalar line", "", Some("application/x-ndjson"), b"{\"id\": 1}\n5\n".to_vec()),
        ("csv bad boolean", "", Some("text/csv"), b"id,ok:boolean\n1,yes\n".to_vec()),
        ("unknown parameter", "?foo=1", Some("application/json"), br#"[{"id": 1}]"#.to_vec()),
        ("non-ascii csv delimiter", "?csvDelimiter=%C3%A9", Some("text/csv"), b"id\n1\n".to_vec()),
        ("bad index uid", "", Some("application/json"), br#"[{"id": 1}]"#.to_vec()),
        ("malformed ndjson", "", Some("application/x-ndjson"), b"{\"id\": 1}\n{\"id\": \n".to_vec()),
        ("ragged csv", "", Some("text/csv"), b"id,title\n1,a,extra\n".to_vec()),
        ("csv bad number", "", Some("text/csv"), b"id,price:number\n1,abc\n".to_vec()),
        ("missing id", "", Some("application/json"), br#"[{"id": 1}, {"title": "no id"}]"#.to_vec()),
        ("invalid id", "", Some("application/json"), br#"[{"id": "a b"}]"#.to_vec()),
        ("float id", "", Some("application/json"), br#"[{"id": 1.5}]"#.to_vec()),
        ("too long id", "", Some("application/json"), long_id.into_bytes()),
        ("missing csv id", "", Some("text/csv"), b"title\nx\n".to_vec()),
        ("wrong content type", "", Some("text/plain"), br#"[{"id": 1}]"#.to_vec()),
        ("missing content type", "", None, br#"[{"id": 1}]"#.to_vec()),
        ("csv delimiter on json", "?csvDelimiter=%3B", Some("application/json"), br#"[{"id": 1}]"#.to_vec()),
        ("empty body", "", Some("application/json"), Vec::new()),
        ("other primary key", "?primaryKey=title", Some("application/json"), br#"[{"id": 1, "title": "x"}]"#.to_vec()),
    ];
    for (name, query, ct, body) in cases {
        let index = if name == "bad index uid" { "bad%20uid" } else { "movies" };
        let path = format!("/indexes/{index}/documents{query}");
        let (miroir, reference) = both(&mesh, &single, "POST", &path, ct, &body);
        assert_eq!(miroir.status, reference.status, "{name}: {miroir:?} vs {reference:?}");
        if reference.status == 202 {
            assert_eq!(miroir.body["status"], reference.body["status"], "{name}: {miroir:?} vs {reference:?}");
            assert_eq!(miroir.body["error"]["code"], reference.body["error"]["code"], "{name}: {miroir:?} vs {reference:?}");
            assert_eq!(miroir.body["type"], reference.body["type"], "{name}");
            assert_eq!(miroir.body["error"]["message"], reference.body["error"]["message"], "{name}");
        } else {
            assert_eq!(miroir.code(), reference.code(), "{name}: {miroir:?} vs {reference:?}");
            assert_eq!(miroir.body["message"], reference.body["message"], "{name}");
            assert_eq!(miroir.body["type"], reference.body["type"], "{name}");
        }
    }
    assert_eq!(write_tasks_on_nodes(&mesh), 0, "a refused batch reached a node");
    for node in &mesh.nodes {
        assert_eq!(node.get("/indexes/movies/stats").body["numberOfDocuments"], 0);
    }
}

#[test]
fn an_empty_batch_on_a_new_index_succeeds_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let (m, r) = both(&mesh, &single, "POST", "/indexes/fresh/documents", Some("application/json"), b"[]");
    assert_eq!((&m.body["status"], &m.body["details"]), (&r.body["status"], &r.body["details"]), "{m:?} vs {r:?}");
    let (m, r) = (mesh.client.get("/indexes/fresh"), single.client.get("/indexes/fresh"));
    assert_eq!((m.status, &m.body["primaryKey"]), (r.status, &r.body["primaryKey"]));
}

#[test]
fn a_body_over_the_payload_limit_is_refused_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let mut body = b"[{\"id\": 1, \"pad\": \"".to_vec();
    body.resize(100_000_100, b'a');
    body.extend_from_slice(b"\"}]");
    let (miroir, reference) = both(&mesh, &single, "POST", "/indexes/big/documents", Some("application/json"), &body);
    assert_eq!((miroir.status, miroir.code()), (reference.status, reference.code()), "{miroir:?} vs {reference:?}");
    assert_eq!(miroir.status, 413);
    assert_eq!(write_tasks_on_nodes(&mesh), 0, "a refused batch reached a node");
}

#[test]
fn json_ndjson_and_csv_batches_land_on_exactly_the_owning_nodes() {
    let mesh = Mesh::start(MeshSpec::default());
    let docs = corpus::documents(3000);
    let (json_part, rest) = docs.split_at(1000);
    let (ndjson_part, csv_part) = rest.split_at(1000);

    let task = mesh.client.write_and_wait("POST", "/indexes/packages/documents", "application/json", Value::from(json_part.to_vec()).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"]["receivedDocuments"], 1000);
    assert_eq!(task["details"]["indexedDocuments"], 1000);
    let task = mesh.client.write_and_wait("PUT", "/indexes/packages/documents", "application/x-ndjson", &corpus::ndjson(ndjson_part));
    assert_eq!(task["status"], "succeeded", "{task}");

    let mut csv = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    csv.write_record(["id", "name", "summary"]).unwrap();
    for d in csv_part {
        let field = |k: &str| d.get(k).map(id_string).unwrap_or_default();
        csv.write_record([field("id"), field("name").replace("null", ""), field("summary").replace("null", "")]).unwrap();
    }
    let body = csv.into_inner().unwrap();
    let task = mesh.client.write_and_wait("POST", "/indexes/packages/documents?csvDelimiter=%3B", "text/csv", &body);
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"]["indexedDocuments"], 1000);

    let ids: BTreeSet<String> = docs.iter().map(|d| id_string(&d["id"])).collect();
    assert_placed(&mesh, "packages", &ids);

    // Read back through Miroir: whole documents, without the bookkeeping field.
    for d in json_part.iter().step_by(97) {
        let got = mesh.client.get(&format!("/indexes/packages/documents/{}", id_string(&d["id"])));
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(&got.body, d);
    }
}

#[test]
fn integer_one_and_string_one_are_one_document() {
    let mesh = Mesh::start(MeshSpec::default());
    let first = mesh.client.write_and_wait("POST", "/indexes/ids/documents", "application/json", br#"[{"id": 1, "v": "int"}]"#);
    assert_eq!(first["status"], "succeeded", "{first}");
    let second = mesh.client.write_and_wait("POST", "/indexes/ids/documents", "application/json", br#"[{"id": "1", "v": "string"}]"#);
    assert_eq!(second["status"], "succeeded", "{second}");
    let got = mesh.client.get("/indexes/ids/documents/1");
    assert_eq!(got.body["v"], "string", "{got:?}");
    assert_placed(&mesh, "ids", &["1".to_string()].into_iter().collect());
}

#[test]
fn point_reads_and_deletes_answer_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs: Vec<Value> = (0..40).map(|i| json!({"id": if i % 2 == 0 { json!(i) } else { json!(format!("doc-{i}")) }, "title": format!("title {i}"), "n": i})).collect();
    let body = Value::from(docs.clone()).to_string();
    for client in [&mesh.client, &single.client] {
        let task = client.write_and_wait("POST", "/indexes/points/documents", "application/json", body.as_bytes());
        assert_eq!(task["status"], "succeeded", "{task}");
    }
    for path in ["/indexes/points/documents/0", "/indexes/points/documents/doc-1", "/indexes/points/documents/2?fields=title", "/indexes/points/documents/missing", "/indexes/nowhere/documents/1"] {
        let (m, r) = (mesh.client.get(path), single.client.get(path));
        assert_eq!((m.status, &m.body), (r.status, &r.body), "{path}");
    }

    let (m, r) = both(&mesh, &single, "DELETE", "/indexes/points/documents/0", None, b"");
    assert_eq!((m.body["status"].clone(), m.body["type"].clone()), (r.body["status"].clone(), r.body["type"].clone()));
    assert_eq!(m.body["details"]["deletedDocuments"], r.body["details"]["deletedDocuments"], "{m:?} vs {r:?}");
    let batch = br#"["doc-1", 2, "doc-3", "not-there"]"#;
    let (m, r) = both(&mesh, &single, "POST", "/indexes/points/documents/delete-batch", Some("application/json"), batch);
    assert_eq!(m.body["status"], "succeeded", "{m:?}");
    assert_eq!(m.body["details"]["providedIds"], r.body["details"]["providedIds"]);
    assert_eq!(m.body["details"]["deletedDocuments"], r.body["details"]["deletedDocuments"], "{m:?} vs {r:?}");
    for id in ["0", "doc-1", "2", "doc-3"] {
        assert_eq!(mesh.client.get(&format!("/indexes/points/documents/{id}")).status, 404, "{id} still readable");
    }
    let remaining: BTreeSet<String> = docs.iter().map(|d| id_string(&d["id"])).filter(|id| !["0", "doc-1", "2", "doc-3"].contains(&id.as_str())).collect();
    assert_placed(&mesh, "points", &remaining);
}

#[test]
fn nodes_can_enumerate_one_shard_and_clients_never_see_the_shard_field() {
    let mesh = Mesh::start(MeshSpec::default());
    create_index(&mesh.client, "books", None);
    let docs: Vec<Value> = (0..300).map(|i| json!({"id": i, "title": format!("book {i}")})).collect();
    let task = mesh.client.write_and_wait("POST", "/indexes/books/documents", "application/json", Value::from(docs).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");
    let placement = mesh.placement("books");
    let shard = 3;
    let node = placement.owners_of(shard)[0];
    let answer = mesh.nodes[node].json("POST", "/indexes/books/documents/fetch", &json!({"filter": miroir_core::wire::shard_filter(&[shard]), "limit": 1000}));
    assert_eq!(answer.status, 200, "{answer:?}");
    let got: BTreeSet<String> = answer.body["results"].as_array().unwrap().iter().map(|d| id_string(&d["id"])).collect();
    let expected: BTreeSet<String> = (0..300).map(|i| i.to_string()).filter(|id| placement.shard_of(id) == shard).collect();
    assert_eq!(got, expected);
    let one = mesh.client.get("/indexes/books/documents/7");
    assert_eq!(one.body, json!({"id": 7, "title": "book 7"}));
}

/// `_miroir_version` of every replica of `id` on the nodes.
fn stored_versions(mesh: &Mesh, index: &str, id: &str) -> Vec<u64> {
    let placement = mesh.placement(index);
    placement
        .owners_of(placement.shard_of(id))
        .iter()
        .map(|&n| {
            let doc = mesh.nodes[n].get(&format!("/indexes/{index}/documents/{id}"));
            assert_eq!(doc.status, 200, "{doc:?}");
            miroir_core::wire::decode_version(&doc.body[VERSION_FIELD]).expect("every stored document carries its version")
        })
        .collect()
}

#[test]
fn every_write_stamps_a_rising_version_that_clients_never_see() {
    let mesh = Mesh::start(MeshSpec::default());
    create_index(&mesh.client, "stamps", Some("id"));
    let docs: Vec<Value> = (0..40).map(|i| json!({"id": i, "title": format!("stamp {i}")})).collect();
    let task = mesh.client.write_and_wait("POST", "/indexes/stamps/documents", "application/json", Value::from(docs).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");
    let first = stored_versions(&mesh, "stamps", "5");
    assert!(first.windows(2).all(|w| w[0] == w[1]), "one write, one stamp on every replica: {first:?}");
    assert!(first[0] < 1 << 53 && first[0] > 1_600_000_000_000_000, "microseconds since 1970: {first:?}");
    // A partial update (PUT) and a CSV write each stamp a newer version.
    let task = mesh.client.write_and_wait("PUT", "/indexes/stamps/documents", "application/json", br#"[{"id": 5, "genre": "x"}]"#);
    assert_eq!(task["status"], "succeeded", "{task}");
    let second = stored_versions(&mesh, "stamps", "5");
    assert!(second.iter().all(|v| *v > first[0]), "{first:?} then {second:?}");
    let task = mesh.client.write_and_wait("POST", "/indexes/stamps/documents", "text/csv", b"id:number,title\n5,again\n");
    assert_eq!(task["status"], "succeeded", "{task}");
    let third = stored_versions(&mesh, "stamps", "5");
    assert!(third.iter().all(|v| *v > second[0]), "{second:?} then {third:?}");
    // Clients see neither bookkeeping field: point read, search hits (all their
    // views), stats.
    assert_eq!(mesh.client.get("/indexes/stamps/documents/5").body, json!({"id": 5, "title": "again"}));
    let search = mesh.client.json("POST", "/indexes/stamps/search", &json!({"q": "stamp", "attributesToHighlight": ["*"], "showMatchesPosition": true}));
    assert_eq!(search.status, 200, "{search:?}");
    let text = search.body.to_string();
    assert!(!text.contains(VERSION_FIELD) && !text.contains(SHARD_FIELD), "{text}");
    // The stamp is no word: a query on its leading digits matches nothing, as on one
    // node without it (a number would match every document by prefix).
    let digits = &third[0].to_string()[..4];
    let search = mesh.client.json("POST", "/indexes/stamps/search", &json!({"q": digits}));
    assert_eq!(search.body["hits"], json!([]), "q={digits}: {:?}", search.body);
    let stats = mesh.client.get("/indexes/stamps/stats");
    assert!(stats.body["fieldDistribution"].get(VERSION_FIELD).is_none(), "{:?}", stats.body);
    // Nor is the shard: a query naming a shard number matches nothing in documents
    // without that number (a numeric shard field made `3` match all of shard 3).
    create_index(&mesh.client, "wordless", Some("id"));
    let docs: Vec<Value> = (0..40).map(|i| json!({"id": format!("k{i}"), "title": "plain words"})).collect();
    let task = mesh.client.write_and_wait("POST", "/indexes/wordless/documents", "application/json", Value::from(docs).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");
    for shard in 0..16 {
        let search = mesh.client.json("POST", "/indexes/wordless/search", &json!({"q": shard.to_string()}));
        assert_eq!((search.status, &search.body["hits"]), (200, &json!([])), "q={shard}: {:?}", search.body);
    }
    // A client document naming the version field is refused, and nothing is written.
    let refused = mesh.client.send("POST", "/indexes/stamps/documents", Some("application/json"), Some(br#"[{"id": 99, "_miroir_version": 1}]"#));
    assert_eq!((refused.status, refused.code()), (400, Some("miroir_reserved_field")));
    assert_eq!(mesh.client.get("/indexes/stamps/documents/99").status, 404);
}

#[test]
fn a_30_mb_ndjson_batch_is_accepted_whole_and_fully_indexed() {
    let mesh = Mesh::start(MeshSpec::default());
    // Real documents until the payload passes 30 MiB; a smaller corpus (Debian's) is
    // repeated under fresh ids.
    let source = corpus::documents(400_000);
    let mut docs = Vec::new();
    let mut body = Vec::new();
    'fill: for round in 0.. {
        for d in &source {
            let mut d = d.clone();
            if round > 0 {
                d["id"] = json!(format!("r{round}-{}", id_string(&d["id"])));
            }
            body.extend_from_slice(d.to_string().as_bytes());
            body.push(b'\n');
            docs.push(d);
            if body.len() >= 30 * 1024 * 1024 {
                break 'fill;
            }
        }
    }
    let task = mesh.client.write_and_wait("POST", "/indexes/big/documents", "application/x-ndjson", &body);
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"]["receivedDocuments"], docs.len());
    assert_eq!(task["details"]["indexedDocuments"], docs.len());
    let placement = mesh.placement("big");
    let mut expected = vec![0u64; mesh.nodes.len()];
    for d in &docs {
        for &n in placement.owners_of(placement.shard_of(&id_string(&d["id"]))) {
            expected[n] += 1;
        }
    }
    for (n, node) in mesh.nodes.iter().enumerate() {
        let stats = node.get("/indexes/big/stats");
        assert_eq!(stats.body["numberOfDocuments"], expected[n], "node{n}: {stats:?}");
    }
}

#[test]
fn settings_and_stats_read_back_like_a_single_node_without_the_shard_field() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs: Vec<Value> = (0..120).map(|i| json!({"id": i, "title": format!("film {i}"), "genre": (["a", "b", "c"])[i % 3], "year": 1990 + i % 30})).collect();
    let settings = json!({"filterableAttributes": ["genre"], "sortableAttributes": ["year"]});
    let mut settings_task = Value::Null;
    for client in [&mesh.client, &single.client] {
        create_index(client, "films", Some("id"));
        let answer = client.json("PATCH", "/indexes/films/settings", &settings);
        assert_eq!(answer.status, 202, "{answer:?}");
        settings_task = client.wait_task(answer.body["taskUid"].as_u64().unwrap());
        assert_eq!(settings_task["status"], "succeeded", "{settings_task}");
        let task = client.write_and_wait("POST", "/indexes/films/documents", "application/json", Value::from(docs.clone()).to_string().as_bytes());
        assert_eq!(task["status"], "succeeded", "{task}");
    }
    assert_eq!(settings_task["details"]["filterableAttributes"], json!(["genre"]), "task details hide the shard field");
    for path in ["/indexes/films/settings", "/indexes/films/settings/filterable-attributes", "/indexes/films"] {
        let (m, r) = (mesh.client.get(path), single.client.get(path));
        if path == "/indexes/films" {
            assert_eq!((m.status, &m.body["primaryKey"]), (r.status, &r.body["primaryKey"]), "{path}");
        } else {
            assert_eq!((m.status, &m.body), (r.status, &r.body), "{path}");
        }
    }
    let (m, r) = (mesh.client.get("/indexes/films/stats"), single.client.get("/indexes/films/stats"));
    assert_eq!(m.body["numberOfDocuments"], r.body["numberOfDocuments"], "{m:?} vs {r:?}");
    assert_eq!(m.body["fieldDistribution"], r.body["fieldDistribution"], "{m:?} vs {r:?}");
    assert_eq!(m.body.as_object().map(|o| o.keys().collect::<BTreeSet<_>>()), r.body.as_object().map(|o| o.keys().collect::<BTreeSet<_>>()));

    // A reset of every setting still leaves the nodes able to enumerate a shard.
    for client in [&mesh.client, &single.client] {
        let answer = client.send("DELETE", "/indexes/films/settings", None, None);
        assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
    }
    let (m, r) = (mesh.client.get("/indexes/films/settings"), single.client.get("/indexes/films/settings"));
    assert_eq!(m.body, r.body);
    let placement = mesh.placement("films");
    let node = placement.owners_of(5)[0];
    let answer = mesh.nodes[node].json("POST", "/indexes/films/documents/fetch", &json!({"filter": miroir_core::wire::shard_filter(&[5]), "limit": 1000}));
    assert_eq!(answer.status, 200, "{answer:?}");
    let expected = (0..120).filter(|i| placement.shard_of(&i.to_string()) == 5).count();
    assert_eq!(answer.body["results"].as_array().unwrap().len(), expected);
}
