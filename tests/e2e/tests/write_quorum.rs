//! Writes while a node is dead (issue 6): with RF 2 the surviving replica takes them and
//! the task completes; with RF 1 a write touching the dead node's shards is refused with
//! a clear error, and writes to other shards go on.

use miroir_e2e::{Client, Mesh, MeshSpec};
use serde_json::{json, Value};

fn create_index(client: &Client, uid: &str) {
    let answer = client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": "id"}));
    assert_eq!(answer.status, 202, "{answer:?}");
    let task = client.wait_task(answer.body["taskUid"].as_u64().unwrap());
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn docs(ids: impl Iterator<Item = u64>) -> Vec<u8> {
    let docs: Vec<Value> = ids.map(|i| json!({"id": i, "title": format!("doc {i}")})).collect();
    Value::from(docs).to_string().into_bytes()
}

#[test]
fn with_rf_2_a_dead_node_does_not_stop_writes_or_deletes() {
    let mesh = Mesh::start(MeshSpec::default());
    create_index(&mesh.client, "w");
    mesh.kill_node(1);
    let task = mesh.client.write_and_wait("POST", "/indexes/w/documents", "application/json", &docs(0..100));
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"]["indexedDocuments"], 100, "each document counted once: {task}");
    let placement = mesh.placement("w");
    // A document whose shard lives on the dead node and another: both read back.
    let on_dead = (0..100).find(|i| placement.owners_of(placement.shard_of(&i.to_string())).contains(&1)).unwrap();
    for id in [on_dead, 99] {
        let doc = mesh.client.get(&format!("/indexes/w/documents/{id}"));
        assert_eq!(doc.body, json!({"id": id, "title": format!("doc {id}")}), "{doc:?}");
    }
    let deleted = mesh.client.send("DELETE", &format!("/indexes/w/documents/{on_dead}"), None, None);
    assert_eq!(deleted.status, 202, "{deleted:?}");
    let task = mesh.client.wait_task(deleted.body["taskUid"].as_u64().unwrap());
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(mesh.client.get(&format!("/indexes/w/documents/{on_dead}")).status, 404);
}

#[test]
fn with_rf_1_a_dead_node_refuses_writes_to_its_shards_with_a_clear_error() {
    let mesh = Mesh::start(MeshSpec { nodes: 3, rf: 1, shards: 16, groups: 1 });
    create_index(&mesh.client, "w");
    mesh.kill_node(2);
    let refused = mesh.client.send("POST", "/indexes/w/documents", Some("application/json"), Some(&docs(0..100)));
    assert_eq!((refused.status, refused.code()), (503, Some("miroir_write_quorum_unavailable")), "{refused:?}");
    // Shards on live nodes still take writes.
    let placement = mesh.placement("w");
    let live: Vec<u64> = (0..100).filter(|i| !placement.owners_of(placement.shard_of(&i.to_string())).contains(&2)).collect();
    let task = mesh.client.write_and_wait("POST", "/indexes/w/documents", "application/json", &docs(live.iter().copied()));
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"]["indexedDocuments"], live.len());
}
