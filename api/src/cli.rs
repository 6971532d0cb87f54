//! `commerce` on the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::{ClockKind, ServerConfig};

#[derive(Debug, Parser)]
#[command(
    name = "commerce",
    version,
    about = "Event-sourced inventory and order core"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the command, query and admin APIs.
    Serve(ServeArgs),
    /// Rebuild a projection from the event log: asks the server holding the data
    /// directory, or rebuilds in this process when none does.
    Rebuild(RebuildArgs),
    /// Measure this deployment, each figure beside a baseline from the same run.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the SQLite database, the lock file and local indexes.
    #[arg(long, env = "COMMERCE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://...); without it the store is SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COMMERCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// `manual` stops time until `POST /v1/admin/clock/advance` (for tests and demos).
    #[arg(long, env = "COMMERCE_CLOCK", value_enum, default_value = "system")]
    pub clock: ClockKind,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projection to rebuild.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::routes::admin::PROJECTIONS))]
    pub projection: String,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Parse the command line and run it.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    crate::telemetry::init_logging(cli.log_json);
    match cli.command {
        Command::Serve(args) => {
            crate::server::serve(ServerConfig {
                listen: args.listen,
                data_dir: args.storage.data_dir,
                database_url: args.storage.database_url,
                clock: args.clock,
            })
            .await
        }
        Command::Rebuild(args) => crate::rebuild::run(&args.projection, &args.storage).await,
        Command::Bench(command) => crate::bench::run(command).await,
    }
}
