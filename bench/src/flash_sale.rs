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

use super::{latency_histogram, percentile_ms, ratio, record, round2, Figures, Output};
use admission::{Admission, AdmissionSettings, Admitted, TicketState};
use app::config::StorageArgs;
use app::server::open_exclusive;

/// Most times one buyer tries again while every unit is held (payments run after the
/// rush, so failed ones come back a while later).
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
    let driver = match &args.http {
        Some(base) => Driver::Http {
            client: app::server::client_with_key(args.api_key.as_deref())?,
            base: base.trim_end_matches('/').to_string(),
        },
        None => {
            let (lock, backend) = open_exclusive(&args.storage, "bench flash-sale").await?;
            _lock = Some(lock);
            commands::order_process::spawn_order_process(
                backend.commands.clone(),
                Arc::new(api::allocation::ReadSidePlanner {
                    commands: backend.commands.clone(),
                    availability: backend.availability.clone(),
                    max_shipments: domain::allocation::DEFAULT_MAX_SHIPMENTS,
                }),
            );
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
    // the rush measures holding alone; failed payments then return units for the
    // buyers still trying.
    let to_pay: Arc<Mutex<VecDeque<(String, u64)>>> = Arc::default();
    let pay_now = Arc::new(AtomicBool::new(false));
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
    if args.output.json {
        let mut figures = Figures::default();
        figures.set("held_per_s", round2(held_per_s));
        figures.set("attempts_per_s", round2(attempts_per_s));
        figures.set("p50_ms", round2(percentile_ms(&latency, 0.5)));
        figures.set("p99_ms", round2(percentile_ms(&latency, 0.99)));
        figures.set(
            "queue_wait_p99_ms",
            round2(percentile_ms(&queue_wait, 0.99)),
        );
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

impl Driver {
    async fn setup(&self, run_id: &str, sale_id: &str, units: u64) -> anyhow::Result<()> {
        let warehouse_id = format!("fw-{run_id}");
        let sku = format!("FLASH-{run_id}");
        let now = chrono::Utc::now();
        match self {
            Driver::Local { service, .. } => {
                let metadata = Metadata::default();
                service
                    .register_warehouse(
                        RegisterWarehouse {
                            warehouse_id: warehouse_id.clone(),
                            name: "Flash bench".into(),
                            region: "bench".into(),
                            location: GeoPoint { lat: 0.0, lon: 0.0 },
                            ships_to: vec![],
                        },
                        &metadata,
                    )
                    .await?;
                service
                    .handle_stock(
                        StockCommand {
                            sku: sku.clone(),
                            warehouse_id: warehouse_id.clone(),
                            action: StockAction::Receive { quantity: units },
                        },
                        &metadata,
                    )
                    .await?;
                service
                    .schedule_flash_sale(
                        ScheduleFlashSale {
                            sale_id: sale_id.into(),
                            sku,
                            warehouse_id,
                            units,
                            price: Money {
                                amount: PRICE,
                                currency: "EUR".into(),
                            },
                            starts_at: now - chrono::Duration::seconds(1),
                            ends_at: now + chrono::Duration::hours(1),
                            per_user_limit: 1,
                            payment_window_seconds: 300,
                        },
                        &metadata,
                    )
                    .await?;
            }
            Driver::Http { client, base } => {
                let post = |path: &str, body: Value| {
                    client.post(format!("{base}{path}")).json(&body).send()
                };
                for (path, body) in [
                    (
                        "/v1/warehouses".to_string(),
                        json!({"warehouse_id": warehouse_id, "name": "Flash bench", "region": "bench",
                               "location": {"lat": 0.0, "lon": 0.0}, "ships_to": []}),
                    ),
                    (
                        format!("/v1/stock/{sku}/{warehouse_id}/receipts"),
                        json!({"quantity": units}),
                    ),
                    (
                        "/v1/flash-sales".to_string(),
                        json!({"sale_id": sale_id, "sku": sku, "warehouse_id": warehouse_id, "units": units,
                               "price": {"amount": PRICE, "currency": "EUR"},
                               "starts_at": now - chrono::Duration::seconds(1),
                               "ends_at": now + chrono::Duration::hours(1)}),
                    ),
                ] {
                    let answer = post(&path, body).await?;
                    if !answer.status().is_success() {
                        bail!("{path}: {} {}", answer.status(), answer.text().await?);
                    }
                }
            }
        }
        Ok(())
    }

    async fn purchase(&self, sale_id: &str, user: &str, tally: &Tally) -> anyhow::Result<Answer> {
        match self {
            Driver::Local { service, admission } => {
                if let Some(admission) = admission {
                    if let Admitted::Queued(ticket) =
                        admission.admit(sale_id, user, 1, service).await?
                    {
                        tally.queued.fetch_add(1, Ordering::Relaxed);
                        let waited = Instant::now();
                        loop {
                            let state = admission
                                .poll(sale_id, &ticket.ticket)
                                .await?
                                .map(|t| t.state);
                            let answer = match state {
                                Some(TicketState::Admitted { order_id, .. }) => {
                                    Answer::Reserved(order_id)
                                }
                                Some(TicketState::SoldOut) => Answer::SoldOut,
                                Some(TicketState::AllHeld) => Answer::AllHeld,
                                Some(TicketState::Waiting) => {
                                    tokio::time::sleep(Duration::from_millis(5)).await;
                                    continue;
                                }
                                other => Answer::Other(format!("{other:?}")),
                            };
                            record(
                                &mut tally.queue_wait.lock().expect("hist"),
                                waited.elapsed(),
                            );
                            return Ok(answer);
                        }
                    }
                }
                match service
                    .purchase_flash_sale(sale_id, user, 1, &Metadata::default())
                    .await
                {
                    Ok(purchase) => Ok(Answer::Reserved(purchase.order_id)),
                    Err(CommandError::Refused(r)) if r.code == domain::Refusal::AllHeld => {
                        Ok(Answer::AllHeld)
                    }
                    Err(CommandError::Refused(r)) if r.code == domain::Refusal::SoldOut => {
                        Ok(Answer::SoldOut)
                    }
                    Err(other) => Ok(Answer::Other(other.to_string())),
                }
            }
            Driver::Http { client, base } => {
                let answer = client
                    .post(format!("{base}/v1/flash-sales/{sale_id}/purchase"))
                    .json(&json!({"quantity": 1, "user_id": user}))
                    .send()
                    .await?;
                let status = answer.status().as_u16();
                let body: Value = answer.json().await.unwrap_or_default();
                let code = body["type"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("/problems/")
                    .to_string();
                match (status, code.as_str()) {
                    (201, _) => Ok(Answer::Reserved(
                        body["order_id"].as_str().unwrap_or("").into(),
                    )),
                    (202, _) => {
                        tally.queued.fetch_add(1, Ordering::Relaxed);
                        let ticket = body["ticket"].as_str().unwrap_or("").to_string();
                        let waited = Instant::now();
                        loop {
                            let state: Value = client
                                .get(format!("{base}/v1/flash-sales/{sale_id}/queue/{ticket}"))
                                .send()
                                .await?
                                .json()
                                .await?;
                            let answer = match state["status"].as_str().unwrap_or("") {
                                "admitted" => Answer::Reserved(
                                    state["order_id"].as_str().unwrap_or("").into(),
                                ),
                                "sold_out" => Answer::SoldOut,
                                "all_held" => Answer::AllHeld,
                                "waiting" => {
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                    continue;
                                }
                                _ => Answer::Other(state.to_string()),
                            };
                            record(
                                &mut tally.queue_wait.lock().expect("hist"),
                                waited.elapsed(),
                            );
                            return Ok(answer);
                        }
                    }
                    (409, "all_held") => Ok(Answer::AllHeld),
                    (409, "sold_out") => Ok(Answer::SoldOut),
                    _ => Ok(Answer::Other(format!("{status} {body}"))),
                }
            }
        }
    }

    async fn pay(&self, order_id: &str, succeeded: bool) -> anyhow::Result<()> {
        match self {
            Driver::Local { service, .. } => {
                service
                    .record_payment(
                        order_id,
                        &format!("pay-{order_id}"),
                        succeeded,
                        Money {
                            amount: PRICE,
                            currency: "EUR".into(),
                        },
                        &Metadata::default(),
                    )
                    .await
                    .with_context(|| format!("paying {order_id}"))?;
            }
            Driver::Http { client, base } => {
                let status = if succeeded { "succeeded" } else { "failed" };
                let answer = client
                    .post(format!("{base}/v1/payments/sandbox/{order_id}"))
                    .json(&json!({ "status": status }))
                    .send()
                    .await?;
                if !answer.status().is_success() {
                    bail!(
                        "paying {order_id}: {} {}",
                        answer.status(),
                        answer.text().await?
                    );
                }
            }
        }
        Ok(())
    }

    /// The sale once every payment is settled (nothing held any more).
    async fn settled(&self, sale_id: &str, patience: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + patience;
        loop {
            let sale = match self {
                Driver::Local { service, .. } => {
                    serde_json::to_value(service.tick_flash_sale(sale_id).await?)?
                }
                Driver::Http { client, base } => {
                    client
                        .get(format!("{base}/v1/flash-sales/{sale_id}"))
                        .send()
                        .await?
                        .json()
                        .await?
                }
            };
            if sale["held"].as_u64() == Some(0) || Instant::now() > deadline {
                return Ok(sale);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
