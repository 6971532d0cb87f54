//! `commerce bench checkout`: the whole order flow at N concurrent buyers — place,
//! wait for the order process to reserve, pay (a succeeded callback), wait for the
//! confirmation — in this process, on this database.
//!
//! The baseline, measured after it in the same run with the same buyers: each buyer
//! reserves and sells the unit itself (a reservation, its hold, the sale from the
//! hold), with no order and no order process in between. The ratio shows what the
//! order's own events and the process manager cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use commands::CommandService;
use domain::{OrderStatus, ProductCommand, RegisterWarehouse, StockAction, StockCommand};
use event_schemas::{
    Destination, GeoPoint, Metadata, Money, ProductDetails, ReservationLine, ShippingRate, Shop,
};
use hdrhistogram::Histogram;

use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use app::config::StorageArgs;
use app::server::open_exclusive;

/// Units received per SKU before the run (the most one receipt may bring).
const STOCK_PER_SKU: u64 = 1_000_000;
/// How long one buyer waits for an order to move before counting it failed.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Concurrent buyers.
    #[arg(long, default_value_t = 64)]
    pub buyers: usize,
    /// SKUs the buyers spread over.
    #[arg(long, default_value_t = 100)]
    pub skus: usize,
    /// Seconds to run (and as long again for the baseline).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Skip the baseline.
    #[arg(long)]
    pub no_baseline: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

struct BuyerTally {
    confirmed: u64,
    failed: u64,
    reserve: Histogram<u64>,
    whole: Histogram<u64>,
    sold: Vec<u64>,
}

