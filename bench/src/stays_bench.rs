//! `commerce bench stays`: stays at size over HTTP, against this binary's own
//! `serve` on a freshly seeded data directory (the same generator as `commerce seed
//! --stays`, with a short history and bookings up to two years ahead, so every
//! calendar reaches over the two-year horizon), each figure beside a baseline from
//! the same run:
//!
//! * (a) search with a 25 km radius, dates, party size and ranking: requests/s,
//!   p50 and p99, beside `GET /health` driven by the same connections;
//! * (b) holds on distinct listings (`POST /v1/stays/{id}/bookings`, each on a
//!   listing and nights the seeded calendar has free): holds/s and p99, beside
//!   `/health`, once per count of connections in `--hold-connections`;
//! * (c) a race: many overlapping requests at once on a few listings, holds counted
//!   per listing and night;
//! * (d) double bookings: nights held twice as the answers tell, and the
//!   double-booking alarm (`GET /v1/admin/stays/double-bookings`) after the run;
//!   both must be 0.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use clap::Args;
use domain::stays::local_time::local_today;
use domain::stays::BookStay;
use domain::ListingCommand;
use futures::future::join_all;
use serde_json::Value;

use super::connection::{Call, Connection, Server};
use super::reads::{drive, start_server, Measured, Path};
use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use crate::seed::stays::{offset, write_stays, Place, StaysPlan, CITIES};
use crate::seed::Generator;
use api::routes::stays::guests::{BookingBody, StayAnswer};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct StaysArgs {
    /// Listings to seed, in eight cities.
    #[arg(long, default_value_t = 100_000)]
    pub listings: usize,
    /// Days of history the seed writes (searches, views, bookings, reviews).
    #[arg(long, default_value_t = 2)]
    pub history_days: i64,
    /// Searches in that history, each ranked by the model as it stands.
    #[arg(long, default_value_t = 500)]
    pub history_searches: usize,
    /// Bookings per listing made outside search, up to two years ahead: what fills
    /// the calendars.
    #[arg(long, default_value_t = 2)]
    pub calendar_stays: usize,
    /// Connections driving search and `/health`.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Connections driving the holds: a phase for each count, each on listings no
    /// other phase books. Holds are a throughput figure, and the group commit's
    /// batches (loads, appends, projection rounds) grow with the requests in flight,
    /// so throughput is read at more than one; the target is read at the best.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub hold_connections: Vec<usize>,
    /// Seconds search, holds and `/health` are each driven.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Listings the race is run on.
    #[arg(long, default_value_t = 4)]
    pub race_listings: usize,
    /// Requests in the race, all sent at once, each for 1–3 nights of a 10-night
    /// window of one of the race's listings.
    #[arg(long, default_value_t = 400)]
    pub race_requests: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// Nights of the race's window.
const RACE_WINDOW: i64 = 10;

/// A stay to book: which listing, which nights.
#[derive(Debug, Clone)]
struct Ask {
    listing: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
}

/// A hold an answer granted.
#[derive(Debug, Clone)]
struct Held {
    listing: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    position: i64,
}

/// Whether the listing would take `ask` at `now`, as its aggregate decides.
fn bookable(place: &Place, ask: &Ask, now: chrono::DateTime<Utc>) -> bool {
    let command = ListingCommand::CheckBooking {
        listing_id: place.id.clone(),
        stay: BookStay {
            stay_id: "probe".into(),
            guest: "probe".into(),
            check_in: ask.check_in,
            check_out: ask.check_out,
            guests: ask.guests,
            order_id: "probe".into(),
            search_id: None,
            hold_minutes: domain::stays::DEFAULT_HOLD_MINUTES,
        },
    };
    place.aggregate.decide(&command, now).is_ok()
}

fn zone(place: &Place) -> Tz {
    place.details.time_zone.parse().unwrap_or(Tz::UTC)
}

/// A free stay on each instant-book listing (but those of the race), from a few
/// weeks ahead.
fn free_stays(places: &[Place], skip: &[usize]) -> Vec<Ask> {
    let now = Utc::now();
    places
        .iter()
        .enumerate()
        .filter(|(i, p)| p.details.instant_book && !skip.contains(i))
        .filter_map(|(i, place)| {
            let today = local_today(zone(place), now);
            let nights = i64::from(place.details.min_nights);
            (0..20).find_map(|tries| {
                let check_in =
                    today + chrono::Duration::days(14 + (i as i64 * 13 + tries * 17) % 600);
                let ask = Ask {
                    listing: place.id.clone(),
                    check_in,
                    check_out: check_in + chrono::Duration::days(nights),
                    guests: 1,
                };
                bookable(place, &ask, now).then_some(ask)
            })
        })
        .collect()
}

/// Listings for the race (instant book, one night at least, open every day) and
/// the first night of a window of free nights on each.
fn race_windows(places: &[Place], count: usize) -> Vec<(usize, NaiveDate)> {
    let now = Utc::now();
    places
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, p)| {
            let d = &p.details;
            d.instant_book
                && d.min_nights == 1
                && d.max_nights >= 3
                && d.capacity >= 2
                && d.open_weekdays.len() == 7
        })
        .filter_map(|(i, place)| {
            let today = local_today(zone(place), now);
            let free = |night: NaiveDate| {
                bookable(
                    place,
                    &Ask {
                        listing: place.id.clone(),
                        check_in: night,
                        check_out: night + chrono::Duration::days(1),
                        guests: 1,
                    },
                    now,
                )
            };
            (30..400).find_map(|ahead| {
                let first = today + chrono::Duration::days(ahead);
                (0..RACE_WINDOW)
                    .all(|n| free(first + chrono::Duration::days(n)))
                    .then_some((i, first))
            })
        })
        .take(count)
        .collect()
}

