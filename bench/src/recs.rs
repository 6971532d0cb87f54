//! `commerce bench recs`: the recommendations at size. Seeds synthetic items (all in
//! stock) and shoppers' activity into the log, then measures, in this process: the
//! model's replay, the latent model's training, a list's latency (beside a trivial
//! read of the same model: the same-run baseline), the latency while training runs,
//! and the delay from a dismissal's commit to a list without the item; then over HTTP
//! (this binary's `serve` as a child, after loading the saved model): the list route
//! beside `/health`, first saturated (closed loops: throughput), then open-loop at half
//! that rate (latency at a load the server carries, the figure the target reads).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Args;
use commands::{AppendBatch, EventStore};
use event_schemas::{ActivityEvent, ActivityKind, Metadata, ProductEvent, StockEvent};
use recommendations::offline::{Interaction, ItemInfo};
use recommendations::sources::latent::AlsParams;
use recommendations::{snapshot, Recommender, Request};

use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use crate::seed::interactions::generate_sized;
use crate::seed::{seed_batch, SEED_WAREHOUSE};
use app::config::StorageArgs;
use app::server::open_exclusive;

/// Events per append.
const BATCH: usize = 5_000;

#[derive(Debug, Args)]
pub struct RecsArgs {
    #[arg(long, default_value_t = 100_000)]
    pub items: usize,
    #[arg(long, default_value_t = 1_000_000)]
    pub interactions: usize,
    /// Lists asked for in process, per measurement.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Dismissals timed to a changed list.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Connections driving each HTTP route at once.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Seconds each HTTP route is driven.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Requests a second for the latency measurement over HTTP (open loop); by default
    /// half the list route's rate with `--connections` closed loops.
    #[arg(long)]
    pub rate: Option<f64>,
    /// The data directory (or database) already holds the log an earlier run with
    /// the same `--items` and `--interactions` seeded: measure on it instead of
    /// seeding again (A/B runs of two binaries on one log).
    #[arg(long)]
    pub seeded: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(args: RecsArgs) -> anyhow::Result<()> {
    if args.requests == 0 || args.samples == 0 || args.connections == 0 || args.duration == 0 {
        bail!("--requests, --samples, --connections and --duration must be at least 1");
    }
    if args
        .rate
        .is_some_and(|rate| !(rate.is_finite() && (1.0..=1e6).contains(&rate)))
    {
        bail!("--rate must be a number of requests a second from 1 to 1,000,000");
    }
    let mut figures = Figures::default();
    let users = {
        let (_lock, backend) = open_exclusive(&args.storage, "bench recs").await?;
        let store = backend.commands.store();
        let started = Instant::now();
        let (items, interactions) = generate_sized(args.interactions, args.items, 17);
        let users = shoppers(&interactions);
        if args.seeded {
            if store.head_position().await? == 0 {
                bail!("--seeded, but the log is empty: run once without it first");
            }
            println!("measuring on the log already seeded");
        } else {
            seed(store, &items, &interactions).await?;
            let seeded = started.elapsed().as_secs_f64();
            println!(
                "seeded {} items and {} interactions in {seeded:.1} s",
                args.items, args.interactions
            );
        }

        let live = backend.recommendations.clone();
        let started = Instant::now();
        live.catch_up().await?;
        let replay = started.elapsed().as_secs_f64();
        let recommender = Recommender::new(live.clone(), AlsParams::default());
        let started = Instant::now();
        let trained = recommender.train().await?;
        let training = started.elapsed().as_secs_f64();
        println!(
            "replayed the log into the model in {replay:.1} s; trained ALS on {} interactions in {training:.1} s (target < 60 s)",
            trained.interactions.unwrap_or(0)
        );
        figures.set("replay_s", round2(replay));
        figures.set("retrain_s", round2(training));

        in_process(&recommender, &users, &args, &mut figures).await;
        freshness(&backend.commands, &recommender, &users, &args, &mut figures).await?;
        let started = Instant::now();
        let saved = snapshot::save(&live, &backend.recommendations_dir).await?;
        let saving = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let loaded = snapshot::load(
            live.db().clone(),
            recommendations::Config::default(),
            &backend.recommendations_dir,
        )
        .await;
        let loading = started.elapsed().as_secs_f64();
        if loaded.position() != saved {
            bail!(
                "the saved model loaded at position {}, not {saved}",
                loaded.position()
            );
        }
        drop(loaded);
        println!(
            "saved the model at position {saved} in {saving:.1} s; loaded it in {loading:.1} s (replay: {replay:.1} s)"
        );
        figures.set("snapshot_save_s", round2(saving));
        figures.set("snapshot_load_s", round2(loading));
        users
    };
    over_http(&args, &users, &mut figures).await?;
    if args.output.json {
        figures.print_json();
    }
    Ok(())
}

/// The shoppers of `interactions`, each once, in the order they first act.
fn shoppers(interactions: &[Interaction]) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    for i in interactions {
        if users.last() != Some(&i.user) {
            users.push(i.user.clone());
        }
    }
    users
}

