use std::io::Write;

use anyhow::Context;
use clap::Parser;
use miroir::admin::client::Client;
use miroir::app::{self, App};
use miroir::cli::{AdminArgs, Cli, Command, IndexesCommand, NodesCommand, ServeArgs};
use miroir::envoy_config::Bootstrap;
use miroir::signals::Shutdown;
use miroir::xds::resources::HostPort;
use miroir::{admin, ha, launcher};
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    // MIROIR_LOG_FORMAT=json: one JSON object per line, for log collectors.
    if std::env::var("MIROIR_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    // The message, not a backtrace: every error here already says what to do.
    if let Err(e) = run(cli.command).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await?,
        Command::Dev(args) => {
            let mut shutdown = Shutdown::install().context("cannot install signal handlers")?;
            launcher::run(args.options(), &mut shutdown).await?;
        }
        Command::EnvoyConfig(args) => {
            let xds = args
                .xds
                .iter()
                .map(|x| HostPort::parse(x).map(|h| (h.host, h.port)).with_context(|| format!("--xds {x} is not host:port")))
                .collect::<anyhow::Result<_>>()?;
            let bootstrap = Bootstrap {
                node_id: args.node_id,
                bind: args.bind,
                listener_port: args.port,
                admin_port: args.envoy_admin_port,
                xds,
                filter_wasm: args.filter_wasm,
                xds_tls_ca: args.xds_tls_ca,
            };
            print_json(&bootstrap.to_json())?;
        }
        admin_command => tokio::task::spawn_blocking(move || admin_cli(admin_command)).await??,
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut shutdown = Shutdown::install().context("cannot install signal handlers")?;
    let mut config = app::Config::new(args.listen, args.data_dir.clone());
    config.xds_listen = Some(args.xds_listen);
    config.xds_tls = args.xds_tls();
    config.admin_token = Some(args.admin_token.clone());
    config.control_endpoints = args.control_endpoints.clone();
    config.node_key = args.node_key.clone();
    config.filter_wasm = args.filter_wasm.clone();
    config.initial = args.initial_state()?;
    config.probe_interval = (args.probe_interval_ms > 0).then(|| std::time::Duration::from_millis(args.probe_interval_ms));
    config.repair = args.repair.config(args.master_key.clone());
    config.swap_drain = std::time::Duration::from_millis(args.repair.swap_drain_ms);
    if args.etcd.is_empty() {
        App::start(config).await?.run_until_signal(&mut shutdown).await?;
    } else {
        let replica = args.replica_id.clone().unwrap_or_else(|| args.listen.to_string());
        let advertise = args.advertise.clone().unwrap_or_else(|| args.listen.to_string());
        ha::serve(config, ha::EtcdConfig { endpoints: args.etcd.clone(), replica, advertise }, &mut shutdown).await?;
    }
    Ok(())
}

fn admin_cli(command: Command) -> anyhow::Result<()> {
    let client = |a: &AdminArgs| Client::new(&a.control, a.admin_token.clone());
    const A: &str = "/_miroir/admin";
    match command {
        Command::Status { admin, json } => {
            let status = client(&admin)?.get(&format!("{A}/status"))?;
            if json {
                print_json(&status)?;
            } else {
                print!("{}", admin::render_status(&status));
            }
        }
        Command::Nodes { admin, command } => {
            let c = client(&admin)?;
            let answer = match command {
                NodesCommand::List => c.get(&format!("{A}/nodes"))?,
                NodesCommand::Add { id, address, group } => {
                    c.send("POST", &format!("{A}/nodes"), Some(json!({"id": id, "address": address, "group": group})))?
                }
                NodesCommand::Remove { id } => c.send("DELETE", &format!("{A}/nodes/{id}"), None)?,
                NodesCommand::Drain { id } => c.send("POST", &format!("{A}/nodes/{id}/drain"), None)?,
                NodesCommand::Undrain { id } => c.send("POST", &format!("{A}/nodes/{id}/undrain"), None)?,
            };
            print_changed(&answer)?;
        }
        Command::Indexes { admin, command } => {
            let c = client(&admin)?;
            let answer = match command {
                IndexesCommand::List => c.get(&format!("{A}/indexes"))?,
                IndexesCommand::Set { uid, shards } => c.send("PUT", &format!("{A}/indexes/{uid}"), Some(json!({"shards": shards})))?,
                IndexesCommand::Remove { uid } => c.send("DELETE", &format!("{A}/indexes/{uid}"), None)?,
            };
            print_changed(&answer)?;
        }
        Command::Groups(admin) => print_json(&client(&admin)?.get(&format!("{A}/groups"))?)?,
        Command::Map(admin) => print_json(&client(&admin)?.get(&format!("{A}/map"))?)?,
        Command::Envoys(admin) => print_json(&client(&admin)?.get(&format!("{A}/envoys"))?)?,
        Command::Replication { admin, rf } => {
            print_changed(&client(&admin)?.send("PUT", &format!("{A}/replication"), Some(json!({"rf": rf})))?)?
        }
        Command::WriteQuorum { admin, quorum } => {
            print_changed(&client(&admin)?.send("PUT", &format!("{A}/write-quorum"), Some(json!({"quorum": quorum})))?)?
        }
        Command::Rebalance { admin, repair, no_wait } => miroir::rebalance_cli::follow(&client(&admin)?, repair, no_wait)?,
        Command::Serve(_) | Command::Dev(_) | Command::EnvoyConfig(_) => unreachable!("handled by run"),
    }
    Ok(())
}

/// A change answers the new status: say the version; a listing prints as JSON.
fn print_changed(answer: &Value) -> anyhow::Result<()> {
    match answer.get("version") {
        Some(version) if answer.get("health").is_some() => println!("shard map version {version}"),
        _ => print_json(answer)?,
    }
    Ok(())
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
