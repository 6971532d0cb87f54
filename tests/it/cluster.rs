//! A cluster on one machine: two command nodes and two query nodes (each query node
//! with its own SQLite store), a private `nats-server` with its own storage, and the
//! shared PostgreSQL and Redis. Orders, flash-sale purchases and stock changes go
//! through both command nodes; one node of each role is killed with SIGKILL mid-way,
//! and later the NATS server is restarted. Then: no acknowledged command is lost, the
//! stream holds exactly the log's events, once each, in log order, both query nodes
//! answer as read models rebuilt from PostgreSQL do, and nothing is oversold.

use std::process::Stdio;

use async_nats::jetstream;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{register_warehouses, Api, Backend, Env, Server};

/// A `nats-server` of this test alone, on a free port, with its own storage.
struct PrivateNats {
    child: Child,
    port: u16,
    storage: tempfile::TempDir,
}

/// How long a NATS server may take to say it is ready (a bound against a hang).
const NATS_START: std::time::Duration = std::time::Duration::from_secs(30);

impl PrivateNats {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let storage = tempfile::tempdir().unwrap();
        Self::start_on(port, storage).await
    }

    async fn start_on(port: u16, storage: tempfile::TempDir) -> Self {
        let binary =
            std::env::var("NATS_SERVER").unwrap_or_else(|_| "/usr/sbin/nats-server".into());
        let mut child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(storage.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts (make services installs it): {e}"));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::time::timeout(NATS_START, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Server is ready") {
                    return;
                }
            }
            panic!("nats-server ended before it was ready");
        })
        .await
        .expect("nats-server is ready in time");
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            port,
            storage,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stop it and start it again on the same port and storage.
    async fn restart(mut self) -> Self {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        Self::start_on(self.port, self.storage).await
    }
}

const SKU: &str = "MUG-1";
const RESTOCKED: &str = "TEA-1";
const STOCK: u64 = 60;
const SALE_UNITS: u64 = 15;

fn product(sku: &str, title: &str) -> Value {
    json!({
        "sku": sku, "title": title, "description": "Made by hand", "tags": ["gift"],
        "category": "home/kitchen/mugs", "materials": ["stoneware"],
        "shop": {"shop_id": "shop-1", "name": "Clay & Co", "location": {"lat": 52.37, "lon": 4.89}},
        "price": {"amount": 1299, "currency": "EUR"}, "language": "en"
    })
}

/// What the writes acknowledged so far add up to.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Units of `RESTOCKED` received in acknowledged receipts.
    received: u64,
    orders: Vec<String>,
    /// Flash-sale units bought by buyers answered 201.
    bought: u64,
    last_position: i64,
}

