//! `commerce bench flash-sale`: a sale of `--units` driven to sell-out and beyond by
//! `--buyers` at `--concurrency`, in this process or against a server (`--http`).
//! Every reserved order is paid at once, `--fail-payments` percent of them failing (their
//! units go back to the sale for others). Prints held units/s before sell-out,
//! attempts/s, admitted, queued, sold, oversold, purchase latency and queue wait.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use commands::{CommandError, CommandService};
use domain::{RegisterWarehouse, ScheduleFlashSale, StockAction, StockCommand};
use event_schemas::{GeoPoint, Metadata, Money};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use admission::{Admission, AdmissionSettings, Admitted, TicketState};
use app::config::StorageArgs;
use app::server::open_exclusive;

mod driver;

/// Most times one buyer tries again while every unit is held (payments run after the
/// rush, so failed ones come back a while later).
/// How long the same-run baseline (hot SKU in process, a trivial POST over HTTP)
/// runs before the sale.
const HOT_SKU_BASELINE: Duration = Duration::from_secs(3);
const RETRIES: u32 = 1_000;
/// Pause before a buyer tries again while every unit is held.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// How long the end of the run waits for payments to settle, at least, and per unit.
const SETTLE: Duration = Duration::from_secs(60);
const SETTLE_PER_UNIT: Duration = Duration::from_millis(2);
const PRICE: i64 = 999;

