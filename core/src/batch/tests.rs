use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::placement::IndexPlacement;
use crate::shard_map::ShardMap;

fn map(nodes: usize, rf: u32) -> ShardMap {
    ShardMap { payload_limit_bytes: 1000, ..crate::testing::shard_map(nodes, rf, 1) }
}

const VERSION: u64 = 1_763_800_000_123_456;

fn plan(placement: &IndexPlacement, nodes: usize) -> SplitPlan<'_> {
    SplitPlan { placement, nodes, version: VERSION }
}

fn known(key: &str) -> PrimaryKeyInput<'_> {
    PrimaryKeyInput { index: Some(key), requested: None }
}

/// Documents per node as parsed JSON (CSV parsed as strings keyed by header).
fn node_docs(split: &SplitBatch) -> Vec<Vec<Value>> {
    node_docs_with(split, b',')
}

fn node_docs_with(split: &SplitBatch, delimiter: u8) -> Vec<Vec<Value>> {
    split
        .bodies
        .iter()
        .map(|b| {
            if split.content_type == "text/csv" {
                let mut r = ::csv::ReaderBuilder::new().delimiter(delimiter).from_reader(b.as_slice());
                let headers = r.headers().unwrap().clone();
                r.records()
                    .map(|rec| {
                        let rec = rec.unwrap();
                        Value::Object(headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), json!(v))).collect())
                    })
                    .collect()
            } else {
                serde_json::Deserializer::from_slice(b).into_iter::<Value>().map(Result::unwrap).collect()
            }
        })
        .collect()
}

fn split_json(body: &str, key: PrimaryKeyInput<'_>, m: &ShardMap) -> Result<SplitBatch, BatchError> {
    split(body.as_bytes(), PayloadFormat::Json, key, plan(&IndexPlacement::compute(m, "idx"), m.nodes.len()))
}

#[test]
fn each_document_goes_to_exactly_its_owners_with_its_shard() {
    let m = map(3, 2);
    let p = IndexPlacement::compute(&m, "idx");
    let docs: Vec<Value> = (0..200).map(|i| json!({"id": i, "title": format!("t{i}")})).collect();
    let out = split_json(&Value::Array(docs).to_string(), known("id"), &m).unwrap();
    assert_eq!(out.documents, 200);
    let per_node = node_docs(&out);
    for i in 0..200 {
        let shard = p.shard_of(&i.to_string());
        for (n, docs) in per_node.iter().enumerate() {
            let here: Vec<&Value> = docs.iter().filter(|d| d["id"] == i).collect();
            let owner = p.owners_of(shard).contains(&n);
            assert_eq!(here.len(), usize::from(owner), "doc {i} on node {n}");
            if owner {
                assert_eq!(here[0][crate::wire::SHARD_FIELD], crate::wire::encode_shard(shard), "stored as separator digits, never a word");
                assert_eq!(crate::wire::decode_version(&here[0][crate::wire::VERSION_FIELD]), Some(VERSION));
                assert_eq!(here[0]["title"], format!("t{i}"));
            }
        }
    }
    assert_eq!(out.per_node.iter().sum::<usize>(), 400, "RF 2: two copies of each");
}