/// One round of writes through `node`: a receipt, an order, a flash-sale purchase.
async fn round(node: &Api, n: usize, acknowledged: &mut Acknowledged) {
    let receipt = node
        .post(
            &format!("/v1/stock/{RESTOCKED}/ams/receipts"),
            &json!({"quantity": 2}),
        )
        .await
        .expect(StatusCode::OK);
    acknowledged.received += 2;
    acknowledged.last_position = acknowledged
        .last_position
        .max(receipt["position"].as_i64().unwrap());
    let order_id = format!("o-{n}");
    let order = node
        .post(
            "/v1/orders",
            &json!({"order_id": order_id, "lines": [{"sku": SKU, "quantity": 1}], "ship_to": {"region": "nl"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    acknowledged.last_position = acknowledged
        .last_position
        .max(order["position"].as_i64().unwrap_or(0));
    acknowledged.orders.push(order_id);
    let purchase = node
        .post(
            "/v1/flash-sales/drop/purchase",
            &json!({"quantity": 1, "user_id": format!("buyer-{n}")}),
        )
        .await;
    match purchase.status {
        StatusCode::CREATED => acknowledged.bought += 1,
        // Queued, sold out or every unit held: not acknowledged as bought.
        StatusCode::ACCEPTED | StatusCode::CONFLICT => {}
        other => panic!("a purchase answered {other}: {}", purchase.text),
    }
}

/// `path` on `node` once it has applied `position` (each try waits for it).
async fn read_at(node: &Api, path: &str, position: i64) -> Value {
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = format!("{path}{separator}min_position={position}");
    for _ in 0..60 {
        let answer = node.get(&url).await;
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            return answer.expect(StatusCode::OK);
        }
    }
    panic!("{url} never reached {position}");
}

/// The answers compared between nodes.
async fn answers(node: &Api, head: i64) -> Vec<Value> {
    let mut answers = Vec::new();
    for sku in [SKU, RESTOCKED] {
        let mut availability = read_at(node, &format!("/v1/availability/{sku}"), head).await;
        availability.as_object_mut().unwrap().remove("position");
        answers.push(availability);
    }
    let search = read_at(node, "/v1/search?q=mug", head).await;
    let skus: Vec<&Value> = search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["sku"])
        .collect();
    answers.push(json!(skus));
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_loses_a_node_of_each_role_and_its_nats_server_and_keeps_every_event_once() {
    let mut nats = PrivateNats::start().await;
    let command_env = Env::new(Backend::Postgres).await;
    let second_command_env = command_env.sibling();
    let query_envs = [
        Env::new(Backend::Sqlite).await,
        Env::new(Backend::Sqlite).await,
    ];
    let prefix = format!("c{}", uuid::Uuid::now_v7().simple());
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let url = nats.url();
    let command_args = vec![
        "--role",
        "command",
        "--events",
        &url,
        "--nats-prefix",
        &prefix,
        "--redis-url",
        &redis,
        "--redis-prefix",
        &prefix,
    ];
    let query_args = |name: &'static str| {
        vec![
            "--role",
            "query",
            "--events",
            url.as_str(),
            "--nats-prefix",
            prefix.as_str(),
            "--node-name",
            name,
        ]
    };
    let first_command = command_env.start_with(&command_args).await;
    let second_command = second_command_env.start_with(&command_args).await;
    let first_query = query_envs[0].start_with(&query_args("q1")).await;
    let second_query = query_envs[1].start_with(&query_args("q2")).await;

    // The catalog, the stock and a sale, through both command nodes.
    register_warehouses(&first_command, &["ams"]).await;
    for (sku, title) in [(SKU, "Stoneware mug"), (RESTOCKED, "Tea mug")] {
        second_command
            .post("/v1/products", &product(sku, title))
            .await
            .expect(StatusCode::CREATED);
    }
    first_command
        .post(
            &format!("/v1/stock/{SKU}/ams/receipts"),
            &json!({"quantity": STOCK}),
        )
        .await
        .expect(StatusCode::OK);
    let now = chrono::Utc::now();
    second_command
        .post(
            "/v1/flash-sales",
            &json!({
                "sale_id": "drop", "sku": SKU, "warehouse_id": "ams", "units": SALE_UNITS,
                "price": {"amount": 499, "currency": "EUR"},
                "starts_at": now - chrono::Duration::minutes(1),
                "ends_at": now + chrono::Duration::hours(1),
                "per_user_limit": 1, "payment_window_seconds": 300
            }),
        )
        .await
        .expect(StatusCode::CREATED);

    let mut acknowledged = Acknowledged::default();
    for n in 0..12 {
        let node = if n % 2 == 0 {
            &first_command
        } else {
            &second_command
        };
        round(node, n, &mut acknowledged).await;
        if n == 0 {
            // A query node reads an order early, so later reads must not trust
            // what it then held in memory.
            let early = read_at(&second_query, "/v1/orders/o-0", acknowledged.last_position).await;
            assert_eq!(early["order_id"], "o-0");
        }
    }
    // One node of each role dies mid-way.
    first_command.crash().await;
    first_query.crash().await;
    for n in 12..24 {
        round(&second_command, n, &mut acknowledged).await;
    }
    // The NATS server goes away and comes back; the relay and the copies resume.
    nats = nats.restart().await;
    for n in 24..36 {
        round(&second_command, n, &mut acknowledged).await;
    }
    let first_query = query_envs[0].start_with(&query_args("q1")).await;
    // Every acknowledged order is there, and the order process has settled each (it
    // writes after the answers), so the log stands still from here on.
    for order_id in &acknowledged.orders {
        let order = second_command
            .get(&format!(
                "/v1/orders/{order_id}?wait_for_status=reserved,rejected&timeout_ms=10000"
            ))
            .await
            .expect(StatusCode::OK);
        assert!(
            ["reserved", "rejected"].contains(&order["status"].as_str().unwrap()),
            "{order}"
        );
    }
    // The order a query node read early changes after that read.
    second_command
        .post("/v1/orders/o-0/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    let head = second_command.head().await;
    assert!(head >= acknowledged.last_position);

    // No acknowledged command lost: every receipt shows on every query node.
    let query_nodes: [&Server; 2] = [&first_query, &second_query];
    for node in query_nodes {
        let stock = read_at(node, &format!("/v1/availability/{RESTOCKED}"), head).await;
        assert_eq!(
            stock["on_hand"].as_u64(),
            Some(acknowledged.received),
            "{stock}"
        );
    }

    // The stream is the log: one message per event, in log order.
    let (_db, log) = command_env.open_log().await;
    let events = log
        .database()
        .read_envelopes_after(0, 1_000_000)
        .await
        .unwrap();
    let client = bus::connect(&nats.url(), "cluster-test").await.unwrap();
    let stream_name = bus::Naming::new(&prefix).unwrap().stream();
    let mut stream = jetstream::new(client)
        .get_stream(&stream_name)
        .await
        .unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut positions = Vec::with_capacity(last as usize);
    for sequence in 1..=last {
        let message = stream.get_raw_message(sequence).await.unwrap();
        positions.push(bus::cloudevent::position(Some(&message.headers), sequence).unwrap());
    }
    let logged: Vec<i64> = events.iter().map(|e| e.position).collect();
    assert_eq!(
        positions, logged,
        "the stream holds the log's events once each, in order"
    );

    // An order read on a query node is the order as the log has it now.
    let order = second_command
        .get("/v1/orders/o-0")
        .await
        .expect(StatusCode::OK);
    let copied = read_at(&second_query, "/v1/orders/o-0", head).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(copied["status"], order["status"], "{copied}");
    assert_eq!(copied["reserved"], order["reserved"], "{copied}");

    // Both query nodes answer as read models rebuilt from PostgreSQL do.
    let rebuilt_env = command_env.sibling();
    let rebuilt = rebuilt_env.start().await;
    let expected = answers(&rebuilt, head).await;
    for node in query_nodes {
        assert_eq!(answers(node, head).await, expected);
    }

    // Nothing oversold.
    let sale = rebuilt
        .get("/v1/flash-sales/drop")
        .await
        .expect(StatusCode::OK);
    let taken = sale["sold"].as_u64().unwrap() + sale["held"].as_u64().unwrap();
    assert!(taken <= SALE_UNITS, "{sale}");
    assert!(
        (1..=taken).contains(&acknowledged.bought),
        "{} bought, {sale}",
        acknowledged.bought
    );
    let stock = read_at(&rebuilt, &format!("/v1/availability/{SKU}"), head).await;
    assert!(stock["available"].as_i64().unwrap() >= 0, "{stock}");
    assert!(stock["held"].as_u64().unwrap() <= STOCK, "{stock}");
}

/// The example fulfilment service (`examples/fulfilment.rs`), built beside this
/// test by `cargo test` (as `fulfilment-<hash>`) or `cargo build --examples`
/// (as `fulfilment`): the newest.
fn fulfilment_example() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let examples = deps
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples");
    let newest = std::fs::read_dir(&examples)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            (name == "fulfilment" || name.starts_with("fulfilment-")) && !name.contains('.')
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok());
    newest.map(|entry| entry.path()).unwrap_or_else(|| {
        panic!(
            "no fulfilment example in {}: `cargo test` builds the examples",
            examples.display()
        )
    })
}

/// Run the example until it has reported `shipments`; its stdout.
async fn run_fulfilment(api: &Api, prefix: &str, durable: &str, shipments: usize) -> String {
    let output = Command::new(fulfilment_example())
        .args(["--events", &crate::support::nats_url(), "--prefix", prefix])
        .args(["--durable", durable, "--api", api.base.as_str()])
        .args(["--exit-after", &shipments.to_string()])
        .env_remove("COMMERCE_API_KEY")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NATS_START, output)
        .await
        .expect("the fulfilment example reports in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn a_fulfilment_service_ships_what_the_stream_asks_for_once() {
    let env = Env::new(Backend::Sqlite).await;
    let prefix = format!("f{}", uuid::Uuid::now_v7().simple());
    let nats = crate::support::nats_url();
    let node = env
        .start_with(&["--events", &nats, "--nats-prefix", &prefix])
        .await;
    register_warehouses(&node, &["ams"]).await;
    node.post("/v1/products", &product(SKU, "Stoneware mug"))
        .await
        .expect(StatusCode::CREATED);
    node.post(
        &format!("/v1/stock/{SKU}/ams/receipts"),
        &json!({"quantity": 5}),
    )
    .await
    .expect(StatusCode::OK);
    node.post(
        "/v1/orders",
        &json!({"order_id": "o-1", "lines": [{"sku": SKU, "quantity": 2}], "ship_to": {"region": "nl"}}),
    )
    .await
    .expect(StatusCode::CREATED);
    node.get("/v1/orders/o-1?wait_for_status=reserved&timeout_ms=10000")
        .await
        .expect(StatusCode::OK);
    node.post("/v1/payments/sandbox/o-1", &json!({"status": "succeeded"}))
        .await
        .expect(StatusCode::OK);
    let confirmed = node
        .get("/v1/orders/o-1?wait_for_status=confirmed&timeout_ms=10000")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        confirmed["shipments"],
        json!([{"warehouse_id": "ams", "tracking_number": null}])
    );

    let stdout = run_fulfilment(&node, &prefix, "fulfilment", 1).await;
    assert!(
        stdout.contains("dispatched o-1 from ams as TRK-"),
        "{stdout}"
    );
    let shipped = node.get("/v1/orders/o-1").await.expect(StatusCode::OK);
    let tracking = shipped["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stdout.contains(&tracking), "{stdout}");

    // The same event delivered again (another durable starts from the beginning):
    // the report is answered from its receipt and records nothing.
    let again = run_fulfilment(&node, &prefix, "fulfilment-replay", 1).await;
    assert!(again.contains("(already reported)"), "{again}");
    let after = node.get("/v1/orders/o-1").await.expect(StatusCode::OK);
    assert_eq!(after["position"], shipped["position"]);
    assert_eq!(after["shipments"], shipped["shipments"]);
    let client = bus::connect(&nats, "cluster-test").await.unwrap();
    let _ = jetstream::new(client)
        .delete_stream(bus::Naming::new(&prefix).unwrap().stream())
        .await;
}
