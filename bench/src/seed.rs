//! `commerce seed --products N`: a synthetic catalog a person recognises, written
//! straight into the event log (ProductListed, and StockReceived for most products).
//! `commerce seed --interactions N` writes synthetic shoppers' interactions with such
//! a catalog as files instead ([`interactions`]); `commerce seed --deliveries` a
//! city's delivery history ([`deliveries`]); `commerce seed --stays N` a short-term
//! rental market's year ([`stays`]).
//! The tables of what is sold, by which shops, in which words live in the
//! submodules; [`Generator`] turns them into products.

mod categories;
pub mod deliveries;
mod generator;
pub mod interactions;
mod shops;
pub mod stays;
#[cfg(test)]
mod tests;
mod words;

pub use generator::Generator;

use anyhow::Context;
use clap::Args;
use commands::{AppendBatch, EventStore, NewEvent};
use event_schemas::{Metadata, ProductEvent, StockEvent, CURRENT_EVENT_VERSION};
use indicatif::{ProgressBar, ProgressStyle};

use app::config::StorageArgs;
use app::server::open_exclusive;

/// Products per append transaction.
const BATCH: usize = 5_000;
/// Share of products with stock, in percent.
const IN_STOCK_PERCENT: u64 = 70;
/// The warehouse seeded stock is received in.
pub const SEED_WAREHOUSE: &str = "seed-warehouse";

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Products to list.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Seed of the generator: the same seed writes the same catalog (new SKUs).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Instead of a catalog in the log: this many synthetic interactions (and their
    /// items) as atomic files in `--out`, for `commerce eval recs`.
    #[arg(long)]
    pub interactions: Option<usize>,
    /// Where `--interactions` writes `synthetic.inter` and `synthetic.item`.
    #[arg(long, default_value = "synthetic")]
    pub out: std::path::PathBuf,
    /// Instead of a catalog: a synthetic city's delivery history in the log (policy,
    /// warehouse, couriers, orders with a daily and weekly rhythm, rain spells, a
    /// Saturday match), ending now; the generator's fixed parameters are in
    /// bench/src/seed/deliveries.rs.
    #[arg(long)]
    pub deliveries: bool,
    /// With `--deliveries`: zones (H3 cells) with demand.
    #[arg(long, default_value_t = 40)]
    pub zones: usize,
    /// With `--deliveries`: weeks of history.
    #[arg(long, default_value_t = 6)]
    pub weeks: i64,
    /// Instead of a catalog: a synthetic short-term rental market of N listings in
    /// eight cities (each in its own time zone and currency) with its history in the
    /// log, ending now: hosts and their listings, guests' searches (each ranked by
    /// the stays read model as it stood, with what it showed), listing views,
    /// bookings naming their search (held and paid, or requested and answered),
    /// host cancellations, blocks and reviews, every listing event decided by the
    /// Listing aggregate at its own time. Guests choose by the generator's own hidden
    /// utility (quality, price, distance, amenities, type), never by the ranking's
    /// score. Prints what was written. The generator's fixed parameters are in
    /// bench/src/seed/stays.rs; the same seed makes the same history (under new ids).
    #[arg(long, value_name = "N")]
    pub stays: Option<usize>,
    /// With `--stays`: days of history.
    #[arg(long, default_value_t = 365)]
    pub history_days: i64,
    /// With `--stays`: searches per listing and year (the history's volume).
    #[arg(long, default_value_t = 40.0)]
    pub searches_per_listing: f64,
    /// With `--stays`: bookings per listing made outside search, up to two years
    /// ahead.
    #[arg(long, default_value_t = 1)]
    pub calendar_stays: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    if let Some(count) = args.interactions {
        let (items, interactions) = interactions::generate(count, args.seed);
        let (inter, item) = interactions::write(&args.out, &items, &interactions)?;
        println!(
            "wrote {} interactions to {} and {} items to {}",
            interactions.len(),
            inter.display(),
            items.len(),
            item.display()
        );
        return Ok(());
    }
    let (_lock, backend) = open_exclusive(&args.storage, "seed").await?;
    let started = std::time::Instant::now();
    if let Some(listings) = args.stays {
        let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
        let plan = stays::StaysPlan::history(
            listings.clamp(1, 2_000_000),
            args.history_days.clamp(1, 730),
            args.searches_per_listing,
            args.calendar_stays.min(50),
            args.seed,
            chrono::Utc::now(),
            format!("stays-{run}"),
        );
        let days = plan.days;
        let world = stays::write_stays(backend.commands.store(), plan).await?;
        println!(
            "seeded {days} days of stays in {:.1} s; log head {}\n{}",
            started.elapsed().as_secs_f64(),
            backend.commands.store().head_position().await?,
            world.summary
        );
        return Ok(());
    }
    if args.deliveries {
        let plan = deliveries::CityPlan {
            weeks: args.weeks.clamp(1, 52),
            zones: args.zones.clamp(1, 100_000),
            seed: args.seed,
            end: chrono::Utc::now(),
        };
        let orders = write_deliveries(backend.commands.store(), plan).await?;
        println!(
            "seeded {} weeks of deliveries in city '{}' ({} zones, {orders} orders) in {:.1} s; log head {}",
            plan.weeks,
            deliveries::CITY,
            plan.zones,
            started.elapsed().as_secs_f64(),
            backend.commands.store().head_position().await?
        );
        return Ok(());
    }
    let written = write_catalog(backend.commands.store(), args.products, args.seed, true).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {written} products in {seconds:.1} s ({:.0} products/s); log head {}",
        written as f64 / seconds.max(1e-9),
        backend.commands.store().head_position().await?
    );
    Ok(())
}