#[test]
fn integer_one_and_string_one_go_to_the_same_nodes() {
    let m = map(5, 2);
    let a = split_json(r#"[{"id": 1}]"#, known("id"), &m).unwrap();
    let b = split_json(r#"[{"id": "1"}]"#, known("id"), &m).unwrap();
    assert_eq!(a.per_node, b.per_node);
}

#[test]
fn ndjson_and_single_objects_are_documents() {
    let m = map(3, 1);
    let p = IndexPlacement::compute(&m, "idx");
    let nd = split(b"{\"id\":1}\n\n{\"id\":2}\n", PayloadFormat::Ndjson, known("id"), plan(&p, 3)).unwrap();
    assert_eq!(nd.documents, 2);
    assert_eq!(node_docs(&nd).iter().map(Vec::len).sum::<usize>(), 2);
    let one = split_json(r#" {"id": "x"} "#, known("id"), &m).unwrap();
    assert_eq!(one.documents, 1);
}

#[test]
fn csv_keeps_rows_and_adds_the_shard_column() {
    let m = map(3, 3);
    let p = IndexPlacement::compute(&m, "idx");
    let body = b"id:number;title;price:number\n1;\"a;b\";2.5\n2;c;\n";
    let out = split(body, PayloadFormat::Csv { delimiter: b';' }, PrimaryKeyInput::default(), plan(&p, 3)).unwrap();
    assert_eq!(out.primary_key.as_deref(), Some("id"));
    assert_eq!(out.documents, 2);
    let docs = &node_docs_with(&out, b';')[0];
    assert_eq!(docs.len(), 2, "RF 3 on 3 nodes: every node has both rows");
    assert_eq!(docs[0]["title"], "a;b");
    assert_eq!(docs[0]["id:number"], "1");
    assert_eq!(docs[0]["_miroir_shard"], crate::wire::encode_shard(p.shard_of("1")));
    assert_eq!(docs[0]["_miroir_version"], crate::wire::encode_version(VERSION));
    let bad = split(b"id,n:number\n1,abc\n", PayloadFormat::Csv { delimiter: b',' }, known("id"), plan(&p, 3));
    assert!(matches!(bad, Err(BatchError::Payload(e)) if e.code == Code::MalformedPayload));
    let ragged = split(b"id,a\n1\n", PayloadFormat::Csv { delimiter: b',' }, known("id"), plan(&p, 3));
    assert!(matches!(ragged, Err(BatchError::Payload(e)) if e.code == Code::MalformedPayload));
}

fn task_code(r: Result<SplitBatch, BatchError>) -> Code {
    match r {
        Err(BatchError::Task { error, .. }) => error.code,
        other => panic!("expected a task error, got {other:?}"),
    }
}

fn payload_code(r: Result<SplitBatch, BatchError>) -> Code {
    match r {
        Err(BatchError::Payload(e)) => e.code,
        other => panic!("expected a payload error, got {other:?}"),
    }
}

#[test]
fn bad_ids_fail_the_task_and_bad_syntax_fails_the_request() {
    let m = map(3, 2);
    assert_eq!(task_code(split_json(r#"[{"id": 1}, {"title": "x"}]"#, known("id"), &m)), Code::MissingDocumentId);
    assert_eq!(task_code(split_json(r#"[{"id": "a b"}]"#, known("id"), &m)), Code::InvalidDocumentId);
    assert_eq!(task_code(split_json(r#"[{"id": 1.5}]"#, known("id"), &m)), Code::InvalidDocumentId);
    let long = format!(r#"[{{"id": "{}"}}]"#, "x".repeat(512));
    assert_eq!(task_code(split_json(&long, known("id"), &m)), Code::InvalidDocumentId);
    assert_eq!(task_code(split_json(r#"[{"title": "x"}]"#, PrimaryKeyInput::default(), &m)), Code::IndexPrimaryKeyNoCandidateFound);
    assert_eq!(task_code(split_json(r#"[{"id": 1, "uid": 2}]"#, PrimaryKeyInput::default(), &m)), Code::IndexPrimaryKeyMultipleCandidatesFound);
    // A syntax error anywhere wins over an id error earlier in the batch.
    assert_eq!(payload_code(split_json(r#"[{"title": "x"}, {"id": 1"#, known("id"), &m)), Code::MalformedPayload);
    assert_eq!(payload_code(split_json("42", known("id"), &m)), Code::MalformedPayload);
    assert_eq!(task_code(split_json(r#"[{"title": "x"}]"#, PrimaryKeyInput::default(), &m)), Code::IndexPrimaryKeyNoCandidateFound);
    assert_eq!(payload_code(split_json("", known("id"), &m)), Code::MissingPayload);
    assert_eq!(payload_code(split_json(r#"[{"id": 1, "_miroir_shard": 3}]"#, known("id"), &m)), Code::MiroirReservedField);
    assert_eq!(payload_code(split_json(r#"[{"id": 1, "_miroir_version": 3}]"#, known("id"), &m)), Code::MiroirReservedField);
    let csv = |body: &[u8]| split(body, PayloadFormat::Csv { delimiter: b',' }, known("id"), plan(&IndexPlacement::compute(&m, "idx"), 3));
    assert_eq!(payload_code(csv(b"id,_miroir_version:number\n1,2\n")), Code::MiroirReservedField);
    assert_eq!(payload_code(csv(b"id,_miroir_shard\n1,2\n")), Code::MiroirReservedField);
}

#[test]
fn text_after_a_json_array_is_ignored_as_meilisearch_does() {
    let m = map(3, 2);
    assert_eq!(split_json(r#"[{"id": 1}] trailing"#, known("id"), &m).unwrap().documents, 1);
    // A single object is read whole: trailing text is a syntax error there.
    assert_eq!(payload_code(split_json(r#"{"id": 1} trailing"#, known("id"), &m)), Code::MalformedPayload);
}

/// Answers recorded from a real Meilisearch 1.50 (tests/meili-double/fixtures/meili-1.50/bad_payloads.json).
#[test]
fn refusals_match_recorded_meilisearch_answers() {
    let m = map(3, 2);
    let p = IndexPlacement::compute(&m, "idx");
    let refusal = |body: &[u8], format| match split(body, format, known("id"), plan(&p, 3)) {
        Err(BatchError::Payload(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let csv = PayloadFormat::Csv { delimiter: b',' };
    assert_eq!(refusal(b"[1,2]", PayloadFormat::Json), (Code::MalformedPayload, "The `json` payload provided is malformed. `Couldn't serialize document value: trailing characters at line 1 column 4`.".into()));
    assert_eq!(refusal(br#"[{"id":1},5]"#, PayloadFormat::Json), (Code::Internal, "invalid type: integer `5`, expected a map at line 1 column 1".into()));
    assert_eq!(refusal(b"{\"id\":1}\n5\n", PayloadFormat::Ndjson), (Code::Internal, "invalid type: integer `5`, expected a map at line 1 column 1".into()));
    assert_eq!(refusal(br#""just a string""#, PayloadFormat::Json), (Code::MalformedPayload, "The `json` payload provided is malformed. `Couldn't serialize document value: data are neither an object nor a list of objects`.".into()));
    assert_eq!(refusal(b"[{\"id\":1}", PayloadFormat::Json), (Code::MalformedPayload, "The `json` payload provided is malformed. `Couldn't serialize document value: EOF while parsing a list at line 1 column 9`.".into()));
    assert_eq!(refusal(b"id:number,n:number\n1,abc\n", csv), (Code::MalformedPayload, "The `csv` payload provided is malformed: `Error parsing number \"abc\" at line 1: invalid float literal`.".into()));
    assert_eq!(refusal(b"id,ok:boolean\n1,yes\n", csv), (Code::MalformedPayload, "The `csv` payload provided is malformed: `Error parsing boolean \"yes\" at line 1: provided string was not `true` or `false``.".into()));
    assert_eq!(refusal(b"id,a\n1,2,3\n", csv), (Code::MalformedPayload, "The `csv` payload provided is malformed: `CSV error: record 1 (line: 2, byte: 5): found record with 3 fields, but the previous record has 2 fields`.".into()));
}

#[test]
fn an_empty_batch_on_an_index_without_key_succeeds_without_one() {
    let m = map(3, 2);
    let p = IndexPlacement::compute(&m, "idx");
    let out = split_json("[]", PrimaryKeyInput::default(), &m).unwrap();
    assert_eq!((out.primary_key, out.documents), (None, 0));
    let csv = split(b"title\n", PayloadFormat::Csv { delimiter: b',' }, PrimaryKeyInput::default(), plan(&p, 3)).unwrap();
    assert_eq!((csv.primary_key, csv.documents), (None, 0));
}

#[test]
fn inferred_key_is_named_in_the_split() {
    let m = map(3, 2);
    let out = split_json(r#"[{"title": "x", "movieId": 4}]"#, PrimaryKeyInput::default(), &m).unwrap();
    assert_eq!(out.primary_key.as_deref(), Some("movieId"));
}

#[test]
fn nested_keys_route_by_the_inner_value() {
    let m = map(4, 1);
    let p = IndexPlacement::compute(&m, "idx");
    let out = split_json(r#"[{"a": {"b": "k1"}}]"#, known("a.b"), &m).unwrap();
    let owner = p.owners_of(p.shard_of("k1"))[0];
    assert_eq!(out.per_node[owner], 1);
}

proptest! {
    #[test]
    fn split_preserves_every_document(ids in proptest::collection::btree_set("[a-zA-Z0-9_-]{1,20}", 1..60), nodes in 1usize..6, rf in 1u32..3) {
        let m = map(nodes, rf);
        let docs: Vec<Value> = ids.iter().map(|id| json!({"id": id, "n": id.len(), "nested": {"x": [1, "two"]}})).collect();
        let out = split_json(&Value::Array(docs.clone()).to_string(), known("id"), &m).unwrap();
        let copies = (rf as usize).min(nodes);
        let mut seen: Vec<Value> = node_docs(&out).into_iter().flatten().map(|mut d| {
            let doc = d.as_object_mut().unwrap();
            prop_assert_eq!(doc.get(crate::wire::VERSION_FIELD).and_then(crate::wire::decode_version), Some(VERSION));
            crate::wire::strip_bookkeeping(doc);
            Ok(d)
        }).collect::<Result<_, TestCaseError>>()?;
        prop_assert_eq!(seen.len(), docs.len() * copies);
        seen.sort_by_key(|d| d.to_string());
        seen.dedup();
        let mut expected = docs;
        expected.sort_by_key(|d| d.to_string());
        prop_assert_eq!(seen, expected);
    }
}

/// A map where `node` joins: it takes writes for its future shards, apart.
fn joining(nodes: usize, rf: u32, node: usize) -> ShardMap {
    let mut m = map(nodes, rf);
    m.nodes[node].role = crate::shard_map::NodeRole::Joining;
    m
}

#[test]
fn a_joining_node_gets_its_future_documents_in_a_part_of_its_own() {
    let m = joining(4, 2, 3);
    let p = IndexPlacement::compute(&m, "idx");
    let docs: Vec<Value> = (0..300).map(|i| json!({"id": i})).collect();
    let out = split_json(&Value::Array(docs).to_string(), known("id"), &m).unwrap();
    assert_eq!(out.bodies.len(), 8);
    assert_eq!(out.per_node[3], 0, "a joining node serves nothing");
    let parts = node_docs(&out);
    for i in 0..300 {
        let shard = p.shard_of(&i.to_string());
        let on = |slot: usize| parts[slot].iter().filter(|d| d["id"] == i).count();
        for n in 0..4 {
            let (serving, target) = (p.owners_of(shard).contains(&n), p.write_owners_of(shard).contains(&n));
            assert_eq!(on(n), usize::from(serving), "doc {i} serving part of node {n}");
            assert_eq!(on(4 + n), usize::from(target && !serving), "doc {i} target part of node {n}");
        }
    }
    assert!(out.per_node[7] > 0);
    assert_eq!(out.part_of(7), (3, true));
    assert_eq!(out.part_of(2), (2, false));
    let mut touched: Vec<u32> = (0..300).map(|i| p.shard_of(&i.to_string())).collect();
    touched.sort_unstable();
    touched.dedup();
    assert_eq!(out.shards, touched);
}

#[test]
fn csv_rows_carry_the_version_column_for_joining_nodes_too() {
    let m = joining(3, 1, 2);
    let p = IndexPlacement::compute(&m, "idx");
    let body: String = std::iter::once("id:number,t\n".to_string()).chain((0..50).map(|i| format!("{i},x\n"))).collect();
    let out = split(body.as_bytes(), PayloadFormat::Csv { delimiter: b',' }, known("id"), plan(&p, 3)).unwrap();
    let parts = node_docs(&out);
    assert!(!parts[5].is_empty(), "the joining node's part holds its future shards");
    for d in parts.iter().flatten() {
        assert_eq!(crate::wire::decode_version(&d["_miroir_version"]), Some(VERSION));
    }
    assert_eq!(parts.iter().take(3).map(Vec::len).sum::<usize>(), 50, "RF 1: one serving copy each");
}
