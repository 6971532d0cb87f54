//! Flash sales through the API on PostgreSQL: a crowd of buyers for a few units, with
//! some payments failing; queue tickets; limits; the sale's end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Api, Backend, Env};

const BUYERS: usize = 2_000;
const UNITS: u64 = 100;
const STOCK: u64 = 150;

/// Schedule sale `sale_id` of `units` MUG-1 at ams, open from a minute ago for an hour.
pub(crate) async fn schedule(api: &Api, sale_id: &str, units: u64, limit: u64) -> Value {
    let now = chrono::Utc::now();
    api.post(
        "/v1/flash-sales",
        &json!({
            "sale_id": sale_id, "sku": "MUG-1", "warehouse_id": "ams", "units": units,
            "price": {"amount": 499, "currency": "EUR"},
            "starts_at": now - chrono::Duration::minutes(1),
            "ends_at": now + chrono::Duration::hours(1),
            "per_user_limit": limit, "payment_window_seconds": 300
        }),
    )
    .await
    .expect(StatusCode::CREATED)
}

/// One purchase request.
async fn buy(api: &Api, sale_id: &str, user_id: &str, quantity: u64) -> crate::support::Answer {
    api.post(
        &format!("/v1/flash-sales/{sale_id}/purchase"),
        &json!({"quantity": quantity, "user_id": user_id}),
    )
    .await
}

/// Most times a test asks after one queue ticket (a bound against a hang, not a timing).
const MAX_POLLS: usize = 200_000;

/// A problem's code: the last part of its type.
fn code(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("/problems/")
}

/// What one buyer ended with.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Reserved(String),
    AllHeld,
    SoldOut,
}

/// One purchase attempt, following a queue ticket while it waits (and, with
/// `through_all_held`, while every unit is held too).
async fn attempt(api: &Api, sale_id: &str, buyer: &str, through_all_held: bool) -> Outcome {
    let answer = api
        .post(
            &format!("/v1/flash-sales/{sale_id}/purchase"),
            &json!({"quantity": 1, "user_id": buyer}),
        )
        .await;
    let body = answer.json();
    match answer.status {
        StatusCode::CREATED => Outcome::Reserved(body["order_id"].as_str().unwrap().into()),
        StatusCode::ACCEPTED => {
            let ticket = body["ticket"].as_str().unwrap().to_string();
            for _ in 0..MAX_POLLS {
                let state = api
                    .get(&format!("/v1/flash-sales/{sale_id}/queue/{ticket}"))
                    .await
                    .expect(StatusCode::OK);
                match state["status"].as_str().unwrap() {
                    "admitted" => {
                        return Outcome::Reserved(state["order_id"].as_str().unwrap().into())
                    }
                    "sold_out" => return Outcome::SoldOut,
                    "all_held" if !through_all_held => return Outcome::AllHeld,
                    "waiting" | "all_held" => tokio::task::yield_now().await,
                    other => panic!("ticket ended {other}: {state}"),
                }
            }
            panic!("ticket {ticket} never left the queue");
        }
        StatusCode::CONFLICT => match code(&body) {
            "all_held" => {
                assert!(
                    answer.header("retry-after").is_some(),
                    "all_held says when to come back"
                );
                Outcome::AllHeld
            }
            "sold_out" => Outcome::SoldOut,
            other => panic!("unexpected refusal {other}: {body}"),
        },
        other => panic!("unexpected answer {other}: {body}"),
    }
}

async fn pay(api: &Api, order_id: &str, status: &str) {
    api.post(
        &format!("/v1/payments/sandbox/{order_id}"),
        &json!({ "status": status }),
    )
    .await
    .expect(StatusCode::OK);
}

