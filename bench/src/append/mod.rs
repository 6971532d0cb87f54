//! `commerce bench append`: how many stock commands per second the command path takes.
//!
//! Writers send receipts and sales (alternating) to `--skus` stocks for `--duration`
//! seconds; only commands that produced events count. Then, on the same database and
//! with the same writers: plain cqrs-es `CqrsFramework::execute` (event-store mode,
//! postgres-es / sqlite-es) on the same aggregate and commands, and raw single-row
//! INSERTs of the same payload over 64 connections. Finally the stored events are
//! counted against the accepted commands: nothing lost, nothing duplicated.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use commands::{CommandError, CommandService, Database, SystemClock};
use cqrs_es::{AggregateError, CqrsFramework};
use domain::{RegisterWarehouse, Services, Stock, StockAction, StockCommand};
use event_schemas::{GeoPoint, Metadata, StockEvent};
use hdrhistogram::Histogram;
use serde_json::json;

use super::{latency_histogram, percentile_ms, ratio, record, round2, Figures, Output};
use app::config::StorageArgs;
use app::server::{client_with_key, open_exclusive};

mod baselines;

use baselines::*;

/// Connections the raw-insert baseline writes over.
const RAW_INSERT_CONNECTIONS: u32 = 64;

#[derive(Debug, Args)]
pub struct AppendArgs {
    /// Concurrent writers.
    #[arg(long, default_value_t = 256)]
    pub writers: usize,
    /// Stocks written to (1 = one hot SKU).
    #[arg(long, default_value_t = 1_000)]
    pub skus: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Drive a running server at this URL over HTTP instead of the command path in
    /// this process (baselines then need --database-url).
    #[arg(long)]
    pub http: Option<String>,
    /// Credential for --http against a server in production mode (a key with the
    /// `stock:write` and `read` scopes).
    #[arg(long, env = "COMMERCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Measure only our path.
    #[arg(long)]
    pub no_baselines: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// Which stock and command writer `w` sends as its `k`-th command.
struct Workload {
    warehouse: String,
    skus: Vec<String>,
    writers: usize,
}

impl Workload {
    fn new(run: &str, skus: usize, writers: usize, prefix: &str) -> Self {
        Self {
            warehouse: format!("bench-{run}"),
            skus: (0..skus.max(1))
                .map(|i| format!("{prefix}-{run}-{i}"))
                .collect(),
            writers,
        }
    }

    fn next(&self, writer: usize, k: usize) -> StockCommand {
        let sku = &self.skus[(writer + k * self.writers) % self.skus.len()];
        let action = if k.is_multiple_of(2) {
            StockAction::Receive { quantity: 2 }
        } else {
            StockAction::Sell {
                quantity: 1,
                hold_id: None,
                order_id: None,
            }
        };
        StockCommand {
            sku: sku.clone(),
            warehouse_id: self.warehouse.clone(),
            action,
        }
    }
}

/// What the writers got done.
struct Tally {
    receipts: u64,
    sales: u64,
    failures: u64,
    latency: Histogram<u64>,
    elapsed: Duration,
}

impl Tally {
    fn per_second(&self) -> f64 {
        ratio(
            (self.receipts + self.sales) as f64,
            self.elapsed.as_secs_f64(),
        )
    }
}

/// What one attempt came to.
enum Attempt {
    Receipt,
    Sale,
    Refused,
    Failed,
}

/// Run `writers` tasks calling `send(writer, k)` until `duration` is over.
async fn drive<F, Fut>(writers: usize, duration: Duration, send: F) -> Tally
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Attempt> + Send,
{
    let send = Arc::new(send);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let send = send.clone();
            tokio::spawn(async move {
                let mut tally = (0u64, 0u64, 0u64, latency_histogram());
                let mut k = 0;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let attempt = send(w, k).await;
                    match attempt {
                        Attempt::Receipt => tally.0 += 1,
                        Attempt::Sale => tally.1 += 1,
                        Attempt::Refused => {}
                        Attempt::Failed => {
                            tally.2 += 1;
                            tokio::task::yield_now().await;
                        }
                    }
                    if matches!(attempt, Attempt::Receipt | Attempt::Sale) {
                        record(&mut tally.3, t0.elapsed());
                    }
                    k += 1;
                }
                tally
            })
        })
        .collect();
    let mut total = Tally {
        receipts: 0,
        sales: 0,
        failures: 0,
        latency: latency_histogram(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (receipts, sales, failures, latency) = task.await.expect("writer task panicked");
        total.receipts += receipts;
        total.sales += sales;
        total.failures += failures;
        total.latency.add(latency).expect("same bounds");
    }
    total.elapsed = started.elapsed();
    total
}

