use std::io::Write;

use anyhow::Context;
use clap::Parser;
use miroir::app::{self, App};
use miroir::cli::{Cli, Command};
use miroir::signals::Shutdown;
use miroir::{envoy_config, launcher};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    // The message, not a backtrace: every error here already says what to do.
    if let Err(e) = run(cli.command).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let mut shutdown = Shutdown::install().context("cannot install signal handlers")?;
            let app = App::start(app::Config { listen: args.listen, data_dir: args.data_dir }).await?;
            app.run_until_signal(&mut shutdown).await?;
        }
        Command::Dev(args) => {
            let mut shutdown = Shutdown::install().context("cannot install signal handlers")?;
            launcher::run(args.options(), &mut shutdown).await?;
        }
        Command::EnvoyConfig(args) => {
            let bootstrap = envoy_config::bootstrap(&args.topology.topology(), &args.filter_wasm)?;
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &bootstrap)?;
            writeln!(out)?;
        }
    }
    Ok(())
}
