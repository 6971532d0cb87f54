//! `commerce bench relay`: the log through NATS JetStream.
//!
//! Seeds a backlog (`--backlog`, 1,000,000 stock events by default) into the log,
//! then measures, beside raw pipelined async-nats publishes of the same messages in
//! the same run: the relay's catch-up over the backlog (events/s); a query node's
//! copy rebuilt from the stream (events/s); and, at a steady write rate (`--rate`,
//! 5,000 events/s), the lag from commit to the event being in a query node's copy,
//! where its read models take it (percentiles). Every run checks that the stream
//! holds exactly the log's events, in order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use clap::Args;
use commands::{AppendBatch, EventStore};
use event_schemas::{Metadata, StockEvent, CURRENT_EVENT_VERSION};

use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// NATS with JetStream.
    #[arg(long, env = "COMMERCE_EVENTS", default_value = "nats://127.0.0.1:4222")]
    pub events: String,
    /// Events seeded into the log before the relay starts.
    #[arg(long, default_value_t = 1_000_000)]
    pub backlog: usize,
    /// Events per second written while the lag is measured.
    #[arg(long, default_value_t = 5_000)]
    pub rate: u64,
    /// How long the lag is measured, in seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// Messages in flight in the raw publish baseline, as many as the relay's batch
/// lets it have.
const RAW_WINDOW: usize = 2_000;
/// Appends per second while measuring the lag (each a few events).
const WRITES_PER_SECOND: u64 = 100;

