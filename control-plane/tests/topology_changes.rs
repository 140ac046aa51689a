//! A continuous load through Miroir (searches, point reads, index stats, health) across ten
//! topology changes made with `miroir`: not one request fails. Stats go to every node
//! of the map, so a map naming a cluster Envoy has not got yet (or dropped already)
//! would fail them.

mod support;

use std::time::Duration;

use support::control::{state, Control, TOKEN};
use support::load::Load;
use support::mesh::{miroir, start_node, Envoy};

#[test]
fn ten_topology_changes_under_load_fail_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_ports(8);
    let (port, admin, node_base) = (base, base + 1, base + 2);
    let _nodes: Vec<_> = (0..5).map(|i| start_node(dir.path(), &format!("node{i}"), node_base + i)).collect();
    let control = Control::start(dir.path(), state(3, node_base, 2));
    let envoy = Envoy::start(dir.path(), "envoy-load", port, admin, &[control.xds_port()], None);
    control.wait_acked("envoy-load", control.version());
    support::mesh::eventually("Miroir serves", Duration::from_secs(30), || support::http(port, "GET", "/health", "").0 == 200);

    let load = Load::start(envoy.port, 2);
    let url = control.url();
    let node = |i: u16| format!("127.0.0.1:{}", node_base + i);
    // Every shard keeps a live copy throughout (the cluster is never red): with node1
    // drained at RF 1, node4 (group 1) holds the only live copy of its shards.
    let changes: Vec<Vec<String>> = vec![
        vec!["nodes".into(), "add".into(), "node3".into(), node(3)],
        vec!["nodes".into(), "drain".into(), "node0".into()],
        vec!["nodes".into(), "add".into(), "node4".into(), node(4), "--group".into(), "1".into()],
        vec!["indexes".into(), "set".into(), "movies".into(), "--shards".into(), "8".into()],
        vec!["nodes".into(), "undrain".into(), "node0".into()],
        vec!["nodes".into(), "remove".into(), "node3".into()],
        vec!["replication".into(), "1".into()],
        vec!["nodes".into(), "drain".into(), "node1".into()],
        vec!["nodes".into(), "undrain".into(), "node1".into()],
        vec!["nodes".into(), "remove".into(), "node4".into()],
    ];
    let first = control.version();
    let started = std::time::Instant::now();
    for (i, change) in changes.iter().enumerate() {
        eprintln!("{:?} {change:?}", started.elapsed());
        let mut args: Vec<&str> = change.iter().map(String::as_str).collect();
        args.extend(["--control", &url, "--admin-token", TOKEN]);
        let (ok, out, err) = miroir(&args);
        assert!(ok, "{change:?}: {out}{err}");
        control.wait_acked("envoy-load", first + i as u64 + 1);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (sent, failures) = load.finish();
    assert_eq!(control.version(), first + 10);
    assert!(sent > 100, "the load ran ({sent} requests)");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed; first: {:?}\nEnvoy's log:\n{}",
        failures.len(),
        &failures[..failures.len().min(5)],
        envoy.proc.log_text()
    );
    let status = control.envoy("envoy-load").unwrap();
    assert!(status.types.values().all(|t| t.nacks == 0), "{status:?}");
    // Removed nodes' clusters go once the grace for calls in flight has passed.
    support::mesh::eventually("the removed clusters leave Envoy", Duration::from_secs(20), || {
        !envoy.active_clusters().iter().any(|c| c == "meili_node3" || c == "meili_node4")
    });
}
