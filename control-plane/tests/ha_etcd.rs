//! Three `miroir serve` replicas on etcd: one leads, followers serve xDS from the state
//! they watch and pass admin changes to the leader, and losing the leader (SIGKILL)
//! elects another; Envoy keeps serving throughout and follows the new leader's changes.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::control::TOKEN;
use support::load::Load;
use support::mesh::{eventually, miroir, start_node, Envoy, Proc, Serve};

/// etcd on loopback, in `dir`. Missing is a failure: `apt-get install etcd-server`.
fn etcd(dir: &Path, client: u16, peer: u16) -> Proc {
    let bin = miroir::launcher::find_in_path("etcd", std::env::var_os("PATH").as_deref())
        .expect("`etcd` is not on PATH: install it with `apt-get install -y etcd-server` (this test runs it and never skips)");
    let (client_url, peer_url) = (format!("http://127.0.0.1:{client}"), format!("http://127.0.0.1:{peer}"));
    let mut command = Command::new(bin);
    command
        .args(["--name", "t", "--listen-client-urls", &client_url, "--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("t={peer_url}")])
        .arg("--data-dir")
        .arg(dir.join("etcd"));
    let etcd = Proc::spawn(command, dir.join("etcd.log"));
    eventually("etcd answers", Duration::from_secs(30), || support::try_http(client, "GET", "/health", "").is_ok_and(|(s, b)| s == 200 && b.contains("true")));
    etcd
}

fn is_leader(serve: &Serve) -> bool {
    support::try_http(serve.port, "GET", "/_miroir/ready", "").is_ok_and(|(s, _)| s == 200)
}

fn leader(replicas: &[Option<Serve>]) -> Option<usize> {
    let leaders: Vec<usize> = replicas.iter().enumerate().filter(|(_, r)| r.as_ref().is_some_and(is_leader)).map(|(i, _)| i).collect();
    (leaders.len() == 1).then(|| leaders[0])
}

#[test]
fn three_replicas_survive_losing_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_ports(14);
    let (port, admin, etcd_client, etcd_peer, node_base) = (base, base + 1, base + 2, base + 3, base + 4);
    let _etcd = etcd(dir.path(), etcd_client, etcd_peer);
    let _nodes: Vec<_> = (0..3).map(|i| start_node(dir.path(), &format!("node{i}"), node_base + i)).collect();
    let controls: Vec<u16> = (0..3).map(|i| base + 8 + i).collect();
    let xds: Vec<u16> = (0..3).map(|i| base + 11 + i).collect();
    let endpoints: Vec<String> = controls.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let etcd_url = format!("http://127.0.0.1:{etcd_client}");
    let mut replicas: Vec<Option<Serve>> = (0..3)
        .map(|i| {
            let id = format!("r{i}");
            // No rebalancer: this test counts map versions, and moving data is not its subject.
            let mut args = vec!["--etcd", &etcd_url, "--replica-id", &id, "--rf", "2", "--shards", "4", "--no-rebalance"];
            for e in &endpoints {
                args.extend(["--control-endpoint", e]);
            }
            Some(Serve::start(dir.path(), &id, controls[i], xds[i], &args))
        })
        .collect();
    eventually("one replica leads", Duration::from_secs(20), || leader(&replicas).is_some());
    let first_leader = leader(&replicas).unwrap();
    let follower = (first_leader + 1) % 3;

    // Admin changes sent to a follower reach the leader.
    let urls: Vec<String> = controls.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let via = |i: usize| urls[i].clone();
    for i in 0..3u16 {
        let address = format!("127.0.0.1:{}", node_base + i);
        let (ok, out, err) = miroir(&["nodes", "add", &format!("node{i}"), &address, "--control", &via(follower), "--admin-token", TOKEN]);
        assert!(ok, "{out}{err}");
    }
    // Envoy may connect to any replica; followers serve the state they watch.
    let envoy = Envoy::start(dir.path(), "envoy-ha", port, admin, &xds, None);
    eventually("Envoy holds map 3", Duration::from_secs(30), || envoy.map_version() == Some(3));
    eventually("every replica serves version 3", Duration::from_secs(10), || replicas.iter().flatten().all(|r| r.version() == 3));
    eventually("Miroir serves", Duration::from_secs(30), || support::http(port, "GET", "/health", "").0 == 200);
    let load = Load::start(envoy.port, 2);

    // The task registry answers on the leader (Envoy health-checks /_miroir/ready).
    const RECORD: &str = r#"{"indexUid":"movies","type":"indexCreation","nodeTasks":[]}"#;
    let registry = |i: usize| controls[i];
    let mut uids = Vec::new();
    for _ in 0..3 {
        let (status, body) = support::http(registry(first_leader), "POST", "/_miroir/tasks", RECORD);
        assert_eq!(status, 201, "{body}");
        uids.push(serde_json::from_str::<serde_json::Value>(&body).unwrap()["uid"].as_u64().unwrap());
    }
    assert_eq!(uids, [0, 1, 2]);
    assert_eq!(support::http(registry(follower), "GET", "/_miroir/ready", "").0, 503);

    // Lose the leader.
    replicas[first_leader].as_mut().unwrap().proc.kill9();
    replicas[first_leader] = None;
    eventually("another replica leads", Duration::from_secs(30), || leader(&replicas).is_some());
    // Through whichever survivor does not lead, once it has learnt who does (draining
    // twice changes nothing, so a retry is harmless).
    let new_leader = leader(&replicas).unwrap();
    let follower = (0..3).find(|i| *i != first_leader && *i != new_leader).unwrap();
    eventually("the drain goes through a follower to the new leader", Duration::from_secs(20), || {
        miroir(&["nodes", "drain", "node1", "--control", &via(follower), "--admin-token", TOKEN]).0
    });
    eventually("Envoy holds the new leader's map 4", Duration::from_secs(30), || envoy.map_version() == Some(4));
    eventually("both replicas serve version 4", Duration::from_secs(10), || replicas.iter().flatten().all(|r| r.version() == 4));

    // The new leader has the old leader's task records and goes on after them.
    let (status, body) = support::http(registry(new_leader), "GET", "/_miroir/tasks/2", "");
    assert_eq!(status, 200, "{body}");
    let (status, body) = support::http(registry(new_leader), "POST", "/_miroir/tasks", RECORD);
    assert_eq!(status, 201, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["uid"], 3, "no uid is handed out twice");

    let (sent, failures) = load.finish();
    assert!(sent > 50, "the load ran ({sent} requests)");
    assert!(failures.is_empty(), "{} of {sent} requests failed; first: {:?}", failures.len(), &failures[..failures.len().min(5)]);
}

/// `DELETE /tasks` under HA: records the leader forgot stay forgotten for the next
/// leader (which reloads from etcd, not from its own disk), and their uids stay spent.
#[test]
fn forgotten_task_records_stay_forgotten_for_the_next_leader() {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_ports(6);
    let (etcd_client, etcd_peer) = (base, base + 1);
    let _etcd = etcd(dir.path(), etcd_client, etcd_peer);
    let etcd_url = format!("http://127.0.0.1:{etcd_client}");
    let start = |i: u16| {
        let id = format!("r{i}");
        let args = ["--etcd", etcd_url.as_str(), "--replica-id", id.as_str(), "--rf", "1", "--shards", "2", "--no-rebalance"];
        Serve::start(dir.path(), &id, base + 2 + 2 * i, base + 3 + 2 * i, &args)
    };
    let mut first = start(0);
    eventually("the replica leads", Duration::from_secs(20), || is_leader(&first));
    const RECORD: &str = r#"{"indexUid":"movies","type":"indexCreation","nodeTasks":[]}"#;
    for uid in 0..3 {
        let (status, body) = support::http(first.port, "POST", "/_miroir/tasks", RECORD);
        assert_eq!((status, serde_json::from_str::<serde_json::Value>(&body).unwrap()["uid"].as_u64()), (201, Some(uid)), "{body}");
    }
    let (status, body) = support::http(first.port, "POST", "/_miroir/tasks/forget", r#"{"uids":[1,2]}"#);
    assert_eq!((status, body.as_str()), (200, r#"{"forgotten":2}"#));
    first.proc.kill9();

    let second = start(1);
    eventually("the new replica leads", Duration::from_secs(30), || is_leader(&second));
    assert_eq!(support::http(second.port, "GET", "/_miroir/tasks/0", "").0, 200);
    for uid in [1, 2] {
        assert_eq!(support::http(second.port, "GET", &format!("/_miroir/tasks/{uid}"), "").0, 404, "task {uid} came back");
    }
    let (status, body) = support::http(second.port, "POST", "/_miroir/tasks", RECORD);
    assert_eq!(status, 201, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["uid"], 3, "the forgotten newest uid is not handed out again");
}
