//! `miroir dev` for real: stand-in Meilisearch nodes, the real Envoy with the real
//! filter, fed over ADS by the in-process control plane, and signals.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// A `miroir dev` run in a temporary directory, with its own ports.
struct Dev {
    dir: tempfile::TempDir,
    port: u16,
    control_port: u16,
    node_base_port: u16,
    process: Child,
    stdout: mpsc::Receiver<String>,
}

impl Dev {
    fn start(nodes: u32, extra: &[&str], path_var: Option<&Path>) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let wasm = support::mesh::filter_wasm();
        let base = support::free_ports(nodes as u16 + 3);
        let (port, control_port, admin_port, node_base_port) = (base, base + 1, base + 2, base + 3);
        let mut command = Command::new(support::miroir_bin());
        command
            .arg("dev")
            .args(["--nodes", &nodes.to_string(), "--rf", "1", "--shards", "4"])
            .args(["--port", &port.to_string(), "--control-port", &control_port.to_string()])
            .args(["--envoy-admin-port", &admin_port.to_string(), "--node-base-port", &node_base_port.to_string()])
            .args(["--master-key", "test-master-key", "--data-dir"])
            .arg(dir.path().join("mesh"))
            .arg("--filter-wasm")
            .arg(&wasm)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("miroir.stderr")).unwrap());
        if let Some(path_var) = path_var {
            command.env("PATH", path_var);
        } else {
            command.arg("--envoy-bin").arg(support::envoy_bin());
        }
        let mut process = command.spawn().unwrap();
        let (tx, stdout) = mpsc::channel();
        let out = process.stdout.take().unwrap();
        std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
        Dev { dir, port, control_port, node_base_port, process, stdout }
    }

    fn mesh(&self) -> PathBuf {
        self.dir.path().join("mesh")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("miroir.stderr")).unwrap_or_default()
    }

    fn wait_for_line(&self, timeout: Duration) -> String {
        self.stdout.recv_timeout(timeout).unwrap_or_else(|e| panic!("no line on stdout ({e}); stderr:\n{}", self.stderr()))
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "miroir dev still running after {timeout:?}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn node_pid(&self, i: u32) -> Pid {
        Pid::from_raw(std::fs::read_to_string(self.mesh().join(format!("node{i}/pid"))).unwrap().trim().parse().unwrap())
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.process.id() as i32), signal).unwrap();
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn alive(pid: Pid) -> bool {
    kill(pid, None).is_ok()
}

fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn node_arg(extra: &str) -> Vec<String> {
    let node = support::fake_node();
    vec!["--meili-bin".into(), node.to_string_lossy().into_owned(), format!("--meili-arg={extra}")]
}

