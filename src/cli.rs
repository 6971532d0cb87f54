//! `commerce` on the command line: one subcommand per thing the binary does, each
//! handed to the crate that owns it (`app` serves and rebuilds, `bench` seeds and
//! measures).

use clap::{Parser, Subcommand};

use app::config::{RebuildArgs, ServeArgs};

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
    Serve(Box<ServeArgs>),
    /// Rebuild a projection from the event log: asks the server holding the data
    /// directory, or rebuilds in this process when none does.
    Rebuild(RebuildArgs),
    /// Write a synthetic catalog into the event log, or instead a city's delivery
    /// history (`--deliveries`) or a short-term rental market's year (`--stays N`)
    /// (needs the data directory to itself: run it before `serve`).
    #[cfg(feature = "bench")]
    Seed(bench::seed::SeedArgs),
    /// Evaluate models offline, on data files (recs) or on the log (forecast,
    /// stays).
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Eval(bench::eval::EvalCommand),
    /// Measure this deployment, each figure beside a baseline from the same run.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Parse the command line and run it.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    api::telemetry::init_logging(cli.log_json);
    match cli.command {
        Command::Serve(args) => {
            app::server::serve(args.server_config(), args.auth.settings()?).await
        }
        Command::Rebuild(args) => {
            app::rebuild::run(&args.projection, &args.storage, args.api_key.as_deref()).await
        }
        #[cfg(feature = "bench")]
        Command::Seed(args) => bench::seed::run(args).await,
        #[cfg(feature = "bench")]
        Command::Eval(command) => bench::eval::run(command).await,
        #[cfg(feature = "bench")]
        Command::Bench(command) => bench::run(command).await,
    }
}