pub async fn run(args: RelayArgs) -> anyhow::Result<()> {
    let (_lock, backend) = open_exclusive(&args.storage, "bench relay").await?;
    let store = backend.commands.store().clone();
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let naming = bus::Naming::new(&format!("bench-{}", &run_id[20..]))?;
    let client = bus::connect(&args.events, "commerce bench relay").await?;
    let jetstream = bus::relay::context(client.clone());

    let failover_seconds = match &args.storage.database_url {
        Some(url) => {
            eprintln!("relay failover: two command nodes, the relaying one killed with SIGKILL");
            Some(failover(&args.storage.data_dir, url, &args.events, &naming).await?)
        }
        None => None,
    };

    if args.backlog > 0 {
        eprintln!("seeding a backlog of {} events", args.backlog);
        super::replay::seed(&store, args.backlog).await?;
    }
    let head = store.head_position().await?;
    let backlog = store.database().read_envelopes_after(0, 1).await?;
    anyhow::ensure!(!backlog.is_empty(), "the log is empty: seed a backlog");

    eprintln!("baseline: raw pipelined publish of the same messages");
    let (raw_messages, raw_seconds) = raw_publish(&store, &jetstream, &naming).await?;
    let raw_per_s = ratio(raw_messages as f64, raw_seconds);

    eprintln!("relay catch-up over the log ({head} positions)");
    let started = Instant::now();
    let mut relay = bus::relay::spawn_relay(store.clone(), client.clone(), naming.clone());
    relay
        .wait_for(|r| r.position >= head)
        .await
        .context("the relay stopped")?;
    let catch_up_seconds = started.elapsed().as_secs_f64();
    let mut stream = naming.ensure_stream(&jetstream).await?;
    let relayed = stream.info().await?.state.messages;
    let catch_up_per_s = ratio(relayed as f64, catch_up_seconds);

    eprintln!("a query node's copy rebuilt from the stream");
    let copy_dir = tempdir_in(&args.storage.data_dir)?;
    let copy = EventStore::open_copy(commands::Database::connect(None, &copy_dir).await?).await?;
    let started = Instant::now();
    let copied =
        bus::copier::copy_through(&copy, client.clone(), &naming, "bench-rebuild", head).await?;
    let copy_seconds = started.elapsed().as_secs_f64();
    let copy_per_s = ratio(copied as f64, copy_seconds);
    eprintln!("baseline: raw pull of the whole stream (acknowledged, nothing parsed or written)");
    let (pulled, pull_seconds) = raw_pull(&jetstream, &naming).await?;
    let pull_per_s = ratio(pulled as f64, pull_seconds);
    eprintln!(
        "baseline: raw ordered push of the whole stream (nothing acknowledged, parsed or written)"
    );
    let (pushed, push_seconds) = raw_push(&jetstream, &naming).await?;
    let push_per_s = ratio(pushed as f64, push_seconds);

    eprintln!(
        "commit → copied on a query node at {} events/s for {} s",
        args.rate, args.seconds
    );
    let _copier = bus::copier::spawn_copier(
        copy.clone(),
        client.clone(),
        naming.clone(),
        "bench-steady".into(),
    );
    let (lag, written, write_seconds) = steady_lag(&store, &copy, args.rate, args.seconds).await?;

    // The stream is the log: as many messages as events, and the last one the head.
    let head = store.head_position().await?;
    relay
        .wait_for(|r| r.position >= head)
        .await
        .context("the relay stopped")?;
    let events = store
        .database()
        .read_envelopes_after(0, i64::MAX)
        .await?
        .len() as u64;
    let (messages, last_position) = {
        let info = stream.info().await?.state.clone();
        let (_, position) = bus::relay::relayed_through(&mut stream).await?;
        (info.messages, position)
    };
    let stream_is_log = messages == events && last_position == head;
    let _ = jetstream.delete_stream(naming.stream()).await;

    let p50 = percentile_ms(&lag, 0.50);
    let p99 = percentile_ms(&lag, 0.99);
    let written_per_s = ratio(written as f64, write_seconds);
    println!(
        "raw pipelined publish (baseline): {raw_per_s:>10.0} msg/s   ({raw_messages} messages)"
    );
    println!(
        "relay catch-up:                   {catch_up_per_s:>10.0} events/s ({relayed} in {catch_up_seconds:.2} s, {:.2}x raw)",
        ratio(catch_up_per_s, raw_per_s)
    );
    println!(
        "query node copy from the stream:  {copy_per_s:>10.0} events/s ({copied} in {copy_seconds:.2} s, {:.2}x raw pull)",
        ratio(copy_per_s, pull_per_s)
    );
    println!("raw pull of the stream (baseline): {pull_per_s:>9.0} msg/s   ({pulled} messages)");
    println!("raw ordered push (baseline):      {push_per_s:>10.0} msg/s   ({pushed} messages)");
    println!(
        "commit → copied at {written_per_s:.0} events/s: p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms ({} events)",
        percentile_ms(&lag, 1.0),
        lag.len()
    );
    println!("stream = log: {stream_is_log} ({messages} messages, {events} events)");
    if let Some(seconds) = failover_seconds {
        println!("relay failover after SIGKILL: {seconds:.2} s");
        println!(
            "{}",
            target("failover < 5 s", seconds < 5.0, format!("{seconds:.2} s"))
        );
    }
    println!(
        "{}",
        target(
            "catch-up ≥ 50,000 events/s and ≥ 0.5x raw",
            catch_up_per_s >= 50_000.0 && catch_up_per_s >= 0.5 * raw_per_s,
            format!(
                "{catch_up_per_s:.0}, {:.2}x",
                ratio(catch_up_per_s, raw_per_s)
            )
        )
    );
    println!(
        "{}",
        target(
            "copy ≥ 100,000 events/s",
            copy_per_s >= 100_000.0,
            format!("{copy_per_s:.0}")
        )
    );
    println!(
        "{}",
        target(
            "commit → copied p99 < 100 ms",
            p99 < 100.0,
            format!("{p99:.1} ms")
        )
    );
    if args.output.json {
        let mut figures = Figures::default();
        figures.set("raw_publish_per_s", round2(raw_per_s));
        figures.set("catch_up_events", relayed);
        figures.set("catch_up_per_s", round2(catch_up_per_s));
        figures.set("catch_up_vs_raw", round2(ratio(catch_up_per_s, raw_per_s)));
        figures.set("copy_per_s", round2(copy_per_s));
        figures.set("raw_pull_per_s", round2(pull_per_s));
        figures.set("raw_push_per_s", round2(push_per_s));
        figures.set("steady_events_per_s", round2(written_per_s));
        figures.set("lag_p50_ms", round2(p50));
        figures.set("lag_p99_ms", round2(p99));
        figures.set("stream_is_log", stream_is_log);
        if let Some(seconds) = failover_seconds {
            figures.set("failover_seconds", round2(seconds));
        }
        figures.print_json();
    }
    anyhow::ensure!(
        stream_is_log,
        "the stream does not hold the log's events once each"
    );
    Ok(())
}