/// Send a booking; the hold it granted (`Ok(None)`: refused as taken or closed).
/// The request and its answer are the API's own types, not built as and parsed
/// into `Value`s: the client shares the machine with the server it measures.
async fn book(
    to_server: &mut Connection,
    stay_id: &str,
    ask: &Ask,
) -> Result<Option<Held>, String> {
    let booking = BookingBody {
        stay_id: Some(stay_id.to_string()),
        guest_id: Some(format!("guest-{stay_id}")),
        check_in: ask.check_in,
        check_out: ask.check_out,
        guests: ask.guests,
        search_id: None,
    };
    let (status, body) = to_server
        .send(Call::post_json(
            format!("/v1/stays/{}/bookings", ask.listing),
            &booking,
        ))
        .await?;
    if status.as_u16() == 409 {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let answer: StayAnswer = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if answer.status != "held" {
        return Err(format!("answered {} instead of held", answer.status));
    }
    Ok(Some(Held {
        listing: ask.listing.clone(),
        check_in: ask.check_in,
        check_out: ask.check_out,
        position: answer.position,
    }))
}

/// Free stays to hold, each handed out once, to whichever phase asks next.
struct FreeStays {
    asks: Vec<Ask>,
    next: AtomicUsize,
}

impl FreeStays {
    /// The next stay not handed out yet and its number, if any is left.
    fn take(&self) -> Option<(usize, &Ask)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.asks.get(n).map(|ask| (n, ask))
    }
}

/// Holds on distinct listings, `connections` closed loops for `seconds` (or until
/// the free stays run out): the figures and the holds granted.
async fn drive_holds(
    server: &Server,
    free: Arc<FreeStays>,
    run: &str,
    connections: usize,
    seconds: u64,
) -> (Measured, Vec<Held>, Vec<String>) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let loops: Vec<_> = (0..connections)
        .map(|_| {
            let (mut to_server, free) = (Connection::new(server), free.clone());
            let run = run.to_string();
            tokio::spawn(async move {
                let mut latency = latency_histogram();
                let (mut held, mut errors) = (Vec::new(), Vec::new());
                let mut requests = 0u64;
                while Instant::now() < deadline {
                    let Some((n, ask)) = free.take() else { break };
                    let sent = Instant::now();
                    let answer = book(&mut to_server, &format!("{run}-b{n}"), ask).await;
                    record(&mut latency, sent.elapsed());
                    requests += 1;
                    match answer {
                        Ok(Some(hold)) => held.push(hold),
                        Ok(None) => errors.push(format!("{}: nights taken", ask.listing)),
                        Err(error) => errors.push(error),
                    }
                }
                (requests, held, errors, latency)
            })
        })
        .collect();
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        per_second: 0.0,
        latency: latency_histogram(),
    };
    let (mut all_held, mut all_errors) = (Vec::new(), Vec::new());
    for handle in loops {
        if let Ok((requests, held, errors, latency)) = handle.await {
            measured.requests += requests;
            measured.errors += errors.len() as u64;
            measured.latency.add(latency).expect("same bounds");
            all_held.extend(held);
            all_errors.extend(errors);
        }
    }
    measured.per_second = ratio(all_held.len() as f64, started.elapsed().as_secs_f64());
    (measured, all_held, all_errors)
}