pub async fn run(args: CheckoutArgs) -> anyhow::Result<()> {
    if args.buyers == 0 || args.skus == 0 || args.duration == 0 {
        bail!("--buyers, --skus and --duration must be at least 1");
    }
    let (_lock, backend) = open_exclusive(&args.storage, "bench checkout").await?;
    let committed = backend.commands.store().follow_tail();
    backend.availability.catch_up().await?;
    backend.availability.spawn_live(committed.clone());
    crate::spawn_order_process(&backend).await?;
    let service = backend.commands.clone();
    let run_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let region = format!("r{run_id}");
    let (warehouse_id, skus) = setup(&service, &run_id, &region, args.skus).await?;
    eprintln!(
        "bench checkout: {} buyers, {} SKUs, {} s, {}",
        args.buyers,
        args.skus,
        args.duration,
        service.store().database().backend_name()
    );

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let buyers: Vec<_> = (0..args.buyers)
        .map(|buyer| {
            let service = service.clone();
            let skus = skus.clone();
            let region = region.clone();
            let run_id = run_id.clone();
            tokio::spawn(async move {
                let mut tally = BuyerTally {
                    confirmed: 0,
                    failed: 0,
                    reserve: latency_histogram(),
                    whole: latency_histogram(),
                    sold: vec![0; skus.len()],
                };
                let mut k = 0;
                while Instant::now() < deadline {
                    let sku = (buyer * 7919 + k) % skus.len();
                    let id = format!("co-{run_id}-{buyer}-{k}");
                    k += 1;
                    let t0 = Instant::now();
                    match checkout(&service, &id, &skus[sku], &region, &mut tally.reserve, t0).await
                    {
                        Ok(true) => {
                            record(&mut tally.whole, t0.elapsed());
                            tally.confirmed += 1;
                            tally.sold[sku] += 1;
                        }
                        Ok(false) | Err(_) => tally.failed += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut confirmed = 0;
    let mut failed = 0;
    let mut reserve = latency_histogram();
    let mut whole = latency_histogram();
    let mut sold = vec![0u64; skus.len()];
    for buyer in buyers {
        let tally = buyer.await?;
        confirmed += tally.confirmed;
        failed += tally.failed;
        reserve.add(tally.reserve).expect("same bounds");
        whole.add(tally.whole).expect("same bounds");
        for (total, n) in sold.iter_mut().zip(tally.sold) {
            *total += n;
        }
    }
    let elapsed = started.elapsed();

    // Oversold: stock that went below what was there, or sales the log does not show.
    backend
        .availability
        .wait_for(service.store().last_committed(), Duration::from_secs(30))
        .await
        .ok();
    let mut oversold = 0i64;
    for (sku, units) in skus.iter().zip(&sold) {
        let (view, _) =
            projections::availability::query(backend.availability.db(), sku, None).await?;
        let on_hand = view.map(|v| v.on_hand).unwrap_or(0);
        let expected = STOCK_PER_SKU as i64 - *units as i64;
        oversold += (expected - on_hand).max(0) + (-on_hand).max(0);
    }

    let per_second = ratio(confirmed as f64, elapsed.as_secs_f64());
    println!(
        "checkout ({}): {:>8.0} orders/s   whole flow p50 {:.1} ms p99 {:.1} ms   placed→reserved p50 {:.1} ms p99 {:.1} ms   ({} confirmed, {} failed)",
        service.store().database().backend_name(),
        per_second,
        percentile_ms(&whole, 0.5),
        percentile_ms(&whole, 0.99),
        percentile_ms(&reserve, 0.5),
        percentile_ms(&reserve, 0.99),
        confirmed,
        failed
    );
    println!("check: {oversold} oversold");
    let mut figures = Figures::default();
    figures.set("orders_per_s", round2(per_second));
    figures.set("p50_ms", round2(percentile_ms(&whole, 0.5)));
    figures.set("p99_ms", round2(percentile_ms(&whole, 0.99)));
    figures.set("reserve_p50_ms", round2(percentile_ms(&reserve, 0.5)));
    figures.set("reserve_p99_ms", round2(percentile_ms(&reserve, 0.99)));
    figures.set("confirmed", confirmed);
    figures.set("failed", failed);
    figures.set("oversold", oversold);
    let reserve_p99 = percentile_ms(&reserve, 0.99);
    println!(
        "targets: {}; {}; {}",
        target(
            "at least 500 orders/s",
            per_second >= 500.0,
            format!("{per_second:.0}")
        ),
        target(
            "placed→reserved p99 under 200 ms",
            reserve_p99 < 200.0,
            format!("{reserve_p99:.1} ms")
        ),
        target("0 oversold", oversold == 0, oversold),
    );
    figures.set(
        "targets_met",
        per_second >= 500.0 && reserve_p99 < 200.0 && oversold == 0,
    );
    let baseline = if args.no_baseline {
        eprintln!("baseline skipped (--no-baseline)");
        None
    } else {
        let (baseline_per_second, latency) =
            direct_baseline(&service, &run_id, &warehouse_id, &skus, &args).await;
        println!(
            "baseline reserve+sell, no order: {:>8.0} checkouts/s   p50 {:.1} ms p99 {:.1} ms   (ours is {:.2}x)",
            baseline_per_second,
            percentile_ms(&latency, 0.5),
            percentile_ms(&latency, 0.99),
            ratio(per_second, baseline_per_second)
        );
        Some((baseline_per_second, latency))
    };
    if args.output.json {
        if let Some((per_second, latency)) = &baseline {
            figures.set("baseline_per_s", round2(*per_second));
            figures.set("baseline_p99_ms", round2(percentile_ms(latency, 0.99)));
        }
        figures.print_json();
    }
    if oversold > 0 {
        bail!("stock was oversold");
    }
    Ok(())
}

/// Each buyer reserves one unit and sells it from the hold, for the same duration:
/// checkouts per second and their latency.
async fn direct_baseline(
    service: &Arc<CommandService>,
    run_id: &str,
    warehouse_id: &str,
    skus: &[String],
    args: &CheckoutArgs,
) -> (f64, Histogram<u64>) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let buyers: Vec<_> = (0..args.buyers)
        .map(|buyer| {
            let service = service.clone();
            let skus = skus.to_vec();
            let warehouse_id = warehouse_id.to_string();
            let run_id = run_id.to_string();
            tokio::spawn(async move {
                let mut latency = latency_histogram();
                let mut done = 0u64;
                let mut k = 0;
                while Instant::now() < deadline {
                    let sku = &skus[(buyer * 7919 + k) % skus.len()];
                    let id = format!("direct-{run_id}-{buyer}-{k}");
                    k += 1;
                    let t0 = Instant::now();
                    let line = ReservationLine {
                        sku: sku.clone(),
                        warehouse_id: warehouse_id.clone(),
                        quantity: 1,
                    };
                    let metadata = Metadata::default();
                    let expires_at = service.clock().now() + chrono::Duration::minutes(15);
                    let held = service
                        .reserve(&id, None, vec![line], expires_at, &metadata)
                        .await;
                    let sold = match held {
                        Ok(_) => service.confirm_reservation(&id, &metadata).await,
                        Err(error) => Err(error),
                    };
                    if sold.is_ok() {
                        record(&mut latency, t0.elapsed());
                        done += 1;
                    }
                }
                (done, latency)
            })
        })
        .collect();
    let mut done = 0;
    let mut latency = latency_histogram();
    for buyer in buyers {
        if let Ok((count, histogram)) = buyer.await {
            done += count;
            latency.add(histogram).expect("same bounds");
        }
    }
    (ratio(done as f64, started.elapsed().as_secs_f64()), latency)
}

/// One buyer's checkout of one unit. `true` when it ended confirmed.
async fn checkout(
    service: &CommandService,
    order_id: &str,
    sku: &str,
    region: &str,
    reserve_latency: &mut Histogram<u64>,
    started: Instant,
) -> anyhow::Result<bool> {
    let metadata = Metadata::default();
    let destination = Destination {
        region: region.to_string(),
        lat: None,
        lon: None,
    };
    service
        .place_order(
            commands::orders::PlaceOrder {
                delivery: None,
                order_id: order_id.to_string(),
                customer: None,
                lines: vec![(sku.to_string(), 1)],
                ship_to: destination,
                priority: false,
                buyer_limits: None,
            },
            &metadata,
            None,
        )
        .await?;
    let order = wait_for(
        service,
        order_id,
        &[OrderStatus::Reserved, OrderStatus::Rejected],
    )
    .await?;
    record(reserve_latency, started.elapsed());
    if order.status != OrderStatus::Reserved {
        return Ok(false);
    }
    let total = order.total.clone().expect("a placed order has a total");
    service
        .record_payment(
            order_id,
            &format!("bench-{order_id}"),
            true,
            total,
            &metadata,
        )
        .await?;
    let order = wait_for(
        service,
        order_id,
        &[OrderStatus::Confirmed, OrderStatus::Refunded],
    )
    .await?;
    Ok(order.status == OrderStatus::Confirmed)
}

/// Wait until the order reaches one of `statuses`, woken by its commits.
async fn wait_for(
    service: &CommandService,
    order_id: &str,
    statuses: &[OrderStatus],
) -> anyhow::Result<domain::Order> {
    // Woken by the order's own commits (one process: the order process runs here).
    let mut changes = service.order_changes(order_id);
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let (_, order) = service.order(order_id).await?;
        if statuses.contains(&order.status) {
            return Ok(order);
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            bail!("order {order_id} stayed {}", order.status.name());
        }
    }
}

/// A warehouse shipping to the bench's own region, and `skus` listed products with
/// plenty of stock there.
async fn setup(
    service: &CommandService,
    run_id: &str,
    region: &str,
    skus: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let metadata = Metadata::default();
    let warehouse_id = format!("wh-{run_id}");
    let eur = |amount| Money {
        amount,
        currency: "EUR".into(),
    };
    service
        .register_warehouse(
            RegisterWarehouse {
                warehouse_id: warehouse_id.clone(),
                name: "bench".into(),
                region: region.to_string(),
                location: GeoPoint { lat: 0.0, lon: 0.0 },
                ships_to: vec![ShippingRate {
                    region: region.to_string(),
                    cost_per_item: eur(10),
                    cost_per_shipment: eur(100),
                    days: 1,
                }],
            },
            &metadata,
        )
        .await?;
    let mut names = Vec::with_capacity(skus);
    for i in 0..skus {
        let sku = format!("CO-{run_id}-{i}");
        let details = ProductDetails {
            title: format!("Bench product {i}"),
            description: String::new(),
            tags: vec![],
            category: "bench".into(),
            materials: vec![],
            shop: Shop {
                shop_id: "bench".into(),
                name: "Bench".into(),
                location: GeoPoint { lat: 0.0, lon: 0.0 },
            },
            price: eur(1000),
            language: "en".into(),
        };
        service
            .handle_product(
                ProductCommand::List {
                    sku: sku.clone(),
                    details,
                },
                &metadata,
                None,
            )
            .await?;
        let receive = StockCommand {
            sku: sku.clone(),
            warehouse_id: warehouse_id.clone(),
            action: StockAction::Receive {
                quantity: STOCK_PER_SKU,
            },
        };
        service.handle_stock(receive, &metadata).await?;
        names.push(sku);
    }
    Ok((warehouse_id, names))
}