fn tempdir_in(data_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join(format!(
        "bench-relay-copy-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Publish the log's first messages (up to 200,000), as the relay would build them,
/// to a stream of their own, keeping [`RAW_WINDOW`] acks in flight.
async fn raw_publish(
    store: &EventStore,
    jetstream: &jetstream::Context,
    naming: &bus::Naming,
) -> anyhow::Result<(usize, f64)> {
    let raw = bus::Naming::new(&format!("{}-raw", naming.prefix()))?;
    raw.ensure_stream(jetstream).await?;
    let events = store.database().read_envelopes_after(0, 200_000).await?;
    let messages: Vec<_> = events
        .into_iter()
        .map(|event| bus::cloudevent::message(&raw, event))
        .collect();
    let count = messages.len();
    let started = Instant::now();
    let mut in_flight = VecDeque::with_capacity(RAW_WINDOW);
    for (subject, message) in messages {
        if in_flight.len() == RAW_WINDOW {
            let ack: jetstream::context::PublishAckFuture = in_flight.pop_front().expect("full");
            ack.await?;
        }
        in_flight.push_back(jetstream.send_publish(subject, message).await?);
    }
    for ack in in_flight {
        ack.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = jetstream.delete_stream(raw.stream()).await;
    Ok((count, seconds))
}

/// Pull every message of the stream through a durable consumer of its own (batches
/// of 4,000, all acknowledged with the last: how query nodes copied before they took
/// a push consumer), doing nothing else with them.
async fn raw_pull(
    jetstream: &jetstream::Context,
    naming: &bus::Naming,
) -> anyhow::Result<(u64, f64)> {
    use futures::StreamExt;
    let (stream, end) = stream_and_last(jetstream, naming).await?;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("bench-raw-pull".into()),
            ack_policy: jetstream::consumer::AckPolicy::All,
            max_ack_pending: 16_000,
            ..Default::default()
        })
        .await?;
    let started = Instant::now();
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(4_000)
        .messages()
        .await?;
    let mut pulled = 0u64;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!("{e}"))?;
        pulled += 1;
        let sequence = stream_sequence(&message)?;
        if pulled.is_multiple_of(4_000) || sequence >= end {
            message.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        if sequence >= end {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(messages);
    let _ = stream.delete_consumer("bench-raw-pull").await;
    Ok((pulled, seconds))
}

/// The stream of `naming` and the sequence of its last message: where a baseline
/// consumer stops.
async fn stream_and_last(
    jetstream: &jetstream::Context,
    naming: &bus::Naming,
) -> anyhow::Result<(jetstream::stream::Stream, u64)> {
    let mut stream = naming.ensure_stream(jetstream).await?;
    let end = bus::naming::last_sequence(&mut stream).await?;
    Ok((stream, end))
}

/// The stream sequence a delivered message carries.
fn stream_sequence(message: &jetstream::Message) -> anyhow::Result<u64> {
    let info = message.info().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(info.stream_sequence)
}

/// Messages a second an ordered push consumer (the server sends as fast as flow
/// control lets it, nothing acknowledged) delivers the whole stream at.
async fn raw_push(
    jetstream: &jetstream::Context,
    naming: &bus::Naming,
) -> anyhow::Result<(u64, f64)> {
    use futures::StreamExt;
    let (stream, end) = stream_and_last(jetstream, naming).await?;
    let consumer = stream
        .create_consumer(jetstream::consumer::push::OrderedConfig {
            deliver_subject: jetstream.client().new_inbox(),
            ..Default::default()
        })
        .await?;
    let started = Instant::now();
    let mut messages = consumer.messages().await?;
    let mut pushed = 0u64;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!("{e}"))?;
        pushed += 1;
        let sequence = stream_sequence(&message)?;
        if sequence >= end {
            break;
        }
    }
    Ok((pushed, started.elapsed().as_secs_f64()))
}

/// Append at `rate` events/s for `seconds`, timing each event from its commit to
/// its arrival in `copy`.
async fn steady_lag(
    store: &EventStore,
    copy: &EventStore,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, u64, f64)> {
    let committed: Arc<Mutex<VecDeque<(i64, u64, Instant)>>> = Default::default();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let committed = committed.clone();
        let mut copied = copy.committed();
        tokio::spawn(async move {
            let mut lag = latency_histogram();
            loop {
                let reached = *copied.borrow_and_update();
                let arrived = Instant::now();
                {
                    let mut committed = committed.lock().expect("not poisoned");
                    while let Some(&(position, events, at)) = committed.front() {
                        if position > reached {
                            break;
                        }
                        for _ in 0..events {
                            record(&mut lag, arrived - at);
                        }
                        committed.pop_front();
                    }
                }
                tokio::select! {
                    changed = copied.changed() => if changed.is_err() { return lag },
                    _ = &mut stopped => return lag,
                }
            }
        })
    };
    let per_write = (rate / WRITES_PER_SECOND).max(1) as usize;
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let mut every = tokio::time::interval(Duration::from_millis(1_000 / WRITES_PER_SECOND));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut written = 0u64;
    let mut last = 0;
    let mut write = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        every.tick().await;
        // A few stocks per write, as concurrent shoppers' commands would be.
        let batches: Vec<AppendBatch> = (0..per_write)
            .map(|i| {
                let sku = format!("L-{run}-{write}-{i}");
                Ok(AppendBatch {
                    aggregate_type: "stock".into(),
                    aggregate_id: event_schemas::stock::stock_aggregate_id(&sku, "lag"),
                    expected_sequence: 0,
                    events: vec![commands::NewEvent {
                        event_id: uuid::Uuid::now_v7(),
                        event_type: "StockReceived".into(),
                        event_version: CURRENT_EVENT_VERSION.into(),
                        payload: serde_json::to_string(&StockEvent::StockReceived {
                            sku,
                            warehouse_id: "lag".into(),
                            quantity: 1,
                        })?,
                        metadata: Metadata::default(),
                        occurred_at: chrono::Utc::now(),
                    }],
                    receipts: Vec::new(),
                })
            })
            .collect::<Result<_, serde_json::Error>>()?;
        let positions = store.append(&batches).await?;
        let at = Instant::now();
        last = positions
            .iter()
            .filter_map(|p| p.as_ref().ok().and_then(|p| p.last().copied()))
            .max()
            .unwrap_or(last);
        committed
            .lock()
            .expect("not poisoned")
            .push_back((last, per_write as u64, at));
        written += per_write as u64;
        write += 1;
    }
    let write_seconds = started.elapsed().as_secs_f64();
    // Wait for the last write to arrive, then stop the watcher.
    let mut copied = copy.committed();
    tokio::time::timeout(Duration::from_secs(60), copied.wait_for(|p| *p >= last))
        .await
        .context("the copy did not reach the last write within a minute")??;
    // Every write has arrived and been timed; the watcher stops.
    let _ = stop.send(());
    let lag = match tokio::time::timeout(Duration::from_secs(5), watcher).await {
        Ok(joined) => joined?,
        Err(_) => anyhow::bail!("the lag watcher did not stop"),
    };
    Ok((lag, written, write_seconds))
}

