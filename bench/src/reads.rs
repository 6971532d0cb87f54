//! `commerce bench reads`: the query routes over HTTP, each driven like wrk (N
//! connections in a closed loop for a fixed time), printed beside `/health` driven
//! the same way in the same run: the trivial route is the baseline, so each read's
//! throughput and p99 read as ratios that survive the machine's drift.
//!
//! Without `--http` it seeds a catalog into the data directory, starts this binary's
//! own `serve` on it as a child process (a separate process, as a real client and
//! server are), and stops it at the end.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::connection::{Call, Connection, Server};
use super::{latency_histogram, percentile_ms, ratio, record, round2, target, Figures, Output};
use crate::seed::{write_catalog, SEED_WAREHOUSE};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct ReadsArgs {
    /// Products to seed first (without --http).
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Connections driving each route at once.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds each route is driven.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Drive a running server at this URL instead (its catalog must have stock).
    #[arg(long)]
    pub http: Option<String>,
    /// API key for a server in production mode.
    #[arg(long, env = "COMMERCE_API_KEY")]
    pub api_key: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

/// One route's figures.
pub(crate) struct Measured {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) per_second: f64,
    pub(crate) latency: Histogram<u64>,
}

impl Measured {
    /// The end of a figures row: how many requests failed (and the first failure,
    /// when given), or nothing when none did.
    pub(crate) fn failures(&self, first: Option<&str>) -> String {
        match (self.errors, first) {
            (0, _) => String::new(),
            (errors, None) => format!("   ({errors} of {} failed)", self.requests),
            (errors, Some(first)) => {
                format!("   ({errors} of {} failed, first: {first})", self.requests)
            }
        }
    }
}

pub async fn run(args: ReadsArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.duration == 0 {
        bail!("--connections and --duration must be at least 1");
    }
    let mut _server = None;
    let base = match &args.http {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            {
                let (_lock, backend) = open_exclusive(&args.storage, "bench reads").await?;
                eprintln!("seeding {} products", args.products);
                write_catalog(backend.commands.store(), args.products, 11, true).await?;
            }
            let (child, base) = start_server(&args.storage).await?;
            _server = Some(child);
            base
        }
    };
    let client = app::server::client_with_key(args.api_key.as_deref())?;
    let server = Server::new(&base, args.api_key.as_deref())?;
    let skus = skus_in_stock(&client, &base).await?;
    eprintln!(
        "bench reads: {} connections, {} s per route, {} SKUs in stock, at {base}",
        args.connections,
        args.duration,
        skus.len()
    );
    let skus = Arc::new(skus);
    let words = [
        "mug",
        "vase",
        "oak table",
        "ceramic",
        "lamp",
        "linen",
        "bowl",
        "planter",
    ];
    let routes: Vec<(&str, Path)> = vec![
        ("/health", Box::new(|_| "/health".to_string())),
        ("/v1/products/{sku}", {
            let skus = skus.clone();
            Box::new(move |i| format!("/v1/products/{}", skus[i % skus.len()]))
        }),
        ("/v1/availability/{sku}", {
            let skus = skus.clone();
            Box::new(move |i| format!("/v1/availability/{}", skus[i % skus.len()]))
        }),
        ("/v1/availability/{sku}/{warehouse_id}", {
            let skus = skus.clone();
            Box::new(move |i| format!("/v1/availability/{}/{SEED_WAREHOUSE}", skus[i % skus.len()]))
        }),
        (
            "/v1/search?q=",
            Box::new(move |i| format!("/v1/search?q={}", words[i % words.len()].replace(' ', "+"))),
        ),
    ];

    let mut figures = Figures::default();
    let mut health: Option<(f64, f64)> = None;
    println!(
        "{:<40} {:>10} {:>9} {:>9} {:>11} {:>9}",
        "route", "req/s", "p50 ms", "p99 ms", "×/health", "p99 ×"
    );
    let mut availability_targets = Vec::new();
    for (name, path) in routes {
        let path: Arc<Path> = Arc::new(path);
        let measured = drive(&server, path, args.connections, args.duration).await;
        let p99 = percentile_ms(&measured.latency, 0.99);
        let (throughput_ratio, p99_ratio) = match health {
            None => {
                health = Some((measured.per_second, p99));
                (1.0, 1.0)
            }
            Some((per_second, health_p99)) => (
                ratio(measured.per_second, per_second),
                ratio(p99, health_p99),
            ),
        };
        println!(
            "{name:<40} {:>10.0} {:>9.2} {:>9.2} {:>10.2}x {:>8.2}x{}",
            measured.per_second,
            percentile_ms(&measured.latency, 0.5),
            p99,
            throughput_ratio,
            p99_ratio,
            measured.failures(None)
        );
        // "/v1/availability/{sku}" → "v1_availability_sku".
        let key = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        figures.set(&format!("{key}_per_s"), round2(measured.per_second));
        figures.set(&format!("{key}_p99_ms"), round2(p99));
        figures.set(&format!("{key}_errors"), measured.errors);
        if name.starts_with("/v1/availability") {
            availability_targets.push((name, throughput_ratio, p99_ratio));
        }
        if measured.errors > 0 {
            bail!(
                "{name}: {} of {} requests failed",
                measured.errors,
                measured.requests
            );
        }
    }
    for (name, throughput_ratio, p99_ratio) in availability_targets {
        println!(
            "targets for {name}: {}; {}",
            target(
                "at least 0.5x the /health throughput",
                throughput_ratio >= 0.5,
                format!("{throughput_ratio:.2}x")
            ),
            target(
                "p99 at most 2x the /health p99",
                p99_ratio <= 2.0,
                format!("{p99_ratio:.2}x")
            ),
        );
    }
    if args.output.json {
        figures.print_json();
    }
    Ok(())
}

