//! `commerce bench replay`: events per second of a full availability rebuild.
//!
//! Seeds `--events` stock events into the log (many aggregates per transaction), then
//! rebuilds the availability projection from the whole log, beside a baseline of a
//! raw ordered read of the events table that parses every payload's JSON.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use commands::{AppendBatch, Database, EventStore, NewEvent};
use event_schemas::{Metadata, StockEvent, CURRENT_EVENT_VERSION};

use super::{ratio, round2, Figures, Output};
use app::config::StorageArgs;
use app::server::open_exclusive;

/// Events appended per seeding transaction.
const SEED_BATCH: usize = 10_000;
/// Events per stock stream while seeding.
const EVENTS_PER_STOCK: usize = 100;
/// Rows per read of the baseline.
const READ_BATCH: i64 = 5_000;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Events to seed before rebuilding (0 rebuilds what the log already holds).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let (_lock, backend) = open_exclusive(&args.storage, "bench replay").await?;
    let store = backend.commands.store().clone();
    if args.events > 0 {
        seed(&store, args.events).await?;
    }
    let db = store.database().clone();

    eprintln!("baseline: raw ordered read of the events table with JSON parsing");
    let (rows, read_seconds) = read_and_parse(&db).await?;
    let baseline = ratio(rows as f64, read_seconds);

    eprintln!("rebuilding availability from the whole log");
    let started = Instant::now();
    let status = backend.availability.rebuild().await?;
    let seconds = started.elapsed().as_secs_f64();
    let events_per_s = ratio(status.events_applied as f64, seconds);

    println!(
        "rebuild availability ({}): {:>10.0} events/s   ({} events in {:.2} s)",
        db.backend_name(),
        events_per_s,
        status.events_applied,
        seconds
    );
    println!(
        "baseline read + parse:        {:>10.0} rows/s     (rebuild is {:.2}x)",
        baseline,
        ratio(events_per_s, baseline)
    );
    if args.output.json {
        let mut figures = Figures::default();
        figures.set("events", status.events_applied);
        figures.set("events_per_s", round2(events_per_s));
        figures.set("baseline_read_parse_per_s", round2(baseline));
        figures.print_json();
    }
    Ok(())
}

/// Append `count` stock events: receipts, holds, sales from holds and releases over
/// `count / 100` stocks, many stocks per transaction.
pub(crate) async fn seed(store: &EventStore, count: usize) -> anyhow::Result<()> {
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let warehouse_id = format!("replay-{run}");
    let stocks = count.div_ceil(EVENTS_PER_STOCK);
    let started = Instant::now();
    let mut written = 0usize;
    let mut stock = 0usize;
    while written < count {
        let mut batches = Vec::new();
        let mut in_batch = 0;
        while in_batch < SEED_BATCH && written + in_batch < count && stock < stocks {
            let sku = format!("R-{run}-{stock}");
            let n = EVENTS_PER_STOCK.min(count - written - in_batch);
            let events = (0..n)
                .map(|i| encode(&stock_event(&sku, &warehouse_id, i)))
                .collect();
            batches.push(AppendBatch {
                aggregate_type: "stock".into(),
                aggregate_id: event_schemas::stock::stock_aggregate_id(&sku, &warehouse_id),
                expected_sequence: 0,
                events,
                receipts: Vec::new(),
            });
            in_batch += n;
            stock += 1;
        }
        for result in store.append(&batches).await? {
            result.context("a fresh seeding stream conflicted")?;
        }
        written += in_batch;
        eprint!("\r  seeded {written}/{count} events");
    }
    eprintln!(
        "\r  seeded {count} events over {stocks} stocks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `i`-th event of a seeded stock: receive 10, then hold 3 / sell 1 from it /
/// release the rest, repeating.
fn stock_event(sku: &str, warehouse_id: &str, i: usize) -> StockEvent {
    let (sku, warehouse_id) = (sku.to_string(), warehouse_id.to_string());
    let hold_id = format!("h{}", i / 4);
    match i % 4 {
        0 => StockEvent::StockReceived {
            sku,
            warehouse_id,
            quantity: 10,
        },
        1 => StockEvent::StockHeld {
            sku,
            warehouse_id,
            hold_id,
            quantity: 3,
            expires_at: None,
        },
        2 => StockEvent::StockSold {
            sku,
            warehouse_id,
            quantity: 1,
            hold_id: Some(hold_id),
            order_id: None,
        },
        _ => StockEvent::StockHoldReleased {
            sku,
            warehouse_id,
            hold_id,
            quantity: 2,
            reason: "released".into(),
        },
    }
}

fn encode(event: &StockEvent) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event.event_type().to_string(),
        event_version: CURRENT_EVENT_VERSION.to_string(),
        payload: serde_json::to_string(event).expect("events serialise"),
        metadata: Metadata::default(),
        occurred_at: chrono::Utc::now(),
    }
}

/// Read every event in position order and parse its payload. Returns rows and seconds.
async fn read_and_parse(db: &Database) -> anyhow::Result<(u64, f64)> {
    const QUERY: &str = "SELECT position, CAST(payload AS TEXT) FROM events WHERE position > $1 ORDER BY position LIMIT $2";
    let started = Instant::now();
    let mut after = 0i64;
    let mut rows = 0u64;
    loop {
        let batch: Vec<(i64, String)> = event_log::on_reader!(db, pool => {
            sqlx::query_as(QUERY).bind(after).bind(READ_BATCH).fetch_all(pool).await?
        });
        let Some(last) = batch.last().map(|r| r.0) else {
            break;
        };
        for (_, payload) in &batch {
            let _: serde_json::Value = serde_json::from_str(payload)?;
        }
        rows += batch.len() as u64;
        after = last;
    }
    Ok((rows, started.elapsed().as_secs_f64()))
}