/// Write the items (each in stock) and the interactions as activity.
async fn seed(
    store: &EventStore,
    items: &[ItemInfo],
    interactions: &[Interaction],
) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut batches: Vec<AppendBatch> = Vec::new();
    let flush = |batches: &mut Vec<AppendBatch>| {
        let batches = std::mem::take(batches);
        async move {
            for result in store.append(&batches).await? {
                result.map_err(|_| anyhow::anyhow!("a seeded stream already existed"))?;
            }
            anyhow::Ok(())
        }
    };
    for item in items {
        batches.extend(stocked_listing(item, 1_000, now)?);
        if batches.len() >= BATCH {
            flush(&mut batches).await?;
        }
    }
    for i in interactions {
        let kind = match i.rating as i64 {
            5 => ActivityKind::Purchased,
            3 => ActivityKind::Carted,
            _ => ActivityKind::Viewed,
        };
        let recorded = ActivityEvent::ActivityRecorded {
            user_id: i.user.clone(),
            kind,
            sku: Some(i.item.clone()),
            query: None,
            model_version: None,
        };
        batches.push(seed_batch(
            event_schemas::activity::ACTIVITY_AGGREGATE,
            uuid::Uuid::now_v7().to_string(),
            recorded.event_type(),
            serde_json::to_value(&recorded)?,
            now,
        ));
        if batches.len() >= BATCH {
            flush(&mut batches).await?;
        }
    }
    flush(&mut batches).await?;
    Ok(())
}