/// The path of a route's n-th request.
pub(crate) type Path = Box<dyn Fn(usize) -> String + Send + Sync>;

/// `connections` closed loops on one route for `seconds`.
pub(crate) async fn drive(
    server: &Server,
    path: Arc<Path>,
    connections: usize,
    seconds: u64,
) -> Measured {
    let request: Arc<Request> = Arc::new(move |i| Call::get(path(i)));
    drive_requests(server, request, connections, seconds).await
}

/// The n-th request of a route.
pub(crate) type Request = dyn Fn(usize) -> Call + Send + Sync;

/// `connections` closed loops, each on its own connection, sending `request`'s
/// requests for `seconds`.
pub(crate) async fn drive_requests(
    server: &Server,
    request: Arc<Request>,
    connections: usize,
    seconds: u64,
) -> Measured {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let loops: Vec<_> = (0..connections)
        .map(|connection| {
            let mut to_server = Connection::new(server);
            let request = request.clone();
            tokio::spawn(async move {
                let mut latency = latency_histogram();
                let (mut requests, mut errors) = (0u64, 0u64);
                let mut i = connection * 7919;
                while Instant::now() < deadline {
                    let next = request(i);
                    i += 1;
                    let sent = Instant::now();
                    let ok = matches!(to_server.send(next).await, Ok((status, _)) if status.is_success());
                    record(&mut latency, sent.elapsed());
                    requests += 1;
                    if !ok {
                        errors += 1;
                    }
                }
                (requests, errors, latency)
            })
        })
        .collect();
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        per_second: 0.0,
        latency: latency_histogram(),
    };
    for handle in loops {
        if let Ok((requests, errors, latency)) = handle.await {
            measured.requests += requests;
            measured.errors += errors;
            measured.latency.add(latency).expect("same bounds");
        }
    }
    measured.per_second = ratio(measured.requests as f64, started.elapsed().as_secs_f64());
    measured
}

/// Send `request` and read the whole answer: whether it succeeded.
async fn fetch(request: reqwest::RequestBuilder) -> bool {
    match request.send().await {
        Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// One route driven open-loop at `rate` requests a second for `seconds`: request n is
/// due at `n / rate` s and its latency counts from then, so a server that falls behind
/// is charged for the wait (no coordinated omission), and the figure is the latency a
/// client sees at that load rather than the queue a saturating closed loop builds.
pub(crate) async fn drive_at_rate(
    client: &reqwest::Client,
    base: &str,
    path: Arc<Path>,
    rate: f64,
    seconds: u64,
) -> Measured {
    let started = tokio::time::Instant::now();
    let total = (rate * seconds as f64).max(1.0) as usize;
    // The callers keep the rate within 1–1,000,000 a second.
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut sent = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due).await;
        let request = client.get(format!("{base}{}", path(n * 7919)));
        sent.spawn(async move { (fetch(request).await, due.elapsed()) });
    }
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        per_second: 0.0,
        latency: latency_histogram(),
    };
    while let Some(answer) = sent.join_next().await {
        measured.requests += 1;
        match answer {
            Ok((ok, latency)) => {
                record(&mut measured.latency, latency);
                measured.errors += u64::from(!ok);
            }
            Err(_) => measured.errors += 1,
        }
    }
    measured.per_second = ratio(measured.requests as f64, started.elapsed().as_secs_f64());
    measured
}

/// SKUs the search index says are in stock (waiting for it to reach the log's head).
pub(crate) async fn skus_in_stock(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<Vec<String>> {
    let ready: Value = client
        .get(format!("{base}/ready"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let head = ready["head"].as_i64().unwrap_or(0);
    let found: Value = client
        .get(format!(
            "{base}/v1/search?in_stock=true&limit=100&min_position={head}"
        ))
        .send()
        .await?
        .error_for_status()
        .context("searching for SKUs in stock")?
        .json()
        .await?;
    let skus: Vec<String> = found["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|hit| hit["sku"].as_str().map(str::to_string))
        .collect();
    if skus.is_empty() {
        bail!("no product in stock to read (seed some: --products N without --http)");
    }
    Ok(skus)
}

/// This binary's `serve` on the data directory, on a free port; its URL.
pub(crate) async fn start_server(
    storage: &StorageArgs,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&storage.data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(url) = &storage.database_url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command.spawn().context("starting the server")?;
    let stdout = child.stdout.take().context("the server's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                return Ok::<_, anyhow::Error>(url.to_string());
            }
        }
        bail!("the server ended before it listened")
    })
    .await
    .context("the server did not start within 2 minutes")??;
    // Keep reading its output, so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, base))
}