async fn wait_order(api: &Api, order_id: &str, statuses: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{order_id}?wait_for_status={statuses}&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

#[tokio::test]
async fn a_crowd_buys_every_unit_exactly_once_and_failed_payments_go_to_others() {
    let env = Env::new(Backend::Postgres).await;
    let server = env
        .start_with(&[
            "--flash-buyer-limit",
            "100000",
            "--flash-address-limit",
            "1000000",
        ])
        .await;
    let api: &Api = &server;
    crate::shop::open_shop(api, STOCK, 1000).await;
    schedule(api, "drop", UNITS, 1).await;

    let buyers: Vec<String> = (0..BUYERS).map(|i| format!("buyer-{i:04}")).collect();
    let mut waiting: Vec<String> = buyers.clone();
    let mut confirmed: BTreeMap<String, String> = BTreeMap::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let api = Arc::new(api.clone());
    // Rounds: everyone still hoping tries; holders pay (one in ten fails); until every
    // unit is sold and the rest are told so.
    for round in 0.. {
        assert!(round < 50, "the sale never sold out");
        let outcomes: Vec<(String, Outcome)> = stream::iter(waiting.clone())
            .map(|buyer| {
                let api = api.clone();
                async move {
                    let outcome = attempt(&api, "drop", &buyer, false).await;
                    (buyer, outcome)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut reserved = Vec::new();
        waiting.clear();
        for (buyer, outcome) in outcomes {
            match outcome {
                Outcome::Reserved(order_id) => reserved.push((buyer, order_id)),
                Outcome::AllHeld => waiting.push(buyer),
                Outcome::SoldOut => {}
            }
        }
        let paid: Vec<(String, String, bool)> = stream::iter(reserved)
            .map(|(buyer, order_id)| {
                let api = api.clone();
                let fails = buyer.ends_with('0') && !buyer.ends_with("00");
                async move {
                    pay(&api, &order_id, if fails { "failed" } else { "succeeded" }).await;
                    let order = wait_order(&api, &order_id, "confirmed,payment_failed").await;
                    let ok = order["status"] == "confirmed";
                    assert_eq!(ok, !fails, "{order}");
                    (buyer, order_id, ok)
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for (buyer, order_id, ok) in paid {
            if ok {
                assert!(
                    confirmed.insert(buyer, order_id).is_none(),
                    "a buyer bought twice"
                );
            } else {
                failed.insert(buyer.clone());
                // A failed buyer may try again like anyone else.
                waiting.push(buyer);
            }
        }
        if waiting.is_empty() {
            break;
        }
        // Failed units go back to the sale as the order process gets to them; buyers
        // who find every unit held try again next round.
        let sale = api.get("/v1/flash-sales/drop").await.expect(StatusCode::OK);
        if sale["sold"] == UNITS {
            let last = stream::iter(waiting.clone())
                .map(|buyer| {
                    let api = api.clone();
                    async move { attempt(&api, "drop", &buyer, true).await }
                })
                .buffer_unordered(64)
                .collect::<Vec<_>>()
                .await;
            assert!(
                last.iter().all(|o| *o == Outcome::SoldOut),
                "after the last unit, only sold_out"
            );
            break;
        }
    }

    let sale = api.get("/v1/flash-sales/drop").await.expect(StatusCode::OK);
    assert_eq!(sale["sold"], UNITS, "{sale}");
    assert_eq!(sale["held"], 0);
    assert_eq!(
        confirmed.len() as u64,
        UNITS,
        "exactly the sale's units were sold"
    );
    assert!(!failed.is_empty(), "some payments failed");
    // Each failed payment's unit went to someone else: every unit is sold although
    // the first holders of some of them never paid.
    let stock = api
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            api.head().await
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(stock["on_hand"], STOCK - UNITS, "{stock}");
    assert_eq!(
        stock["available"],
        STOCK - UNITS,
        "the rest of the stock was never the sale's"
    );
}

#[tokio::test]
async fn limits_windows_and_the_end_of_a_sale() {
    let env = Env::new(Backend::Postgres).await;
    let server = env
        .start_with(&["--clock", "manual", "--flash-buyer-limit", "3"])
        .await;
    let api: &Api = &server;
    crate::shop::open_shop(api, 5, 1000).await;

    // More units than the warehouse has: refused with what is available.
    let now = chrono::Utc::now();
    let too_many = api
        .post(
            "/v1/flash-sales",
            &json!({
                "sale_id": "big", "sku": "MUG-1", "warehouse_id": "ams", "units": 6,
                "price": {"amount": 499, "currency": "EUR"},
                "starts_at": now, "ends_at": now + chrono::Duration::hours(1)
            }),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(too_many["available"], 5, "{too_many}");

    let scheduled = schedule(api, "small", 2, 1).await;
    let stock = api
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            scheduled["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        stock["available"], 3,
        "the sale's units are set aside: {stock}"
    );

    let first = buy(api, "small", "ada", 1)
        .await
        .expect(StatusCode::CREATED);
    let again = buy(api, "small", "ada", 1)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        first["order_id"], again["order_id"],
        "a retry buys nothing more"
    );
    buy(api, "small", "bob", 2)
        .await
        .problem(StatusCode::FORBIDDEN);
    buy(api, "small", "bob", 1)
        .await
        .expect(StatusCode::CREATED);
    let held = buy(api, "small", "cyd", 1).await;
    assert_eq!(held.status, StatusCode::CONFLICT);
    assert_eq!(code(&held.json()), "all_held");
    assert_eq!(held.header("retry-after"), Some("300"));
    // Over the per-buyer request limit (3 a minute here).
    for _ in 0..2 {
        let again = buy(api, "small", "cyd", 1).await;
        assert_eq!(code(&again.problem(StatusCode::CONFLICT)), "all_held");
    }
    let limited = buy(api, "small", "cyd", 1).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());

    // Ada pays; Bob does not. Past Bob's window his unit goes back to the sale, not to
    // general stock.
    pay(api, first["order_id"].as_str().unwrap(), "succeeded").await;
    let confirmed = wait_order(api, first["order_id"].as_str().unwrap(), "confirmed").await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    api.post("/v1/admin/clock/advance", &json!({"seconds": 301}))
        .await
        .expect(StatusCode::OK);
    let sale = api
        .get("/v1/flash-sales/small")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            sale["sold"].as_u64(),
            sale["held"].as_u64(),
            sale["remaining"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{sale}"
    );
    let stock = api
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            sale["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(stock["available"], 3, "{stock}");

    // After the window nothing is sold, and what is left goes back to stock.
    api.post("/v1/admin/clock/advance", &json!({"seconds": 3600}))
        .await
        .expect(StatusCode::OK);
    let late = buy(api, "small", "dan", 1)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&late), "outside_sale_window");
    let sale = api
        .get("/v1/flash-sales/small")
        .await
        .expect(StatusCode::OK);
    assert_eq!(sale["status"], "ended");
    let stock = api
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            api.head().await
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (stock["on_hand"].as_u64(), stock["available"].as_u64()),
        (Some(4), Some(4)),
        "{stock}"
    );
}

/// Server arguments for admission shared through Redis, under a prefix of this run.
fn shared_admission(prefix: &str, rate: &str) -> Vec<String> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    [
        "--redis-url",
        &url,
        "--redis-prefix",
        prefix,
        "--flash-admission-rate",
        rate,
        "--flash-buyer-limit",
        "100000",
        "--flash-address-limit",
        "1000000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One server admitting one purchase a second through Redis, under a prefix of its
/// own, with sale `sale_id` of `units` MUG-1s scheduled; the prefix.
async fn one_node_on_redis(
    env: &Env,
    sale_id: &str,
    units: u64,
) -> (crate::support::Server, String) {
    let prefix = format!("test-{}", uuid::Uuid::now_v7().simple());
    let args = shared_admission(&prefix, "1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = env.start_with(&args).await;
    crate::shop::open_shop(&server, 10, 1000).await;
    schedule(&server, sale_id, units, 1).await;
    (server, prefix)
}

#[tokio::test]
async fn two_nodes_share_one_sale_rate_through_redis() {
    let env = Env::new(Backend::Postgres).await;
    let prefix = format!("test-{}", uuid::Uuid::now_v7().simple());
    let args = shared_admission(&prefix, "20");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = env.start_with(&args).await;
    let second = env.sibling().start_with(&args).await;
    crate::shop::open_shop(&first, 1_000, 1000).await;
    schedule(&first, "shared", 1_000, 1).await;

    // A fixed number of purchases, alternating between the nodes, as fast as they go.
    const REQUESTS: usize = 200;
    let nodes = [first.api.clone(), second.api.clone()];
    let started = std::time::Instant::now();
    let statuses: Vec<StatusCode> = stream::iter(0..REQUESTS)
        .map(|i| {
            let api = nodes[i % 2].clone();
            async move {
                api.post(
                    "/v1/flash-sales/shared/purchase",
                    &json!({"quantity": 1, "user_id": format!("b{i}")}),
                )
                .await
                .status
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let queued = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(
        admitted + queued,
        REQUESTS,
        "every request admitted or queued: {statuses:?}"
    );
    // 20 a second shared by both nodes, a burst of one, and a token each node may
    // hold unused: never twice the rate, as two separate limits would allow.
    let allowed = (20.0 * elapsed).ceil() as usize + 3;
    assert!(
        admitted <= allowed,
        "{admitted} admitted in {elapsed:.2} s, at most {allowed}"
    );
    assert!(queued > 0, "the rest queue");
    // Queue positions are global: both nodes see one queue.
    let sale = second
        .get("/v1/flash-sales/shared")
        .await
        .expect(StatusCode::OK);
    assert!(sale["queue_length"].as_u64().unwrap() > 0, "{sale}");
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_sale_loses_no_ticket_and_no_hold() {
    let env = Env::new(Backend::Postgres).await;
    let (server, prefix) = one_node_on_redis(&env, "restart", 3).await;

    let mut orders = Vec::new();
    let mut tickets = Vec::new();
    for i in 0..8 {
        let answer = server
            .post(
                "/v1/flash-sales/restart/purchase",
                &json!({"quantity": 1, "user_id": format!("r{i}")}),
            )
            .await;
        let body = answer.json();
        match answer.status {
            StatusCode::CREATED => orders.push(body["order_id"].as_str().unwrap().to_string()),
            StatusCode::ACCEPTED => tickets.push(body["ticket"].as_str().unwrap().to_string()),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        !orders.is_empty() && !tickets.is_empty(),
        "{orders:?} {tickets:?}"
    );
    let before = server
        .get("/v1/flash-sales/restart")
        .await
        .expect(StatusCode::OK);
    server.crash().await;

    let args = shared_admission(&prefix, "1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = env.start_with(&args).await;
    // Holds are in the log: every reserved order is still reserved.
    for order_id in &orders {
        let order = server
            .get(&format!("/v1/orders/{order_id}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(order["status"], "reserved", "{order}");
    }
    // Tickets are in Redis: every one is still there, and the queue goes on from
    // where it was until the units are all held.
    let mut admitted = 0;
    for ticket in &tickets {
        let mut polls = 0;
        let state = loop {
            let state = server
                .get(&format!("/v1/flash-sales/restart/queue/{ticket}"))
                .await
                .expect(StatusCode::OK);
            if state["status"] != "waiting" {
                break state;
            }
            polls += 1;
            assert!(polls < MAX_POLLS, "ticket {ticket} never left the queue");
            tokio::task::yield_now().await;
        };
        match state["status"].as_str().unwrap() {
            "admitted" => admitted += 1,
            "all_held" => {}
            other => panic!("ticket {ticket} ended {other}: {state}"),
        }
    }
    let after = server
        .get("/v1/flash-sales/restart")
        .await
        .expect(StatusCode::OK);
    // Every hold is a reserved order or an admitted ticket; none was lost.
    assert!(
        after["held"].as_u64() >= before["held"].as_u64(),
        "before {before}, after {after}"
    );
    assert_eq!(
        after["held"].as_u64().unwrap(),
        orders.len() as u64 + admitted,
        "{after}"
    );
    assert_eq!(after["held"], 3, "every unit is held, none twice: {after}");
}

#[tokio::test]
async fn a_queue_entry_challenge_slows_buyers_without_changing_the_flow() {
    let env = Env::new(Backend::Sqlite).await;
    let server = env.start_with(&["--flash-challenge-bits", "8"]).await;
    crate::shop::open_shop(&server, 5, 1000).await;
    schedule(&server, "pow", 2, 1).await;
    let unsolved = buy(&server, "pow", "ada", 1)
        .await
        .problem(StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(unsolved["difficulty_bits"], 8);
    assert_eq!(unsolved["input"], "pow:ada:");
    let wrong = server
        .send(
            server
                .client
                .post(server.url("/v1/flash-sales/pow/purchase"))
                .header("flash-challenge", "not-a-solution-probably")
                .json(&json!({"quantity": 1, "user_id": "ada"})),
        )
        .await;
    // One nonce in 256 solves 8 bits; this one does not.
    let pow = api::flash::challenge::ProofOfWork { bits: 8 };
    assert!(!pow.solves("pow", "ada", "not-a-solution-probably"));
    wrong.problem(StatusCode::PRECONDITION_REQUIRED);
    let nonce = pow.solve("pow", "ada");
    server
        .send(
            server
                .client
                .post(server.url("/v1/flash-sales/pow/purchase"))
                .header("flash-challenge", nonce)
                .json(&json!({"quantity": 1, "user_id": "ada"})),
        )
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn bad_flash_sale_requests_are_refused_and_write_nothing() {
    let env = Env::new(Backend::Sqlite).await;
    let server = env.start().await;
    crate::shop::open_shop(&server, 5, 1000).await;
    schedule(&server, "ok", 2, 1).await;
    let head = server.head().await;
    let now = chrono::Utc::now();
    let bad_terms = json!({
        "sale_id": "bad", "sku": "MUG-1", "warehouse_id": "ams", "units": 0,
        "price": {"amount": -1, "currency": "euro"},
        "starts_at": now, "ends_at": now - chrono::Duration::hours(1),
        "per_user_limit": 0, "payment_window_seconds": 0
    });
    let problem = server
        .post("/v1/flash-sales", &bad_terms)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"].as_array().unwrap().len() >= 5,
        "{problem}"
    );
    server
        .post("/v1/flash-sales", &json!({"sale_id": "x"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    buy(&server, "nope", "ada", 1)
        .await
        .problem(StatusCode::NOT_FOUND);
    for body in [
        json!({"quantity": 0, "user_id": "ada"}),
        json!({"quantity": 1}),
    ] {
        server
            .post("/v1/flash-sales/ok/purchase", &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    server
        .post(
            "/v1/flash-sales/ok/purchase",
            &json!({"quantity": "one", "user_id": "ada"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .get("/v1/flash-sales/ok/queue/no-such-ticket")
        .await
        .problem(StatusCode::NOT_FOUND);
    server
        .get("/v1/flash-sales/nope")
        .await
        .problem(StatusCode::NOT_FOUND);
    server
        .post("/v1/flash-sales/nope/cancel", &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(server.head().await, head, "nothing was written");
}

/// What a hostile crowd leaves in Redis goes away by itself: a queued ticket, the
/// buyer's pointer to it and the sale's sequence all carry TTLs, and a ticket's place
/// in line comes from its sequence number.
#[tokio::test]
async fn queued_tickets_in_redis_expire_by_themselves() {
    let env = Env::new(Backend::Postgres).await;
    let (server, prefix) = one_node_on_redis(&env, "ttl", 5).await;
    let mut tickets = Vec::new();
    for i in 0..3 {
        let answer = buy(&server, "ttl", &format!("t{i}"), 1).await;
        if answer.status == StatusCode::ACCEPTED {
            let body = answer.json();
            tickets.push((
                format!("t{i}"),
                body["ticket"].as_str().unwrap().to_string(),
                body["position_in_queue"].as_u64(),
            ));
        }
    }
    assert!(
        !tickets.is_empty(),
        "a rate of one a second queues the rest"
    );
    let places: Vec<Option<u64>> = tickets.iter().map(|t| t.2).collect();
    let expected: Vec<Option<u64>> = (1..=tickets.len() as u64).map(Some).collect();
    assert_eq!(places, expected, "places in line, first come first");

    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut redis = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let (user, ticket, _) = &tickets[0];
    for key in [
        format!("{prefix}:t:{ticket}"),
        format!("{prefix}:tb:ttl:{user}"),
        format!("{prefix}:seq:ttl"),
    ] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    assert!(server.stop().await.success());
}
