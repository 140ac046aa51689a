//! What the rebalancing tests do to a running mesh: a second gateway (another Envoy on
//! the same control plane), restarting a killed node on its data, starting a new node
//! and adding it through the admin API, and the admin API itself.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::mesh::{stop, wait_healthy, SPARE_NODES};
use crate::{binaries, Client, Mesh, MASTER_KEY};

/// A second Envoy with the filter, configured over xDS by the mesh's control plane.
pub struct Gateway {
    pub client: Client,
    pub admin: String,
    process: Child,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        stop(&mut self.process);
    }
}

impl Mesh {
    /// The admin API, with the token `miroir dev` wrote.
    pub fn admin(&self) -> Client {
        let token = std::fs::read_to_string(self.dir.join("data/admin-token")).expect("miroir dev writes its admin token");
        Client::new(self.control.clone(), token.trim())
    }

    /// The shard map the control plane serves now.
    pub fn served_map(&self) -> miroir_core::shard_map::ShardMap {
        let answer = self.admin().get("/_miroir/admin/map");
        assert_eq!(answer.status, 200, "{answer:?}");
        serde_json::from_value(answer.body).expect("the admin API serves a valid map")
    }

    pub fn status(&self) -> Value {
        let answer = self.admin().get("/_miroir/admin/status");
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body
    }

    /// Polls the admin status until `done` holds; panics with the last status after `timeout`.
    pub fn wait_status(&self, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "{what}: not reached in {timeout:?}; status: {status:#}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts a second gateway: an Envoy with its own bootstrap, same control plane.
    pub fn start_gateway(&self, name: &str) -> Gateway {
        self.spawn_gateway(name, self.spare_base, self.spare_base + 1)
    }

    /// An Envoy named `name` listening on `port`, its admin on `admin`, once it holds the map.
    pub(crate) fn spawn_gateway(&self, name: &str, port: u16, admin: u16) -> Gateway {
        let bootstrap = Command::new(binaries::miroir())
            .args(["envoy-config", "--node-id", name, "--port", &port.to_string(), "--envoy-admin-port", &admin.to_string()])
            .args(["--xds", &format!("127.0.0.1:{}", self.xds_port)])
            .arg("--filter-wasm")
            .arg(binaries::filter_wasm())
            .output()
            .expect("run miroir envoy-config");
        assert!(bootstrap.status.success(), "miroir envoy-config: {}", String::from_utf8_lossy(&bootstrap.stderr));
        let config = self.dir.join(format!("{name}.json"));
        std::fs::write(&config, &bootstrap.stdout).expect("write the bootstrap");
        let log_path = self.dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("create the gateway log");
        let mut process = Command::new("envoy")
            .arg("-c")
            .arg(&config)
            .args(["--disable-hot-restart", "--concurrency", "2", "--log-level", "warn"])
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start envoy (on PATH)");
        let client = Client::new(format!("http://127.0.0.1:{port}"), MASTER_KEY);
        wait_healthy(&client, &mut process, name, &log_path);
        // Healthy means Envoy answers; wait until it also holds the current map.
        let version = self.served_map().version;
        self.wait_status(&format!("{name} ACKs the map"), Duration::from_secs(60), |s| {
            s["envoys"][name]["mapVersion"].as_u64() >= Some(version)
        });
        Gateway { client, admin: format!("http://127.0.0.1:{admin}"), process }
    }

    /// Starts node `i` (as `miroir dev` does) on its port and data: a killed node coming
    /// back, or a new one (`i` ≥ the spec's nodes, at most two more).
    pub fn start_node(&self, i: usize) -> Client {
        assert!(i < self.spec.nodes + SPARE_NODES as usize, "the mesh reserved ports for {SPARE_NODES} more nodes");
        let data = self.dir.join("data");
        let (mut process, client) = spawn_node(&data, self.node_base + i as u16, i, "restarted");
        wait_healthy(&client, &mut process, &format!("node{i}"), &data.join(format!("node{i}.restarted.log")));
        self.extra.lock().unwrap_or_else(|e| e.into_inner()).push(process);
        client
    }

    /// Starts node `i` and adds it to the cluster (it joins; the rebalancer fills it).
    pub fn add_node(&self, i: usize) -> Client {
        let client = self.start_node(i);
        let address = client.base.trim_start_matches("http://").to_string();
        let answer = self.admin().json("POST", "/_miroir/admin/nodes", &json!({"id": format!("node{i}"), "address": address}));
        assert_eq!(answer.status, 200, "add node{i}: {answer:?}");
        client
    }

    /// The node's entry in the admin status, `None` once it left the cluster.
    pub fn node_status(status: &Value, id: &str) -> Option<Value> {
        status["nodes"].as_array()?.iter().find(|n| n["id"] == id).cloned()
    }
}

/// Starts Meilisearch node `i` (as `miroir dev` does) on `port` with its data under `data`;
/// its log is `node{i}.{tag}.log`. The caller waits until it is healthy.
pub(crate) fn spawn_node(data: &std::path::Path, port: u16, i: usize, tag: &str) -> (Child, Client) {
    let log_path = data.join(format!("node{i}.{tag}.log"));
    let log = std::fs::File::create(&log_path).expect("create the node log");
    let process = Command::new(binaries::meilisearch())
        .args(["--http-addr", &format!("127.0.0.1:{port}"), "--master-key", MASTER_KEY, "--no-analytics"])
        .args(["--http-payload-size-limit", "1073741824"])
        .arg("--db-path")
        .arg(data.join(format!("node{i}")))
        .stdout(Stdio::from(log.try_clone().expect("log handle")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start a node");
    (process, Client::new(format!("http://127.0.0.1:{port}"), MASTER_KEY))
}