fn classify<T>(
    command: &StockCommand,
    result: Result<T, CommandError>,
    events: impl Fn(&T) -> usize,
) -> Attempt {
    match result {
        Ok(answer) if events(&answer) > 0 => match command.action {
            StockAction::Receive { .. } => Attempt::Receipt,
            _ => Attempt::Sale,
        },
        Ok(_) | Err(CommandError::Refused(_)) => Attempt::Refused,
        Err(_) => Attempt::Failed,
    }
}

pub async fn run(args: AppendArgs) -> anyhow::Result<()> {
    if args.writers == 0 || args.skus == 0 || args.duration == 0 {
        bail!("--writers, --skus and --duration must be at least 1");
    }
    let duration = Duration::from_secs(args.duration);
    let run_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let workload = Arc::new(Workload::new(&run_id, args.skus, args.writers, "B"));
    let mut figures = Figures::default();

    let (ours, lost, duplicated, db, backend_name) = match &args.http {
        None => {
            let (_lock, backend) =
                open_exclusive(&args.storage, "bench append (without --http)").await?;
            let service = backend.commands;
            register(&service, &workload.warehouse).await?;
            eprintln!(
                "bench append: {} writers, {} SKU(s), {} s, {} (in process)",
                args.writers,
                args.skus,
                args.duration,
                service.store().database().backend_name()
            );
            let ours = drive_in_process(&service, workload.clone(), args.writers, duration).await;
            let (lost, duplicated) = verify_in_store(&service, &workload, &ours).await?;
            let db = service.store().database().clone();
            (
                ours,
                lost,
                duplicated,
                Some(db),
                service.store().database().backend_name(),
            )
        }
        Some(url) => {
            let url = url.trim_end_matches('/').to_string();
            let client = client_with_key(args.api_key.as_deref())?;
            register_over_http(&client, &url, &workload.warehouse).await?;
            eprintln!(
                "bench append: {} writers, {} SKU(s), {} s, over HTTP at {url}",
                args.writers, args.skus, args.duration
            );
            let ours = {
                let workload = workload.clone();
                let client = client.clone();
                let url = url.clone();
                drive(args.writers, duration, move |w, k| {
                    let command = workload.next(w, k);
                    let request = post_command(&client, &url, &command);
                    async move {
                        let response = request.send().await;
                        match response {
                            Ok(r) if r.status().is_success() => match command.action {
                                StockAction::Receive { .. } => Attempt::Receipt,
                                _ => Attempt::Sale,
                            },
                            Ok(r) if r.status().is_client_error() => Attempt::Refused,
                            _ => Attempt::Failed,
                        }
                    }
                })
                .await
            };
            let (lost, duplicated) = verify_over_http(&client, &url, &workload, &ours).await?;
            let db = match &args.storage.database_url {
                Some(url) => Some(Database::connect(Some(url), &args.storage.data_dir).await?),
                None => None,
            };
            (ours, lost, duplicated, db, "http")
        }
    };

    let per_second = ours.per_second();
    println!(
        "ours ({backend_name}):      {:>10.0} commands/s   p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms   ({} accepted, {} failed)",
        per_second,
        percentile_ms(&ours.latency, 0.50),
        percentile_ms(&ours.latency, 0.99),
        percentile_ms(&ours.latency, 0.999),
        ours.receipts + ours.sales,
        ours.failures,
    );
    figures.set("commands_per_s", round2(per_second));
    figures.set("p50_ms", round2(percentile_ms(&ours.latency, 0.50)));
    figures.set("p99_ms", round2(percentile_ms(&ours.latency, 0.99)));
    figures.set("p999_ms", round2(percentile_ms(&ours.latency, 0.999)));
    figures.set("writers", args.writers);
    figures.set("skus", args.skus);

    match (&db, args.no_baselines) {
        (Some(db), false) => {
            let execute =
                cqrs_execute_baseline(db, &run_id, args.skus, args.writers, duration).await?;
            println!(
                "baseline cqrs-es execute: {:>10.0} commands/s   (ours is {:.1}x)",
                execute,
                ratio(per_second, execute)
            );
            let insert = raw_insert_baseline(db, &run_id, duration).await?;
            println!(
                "baseline raw INSERT x{RAW_INSERT_CONNECTIONS}:  {:>10.0} rows/s       (ours is {:.1}x)",
                insert,
                ratio(per_second, insert)
            );
            figures.set("baseline_execute_per_s", round2(execute));
            figures.set("baseline_insert_per_s", round2(insert));
        }
        _ => {
            eprintln!("baselines skipped (--no-baselines, or --http without --database-url)");
            figures.set("baseline_execute_per_s", serde_json::Value::Null);
            figures.set("baseline_insert_per_s", serde_json::Value::Null);
        }
    }
    println!("check: {lost} lost, {duplicated} duplicated");
    figures.set("lost", lost);
    figures.set("duplicated", duplicated);
    if args.output.json {
        figures.print_json();
    }
    if lost + duplicated > 0 {
        bail!("the log does not match the accepted commands");
    }
    Ok(())
}

