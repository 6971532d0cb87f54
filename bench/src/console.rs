//! `commerce bench console`: the operator console at size. Each page's server-side
//! time (one client in a closed loop, p50 and p99) beside `/health` read the same way
//! in the same run, against the target of 20 ms; then a thousand idle clients on the
//! live stream, with the server's memory before and after (target: under 50 MB for
//! all of them) and how many snapshots one client gets a second.
//!
//! Without `--http` it seeds a catalog, starts this binary's own `serve` on it as a
//! child process, places orders and runs a flash sale through the API, and stops the
//! server at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{percentile_ms, ratio, round2, target, Figures, Output};
use crate::connection::Server;
use crate::reads::{drive, skus_in_stock, start_server, Path};
use crate::seed::{write_catalog, SEED_WAREHOUSE};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Products to seed first.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Orders to place through the API before reading.
    #[arg(long, default_value_t = 500)]
    pub orders: usize,
    /// Seconds each page is read.
    #[arg(long, default_value_t = 3)]
    pub duration: u64,
    /// Idle clients held on the live stream (the server's default cap).
    #[arg(long, default_value_t = 1_000)]
    pub stream_clients: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// The server's resident memory, in MiB (Linux).
fn resident_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS in /proc/<pid>/status")?;
    Ok(kib / 1024.0)
}

/// A client on the live stream that has read its first snapshot; held open.
async fn stream_client(address: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(address).await?;
    stream
        .write_all(
            b"GET /v1/admin/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: snapshot") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            bail!(
                "the stream closed: {}",
                String::from_utf8_lossy(&seen).lines().next().unwrap_or("")
            );
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    Ok(stream)
}

/// Snapshots one more client reads in `seconds`.
async fn snapshots_in(address: &str, seconds: u64) -> anyhow::Result<usize> {
    let mut stream = stream_client(address).await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut count = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(read)) => {
                count += String::from_utf8_lossy(&buffer[..read])
                    .matches("event: snapshot")
                    .count()
            }
            Ok(Err(e)) => return Err(e.into()),
        }
    }
    Ok(count)
}

pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    app::server::raise_open_file_limit();
    {
        let (_lock, backend) = open_exclusive(&args.storage, "bench console").await?;
        eprintln!("seeding {} products", args.products);
        write_catalog(backend.commands.store(), args.products, 11, true).await?;
    }
    let (server, base) = start_server(&args.storage).await?;
    let pid = server.id().context("the server's process id")?;
    let client = app::server::client_with_key(None)?;
    let server = Server::new(&base, None)?;
    let skus = skus_in_stock(&client, &base).await?;
    eprintln!("placing {} orders and running a flash sale", args.orders);
    for i in 0..args.orders {
        let sku = &skus[i % skus.len()];
        client
            .post(format!("{base}/v1/orders"))
            .json(
                &json!({"order_id": format!("o-{i}"), "lines": [{"sku": sku, "quantity": 1}],
                          "ship_to": {"region": "nl"}}),
            )
            .send()
            .await?;
    }
    let now = chrono::Utc::now();
    client
        .post(format!("{base}/v1/flash-sales"))
        .json(&json!({
            "sale_id": "bench-drop", "sku": skus[0], "warehouse_id": SEED_WAREHOUSE, "units": 5,
            "price": {"amount": 499, "currency": "EUR"},
            "starts_at": now - chrono::Duration::minutes(1),
            "ends_at": now + chrono::Duration::hours(1),
        }))
        .send()
        .await?;
    for buyer in 0..3 {
        client
            .post(format!("{base}/v1/flash-sales/bench-drop/purchase"))
            .json(&json!({"quantity": 1, "user_id": format!("b-{buyer}")}))
            .send()
            .await?;
    }

    let pages: Vec<(&str, String)> = vec![
        ("/health", "/health".into()),
        ("overview", "/console".into()),
        ("stock", format!("/console/stock?sku={}", skus[0])),
        ("flash-sales", "/console/flash-sales".into()),
        ("orders", "/console/orders".into()),
        ("order timeline", "/console/orders?order=o-0".into()),
        ("projections", "/console/projections".into()),
        (
            "recommendations",
            "/console/recommendations?user=b-1".into(),
        ),
        ("delivery", "/console/delivery".into()),
        ("stays", "/console/stays".into()),
    ];
    println!(
        "bench console: {} products, {} orders, one client per page for {} s",
        args.products, args.orders, args.duration
    );
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>11}",
        "page", "req/s", "p50 ms", "p99 ms", "p99 ×/health"
    );
    let mut figures = Figures::default();
    let mut health_p99 = None;
    let mut slowest = (String::new(), 0.0_f64);
    for (name, path) in pages {
        let path: Arc<Path> = Arc::new(Box::new(move |_| path.clone()));
        let measured = drive(&server, path, 1, args.duration).await;
        if measured.errors > 0 {
            bail!(
                "{name}: {} of {} requests failed",
                measured.errors,
                measured.requests
            );
        }
        let p50 = percentile_ms(&measured.latency, 0.5);
        let p99 = percentile_ms(&measured.latency, 0.99);
        let baseline = *health_p99.get_or_insert(p99);
        println!(
            "{name:<18} {:>9.0} {p50:>9.2} {p99:>9.2} {:>10.1}x",
            measured.per_second,
            ratio(p99, baseline)
        );
        let key = name.replace(['-', ' ', '/'], "_");
        figures.set(&format!("{}_p50_ms", key.trim_matches('_')), round2(p50));
        figures.set(&format!("{}_p99_ms", key.trim_matches('_')), round2(p99));
        if name != "/health" && p99 > slowest.1 {
            slowest = (name.to_string(), p99);
        }
    }

    let address = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let before = resident_mib(pid)?;
    let mut clients = Vec::with_capacity(args.stream_clients);
    let started = Instant::now();
    for _ in 0..args.stream_clients {
        clients.push(stream_client(&address).await?);
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    let held = clients.len();
    // Let every client take a few snapshots, idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = resident_mib(pid)?;
    let per_second = snapshots_in_one_more(&address, &mut clients).await?;
    let grown = after - before;
    println!(
        "live stream: {} idle clients connected in {connect_seconds:.1} s; server memory {before:.1} → {after:.1} MiB (+{grown:.1} MiB, {:.1} KiB a client); one client reads {per_second:.1} snapshots/s",
        held,
        grown * 1024.0 / held.max(1) as f64,
    );
    figures.set("stream_clients", held);
    figures.set("stream_memory_mib", round2(grown));
    figures.set("stream_snapshots_per_s", round2(per_second));
    println!(
        "targets: {}; {}; {}",
        target(
            "every page renders in < 20 ms (p99, one client)",
            slowest.1 < 20.0,
            format!("slowest {} {:.2} ms", slowest.0, slowest.1)
        ),
        target(
            "1,000 idle stream clients in < 50 MB",
            grown < 50.0 && held >= 1_000,
            format!("{grown:.1} MiB for {held}")
        ),
        target(
            "a few updates a second at most",
            per_second <= 3.0,
            format!("{per_second:.1}/s")
        ),
    );
    drop(clients);
    if args.output.json {
        figures.print_json();
    }
    Ok(())
}

/// Snapshots a second one client reads (one of the held clients gives up its place,
/// so the cap is not exceeded).
async fn snapshots_in_one_more(address: &str, clients: &mut Vec<TcpStream>) -> anyhow::Result<f64> {
    clients.pop();
    // The server notices the closed connection when it next writes to it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    const SECONDS: u64 = 5;
    let count = snapshots_in(address, SECONDS).await?;
    Ok(count as f64 / SECONDS as f64)
}
