//! `commerce bench ...`: throughput and latency of this deployment, each printed beside
//! a baseline measured in the same run on the same database; and [`seed`], the
//! synthetic catalog they (and demos) run on.

pub mod append;
pub mod checkout;
mod connection;
pub mod console;
pub mod eval;
pub mod flash_sale;
pub mod forecast_eval;
pub mod pricing;
pub mod reads;
pub mod recs;
pub mod relay;
pub mod replay;
pub mod search;
pub mod seed;
pub mod stays_bench;
pub mod stays_eval;

use std::time::Duration;

use clap::{Args, Subcommand};
use hdrhistogram::Histogram;
use serde_json::{Map, Value};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Commands per second through the command path, beside plain cqrs-es `execute`
    /// and raw single-row INSERTs.
    Append(append::AppendArgs),
    /// Events per second of a full availability rebuild, beside a raw ordered read
    /// of the events table with JSON parsing.
    Replay(replay::ReplayArgs),
    /// Orders per second through the whole flow: place, reserve, pay, confirm.
    Checkout(checkout::CheckoutArgs),
    /// Index build speed and the search query mix, beside the same queries run
    /// directly on tantivy.
    Search(search::SearchArgs),
    /// A flash sale driven to sell-out and beyond: held units/s, attempts/s, latency,
    /// queue wait, and an oversell check.
    FlashSale(flash_sale::FlashSaleArgs),
    /// The query routes over HTTP (products, availability, search), each beside
    /// `/health` driven the same way in the same run.
    Reads(reads::ReadsArgs),
    /// Recommendations at size: replay, training, list latency in process and over
    /// HTTP (beside baselines), latency while training, freshness after a dismissal.
    Recs(recs::RecsArgs),
    /// Delivery quotes at size in process and over HTTP (beside a trivial read and
    /// `/health`), and the time from a burst of orders to a zone's new multiplier.
    Pricing(pricing::PricingArgs),
    /// Stays at size over HTTP on a fresh seed (default 100,000 listings, calendars
    /// two years deep): search with a 25 km radius, dates and ranking (req/s, p50,
    /// p99) beside `/health`; holds/s on distinct listings beside `/health`; a race
    /// of overlapping requests on a few listings (holds per night); nights held
    /// twice by the answers and by the double-booking alarm (must be 0).
    Stays(stays_bench::StaysArgs),
    /// The log through NATS JetStream: the relay's catch-up over a backlog and a
    /// query node's copy rebuilt from the stream (events/s, beside raw pipelined
    /// publishes), and commit → copied lag at a steady write rate.
    Relay(relay::RelayArgs),
    /// The operator console at size: each page's render time beside `/health`, and
    /// a thousand idle clients on the live stream (server memory, snapshots a second).
    Console(console::ConsoleArgs),
}

#[derive(Debug, Clone, Args)]
pub struct Output {
    /// End with one line holding every printed figure as a JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Append(args) => append::run(args).await,
        BenchCommand::Replay(args) => replay::run(args).await,
        BenchCommand::Checkout(args) => checkout::run(args).await,
        BenchCommand::Search(args) => search::run(args).await,
        BenchCommand::FlashSale(args) => flash_sale::run(args).await,
        BenchCommand::Reads(args) => reads::run(args).await,
        BenchCommand::Recs(args) => recs::run(args).await,
        BenchCommand::Pricing(args) => pricing::run(args).await,
        BenchCommand::Stays(args) => stays_bench::run(args).await,
        BenchCommand::Relay(args) => relay::run(args).await,
        BenchCommand::Console(args) => console::run(args).await,
    }
}

/// Start the order process on `backend`, planning over availability in memory
/// (loaded here and following the log), both reading the log's tail in memory as
/// the server's do.
pub async fn spawn_order_process(backend: &app::server::Backend) -> anyhow::Result<()> {
    let availability =
        projections::availability::LiveAvailability::load(&backend.availability).await?;
    availability.spawn_follow(backend.commands.store().follow_tail());
    commands::order_process::spawn_order_process(
        backend.commands.clone(),
        std::sync::Arc::new(api::allocation::ReadSidePlanner {
            commands: backend.commands.clone(),
            availability,
            max_shipments: domain::allocation::DEFAULT_MAX_SHIPMENTS,
        }),
    );
    Ok(())
}

/// A latency histogram in microseconds, 1 µs to 60 s.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = (elapsed.as_micros() as u64).clamp(1, 60_000_000);
    histogram.record(micros).expect("value within bounds");
}

pub fn percentile_ms(histogram: &Histogram<u64>, q: f64) -> f64 {
    histogram.value_at_quantile(q) as f64 / 1000.0
}

/// Figures to print as the last line with `--json`.
#[derive(Default)]
pub struct Figures(Map<String, Value>);

impl Figures {
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.0.insert(name.to_string(), value.into());
    }

    pub fn print_json(&self) {
        println!("{}", Value::Object(self.0.clone()));
    }
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Round to two decimals for printing and JSON.
/// A target with whether this run met it, as the benches print it:
/// "at least 500 orders/s: met (699)".
pub fn target(what: &str, met: bool, figure: impl std::fmt::Display) -> String {
    let verdict = if met { "met" } else { "NOT MET" };
    format!("{what}: {verdict} ({figure})")
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