/// An item listed and received in the seed warehouse: its two appends.
fn stocked_listing(
    item: &ItemInfo,
    quantity: u64,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<[AppendBatch; 2]> {
    let listed = ProductEvent::ProductListed {
        sku: item.item.clone(),
        details: event_schemas::ProductDetails {
            title: item.title.clone(),
            description: String::new(),
            tags: item.tags.clone(),
            category: item.category.clone(),
            materials: item.materials.clone(),
            shop: event_schemas::Shop {
                shop_id: item.shop.clone(),
                name: item.shop.clone(),
                location: event_schemas::GeoPoint {
                    lat: 52.0,
                    lon: 4.0,
                },
            },
            price: event_schemas::Money {
                amount: 1990,
                currency: "EUR".into(),
            },
            language: "en".into(),
        },
    };
    let received = StockEvent::StockReceived {
        sku: item.item.clone(),
        warehouse_id: SEED_WAREHOUSE.into(),
        quantity,
    };
    Ok([
        seed_batch(
            event_schemas::product::PRODUCT_AGGREGATE,
            item.item.clone(),
            listed.event_type(),
            serde_json::to_value(&listed)?,
            now,
        ),
        seed_batch(
            event_schemas::stock::STOCK_AGGREGATE,
            event_schemas::stock::stock_aggregate_id(&item.item, SEED_WAREHOUSE),
            received.event_type(),
            serde_json::to_value(&received)?,
            now,
        ),
    ])
}

fn request(user: &str) -> Request {
    Request {
        user_id: Some(user.to_string()),
        limit: 10,
        ..Request::default()
    }
}

/// A list's latency in process, beside a trivial read of the model, and while a
/// training runs.
async fn in_process(
    recommender: &Arc<Recommender>,
    users: &[String],
    args: &RecsArgs,
    figures: &mut Figures,
) {
    let mut baseline = latency_histogram();
    let mut lists = latency_histogram();
    for n in 0..args.requests {
        let user = &users[(n * 7919) % users.len()];
        let started = Instant::now();
        let (known, _) = recommender
            .live
            .read(|f| f.model().catalog().get(user).is_some());
        std::hint::black_box(known);
        record(&mut baseline, started.elapsed());
        let started = Instant::now();
        let list = recommender.recommend(&request(user), Utc::now());
        record(&mut lists, started.elapsed());
        std::hint::black_box(list);
    }
    let p99 = percentile_ms(&lists, 0.99);
    println!(
        "in process: a list of 10 p50 {:.3} ms, p99 {p99:.3} ms (baseline, a read of the model: p99 {:.3} ms); {}",
        percentile_ms(&lists, 0.5),
        percentile_ms(&baseline, 0.99),
        target("p99 < 1 ms", p99 < 1.0, format!("{p99:.3} ms"))
    );
    figures.set("in_process_p50_ms", round2(percentile_ms(&lists, 0.5)));
    figures.set("in_process_p99_ms", p99);
    figures.set("baseline_p99_ms", percentile_ms(&baseline, 0.99));

    // The same lists while a training runs on the blocking pool.
    let mut during = latency_histogram();
    if recommender.start_training().is_ok() {
        let mut n = 0;
        while recommender.status().training {
            let user = &users[(n * 104_729) % users.len()];
            let started = Instant::now();
            std::hint::black_box(recommender.recommend(&request(user), Utc::now()));
            record(&mut during, started.elapsed());
            n += 1;
            tokio::task::yield_now().await;
        }
    }
    let during_p99 = percentile_ms(&during, 0.99);
    println!(
        "in process while training: {} lists, p99 {during_p99:.3} ms; {}",
        during.len(),
        target(
            "at most 2x the normal p99",
            during_p99 <= 2.0 * p99,
            format!("{:.2}x", ratio(during_p99, p99))
        )
    );
    figures.set("training_p99_ms", during_p99);
}

/// From a dismissal's commit to the first list without the item.
async fn freshness(
    commands: &Arc<commands::CommandService>,
    recommender: &Arc<Recommender>,
    users: &[String],
    args: &RecsArgs,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    recommender.live.spawn_follow(commands.store().committed());
    let mut delays = latency_histogram();
    let mut shown_again = 0;
    for n in 0..args.samples {
        let user = &users[(n * 31) % users.len()];
        let Some(top) = recommender
            .recommend(&request(user), Utc::now())
            .items
            .first()
            .map(|r| r.sku.clone())
        else {
            continue;
        };
        let dismissed = ActivityEvent::ActivityRecorded {
            user_id: user.clone(),
            kind: ActivityKind::Dismissed,
            sku: Some(top.clone()),
            query: None,
            model_version: None,
        };
        let at = commands
            .record_activity(vec![dismissed], &Metadata::default())
            .await?;
        let committed = Instant::now();
        recommender
            .live
            .wait_for(at, Duration::from_secs(10))
            .await
            .with_context(|| format!("the model did not reach position {at}"))?;
        let list = recommender.recommend(&request(user), Utc::now());
        record(&mut delays, committed.elapsed());
        if list.items.iter().any(|r| r.sku == top) {
            shown_again += 1;
        }
    }
    // A new listing (with stock): from its commit to being recommendable.
    let mut listings = latency_histogram();
    for n in 0..args.samples.min(20) {
        let sku = format!("fresh-{n}-{}", uuid::Uuid::now_v7().simple());
        let item = ItemInfo {
            item: sku.clone(),
            title: "Fresh stoneware mug".into(),
            category: "home/kitchen/mugs".into(),
            shop: "shop-fresh".into(),
            tags: vec!["mug".into()],
            materials: vec!["stoneware".into()],
        };
        let batches = stocked_listing(&item, 10, Utc::now())?;
        for result in commands.store().append(&batches).await? {
            result.map_err(|_| anyhow::anyhow!("the new listing's stream already existed"))?;
        }
        let committed = Instant::now();
        let deadline = committed + Duration::from_secs(10);
        while !recommender
            .live
            .read(|f| {
                f.model()
                    .catalog()
                    .get(&sku)
                    .is_some_and(|item| item.showable())
            })
            .0
        {
            if Instant::now() > deadline {
                bail!("a new listing was not recommendable in 10 s");
            }
            tokio::task::yield_now().await;
        }
        record(&mut listings, committed.elapsed());
    }
    let listing_p99 = percentile_ms(&listings, 0.99);
    println!(
        "a new listing recommendable after its commit: p99 {listing_p99:.2} ms; {}",
        target(
            "within 1 s",
            listing_p99 < 1000.0,
            format!("{listing_p99:.2} ms")
        )
    );
    figures.set("new_listing_p99_ms", listing_p99);

    let p99 = percentile_ms(&delays, 0.99);
    println!(
        "freshness: dismissal to a list without it p50 {:.2} ms, p99 {p99:.2} ms; {}; dismissed items shown again: {shown_again}",
        percentile_ms(&delays, 0.5),
        target("p99 < 100 ms", p99 < 100.0, format!("{p99:.2} ms"))
    );
    figures.set("freshness_p99_ms", p99);
    figures.set("dismissed_shown_again", shown_again);
    Ok(())
}

/// The list route over HTTP beside `/health`, on a server that loaded the saved model.
async fn over_http(args: &RecsArgs, users: &[String], figures: &mut Figures) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_server, base) = crate::reads::start_server(&args.storage).await?;
    println!(
        "the server started (loading the saved model) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let client = app::server::client_with_key(None)?;
    let server = crate::connection::Server::new(&base, None)?;
    // The server trains once it has caught up: wait for a model to be in use.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let state: serde_json::Value = client
            .get(format!("{base}/v1/admin/recommendations"))
            .send()
            .await?
            .json()
            .await?;
        if state["version"].is_string() && state["training"] == false {
            println!("the server trained its model in {} s", state["seconds"]);
            break;
        }
        if Instant::now() > deadline {
            bail!("the server trained no model in 10 minutes: {state}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let users = Arc::new(users.to_vec());
    use crate::reads::Path;
    let health: Arc<Path> = Arc::new(Box::new(|_| "/health".to_string()));
    let lists: Arc<Path> = Arc::new(Box::new(move |i| {
        format!("/v1/recommendations/{}", users[i % users.len()])
    }));
    let (connections, seconds) = (args.connections, args.duration);
    let health_saturated = crate::reads::drive(&server, health.clone(), connections, seconds).await;
    let saturated = crate::reads::drive(&server, lists.clone(), connections, seconds).await;
    println!(
        "over HTTP, {connections} closed loops (saturated: the p99 is mostly queueing): /health {:.0} req/s p99 {:.2} ms; /v1/recommendations/{{user}} {:.0} req/s p99 {:.2} ms ({} failed)",
        health_saturated.per_second,
        percentile_ms(&health_saturated.latency, 0.99),
        saturated.per_second,
        percentile_ms(&saturated.latency, 0.99),
        saturated.errors,
    );
    // Latency is read at a load the server can carry: half what it did saturated.
    let rate = args.rate.unwrap_or((saturated.per_second / 2.0).max(1.0));
    let health = crate::reads::drive_at_rate(&client, &base, health, rate, seconds).await;
    let lists = crate::reads::drive_at_rate(&client, &base, lists, rate, seconds).await;
    let (health_p99, p99) = (
        percentile_ms(&health.latency, 0.99),
        percentile_ms(&lists.latency, 0.99),
    );
    println!(
        "over HTTP at {rate:.0} req/s (open loop): /health p99 {health_p99:.2} ms; /v1/recommendations/{{user}} p50 {:.2} ms p99 {p99:.2} ms ({} failed); {}",
        percentile_ms(&lists.latency, 0.50),
        lists.errors,
        target(
            "p99 < 5 ms, or at most 3x /health's",
            p99 < 5.0 || p99 <= 3.0 * health_p99,
            format!("{:.2}x", ratio(p99, health_p99))
        )
    );
    figures.set("http_rate_per_s", round2(rate));
    figures.set("http_health_p99_ms", round2(health_p99));
    figures.set("http_p99_ms", round2(p99));
    figures.set("http_saturated_per_s", round2(saturated.per_second));
    figures.set(
        "http_saturated_p99_ms",
        round2(percentile_ms(&saturated.latency, 0.99)),
    );
    figures.set(
        "http_saturated_health_p99_ms",
        round2(percentile_ms(&health_saturated.latency, 0.99)),
    );
    figures.set("http_errors", lists.errors + saturated.errors);
    Ok(())
}
