//! The must-show of issue 4: an application's whole workflow written with the official
//! Rust SDK (`meilisearch-sdk`), run unchanged against one Meilisearch node and against
//! a Miroir mesh. Every outcome the application sees is recorded, and both records
//! must be equal; the record's own content is checked too, so two equally broken
//! deployments cannot pass.

use std::collections::BTreeMap;
use std::time::Duration;

use meilisearch_sdk::client::Client;
use meilisearch_sdk::errors::Error;
use meilisearch_sdk::key::{Action, KeyBuilder, KeyUpdater};
use meilisearch_sdk::search::Selectors;
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::task_info::TaskInfo;
use meilisearch_sdk::tasks::{Task, TasksSearchQuery};
use miroir_e2e::{Mesh, MeshSpec, SingleNode, MASTER_KEY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const INDEX: &str = "sdk_movies";
const GENRES: [&str; 3] = ["comedy", "drama", "horror"];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Movie {
    id: u32,
    title: String,
    genre: String,
    year: u32,
}

fn movies() -> Vec<Movie> {
    (0..60)
        .map(|i| Movie {
            id: i,
            title: format!("{} story number {i}", if i % 4 == 0 { "space" } else { "river" }),
            genre: GENRES[i as usize % 3].to_string(),
            year: 1990 + i % 25,
        })
        .collect()
}

/// What the application saw, step by step.
type Record = BTreeMap<&'static str, Value>;

async fn wait(client: &Client, task: TaskInfo) -> Value {
    let task = task.wait_for_completion(client, Some(Duration::from_millis(50)), Some(Duration::from_secs(60))).await.expect("wait for a task");
    // Only what a client may rely on: the status, the index, the type and its counts.
    match task {
        Task::Succeeded { content } => json!({"status": "succeeded", "index": content.index_uid, "details": format!("{:?}", content.update_type)}),
        Task::Failed { content } => json!({"status": "failed", "code": format!("{:?}", content.error.error_code)}),
        _ => json!({"status": "not finished"}),
    }
}

fn code(result: Result<impl std::fmt::Debug, Error>) -> Value {
    match result {
        Err(Error::Meilisearch(e)) => json!(format!("{:?}", e.error_code)),
        other => json!(format!("unexpected: {other:?}")),
    }
}

fn ids(hits: impl IntoIterator<Item = Movie>) -> Value {
    json!(hits.into_iter().map(|m| m.id).collect::<Vec<_>>())
}

/// The application: every SDK call it makes, against the deployment at `url`.
async fn workflow(url: &str) -> Record {
    let mut seen = Record::new();
    let admin = Client::new(url, Some(MASTER_KEY)).expect("an SDK client");

    let created = admin.create_index(INDEX, Some("id")).await.expect("create the index");
    seen.insert("create index", wait(&admin, created).await);
    let index = admin.index(INDEX);
    let settings = Settings::new()
        .with_filterable_attributes(["genre", "year"])
        .with_sortable_attributes(["id", "year"])
        .with_searchable_attributes(["title", "genre"]);
    seen.insert("settings", wait(&admin, index.set_settings(&settings).await.expect("set settings")).await);
    let stored = index.get_settings().await.expect("read settings");
    seen.insert("settings read back", json!([stored.filterable_attributes, stored.sortable_attributes]));
    seen.insert("add documents", wait(&admin, index.add_documents(&movies(), Some("id")).await.expect("add documents")).await);

    let found = index.search().with_query("space").with_sort(&["id:asc"]).with_limit(100).execute::<Movie>().await.expect("search");
    seen.insert("search", json!({"ids": ids(found.hits.into_iter().map(|h| h.result)), "total": found.estimated_total_hits}));
    let faceted = index
        .search()
        .with_filter("year >= 2000")
        .with_facets(Selectors::Some(&["genre"]))
        .with_sort(&["year:desc", "id:asc"])
        .with_limit(7)
        .execute::<Movie>()
        .await
        .expect("faceted search");
    seen.insert("faceted search", json!({"ids": ids(faceted.hits.into_iter().map(|h| h.result)), "facets": faceted.facet_distribution}));
    let facet_hits = index.facet_search("genre").with_facet_query("com").execute().await.expect("facet search");
    seen.insert("facet search", json!(facet_hits.facet_hits.iter().map(|h| (h.value.clone(), h.count)).collect::<Vec<_>>()));
    let (q1, q2) = (index.search().with_query("river").with_sort(&["id:asc"]).with_limit(5).build(), index.search().with_filter("genre = drama").with_sort(&["id:desc"]).with_limit(4).build());
    let multi = admin.multi_search().with_search_query(q1).with_search_query(q2).execute::<Movie>().await.expect("multi-search");
    seen.insert("multi-search", json!(multi.results.into_iter().map(|r| ids(r.hits.into_iter().map(|h| h.result))).collect::<Vec<_>>()));

    // Keys: one for searching, restricted to the index; listed, renamed, used.
    let mut builder = KeyBuilder::new();
    builder.with_action(Action::Search).with_index(INDEX).with_name("searcher");
    let key = admin.create_key(builder).await.expect("create a key");
    let listed = admin.get_key(&key.key).await.expect("read the key");
    seen.insert("key", json!({"same uid": listed.uid == key.uid, "actions": format!("{:?}", listed.actions), "indexes": listed.indexes}));
    let mut updater = KeyUpdater::new(&key.key);
    updater.with_name("renamed searcher");
    let renamed = admin.update_key(updater).await.expect("rename the key");
    seen.insert("key renamed", json!(renamed.name));
    let all_keys = admin.get_keys().await.expect("list keys");
    seen.insert("key listed", json!(all_keys.results.iter().any(|k| k.uid == key.uid)));

    let searcher = Client::new(url, Some(key.key.as_str())).expect("a search-only client");
    let with_key = searcher.index(INDEX).search().with_query("space").with_sort(&["id:asc"]).with_limit(100).execute::<Movie>().await;
    seen.insert("search with the key", ids(with_key.expect("search with a search-only key").hits.into_iter().map(|h| h.result)));
    seen.insert("write with the search key", code(searcher.index(INDEX).add_documents(&movies()[..1], Some("id")).await));
    let anonymous = Client::new(url, None::<String>).expect("an anonymous client");
    seen.insert("write without a key", code(anonymous.index(INDEX).delete_document(1).await));

    let rules = json!({INDEX: {"filter": "genre = comedy"}});
    let token = admin.generate_tenant_token(key.uid.clone(), rules, Some(&key.key), None).expect("a tenant token");
    let tenant = Client::new(url, Some(token)).expect("a tenant client");
    let tenant_hits = tenant.index(INDEX).search().with_query("space").with_sort(&["id:asc"]).with_limit(100).execute::<Movie>().await;
    let tenant_hits = tenant_hits.expect("search with a tenant token");
    assert!(tenant_hits.hits.iter().all(|h| h.result.genre == "comedy"), "the token's rule applies on every shard");
    seen.insert("tenant token search", ids(tenant_hits.hits.into_iter().map(|h| h.result)));
    let tenant_facets = tenant.index(INDEX).facet_search("genre").execute().await.expect("facet search with a tenant token");
    seen.insert("tenant token facet search", json!(tenant_facets.facet_hits.iter().map(|h| (h.value.clone(), h.count)).collect::<Vec<_>>()));

    let tenant_multi = tenant.multi_search().with_search_query(tenant.index(INDEX).search().with_query("river").with_sort(&["id:asc"]).with_limit(100).build())
        .execute::<Movie>().await.expect("multi-search with a tenant token");
    seen.insert("tenant token multi-search", json!(tenant_multi.results.into_iter().map(|r| ids(r.hits.into_iter().map(|h| h.result))).collect::<Vec<_>>()));

    // The task list, filtered and paged as an application would read it.
    let mut query = TasksSearchQuery::new(&admin);
    query.with_index_uids([INDEX]).with_statuses(["succeeded"]).with_limit(2);
    let tasks = query.execute().await.expect("list tasks");
    let uids: Vec<u32> = tasks.results.iter().map(Task::get_uid).collect();
    seen.insert("task list", json!({"uids": uids, "total": tasks.total, "next": tasks.next}));

    let stats = admin.get_stats().await.expect("global stats");
    let index_stats = index.get_stats().await.expect("index stats");
    seen.insert("stats", json!({"global": stats.indexes.get(INDEX).map(|s| s.number_of_documents), "index": index_stats.number_of_documents,
        "fields": index_stats.field_distribution}));

    seen.insert("delete documents", wait(&admin, index.delete_documents(&[0, 1, 2, 3, 4]).await.expect("delete documents")).await);
    seen.insert("delete one document", wait(&admin, index.delete_document(59).await.expect("delete a document")).await);
    seen.insert("documents left", json!(index.get_stats().await.expect("index stats").number_of_documents));

    admin.delete_key(&key.key).await.expect("delete the key");
    seen.insert("search with a deleted key", code(searcher.index(INDEX).search().with_query("space").execute::<Movie>().await));
    seen.insert("delete index", wait(&admin, admin.delete_index(INDEX).await.expect("delete the index")).await);
    seen.insert("index gone", code(admin.get_index(INDEX).await));
    seen
}

fn run(url: &str) -> Record {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime").block_on(workflow(url))
}

#[test]
fn the_sdk_workflow_through_miroir_sees_what_one_node_shows() {
    let single = SingleNode::start();
    let expected = run(&single.client.base);
    drop(single);

    // What one node shows is itself checked, so equality below means something.
    assert_eq!(expected["search"]["ids"], json!((0..60).step_by(4).collect::<Vec<_>>()), "{expected:#?}");
    assert_eq!(expected["tenant token search"], json!((0..60).step_by(12).collect::<Vec<_>>()));
    assert_eq!(expected["write with the search key"], "InvalidApiKey");
    assert_eq!(expected["write without a key"], "MissingAuthorizationHeader");
    assert_eq!(expected["documents left"], 54);

    let mesh = Mesh::start(MeshSpec::default());
    let through_miroir = run(&mesh.client.base);
    let differences: Vec<String> = expected
        .iter()
        .filter(|(step, outcome)| through_miroir.get(*step) != Some(*outcome))
        .map(|(step, outcome)| format!("`{step}`:\n  one node: {outcome}\n  Miroir:   {:?}", through_miroir.get(step)))
        .collect();
    assert!(differences.is_empty(), "{}\n{}", differences.join("\n"), mesh.logs());
    assert_eq!(through_miroir.len(), expected.len());
}