/// Nights held more than once, and the most holds of one night, by the answers.
fn nights_held_twice(held: &[Held]) -> (u64, u64) {
    let mut count: HashMap<(&str, NaiveDate), u64> = HashMap::new();
    for hold in held {
        let mut night = hold.check_in;
        while night < hold.check_out {
            *count.entry((&hold.listing, night)).or_default() += 1;
            night += chrono::Duration::days(1);
        }
    }
    let twice = count.values().map(|c| c.saturating_sub(1)).sum();
    (twice, count.values().copied().max().unwrap_or(0))
}

pub async fn run(args: StaysArgs) -> anyhow::Result<()> {
    if args.listings < 16
        || args.connections == 0
        || args.duration == 0
        || args.hold_connections.is_empty()
        || args.hold_connections.contains(&0)
    {
        bail!("--listings must be at least 16, --connections, --hold-connections and --duration at least 1");
    }
    let mut figures = Figures::default();
    let run = format!("bench-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let (holds, race) = {
        let (_lock, backend) = open_exclusive(&args.storage, "bench stays").await?;
        let store = backend.commands.store();
        let plan = StaysPlan {
            listings: args.listings,
            days: args.history_days.clamp(1, 730),
            searches: args.history_searches,
            calendar_stays: args.calendar_stays.min(20),
            late_share: 0.0,
            max_lead_days: 300,
            seed: args.seed,
            end: Utc::now(),
            prefix: run.clone(),
        };
        let started = Instant::now();
        let world = write_stays(store, plan).await?;
        let seeded = started.elapsed().as_secs_f64();
        println!(
            "seeded in {seeded:.1} s ({} days of history; log head {}):\n{}",
            args.history_days,
            store.head_position().await?,
            world.summary
        );
        let started = Instant::now();
        backend.stay_nights.catch_up().await?;
        let nights = started.elapsed().as_secs_f64();
        println!("the booked-nights projection caught up in {nights:.1} s");
        figures.set("listings", args.listings);
        figures.set("seed_s", round2(seeded));
        figures.set("events", world.summary.events);
        figures.set("calendar_stays", world.summary.calendar_stays);
        let race = race_windows(world.places(), args.race_listings.max(1));
        let skip: Vec<usize> = race.iter().map(|(i, _)| *i).collect();
        let holds = free_stays(world.places(), &skip);
        let race: Vec<(String, NaiveDate)> = race
            .into_iter()
            .map(|(i, first)| (world.places()[i].id.clone(), first))
            .collect();
        (holds, race)
    };
    if race.is_empty() {
        bail!("no listing has ten free nights in a row for the race");
    }

    let (_server, base) = start_server(&args.storage).await?;
    let client = reqwest::Client::new();
    let server = Server::new(&base, None)?;
    // A fresh server rebuilds its models from the log while already listening:
    // measured before they are caught up, searches would share the machine with
    // that replay (and read a partial model).
    let started = Instant::now();
    caught_up(&client, &base).await?;
    println!(
        "the server's models reached the log's head {:.1} s after it listened",
        started.elapsed().as_secs_f64()
    );

    // (a) Search beside /health.
    let health: Arc<Path> = Arc::new(Box::new(|_| "/health".to_string()));
    let trivial = drive(&server, health, args.connections, args.duration).await;
    let today = Utc::now().date_naive();
    let search: Arc<Path> = Arc::new(Box::new(move |i| {
        let mut g = Generator::new(i as u64);
        let city = &CITIES[i % CITIES.len()];
        let mut km = || (g.below(8_001) as f64 - 4_000.0) / 1_000.0;
        let at = offset(city.centre, km(), km());
        let check_in = today + chrono::Duration::days(14 + g.below(300) as i64);
        let check_out = check_in + chrono::Duration::days(2 + g.below(4) as i64);
        format!(
            "/v1/stays/search?lat={:.5}&lon={:.5}&radius_km=25&check_in={check_in}&check_out={check_out}&guests={}",
            at.lat,
            at.lon,
            1 + g.below(4)
        )
    }));
    let searched = drive(&server, search, args.connections, args.duration).await;
    let (health_p99, search_p99) = (
        percentile_ms(&trivial.latency, 0.99),
        percentile_ms(&searched.latency, 0.99),
    );
    println!(
        "\n{:<40} {:>10} {:>9} {:>9}",
        "over HTTP", "req/s", "p50 ms", "p99 ms"
    );
    for (name, m) in [
        ("GET /health (baseline)", &trivial),
        ("GET /v1/stays/search (25 km, dates)", &searched),
    ] {
        println!(
            "{name:<40} {:>10.0} {:>9.2} {:>9.2}{}",
            m.per_second,
            percentile_ms(&m.latency, 0.5),
            percentile_ms(&m.latency, 0.99),
            m.failures(None)
        );
    }
    let p99_ratio = ratio(search_p99, health_p99);
    println!(
        "target: {}",
        target(
            "search p99 under 50 ms, or at most 10x the /health p99",
            search_p99 < 50.0 || p99_ratio <= 10.0,
            format!("{search_p99:.2} ms, {p99_ratio:.1}x")
        )
    );
    figures.set("health_per_s", round2(trivial.per_second));
    figures.set("health_p99_ms", round2(health_p99));
    figures.set("search_per_s", round2(searched.per_second));
    figures.set(
        "search_p50_ms",
        round2(percentile_ms(&searched.latency, 0.5)),
    );
    figures.set("search_p99_ms", round2(search_p99));
    figures.set("search_p99_vs_health", round2(p99_ratio));
    figures.set("search_errors", searched.errors);

    // (b) Holds on distinct listings, a phase per count of connections.
    let free = Arc::new(FreeStays {
        asks: holds,
        next: AtomicUsize::new(0),
    });
    let mut held_all = Vec::new();
    let mut hold_errors = 0;
    let mut best: Option<(usize, f64, f64)> = None;
    for &connections in &args.hold_connections {
        let (held, granted, errors) =
            drive_holds(&server, free.clone(), &run, connections, args.duration).await;
        let holds_p99 = percentile_ms(&held.latency, 0.99);
        println!(
            "{:<40} {:>10.0} {:>9.2} {:>9.2}{}",
            format!("POST /v1/stays/{{id}}/bookings ({connections} c.)"),
            held.per_second,
            percentile_ms(&held.latency, 0.5),
            holds_p99,
            held.failures(errors.first().map(String::as_str))
        );
        figures.set(
            &format!("holds_per_s_at_{connections}"),
            round2(held.per_second),
        );
        figures.set(&format!("holds_p99_ms_at_{connections}"), round2(holds_p99));
        if best.is_none_or(|(_, per_second, _)| held.per_second > per_second) {
            best = Some((connections, held.per_second, holds_p99));
        }
        hold_errors += held.errors;
        held_all.extend(granted);
    }
    let (connections, per_second, holds_p99) = best.expect("at least one phase");
    let versus = ratio(per_second, trivial.per_second);
    println!(
        "target: {} (best, at {connections} connections; /health {:.0} req/s at {}: {versus:.2}x)",
        target(
            "at least 5,000 holds/s on distinct listings",
            per_second >= 5_000.0,
            format!("{per_second:.0}/s")
        ),
        trivial.per_second,
        args.connections
    );
    figures.set("holds", held_all.len());
    figures.set("holds_per_s", round2(per_second));
    figures.set("holds_connections", connections);
    figures.set("holds_p99_ms", round2(holds_p99));
    figures.set("holds_vs_health", round2(versus));
    figures.set("holds_errors", hold_errors);

    // (c) The race: every request at once.
    let mut g = Generator::new(args.seed ^ 0xace);
    let asks: Vec<Ask> = (0..args.race_requests.max(1))
        .map(|n| {
            let (listing, first) = &race[n % race.len()];
            let nights = 1 + g.below(3) as i64;
            let check_in =
                *first + chrono::Duration::days(g.below((RACE_WINDOW - nights + 1) as u64) as i64);
            Ask {
                listing: listing.clone(),
                check_in,
                check_out: check_in + chrono::Duration::days(nights),
                guests: 2,
            }
        })
        .collect();
    let started = Instant::now();
    let answers = join_all(asks.iter().enumerate().map(|(n, ask)| {
        let (mut to_server, run) = (Connection::new(&server), &run);
        async move { book(&mut to_server, &format!("{run}-r{n}"), ask).await }
    }))
    .await;
    let race_seconds = started.elapsed().as_secs_f64();
    let mut race_held = Vec::new();
    let (mut refused, mut failed) = (0u64, Vec::new());
    for answer in answers {
        match answer {
            Ok(Some(hold)) => race_held.push(hold),
            Ok(None) => refused += 1,
            Err(error) => failed.push(error),
        }
    }
    let (race_twice, race_most) = nights_held_twice(&race_held);
    let mut per_listing: BTreeMap<&str, u64> = BTreeMap::new();
    for hold in &race_held {
        *per_listing.entry(&hold.listing).or_default() +=
            (hold.check_out - hold.check_in).num_days() as u64;
    }
    println!(
        "\nrace: {} requests at once on {} listings ({} nights each) in {race_seconds:.2} s: {} held, {} refused as taken, {} failed; nights held per listing {:?} (of {RACE_WINDOW}); most holds of one night: {race_most}",
        asks.len(),
        race.len(),
        RACE_WINDOW,
        race_held.len(),
        refused,
        failed.len(),
        per_listing.values().collect::<Vec<_>>()
    );
    figures.set("race_requests", asks.len());
    figures.set("race_held", race_held.len());
    figures.set("race_refused", refused);
    figures.set("race_failed", failed.len());
    figures.set("race_most_holds_of_a_night", race_most);

    // (d) Double bookings: by the answers, and by the alarm.
    held_all.extend(race_held);
    let (twice, _) = nights_held_twice(&held_all);
    let position = held_all.iter().map(|h| h.position).max().unwrap_or(0);
    let alarm = alarm(&client, &base, position).await?;
    println!(
        "double bookings: {twice} nights held twice by the answers; {alarm} by the alarm (GET /v1/admin/stays/double-bookings at position {position}); {}",
        target(
            "0 and 0",
            twice == 0 && alarm == 0,
            format!("{twice}, {alarm}")
        )
    );
    figures.set("nights_held_twice", twice);
    figures.set("race_nights_held_twice", race_twice);
    figures.set("alarm_double_bookings", alarm);
    if args.output.json {
        figures.print_json();
    }
    if twice > 0 || alarm > 0 {
        bail!("a night was held twice");
    }
    if let Some(first) = failed.first() {
        bail!("{} race requests failed (first: {first})", failed.len());
    }
    if hold_errors > 0 || searched.errors > 0 {
        bail!(
            "{hold_errors} holds and {} searches failed",
            searched.errors
        );
    }
    Ok(())
}

