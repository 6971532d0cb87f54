//! `commerce bench pricing`: delivery quotes at size (default 10,000 zones with
//! couriers and demand), in process beside a trivial read of the same model, the
//! time from a burst of orders to the zone's changed multiplier, then the quote
//! route over HTTP beside `GET /health` driven the same way, on this binary's own
//! `serve` over the same data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use clap::Args;
use delivery::{quote, Pickup, QuoteRequest, Zones};
use event_schemas::GeoPoint;
use h3o::{LatLng, Resolution};
use serde_json::json;

use super::connection::{Call, Server};
use super::reads::{drive, drive_requests, start_server, Path, Request};
use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use crate::seed::append_seeded;
use crate::seed::deliveries::{self, order_to, CENTRE, WAREHOUSE};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct PricingArgs {
    /// Zones (H3 cells of resolution 8 in rings around the centre), each with an
    /// order; every third has a courier.
    #[arg(long, default_value_t = 10_000)]
    pub cells: usize,
    /// Quotes priced in process (one after another).
    #[arg(long, default_value_t = 50_000)]
    pub quotes: usize,
    /// Connections driving each route over HTTP.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds each route is driven over HTTP.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Bursts of orders timed to the zone's changed multiplier.
    #[arg(long, default_value_t = 20)]
    pub bursts: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// The centres of the first `count` cells in rings around the city's centre.
fn cell_centres(count: usize) -> Vec<GeoPoint> {
    let centre = LatLng::new(CENTRE.lat, CENTRE.lon)
        .expect("the centre is on earth")
        .to_cell(Resolution::Eight);
    let mut rings = 0;
    while 3 * rings * (rings + 1) + 1 < count as u32 {
        rings += 1;
    }
    centre
        .grid_disk::<Vec<_>>(rings)
        .into_iter()
        .take(count)
        .map(Zones::centre)
        .collect()
}

pub async fn run(args: PricingArgs) -> anyhow::Result<()> {
    if args.cells == 0 || args.quotes == 0 || args.connections == 0 || args.duration == 0 {
        bail!("--cells, --quotes, --connections and --duration must be at least 1");
    }
    let mut figures = Figures::default();
    let dropoffs = Arc::new(cell_centres(args.cells));
    let far = dropoffs
        .iter()
        .map(|p| p.distance_km(&CENTRE))
        .fold(0.0, f64::max);
    {
        let (_lock, backend) = open_exclusive(&args.storage, "bench pricing").await?;
        let store = backend.commands.store();
        let now = Utc::now();
        let couriers: Vec<GeoPoint> = dropoffs.iter().step_by(3).copied().collect();
        let mut events = deliveries::setup(&couriers, far + 1.0, now);
        let run = uuid::Uuid::now_v7().simple().to_string();
        events.extend(
            dropoffs
                .iter()
                .enumerate()
                .map(|(i, p)| order_to(format!("bench-{run}-{i}"), *p, now)),
        );
        let started = Instant::now();
        append_seeded(store, &events).await?;
        let pricing = backend.pricing.clone();
        pricing.catch_up().await?;
        println!(
            "seeded {} zones ({} couriers, {} orders) and folded them in {:.1} s",
            dropoffs.len(),
            couriers.len(),
            dropoffs.len(),
            started.elapsed().as_secs_f64()
        );

        // In process: a quote, beside a trivial read of the same model.
        let (quotes, baseline) = in_process(&pricing, &dropoffs, args.quotes);
        let (p99, base_p99) = (
            percentile_ms(&quotes.1, 0.99),
            percentile_ms(&baseline.1, 0.99),
        );
        println!(
            "in process: {:.0} quotes/s, p50 {:.3} ms, p99 {:.3} ms; baseline (read the city count) {:.0}/s, p99 {:.3} ms",
            quotes.0,
            percentile_ms(&quotes.1, 0.5),
            p99,
            baseline.0,
            base_p99
        );
        println!(
            "target: {}",
            target(
                "quote p99 in process under 1 ms",
                p99 < 1.0,
                format!("{p99:.3} ms")
            )
        );
        figures.set("in_process_quotes_per_s", round2(quotes.0));
        figures.set("in_process_p99_ms", round2(p99 * 1000.0) / 1000.0);
        figures.set("in_process_baseline_per_s", round2(baseline.0));
        figures.set(
            "in_process_baseline_p99_ms",
            round2(base_p99 * 1000.0) / 1000.0,
        );

        // A burst of orders in a zone with a courier, to the zone's new multiplier.
        pricing.spawn_follow(store.committed());
        let mut freshness = latency_histogram();
        for (burst, point) in couriers.iter().copied().enumerate().take(args.bursts) {
            let cell = pricing.read(|z| z.cell_of(point)).0.expect("a cell");
            let before = pricing.read(|z| z.steady_at(cell, Utc::now()).multiplier).0;
            let orders: Vec<_> = (0..8)
                .map(|n| order_to(format!("burst-{run}-{burst}-{n}"), point, Utc::now()))
                .collect();
            let sent = Instant::now();
            let position = append_seeded(store, &orders).await?;
            pricing.wait_for(position, Duration::from_secs(10)).await?;
            let after = pricing.read(|z| z.steady_at(cell, Utc::now()).multiplier).0;
            if after <= before {
                bail!("a burst of 8 orders against one courier did not move the multiplier ({before} → {after})");
            }
            record(&mut freshness, sent.elapsed());
        }
        let worst = freshness.max() as f64 / 1000.0;
        println!(
            "orders to changed multiplier: p50 {:.1} ms, max {worst:.1} ms over {} bursts; {}",
            percentile_ms(&freshness, 0.5),
            freshness.len(),
            target("under 1 s", worst < 1000.0, format!("{worst:.1} ms"))
        );
        figures.set("demand_to_multiplier_max_ms", round2(worst));
    }

    // Over HTTP: the quote route beside /health, the same connections.
    let (_server, base) = start_server(&args.storage).await?;
    let server = Server::new(&base, None)?;
    let health: Arc<Path> = Arc::new(Box::new(|_| "/health".to_string()));
    let trivial = drive(&server, health, args.connections, args.duration).await;
    let points = dropoffs.clone();
    let request: Arc<Request> = Arc::new(move |i| {
        let to = points[i % points.len()];
        Call::post_json(
            "/v1/delivery/quotes".to_string(),
            &json!({
                "warehouse_id": WAREHOUSE,
                "dropoff": {"lat": to.lat, "lon": to.lon},
                "order_value": 2500
            }),
        )
    });
    let quoted = drive_requests(&server, request, args.connections, args.duration).await;
    let (health_p99, quote_p99) = (
        percentile_ms(&trivial.latency, 0.99),
        percentile_ms(&quoted.latency, 0.99),
    );
    let versus = ratio(quoted.per_second, trivial.per_second);
    println!(
        "{:<26} {:>10} {:>9} {:>9}",
        "over HTTP", "req/s", "p50 ms", "p99 ms"
    );
    for (name, measured, p99) in [
        ("GET /health", &trivial, health_p99),
        ("POST /v1/delivery/quotes", &quoted, quote_p99),
    ] {
        println!(
            "{name:<26} {:>10.0} {:>9.2} {:>9.2}{}",
            measured.per_second,
            percentile_ms(&measured.latency, 0.5),
            p99,
            measured.failures(None)
        );
    }
    println!(
        "targets: {}; or on a slower day {}",
        target(
            "10,000 quotes/s with p99 under 10 ms",
            quoted.per_second >= 10_000.0 && quote_p99 < 10.0,
            format!("{:.0}/s, p99 {quote_p99:.2} ms", quoted.per_second)
        ),
        target(
            "at least 0.3x the /health throughput",
            versus >= 0.3,
            format!("{versus:.2}x")
        )
    );
    figures.set("http_quotes_per_s", round2(quoted.per_second));
    figures.set("http_quote_p99_ms", round2(quote_p99));
    figures.set("http_health_per_s", round2(trivial.per_second));
    figures.set("http_quotes_vs_health", round2(versus));
    if quoted.errors > 0 {
        bail!("{} of {} quotes failed", quoted.errors, quoted.requests);
    }
    if args.output.json {
        figures.print_json();
    }
    Ok(())
}

/// Quotes per second and their latencies, one after another on this thread, and the
/// same for a trivial read of the model.
fn in_process(
    pricing: &delivery::LivePricing,
    dropoffs: &[GeoPoint],
    count: usize,
) -> (
    (f64, hdrhistogram::Histogram<u64>),
    (f64, hdrhistogram::Histogram<u64>),
) {
    let now = Utc::now();
    let mut quotes = latency_histogram();
    let started = Instant::now();
    for i in 0..count {
        let request = QuoteRequest {
            pickup: Pickup::Warehouse(WAREHOUSE.into()),
            dropoff: dropoffs[i % dropoffs.len()],
            order_value: 2500,
            at: now,
            buyer: None,
            asked_by: "bench".into(),
        };
        let sent = Instant::now();
        let (priced, _) = pricing.read(|zones| quote(zones, &request, 0).map(|q| q.terms.fee));
        record(&mut quotes, sent.elapsed());
        std::hint::black_box(priced.ok());
    }
    let quotes_per_s = ratio(count as f64, started.elapsed().as_secs_f64());
    let mut baseline = latency_histogram();
    let started = Instant::now();
    for _ in 0..count {
        let sent = Instant::now();
        let (cities, _) = pricing.read(|zones| zones.cities.len());
        record(&mut baseline, sent.elapsed());
        std::hint::black_box(cities);
    }
    let baseline_per_s = ratio(count as f64, started.elapsed().as_secs_f64());
    ((quotes_per_s, quotes), (baseline_per_s, baseline))
}