/// An event as the seed writes it (actor `seed`).
fn seed_event(
    event_type: &str,
    payload: serde_json::Value,
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.into(),
        event_version: CURRENT_EVENT_VERSION.into(),
        payload: payload.to_string(),
        metadata: Metadata {
            actor: Some("seed".into()),
            ..Default::default()
        },
        occurred_at,
    }
}

/// A new stream of one seeded event.
pub fn seed_batch(
    aggregate_type: &str,
    aggregate_id: String,
    event_type: &str,
    payload: serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> AppendBatch {
    AppendBatch {
        aggregate_type: aggregate_type.into(),
        aggregate_id,
        expected_sequence: 0,
        events: vec![seed_event(event_type, payload, now)],
        receipts: Vec::new(),
    }
}

/// Write a synthetic city's delivery history into the log, each event at the time it
/// happened; returns how many orders.
pub async fn write_deliveries(
    store: &EventStore,
    plan: deliveries::CityPlan,
) -> anyhow::Result<u64> {
    let (days, mut receive) = tokio::sync::mpsc::channel::<Vec<deliveries::SeedEvent>>(2);
    // The generator is CPU work: it runs beside the appends.
    let generating = tokio::task::spawn_blocking(move || {
        deliveries::history(plan, |events| {
            days.blocking_send(events)
                .map_err(|_| anyhow::anyhow!("the log writer stopped"))
        })
    });
    while let Some(events) = receive.recv().await {
        append_seeded(store, &events).await?;
    }
    generating.await?
}

/// Append events made by a generator, each its own stream, at the times they carry;
/// the position of the last.
pub async fn append_seeded(
    store: &EventStore,
    events: &[deliveries::SeedEvent],
) -> anyhow::Result<i64> {
    let mut last = 0;
    for chunk in events.chunks(BATCH) {
        let batches: Vec<AppendBatch> = chunk
            .iter()
            .map(|e| AppendBatch {
                aggregate_type: e.aggregate_type.into(),
                aggregate_id: e.aggregate_id.clone(),
                expected_sequence: 0,
                events: vec![seed_event(e.event_type, e.payload.clone(), e.at)],
                receipts: Vec::new(),
            })
            .collect();
        for (result, batch) in store.append(&batches).await?.into_iter().zip(&batches) {
            let positions = result.map_err(|_| {
                anyhow::anyhow!(
                    "stream {}/{} already existed: seed deliveries once per database",
                    batch.aggregate_type,
                    batch.aggregate_id
                )
            })?;
            last = last.max(positions.last().copied().unwrap_or(0));
        }
    }
    Ok(last)
}

/// Write `count` products (and their stock) into the log; returns how many.
pub async fn write_catalog(
    store: &EventStore,
    count: usize,
    seed: u64,
    progress: bool,
) -> anyhow::Result<usize> {
    let mut generator = Generator::new(seed);
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let bar = if progress {
        let bar = ProgressBar::new(count as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} products  {per_sec}  eta {eta}")
                .context("progress template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let now = chrono::Utc::now();
    let mut written = 0;
    while written < count {
        let size = BATCH.min(count - written);
        let mut batches = Vec::with_capacity(size * 2);
        for i in written..written + size {
            let sku = format!("SEED-{run}-{i:07}");
            let listed = ProductEvent::ProductListed {
                sku: sku.clone(),
                details: generator.product(),
            };
            batches.push(seed_batch(
                event_schemas::product::PRODUCT_AGGREGATE,
                sku.clone(),
                listed.event_type(),
                serde_json::to_value(&listed)?,
                now,
            ));
            if generator.below(100) < IN_STOCK_PERCENT {
                let received = StockEvent::StockReceived {
                    sku: sku.clone(),
                    warehouse_id: SEED_WAREHOUSE.into(),
                    quantity: 1 + generator.below(50),
                };
                batches.push(seed_batch(
                    event_schemas::stock::STOCK_AGGREGATE,
                    event_schemas::stock::stock_aggregate_id(&sku, SEED_WAREHOUSE),
                    received.event_type(),
                    serde_json::to_value(&received)?,
                    now,
                ));
            }
        }
        for result in store.append(&batches).await? {
            result.map_err(|_| anyhow::anyhow!("a seeded SKU already existed"))?;
        }
        written += size;
        bar.set_position(written as u64);
    }
    bar.finish_and_clear();
    Ok(written)
}
