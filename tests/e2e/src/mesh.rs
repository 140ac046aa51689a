//! Test deployments: a Miroir mesh through `miroir dev`, and single reference nodes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use miroir_core::placement::IndexPlacement;
use miroir_core::shard_map::{Node, NodeRole, NodeState, ShardMap};

use crate::{binaries, ports, Client, MASTER_KEY};

#[derive(Debug, Clone, Copy)]
pub struct MeshSpec {
    pub nodes: usize,
    pub rf: u32,
    pub shards: u32,
    /// Replica groups; node i is in group i % groups.
    pub groups: u32,
}

impl Default for MeshSpec {
    /// The topology the data-path issue asks for: 3 nodes, RF 2, 16 shards.
    fn default() -> Self {
        MeshSpec { nodes: 3, rf: 2, shards: 16, groups: 1 }
    }
}

/// A running `miroir dev`: N nodes, the control plane and Envoy with the filter.
pub struct Mesh {
    pub spec: MeshSpec,
    pub client: Client,
    /// A client per node, straight to it (bypassing Miroir).
    pub nodes: Vec<Client>,
    /// Envoy's admin interface, e.g. for `/stats`.
    pub envoy_admin: String,
    /// The control plane's HTTP API (admin API, registry, metrics).
    pub control: String,
    pub(crate) process: Child,
    pub(crate) dir: PathBuf,
    /// Ports reserved for this mesh: xDS, a second gateway (listener, admin), two more nodes.
    pub(crate) node_base: u16,
    pub(crate) xds_port: u16,
    pub(crate) spare_base: u16,
    /// Processes the test started besides `miroir dev` (restarted or added nodes, gateways).
    pub(crate) extra: std::sync::Mutex<Vec<Child>>,
    /// `miroir serve`'s arguments when the control plane runs on its own (see `mesh_serve`).
    pub(crate) serve_args: Option<Vec<std::ffi::OsString>>,
    /// The gateway of a mesh whose control plane runs on its own.
    pub(crate) gateway: Option<crate::mesh_ops::Gateway>,
}

/// Nodes a mesh can add beyond its spec (see `mesh_ops`).
pub const SPARE_NODES: u16 = 2;

pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("miroir-e2e-{}-{name}-{}", std::process::id(), ports::free_block(1)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// Sends SIGTERM, then SIGKILL if the process has not exited in time.
pub(crate) fn stop(child: &mut Child) {
    // SAFETY: kill(2) on a pid we own; no memory is touched.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn wait_healthy(client: &Client, child: &mut Child, what: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited ({status}) before it was healthy:\n{tail}");
        }
        let healthy = ureq::get(&format!("{}/health", client.base)).timeout(Duration::from_secs(2)).call().is_ok();
        if healthy {
            return;
        }
        assert!(Instant::now() < deadline, "{what} never became healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Mesh {
    pub fn start(spec: MeshSpec) -> Mesh {
        Mesh::start_with(spec, &[])
    }

    /// As [`Mesh::start`], with more `miroir dev` flags (e.g. the rebalancer's).
    pub fn start_with(spec: MeshSpec, extra_args: &[&str]) -> Mesh {
        let dir = scratch_dir("mesh");
        let base = ports::free_block(spec.nodes as u16 + SPARE_NODES + 6);
        let (port, control, admin, node_base) = (base, base + 1, base + 2, base + 3);
        let xds_port = node_base + spec.nodes as u16 + SPARE_NODES;
        let spare_base = xds_port + 1;
        let log_path = dir.join("miroir-dev.log");
        let log = std::fs::File::create(&log_path).expect("create the launcher log");
        let mut process = Command::new(binaries::miroir())
            .arg("dev")
            .args(["--nodes", &spec.nodes.to_string(), "--rf", &spec.rf.to_string(), "--shards", &spec.shards.to_string()])
            .args(["--groups", &spec.groups.to_string()])
            .arg("--meili-bin")
            .arg(binaries::meilisearch())
            .args(["--port", &port.to_string(), "--master-key", MASTER_KEY])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--filter-wasm")
            .arg(binaries::filter_wasm())
            .args(["--node-base-port", &node_base.to_string(), "--control-port", &control.to_string()])
            .args(["--envoy-admin-port", &admin.to_string(), "--xds-port", &xds_port.to_string()])
            .args(extra_args)
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start miroir dev");
        let client = Client::new(format!("http://127.0.0.1:{port}"), MASTER_KEY);
        wait_healthy(&client, &mut process, "miroir dev", &log_path);
        let nodes = (0..spec.nodes)
            .map(|i| Client::new(format!("http://127.0.0.1:{}", node_base + i as u16), MASTER_KEY))
            .collect();
        let envoy_admin = format!("http://127.0.0.1:{admin}");
        let control = format!("http://127.0.0.1:{control}");
        let extra = Default::default();
        Mesh { spec, client, nodes, envoy_admin, control, process, dir, node_base, xds_port, spare_base, extra, serve_args: None, gateway: None }
    }

    /// The shard map the launcher pushes, rebuilt here: the test computes placement
    /// natively and checks it against what the filter (wasm) did.
    pub fn shard_map(&self) -> ShardMap {
        ShardMap {
            version: 1,
            replication_factor: self.spec.rf,
            default_shards: self.spec.shards,
            nodes: (0..self.spec.nodes)
                .map(|i| Node {
                    id: format!("node{i}"),
                    cluster: format!("meili_node{i}"),
                    group: i as u32 % self.spec.groups,
                    state: NodeState::Up,
                    role: NodeRole::Active,
                })
                .collect(),
            indexes: Default::default(),
            control_cluster: "miroir_control".into(),
            timeout_ms: 30_000,
            payload_limit_bytes: miroir_core::wire::DEFAULT_PAYLOAD_LIMIT_BYTES,
            node_key: Some(MASTER_KEY.into()),
            write_quorum: 1,
        }
    }

    pub fn placement(&self, index: &str) -> IndexPlacement {
        IndexPlacement::compute(&self.shard_map(), index)
    }

    /// The value of one of Envoy's counters (custom wasm metrics are `wasmcustom.<name>`).
    pub fn envoy_stat(&self, name: &str) -> Option<u64> {
        let text = ureq::get(&format!("{}/stats?filter={name}", self.envoy_admin)).call().ok()?.into_string().ok()?;
        text.lines().find_map(|l| l.split_once(": ").filter(|(k, _)| k.ends_with(name)).and_then(|(_, v)| v.trim().parse().ok()))
    }

    /// Kills node `i` with SIGKILL, as a crash would.
    pub fn kill_node(&self, i: usize) {
        let port = self.nodes[i].base.rsplit(':').next().unwrap_or_default().to_string();
        let needle = format!("127.0.0.1:{port}");
        let pid = std::fs::read_dir("/proc")
            .expect("read /proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .find(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                args.windows(2).any(|w| w[0] == b"--http-addr" && w[1] == needle.as_bytes())
            })
            .unwrap_or_else(|| panic!("no node process listens on {needle}"));
        // SAFETY: kill(2) on a process this test's mesh started; no memory is touched.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&needle).is_ok() {
            assert!(Instant::now() < deadline, "node {i} still answers after SIGKILL");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The launcher's and its children's logs, for failure messages.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("miroir-dev.log")).unwrap_or_default()
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        for child in self.extra.get_mut().unwrap_or_else(|e| e.into_inner()).iter_mut() {
            stop(child);
        }
        stop(&mut self.process);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One Meilisearch node on its own: the reference Miroir's answers must equal.
pub struct SingleNode {
    pub client: Client,
    process: Child,
    dir: PathBuf,
}

impl SingleNode {
    pub fn start() -> SingleNode {
        let dir = scratch_dir("single");
        let port = ports::free_block(1);
        let log_path = dir.join("node.log");
        let log = std::fs::File::create(&log_path).expect("create the node log");
        let mut process = Command::new(binaries::meilisearch())
            .args(["--http-addr", &format!("127.0.0.1:{port}"), "--master-key", MASTER_KEY, "--no-analytics"])
            .arg("--db-path")
            .arg(dir.join("data.ms"))
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start a reference node");
        let client = Client::new(format!("http://127.0.0.1:{port}"), MASTER_KEY);
        wait_healthy(&client, &mut process, "the reference node", &log_path);
        SingleNode { client, process, dir }
    }
}

impl Drop for SingleNode {
    fn drop(&mut self) {
        stop(&mut self.process);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