/// Commands per second on one hot SKU through the command path, `writers` at once for
/// `duration`: the same-run baseline other benches (the flash sale) read against.
pub async fn hot_sku_rate(
    service: &Arc<CommandService>,
    writers: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let run_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let workload = Arc::new(Workload::new(&run_id, 1, writers, "HOT"));
    register(service, &workload.warehouse).await?;
    let tally = drive_in_process(service, workload, writers, duration).await;
    Ok(tally.per_second())
}

/// `writers` sending `workload`'s commands through this process's command path.
async fn drive_in_process(
    service: &Arc<CommandService>,
    workload: Arc<Workload>,
    writers: usize,
    duration: Duration,
) -> Tally {
    let service = service.clone();
    drive(writers, duration, move |w, k| {
        let service = service.clone();
        let command = workload.next(w, k);
        async move {
            let result = service
                .handle_stock(command.clone(), &Metadata::default())
                .await;
            classify(&command, result, |(outcome, _)| outcome.events)
        }
    })
    .await
}

async fn register(service: &CommandService, warehouse_id: &str) -> anyhow::Result<()> {
    service
        .register_warehouse(bench_warehouse(warehouse_id), &Metadata::default())
        .await?;
    Ok(())
}

fn bench_warehouse(warehouse_id: &str) -> RegisterWarehouse {
    RegisterWarehouse {
        warehouse_id: warehouse_id.to_string(),
        name: "bench".into(),
        region: "bench".into(),
        location: GeoPoint { lat: 0.0, lon: 0.0 },
        ships_to: vec![],
    }
}

async fn register_over_http(
    client: &reqwest::Client,
    url: &str,
    warehouse_id: &str,
) -> anyhow::Result<()> {
    client
        .post(format!("{url}/v1/warehouses"))
        .json(&json!({"warehouse_id": warehouse_id, "name": "bench", "region": "bench", "location": {"lat": 0.0, "lon": 0.0}}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

fn post_command(
    client: &reqwest::Client,
    url: &str,
    command: &StockCommand,
) -> reqwest::RequestBuilder {
    let (route, body) = match &command.action {
        StockAction::Receive { quantity } => ("receipts", json!({ "quantity": quantity })),
        StockAction::Sell { quantity, .. } => ("sales", json!({ "quantity": quantity })),
        other => unreachable!("the workload sends only receipts and sales, not {other:?}"),
    };
    client
        .post(format!(
            "{url}/v1/stock/{}/{}/{route}",
            command.sku, command.warehouse_id
        ))
        .json(&body)
}

/// Count the stored receipts and sales of the bench's stocks against the accepted ones.
async fn verify_in_store(
    service: &CommandService,
    workload: &Workload,
    tally: &Tally,
) -> anyhow::Result<(u64, u64)> {
    let (mut receipts, mut sales) = (0u64, 0u64);
    for sku in &workload.skus {
        let id = event_schemas::stock::stock_aggregate_id(sku, &workload.warehouse);
        for stored in service.store().load("stock", &id, 0).await? {
            match stored.decode::<StockEvent>("stock")? {
                StockEvent::StockReceived { .. } => receipts += 1,
                StockEvent::StockSold { .. } => sales += 1,
                _ => {}
            }
        }
    }
    Ok(difference(tally, receipts, sales))
}

/// Over HTTP: each stock's on hand must be 2 × receipts − sales of the accepted commands.
async fn verify_over_http(
    client: &reqwest::Client,
    url: &str,
    workload: &Workload,
    tally: &Tally,
) -> anyhow::Result<(u64, u64)> {
    // Units the log holds beyond (or short of) what was accepted, in commands.
    let mut on_hand = 0i64;
    for sku in &workload.skus {
        let response = client
            .get(format!(
                "{url}/v1/availability/{sku}/{}",
                workload.warehouse
            ))
            .send()
            .await?;
        if response.status().is_success() {
            let body: serde_json::Value = response.json().await?;
            on_hand += body["on_hand"].as_i64().unwrap_or(0);
        }
    }
    let expected = 2 * tally.receipts as i64 - tally.sales as i64;
    let off = (on_hand - expected).unsigned_abs();
    Ok(if on_hand < expected {
        (off, 0)
    } else {
        (0, off)
    })
}

fn difference(tally: &Tally, receipts: u64, sales: u64) -> (u64, u64) {
    let lost = tally.receipts.saturating_sub(receipts) + tally.sales.saturating_sub(sales);
    let duplicated = receipts.saturating_sub(tally.receipts) + sales.saturating_sub(tally.sales);
    (lost, duplicated)
}