#[test]
fn dev_runs_the_mesh_survives_a_dead_node_and_stops_everything_on_sigterm() {
    let args = node_arg("--log-level=WARN");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut dev = Dev::start(2, &args, None);
    let line = dev.wait_for_line(Duration::from_secs(90));
    assert_eq!(line, format!("Miroir is up: http://127.0.0.1:{} (2 nodes, RF 1, 4 shards)", dev.port));

    // Through Envoy and the filter, which reads node1's stand-in document.
    assert_eq!(support::http(dev.port, "GET", "/health", "").0, 200);
    // Miroir checks keys before any node call, as the nodes (started with the master key) would.
    let (status, body) = support::http(dev.port, "GET", "/indexes/movies/documents/1", "");
    assert_eq!(status, 401, "{body}");
    let (status, body) = support::request(dev.port, "GET", "/indexes/movies/documents/1", "", Some("test-master-key")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("servedBy"), "{body}");
    // The in-process task registry.
    let (status, body) = support::http(dev.control_port, "POST", "/_miroir/tasks", r#"{"indexUid":"movies","type":"indexCreation","nodeTasks":[]}"#);
    assert_eq!(status, 201, "{body}");
    let record: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["uid"], 0);
    assert!(dev.mesh().join("control/tasks.jsonl").is_file());

    // Every node got Meilisearch's command line, plus --meili-arg.
    let args: Vec<String> = serde_json::from_slice(&std::fs::read(dev.mesh().join("node1/args.json")).unwrap()).unwrap();
    let expected_addr = format!("127.0.0.1:{}", dev.node_base_port + 1);
    let expected_db = dev.mesh().join("node1").to_string_lossy().into_owned();
    let expected = [
        "--http-addr", &expected_addr, "--db-path", &expected_db, "--master-key", "test-master-key", "--no-analytics",
        "--http-payload-size-limit", "1073741824", "--log-level=WARN",
    ];
    assert_eq!(args, expected);
    // Envoy gets its clusters and the map over ADS; the bootstrap only reaches the control plane.
    let bootstrap: Value = serde_json::from_slice(&std::fs::read(dev.mesh().join("envoy.json")).unwrap()).unwrap();
    assert_eq!(bootstrap["static_resources"]["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(bootstrap["node"]["metadata"]["filter_wasm"], support::mesh::filter_wasm().to_string_lossy().as_ref());
    // The admin API, with the token `miroir dev` wrote down: node1 is known, the Envoy ACKed map 1.
    let token = std::fs::read_to_string(dev.mesh().join("admin-token")).unwrap();
    let control = format!("http://127.0.0.1:{}", dev.control_port);
    let (ok, out, err) = support::mesh::miroir(&["status", "--json", "--control", &control, "--admin-token", &token]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["envoys"]["miroir-dev"]["mapVersion"], 1);
    assert_eq!(status["nodes"][1]["address"], format!("127.0.0.1:{}", dev.node_base_port + 1));

    // A node dying is logged, not fatal.
    let (node0, node1) = (dev.node_pid(0), dev.node_pid(1));
    kill(node1, Signal::SIGKILL).unwrap();
    eventually("the launcher reports node1's exit", Duration::from_secs(10), || dev.stderr().contains("exited on its own"));
    assert!(dev.stderr().contains("node1"), "{}", dev.stderr());
    assert!(dev.process.try_wait().unwrap().is_none(), "miroir dev exited after a node died:\n{}", dev.stderr());
    assert_eq!(support::http(dev.port, "GET", "/health", "").0, 200);
    // The control plane's prober marks it down by itself.
    eventually("node1 is marked down", Duration::from_secs(20), || {
        let (_, out, _) = support::mesh::miroir(&["nodes", "list", "--control", &control, "--admin-token", &token]);
        serde_json::from_str::<Value>(&out).is_ok_and(|nodes| nodes[1]["state"] == "down")
    });

    dev.signal(Signal::SIGTERM);
    let status = dev.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit {status}; stderr:\n{}", dev.stderr());
    assert!(!alive(node0), "node0 outlived miroir dev");
    assert!(std::net::TcpStream::connect(("127.0.0.1", dev.port)).is_err(), "Envoy outlived miroir dev");
    assert!(std::net::TcpStream::connect(("127.0.0.1", dev.control_port)).is_err(), "the control plane outlived miroir dev");
}

#[test]
fn ctrl_c_stops_the_mesh_with_exit_code_zero() {
    let args = node_arg("--no-analytics");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut dev = Dev::start(1, &args, None);
    dev.wait_for_line(Duration::from_secs(90));
    let node0 = dev.node_pid(0);
    dev.signal(Signal::SIGINT);
    let status = dev.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit {status}; stderr:\n{}", dev.stderr());
    assert!(!alive(node0), "node0 outlived miroir dev");
}

#[test]
fn a_node_that_exits_during_startup_fails_the_launch_with_its_log() {
    let args = node_arg("--exit-at-once");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut dev = Dev::start(2, &args, None);
    let status = dev.wait_exit(Duration::from_secs(30));
    assert!(!status.success());
    let stderr = dev.stderr();
    assert!(stderr.contains("node0 exited during startup"), "{stderr}");
    assert!(stderr.contains("boom: exiting at once"), "the node's log tail is quoted: {stderr}");
}

#[test]
fn a_node_that_never_gets_healthy_fails_the_launch_and_is_stopped() {
    let mut args = node_arg("--never-healthy");
    args.extend(["--startup-timeout".into(), "2".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut dev = Dev::start(1, &args, None);
    let status = dev.wait_exit(Duration::from_secs(30));
    assert!(!status.success());
    let stderr = dev.stderr();
    assert!(stderr.contains("node0 did not answer 200"), "{stderr}");
    assert!(stderr.contains("never healthy: not listening"), "{stderr}");
    assert!(!alive(dev.node_pid(0)), "the unhealthy node was left running");
}

#[test]
fn without_meilisearch_on_path_dev_refuses_and_says_how_to_get_one() {
    let empty = tempfile::tempdir().unwrap();
    let mut dev = Dev::start(1, &[], Some(empty.path()));
    let status = dev.wait_exit(Duration::from_secs(30));
    assert!(!status.success());
    let stderr = dev.stderr();
    assert!(stderr.contains("no Meilisearch binary"), "{stderr}");
    assert!(stderr.contains("cargo build -p meili-double"), "{stderr}");
    assert!(!dev.mesh().exists(), "nothing is started or created before the binaries are found");
}
