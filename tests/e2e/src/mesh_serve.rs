//! A mesh whose control plane is `miroir serve` on its own process (nodes and Envoy
//! started here), so a test can kill it with SIGKILL and start it again on the same data
//! dir while the nodes and the gateway keep running. (`miroir dev` runs the control plane
//! in-process and its children die with it.)

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};

use crate::mesh::{scratch_dir, wait_healthy, SPARE_NODES};
use crate::mesh_ops::spawn_node;
use crate::{binaries, ports, Client, Mesh, MeshSpec, MASTER_KEY};

/// The admin token of a `miroir serve` mesh (written where `Mesh::admin` reads it).
pub const SERVE_ADMIN_TOKEN: &str = "miroir-e2e-admin-token";
/// The gateway's Envoy node id.
pub const SERVE_GATEWAY: &str = "gateway";

impl Mesh {
    /// As [`Mesh::start_with`], the control plane being `miroir serve` (`extra_args` are
    /// its flags, e.g. the rebalancer's) with the nodes' master key.
    pub fn start_serve(spec: MeshSpec, extra_args: &[&str]) -> Mesh {
        let dir = scratch_dir("serve");
        let base = ports::free_block(spec.nodes as u16 + SPARE_NODES + 6);
        let (port, control, admin, node_base) = (base, base + 1, base + 2, base + 3);
        let xds_port = node_base + spec.nodes as u16 + SPARE_NODES;
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create the data dir");
        std::fs::write(data.join("admin-token"), SERVE_ADMIN_TOKEN).expect("write the admin token");

        let mut extra = Vec::new();
        let mut nodes = Vec::new();
        for i in 0..spec.nodes {
            let (mut process, client) = spawn_node(&data, node_base + i as u16, i, "serve");
            wait_healthy(&client, &mut process, &format!("node{i}"), &data.join(format!("node{i}.serve.log")));
            extra.push(process);
            nodes.push(client);
        }
        let mut args: Vec<OsString> = vec!["serve".into(), "--listen".into(), format!("127.0.0.1:{control}").into()];
        args.extend(["--data-dir".into(), data.join("control").into_os_string()]);
        args.extend(["--xds-listen".into(), format!("127.0.0.1:{xds_port}").into()]);
        args.extend(["--admin-token", SERVE_ADMIN_TOKEN, "--node-key", MASTER_KEY, "--master-key", MASTER_KEY].map(OsString::from));
        args.extend(["--rf".into(), spec.rf.to_string().into(), "--shards".into(), spec.shards.to_string().into()]);
        args.extend(["--filter-wasm".into(), binaries::filter_wasm().into_os_string()]);
        for i in 0..spec.nodes {
            let node = format!("node{i}=127.0.0.1:{}@{}", node_base + i as u16, i as u32 % spec.groups);
            args.extend(["--node".into(), node.into()]);
        }
        args.extend(extra_args.iter().map(OsString::from));
        let control_url = format!("http://127.0.0.1:{control}");
        let process = spawn_control(&dir.join("miroir-dev.log"), &args, &control_url);
        let mut mesh = Mesh {
            spec,
            client: Client::new(format!("http://127.0.0.1:{port}"), MASTER_KEY),
            nodes,
            envoy_admin: format!("http://127.0.0.1:{admin}"),
            control: control_url,
            process,
            dir,
            node_base,
            xds_port,
            spare_base: xds_port + 1,
            extra: std::sync::Mutex::new(extra),
            serve_args: Some(args),
            gateway: None,
        };
        mesh.gateway = Some(mesh.spawn_gateway(SERVE_GATEWAY, port, admin));
        mesh
    }

    /// Kills the control plane with SIGKILL (as a crash would); nodes and Envoy keep running.
    pub fn kill_control(&mut self) {
        assert!(self.serve_args.is_some(), "only a `Mesh::start_serve` control plane can be killed alone");
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Starts `miroir serve` again with the same flags and data dir, once it answers.
    pub fn restart_control(&mut self) {
        let args = self.serve_args.clone().expect("a `Mesh::start_serve` mesh");
        self.process = spawn_control(&self.dir.join("miroir-dev.log"), &args, &self.control);
    }

    /// The control plane's `/metrics` text.
    pub fn control_metrics(&self) -> String {
        ureq::get(&format!("{}/metrics", self.control)).call().expect("the control plane serves /metrics").into_string().expect("metrics are text")
    }
}

/// Starts `miroir serve`, its output appended to `log`, and waits until it is healthy.
fn spawn_control(log_path: &std::path::Path, args: &[OsString], url: &str) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path).expect("open the control plane log");
    let mut process = Command::new(binaries::miroir())
        .args(args)
        .stdout(Stdio::from(log.try_clone().expect("log handle")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start miroir serve");
    wait_healthy(&Client::new(url, MASTER_KEY), &mut process, "miroir serve", log_path);
    process
}

impl Mesh {
    /// The mesh's data directory (`data/control` is the control plane's).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.join("data")
    }
}