#[derive(Debug, Args)]
pub struct FlashSaleArgs {
    #[arg(long, default_value_t = 10_000)]
    pub units: u64,
    #[arg(long, default_value_t = 20_000)]
    pub buyers: u64,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Purchases admitted per second (the rest queue); none by default in process, the
    /// server's own setting over HTTP.
    #[arg(long)]
    pub admission_rate: Option<u32>,
    /// Percent of payments that fail.
    #[arg(long, default_value_t = 0)]
    pub fail_payments: u64,
    /// Pay each order as soon as it is placed, while the rush goes on (by default
    /// payments wait until every unit is held, so the rush measures holding alone):
    /// shows what settling costs purchases.
    #[arg(long)]
    pub pay_during: bool,
    /// Drive a running server (development mode, or set COMMERCE_API_KEY to a key with
    /// sales:write, stock:write, buyers:act, orders:write and admin).
    #[arg(long)]
    pub http: Option<String>,
    #[arg(long, env = "COMMERCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

enum Answer {
    Reserved(String),
    AllHeld,
    SoldOut,
    Other(String),
}

/// In this process (with or without the admission queue), or over HTTP.
enum Driver {
    Local {
        service: Arc<CommandService>,
        admission: Option<Admission>,
    },
    Http {
        client: reqwest::Client,
        base: String,
    },
}

struct Tally {
    attempts: AtomicU64,
    reserved: AtomicU64,
    queued: AtomicU64,
    failed_payments: AtomicU64,
    latency: Mutex<Histogram<u64>>,
    queue_wait: Mutex<Histogram<u64>>,
    /// When the reservations first reached the sale's units.
    sold_out_at: Mutex<Option<Duration>>,
    orders_by_buyer: Mutex<HashMap<String, std::collections::BTreeSet<String>>>,
}

pub async fn run(args: FlashSaleArgs) -> anyhow::Result<()> {
    if args.units == 0 || args.buyers == 0 || args.concurrency == 0 || args.fail_payments > 100 {
        bail!(
            "--units, --buyers and --concurrency must be at least 1, --fail-payments at most 100"
        );
    }
    let run_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let sale_id = format!("bench-{run_id}");
    let mut _lock = None;
    let mut hot_sku_baseline = None;
    let driver = match &args.http {
        Some(base) => Driver::Http {
            client: app::server::client_with_key(args.api_key.as_deref())?,
            base: base.trim_end_matches('/').to_string(),
        },
        None => {
            let (lock, backend) = open_exclusive(&args.storage, "bench flash-sale").await?;
            _lock = Some(lock);
            crate::spawn_order_process(&backend).await?;
            // The same-run baseline: one hot SKU through the command path, at the
            // sale's concurrency (a sale is one hot aggregate too).
            let rate =
                crate::append::hot_sku_rate(&backend.commands, args.concurrency, HOT_SKU_BASELINE)
                    .await?;
            eprintln!("baseline: {rate:.0} hot-SKU commands/s (bench append --skus 1, same run)");
            hot_sku_baseline = Some(rate);
            let admission = args.admission_rate.map(|rate| {
                Admission::local(
                    AdmissionSettings {
                        rate_per_sale: rate,
                        per_buyer_per_minute: u32::MAX,
                        per_address_per_minute: u32::MAX,
                    },
                    backend.commands.clock().clone(),
                )
            });
            Driver::Local {
                service: backend.commands.clone(),
                admission,
            }
        }
    };
    let driver = Arc::new(driver);
    let http_baseline = driver
        .trivial_post_rate(args.concurrency, HOT_SKU_BASELINE)
        .await?;
    if let Some((rate, latency)) = &http_baseline {
        eprintln!(
            "baseline: {rate:.0} trivial POSTs/s, p99 {:.2} ms (POST /v1/activity, same run)",
            percentile_ms(latency, 0.99)
        );
    }
    driver.setup(&run_id, &sale_id, args.units).await?;
    eprintln!(
        "bench flash-sale: {} units, {} buyers, concurrency {}, {}",
        args.units,
        args.buyers,
        args.concurrency,
        match &args.http {
            Some(url) => format!("over HTTP at {url}"),
            None => "in process".into(),
        }
    );
    let tally = Arc::new(Tally {
        attempts: AtomicU64::new(0),
        reserved: AtomicU64::new(0),
        queued: AtomicU64::new(0),
        failed_payments: AtomicU64::new(0),
        latency: Mutex::new(latency_histogram()),
        queue_wait: Mutex::new(latency_histogram()),
        sold_out_at: Mutex::new(None),
        orders_by_buyer: Mutex::new(HashMap::new()),
    });
    let line: Arc<Mutex<VecDeque<(u64, u32)>>> =
        Arc::new(Mutex::new((0..args.buyers).map(|b| (b, 0)).collect()));
    let started = Instant::now();
    // Orders to pay. Payments start once every unit is held (or no buyer is left), so
    // the rush measures holding alone, unless --pay-during; failed payments then
    // return units for the buyers still trying.
    let to_pay: Arc<Mutex<VecDeque<(String, u64)>>> = Arc::default();
    let pay_now = Arc::new(AtomicBool::new(args.pay_during));
    let buying = Arc::new(AtomicU64::new(args.concurrency as u64));
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (driver, tally, line, sale_id, to_pay, pay_now, buying) = (
                driver.clone(),
                tally.clone(),
                line.clone(),
                sale_id.clone(),
                to_pay.clone(),
                pay_now.clone(),
                buying.clone(),
            );
            let units = args.units;
            tokio::spawn(async move {
                loop {
                    let Some((buyer, tries)) = line.lock().expect("line").pop_front() else {
                        buying.fetch_sub(1, Ordering::Relaxed);
                        pay_now.store(true, Ordering::Relaxed);
                        return Ok::<_, anyhow::Error>(());
                    };
                    let user = format!("b{buyer}");
                    tally.attempts.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let answer = driver.purchase(&sale_id, &user, &tally).await?;
                    record(&mut tally.latency.lock().expect("hist"), t.elapsed());
                    match answer {
                        Answer::Reserved(order_id) => {
                            let n = tally.reserved.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == units {
                                *tally.sold_out_at.lock().expect("lock") = Some(started.elapsed());
                                pay_now.store(true, Ordering::Relaxed);
                            }
                            tally
                                .orders_by_buyer
                                .lock()
                                .expect("lock")
                                .entry(user.clone())
                                .or_default()
                                .insert(order_id.clone());
                            to_pay.lock().expect("to pay").push_back((order_id, buyer));
                        }
                        Answer::AllHeld if tries < RETRIES => {
                            tokio::time::sleep(RETRY_PAUSE).await;
                            line.lock().expect("line").push_back((buyer, tries + 1));
                        }
                        Answer::AllHeld | Answer::SoldOut => {}
                        Answer::Other(problem) => bail!("unexpected answer: {problem}"),
                    }
                }
            })
        })
        .collect();
    let payers: Vec<_> = (0..(args.concurrency / 4).max(1))
        .map(|_| {
            let (driver, tally, to_pay, pay_now, buying) = (
                driver.clone(),
                tally.clone(),
                to_pay.clone(),
                pay_now.clone(),
                buying.clone(),
            );
            let fail_payments = args.fail_payments;
            tokio::spawn(async move {
                loop {
                    let next = if pay_now.load(Ordering::Relaxed) {
                        to_pay.lock().expect("to pay").pop_front()
                    } else {
                        None
                    };
                    match next {
                        Some((order_id, buyer)) => {
                            let fails = buyer * 7919 % 100 < fail_payments;
                            if fails {
                                tally.failed_payments.fetch_add(1, Ordering::Relaxed);
                            }
                            driver.pay(&order_id, !fails).await?;
                        }
                        None if buying.load(Ordering::Relaxed) == 0 => {
                            return Ok::<_, anyhow::Error>(())
                        }
                        None => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect();
    for task in workers.into_iter().chain(payers) {
        task.await??;
    }
    let elapsed = started.elapsed();
    let sale = driver
        .settled(&sale_id, SETTLE + SETTLE_PER_UNIT * args.units as u32)
        .await?;
    let settled_after = started.elapsed();
    let sold = sale["sold"].as_u64().unwrap_or(0);
    let oversold = sold.saturating_sub(args.units);
    let duplicate_buyers = tally
        .orders_by_buyer
        .lock()
        .expect("lock")
        .values()
        .filter(|orders| orders.len() > 1)
        .count() as u64;
    let attempts = tally.attempts.load(Ordering::Relaxed);
    let held_before_sell_out = tally.reserved.load(Ordering::Relaxed).min(args.units);
    let sell_out = tally.sold_out_at.lock().expect("lock").unwrap_or(elapsed);
    let held_per_s = ratio(held_before_sell_out as f64, sell_out.as_secs_f64());
    let attempts_per_s = ratio(attempts as f64, elapsed.as_secs_f64());
    let latency = tally.latency.lock().expect("hist").clone();
    let queue_wait = tally.queue_wait.lock().expect("hist").clone();
    println!(
        "flash sale: {held_per_s:>8.0} units held/s before sell-out   {attempts_per_s:>8.0} attempts/s   purchase p50 {:.2} ms p99 {:.2} ms",
        percentile_ms(&latency, 0.5),
        percentile_ms(&latency, 0.99)
    );
    println!(
        "            {attempts} attempts, {} admitted, {} queued (wait p50 {:.1} ms p99 {:.1} ms), {} payments failed, {sold} sold of {}, {oversold} oversold, {duplicate_buyers} duplicate buyers",
        tally.reserved.load(Ordering::Relaxed),
        tally.queued.load(Ordering::Relaxed),
        percentile_ms(&queue_wait, 0.5),
        percentile_ms(&queue_wait, 0.99),
        tally.failed_payments.load(Ordering::Relaxed),
        args.units
    );
    println!(
        "            whole sale (rush and every payment settled): {:.2} s{}",
        settled_after.as_secs_f64(),
        if args.pay_during {
            ", paid during the rush"
        } else {
            ""
        }
    );
    if let Some(baseline) = hot_sku_baseline {
        let share = ratio(held_per_s, baseline);
        println!(
            "baseline: {baseline:>8.0} hot-SKU commands/s (same run); held/s is {share:.2}x of it"
        );
        println!(
            "targets: {}; {}; {}",
            target(
                "held/s at least 0.4x the hot-SKU rate",
                share >= 0.4,
                format!("{share:.2}x")
            ),
            target(
                "at least 10,000 held/s where that rate is 30,000 or more",
                baseline < 30_000.0 || held_per_s >= 10_000.0,
                format!("{held_per_s:.0}")
            ),
            target("0 oversold", oversold == 0, oversold),
        );
    }
    if let Some((rate, base_latency)) = &http_baseline {
        let share = ratio(attempts_per_s, *rate);
        let (p99, base_p99) = (
            percentile_ms(&latency, 0.99),
            percentile_ms(base_latency, 0.99),
        );
        let p99_ratio = ratio(p99, base_p99);
        println!(
            "baseline: {rate:>8.0} trivial POSTs/s p99 {base_p99:.2} ms (same run); attempts/s is {share:.2}x of it, p99 {p99_ratio:.2}x"
        );
        println!(
            "targets: {}; {}; {}",
            target(
                "attempts/s at least 0.15x the trivial POST",
                share >= 0.15,
                format!("{share:.2}x")
            ),
            target(
                "p99 at most 5x the trivial POST's",
                p99_ratio <= 5.0,
                format!("{p99_ratio:.2}x")
            ),
            target(
                "5,000 attempts/s and p99 under 50 ms where the baseline reaches 35,000/s",
                *rate < 35_000.0 || (attempts_per_s >= 5_000.0 && p99 < 50.0),
                format!("{attempts_per_s:.0}/s, {p99:.1} ms")
            ),
        );
    }
    if args.output.json {
        let mut figures = Figures::default();
        if let Some((rate, latency)) = &http_baseline {
            figures.set("baseline_post_per_s", round2(*rate));
            figures.set("baseline_post_p99_ms", round2(percentile_ms(latency, 0.99)));
        }
        if let Some(baseline) = hot_sku_baseline {
            figures.set("baseline_hot_sku_per_s", round2(baseline));
        }
        figures.set("held_per_s", round2(held_per_s));
        figures.set("attempts_per_s", round2(attempts_per_s));
        figures.set("p50_ms", round2(percentile_ms(&latency, 0.5)));
        figures.set("p99_ms", round2(percentile_ms(&latency, 0.99)));
        figures.set(
            "queue_wait_p99_ms",
            round2(percentile_ms(&queue_wait, 0.99)),
        );
        figures.set("whole_sale_s", round2(settled_after.as_secs_f64()));
        figures.set("units", args.units);
        figures.set("sold", sold);
        figures.set("oversold", oversold);
        figures.set("duplicate_buyers", duplicate_buyers);
        figures.set("queued", tally.queued.load(Ordering::Relaxed));
        figures.print_json();
    }
    if oversold > 0 || duplicate_buyers > 0 {
        bail!("the sale was oversold or a buyer bought twice");
    }
    Ok(())
}
