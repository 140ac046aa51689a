//! The task registry through its real HTTP server, driven via the `App` handle.

mod support;

use std::net::SocketAddr;

use miroir::app::{App, Config};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const RECORD: &str = r#"{"indexUid":"movies","type":"documentAdditionOrUpdate","nodeTasks":[{"node":"node0","taskUid":1}]}"#;

async fn start(dir: &std::path::Path) -> App {
    App::start(Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.to_owned())).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_distinct_uids_in_enqueue_order_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path()).await;
    let port = app.addr().port();
    let posts: Vec<_> = (0..40).map(|_| tokio::task::spawn_blocking(move || support::http(port, "POST", "/_miroir/tasks", RECORD))).collect();
    let mut records = Vec::new();
    for post in posts {
        let (status, body) = post.await.unwrap();
        assert_eq!(status, 201, "{body}");
        records.push(serde_json::from_str::<Value>(&body).unwrap());
    }
    records.sort_by_key(|r| r["uid"].as_u64().unwrap());
    let uids: Vec<u64> = records.iter().map(|r| r["uid"].as_u64().unwrap()).collect();
    assert_eq!(uids, (0..40).collect::<Vec<_>>(), "every uid once, none skipped");
    let times: Vec<OffsetDateTime> = records.iter().map(|r| OffsetDateTime::parse(r["enqueuedAt"].as_str().unwrap(), &Rfc3339).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "a larger uid is never enqueued earlier");
    app.shutdown().await.unwrap();

    let app = start(dir.path()).await;
    let port = app.addr().port();
    let (status, body) = tokio::task::spawn_blocking(move || support::http(port, "GET", "/_miroir/tasks/39", "")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), records[39]);
    let (status, body) = tokio::task::spawn_blocking(move || support::http(port, "POST", "/_miroir/tasks", RECORD)).await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["uid"], 40);
    app.shutdown().await.unwrap();
}