/// A `commerce serve --role command` child of this binary on the bench's database.
struct Node {
    child: tokio::process::Child,
    base: String,
}

async fn start_node(
    data_dir: &std::path::Path,
    database_url: &str,
    events: &str,
    prefix: &str,
) -> anyhow::Result<Node> {
    use tokio::io::AsyncBufReadExt;
    std::fs::create_dir_all(data_dir)?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--role", "command", "--listen", "127.0.0.1:0"])
        .args(["--events", events, "--nats-prefix", prefix])
        .args(["--database-url", database_url])
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(address) = line.trim().strip_prefix("listening on ") {
                return Ok(address.to_string());
            }
        }
        anyhow::bail!("the node ended before it listened")
    })
    .await
    .context("the node did not start within a minute")??;
    Ok(Node { child, base })
}

/// The relay state a node's `/ready` shows.
async fn relay_state(http: &reqwest::Client, node: &Node) -> Option<String> {
    let ready: serde_json::Value = http
        .get(format!("{}/ready", node.base))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    ready["bus"]["relay"]["state"].as_str().map(str::to_string)
}

/// Wait (polling `/ready` every 20 ms, up to 30 s) until `node`'s relay is `state`.
async fn wait_state(http: &reqwest::Client, node: &Node, state: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if relay_state(http, node).await.as_deref() == Some(state) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("the relay at {} never became {state}", node.base)
}

/// Seconds from SIGKILL of the relaying node to the standby node relaying.
async fn failover(
    data_dir: &std::path::Path,
    database_url: &str,
    events: &str,
    naming: &bus::Naming,
) -> anyhow::Result<f64> {
    let prefix = format!("{}-failover", naming.prefix());
    let http = reqwest::Client::new();
    let mut first = start_node(&data_dir.join("failover-a"), database_url, events, &prefix).await?;
    wait_state(&http, &first, "relaying").await?;
    let second = start_node(&data_dir.join("failover-b"), database_url, events, &prefix).await?;
    wait_state(&http, &second, "standby").await?;
    let killed = Instant::now();
    first.child.start_kill()?;
    first.child.wait().await?;
    wait_state(&http, &second, "relaying").await?;
    let seconds = killed.elapsed().as_secs_f64();
    // Stopped with SIGTERM, it lets the lease go before the bench's own relay runs.
    if let Some(pid) = second.child.id() {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
    }
    let mut second = second;
    second.child.wait().await?;
    let client = bus::connect(events, "commerce bench relay").await?;
    let _ = jetstream::new(client)
        .delete_stream(bus::Naming::new(&prefix)?.stream())
        .await;
    Ok(seconds)
}