/// Wait until the server's stays model and availability reflect the log's head.
async fn caught_up(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let ready = |body: &Value| body["head"].as_i64().unwrap_or(0);
    let head = ready(
        &client
            .get(format!("{base}/ready"))
            .send()
            .await?
            .json()
            .await?,
    );
    let today = Utc::now().date_naive() + chrono::Duration::days(30);
    let probe = format!(
        "{base}/v1/stays/search?lat=0&lon=0&radius_km=1&check_in={today}&check_out={}&guests=1&min_position={head}",
        today + chrono::Duration::days(1)
    );
    loop {
        let stays = client.get(&probe).send().await?.status().is_success();
        let body: Value = client
            .get(format!("{base}/ready"))
            .send()
            .await?
            .json()
            .await?;
        if stays && body["availability_position"].as_i64().unwrap_or(0) >= head {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server's models did not reach position {head} within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The double-booking alarm's count once the projection reflects `position`
/// (waiting while it catches up).
async fn alarm(client: &reqwest::Client, base: &str, position: i64) -> anyhow::Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let response = client
            .get(format!(
                "{base}/v1/admin/stays/double-bookings?min_position={position}"
            ))
            .send()
            .await?;
        if response.status().as_u16() == 503 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let found: Value = response.error_for_status()?.json().await?;
        return Ok(found["double_bookings"].as_array().map_or(0, Vec::len));
    }
}
