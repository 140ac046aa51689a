//! `miroir serve` killed with SIGKILL while admin changes are coming in, then started
//! again: every change it acknowledged is still there, Envoy keeps serving on its last
//! config meanwhile (not one request fails), and it follows the control plane again.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::load::Load;
use support::mesh::{eventually, miroir, start_node, Envoy, Serve};

#[test]
fn kill_9_and_restart_loses_no_acknowledged_change_and_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_ports(6);
    let (port, admin, control, xds, node_base) = (base, base + 1, base + 2, base + 3, base + 4);
    let _nodes: Vec<_> = (0..2).map(|i| start_node(dir.path(), &format!("node{i}"), node_base + i)).collect();
    let mut serve = Serve::start(dir.path(), "control", control, xds, &["--rf", "2", "--shards", "4"]);
    for i in 0..2u16 {
        let address = format!("127.0.0.1:{}", node_base + i);
        let (ok, out, err) = miroir(&["nodes", "add", &format!("node{i}"), &address, "--control", &serve.url(), "--admin-token", support::control::TOKEN]);
        assert!(ok, "{out}{err}");
    }
    let envoy = Envoy::start(dir.path(), "envoy-r", port, admin, &[xds], None);
    eventually("Envoy ACKs map 2", Duration::from_secs(30), || serve.acked_map("envoy-r") == Some(2));
    eventually("Miroir serves", Duration::from_secs(30), || support::http(port, "GET", "/health", "").0 == 200);
    let load = Load::start(envoy.port, 2);

    // Admin changes as fast as they are answered; SIGKILL lands in the middle of them.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, port) = (acknowledged.clone(), stop.clone(), serve.port);
        std::thread::spawn(move || {
            for k in 0..10_000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let answer = support::request(port, "PUT", &format!("/_miroir/admin/indexes/i{k}"), r#"{"shards":2}"#, Some(support::control::TOKEN));
                if let Ok((200, _)) = answer {
                    acknowledged.lock().unwrap().push(format!("i{k}"));
                }
            }
        })
    };
    eventually("some changes are acknowledged", Duration::from_secs(20), || acknowledged.lock().unwrap().len() >= 20);
    serve.proc.kill9();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();

    // The control plane is down: the data path serves on its last config.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(support::http(port, "GET", "/indexes/movies/documents/1", "").0, 200);

    serve.restart_after_kill9();
    let (_, state) = serve.admin("GET", "/_miroir/admin/state", "");
    let indexes = state["indexes"].as_object().cloned().unwrap_or_default();
    let lost: Vec<&String> = acknowledged.iter().filter(|uid| !indexes.contains_key(*uid)).collect();
    assert!(lost.is_empty(), "{} acknowledged changes lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    assert_eq!(state["nodes"].as_array().map(Vec::len), Some(2));

    // Envoy reconnects to the new process and follows it again.
    let version = serve.version();
    eventually("Envoy ACKs the restarted control plane's map", Duration::from_secs(30), || serve.acked_map("envoy-r") == Some(version));
    let (ok, out, err) = miroir(&["nodes", "drain", "node0", "--control", &serve.url(), "--admin-token", support::control::TOKEN]);
    assert!(ok, "{out}{err}");
    eventually("Envoy ACKs the next change", Duration::from_secs(30), || serve.acked_map("envoy-r") == Some(version + 1));

    let (sent, failures) = load.finish();
    assert!(sent > 50, "the load ran ({sent} requests)");
    assert!(failures.is_empty(), "{} of {sent} requests failed; first: {:?}", failures.len(), &failures[..failures.len().min(5)]);
}
