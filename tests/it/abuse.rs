//! The attacker's view: a production server on PostgreSQL with signed webhooks, and
//! nothing but a valid buyer token (or an ordinary API key). Each test plays one
//! attack and proves it gets nothing it did not pay for.

use api::routes::payments::{sign, SIGNATURE_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{self, advance, as_holder, key};
use crate::support::{Api, Backend, Env, Server};

pub(crate) const MASTER: &str = "abuse-master-key-0123456789abcdef";
const JWT_SECRET: &str = "abuse-tests-sign-buyer-tokens-with-this-secret";
pub(crate) const WEBHOOK_SECRET: &str = "abuse-tests-webhook-secret";
/// Units of each product in stock, and their prices in cents.
const STOCK: u64 = 100;
const MUG_PRICE: i64 = 500;
const TV_PRICE: i64 = 100_000;

/// A production server with buyer tokens, a webhook secret and the manual clock.
pub(crate) async fn start(env: &Env, extra: &[&str]) -> Server {
    let mut args = vec![
        "--env",
        "production",
        "--master-key",
        MASTER,
        "--jwt-secret",
        JWT_SECRET,
        "--payment-webhook-secret",
        WEBHOOK_SECRET,
        "--clock",
        "manual",
    ];
    args.extend_from_slice(extra);
    env.start_with(&args).await
}

/// A production server on its own PostgreSQL database with the shop open, and the
/// attacker: a buyer with a valid token.
struct Attack {
    env: Env,
    server: Server,
    master: Api,
    mallory: Api,
}

async fn attack(extra: &[&str]) -> Attack {
    let env = Env::new(Backend::Postgres).await;
    let server = start(&env, extra).await;
    let master = as_holder(&server, MASTER);
    open_shop(&master).await;
    let mallory = buyer(&server, "mallory");
    Attack {
        env,
        server,
        master,
        mallory,
    }
}

/// Warehouse `ams` (ships to `nl`) with MUG-1 (cheap) and TV-1 (dear) in stock.
async fn open_shop(master: &Api) {
    crate::shop::open_shop(master, STOCK, MUG_PRICE).await;
    master
        .post("/v1/stock/TV-1/ams/receipts", &json!({ "quantity": STOCK }))
        .await
        .expect(StatusCode::OK);
    crate::shop::list_product(master, "TV-1", "Television", TV_PRICE).await;
}

/// The server's (manual) clock in unix seconds, read by advancing it by nothing.
pub(crate) async fn server_now(api: &Api) -> i64 {
    advance(&as_holder(api, MASTER), 0).await
}

/// A buyer with a valid token of this server's.
pub(crate) fn buyer(server: &Api, subject: &str) -> Api {
    credentials::buyer(server, JWT_SECRET, subject)
}

/// The payment provider's signed callback for `order_id`, signed at the server's
/// time (its clock is manual, so the system's may be far behind it).
pub(crate) async fn webhook(api: &Api, order_id: &str, payment_id: &str, amount: i64) -> Value {
    let body = serde_json::to_vec(&json!({
        "order_id": order_id, "payment_id": payment_id, "status": "succeeded",
        "amount": {"amount": amount, "currency": "EUR"},
    }))
    .unwrap();
    let signature = sign(WEBHOOK_SECRET.as_bytes(), server_now(api).await, &body);
    let answer = api
        .send(
            api.client
                .post(api.url("/v1/payments/webhook"))
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body),
        )
        .await;
    assert_ne!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "the signature is refused: {}",
        answer.text
    );
    answer.json()
}

pub(crate) async fn place(api: &Api, order_id: &str, sku: &str, quantity: u64) -> Value {
    let body = json!({"order_id": order_id, "lines": [{"sku": sku, "quantity": quantity}],
                      "ship_to": {"region": "nl"}});
    api.post("/v1/orders", &body)
        .await
        .expect(StatusCode::CREATED)
}

pub(crate) async fn wait_order(api: &Api, order_id: &str, statuses: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{order_id}?wait_for_status={statuses}&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

/// (on hand, held) of `sku` in `ams`, as of `position` at least.
pub(crate) async fn stock(api: &Api, sku: &str, position: i64) -> (i64, i64) {
    let view = api
        .get(&format!("/v1/availability/{sku}?min_position={position}"))
        .await
        .expect(StatusCode::OK);
    (
        view["on_hand"].as_i64().unwrap(),
        view["held"].as_i64().unwrap(),
    )
}

pub(crate) fn reserve_body(id: &str, sku: &str, quantity: u64) -> Value {
    json!({"reservation_id": id, "lines": [{"sku": sku, "quantity": quantity, "warehouse_id": "ams"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buyer_cannot_slip_its_own_reservation_into_an_order() {
    let Attack {
        env: _env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0", "--buyer-max-units", "100"]).await;

    // Reserve 20 dear units under the id the order will have, then order one cheap one.
    mallory
        .post("/v1/reservations", &reserve_body("X", "TV-1", 20))
        .await
        .expect(StatusCode::CREATED);
    place(&mallory, "X", "MUG-1", 1).await;
    let reserved = wait_order(&mallory, "X", "reserved,rejected").await;
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    assert_eq!(
        reserved["reserved"],
        json!([{"sku": "MUG-1", "warehouse_id": "ams", "quantity": 1}])
    );
    webhook(&server, "X", "pay-x", MUG_PRICE).await;
    let confirmed = wait_order(&mallory, "X", "confirmed,refunded").await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    let position = confirmed["position"].as_i64().unwrap();
    assert_eq!(
        stock(&master, "TV-1", position).await,
        (STOCK as i64, 20),
        "no TV was sold"
    );
    assert_eq!(
        stock(&master, "MUG-1", position).await,
        (STOCK as i64 - 1, 0),
        "one mug was"
    );

    // The order's reservation belongs to the process: nobody reaches it through the
    // reservation routes, and nobody can take its id first.
    let ops = key(&master, "backend", &["orders:write"]).await;
    for caller in [&mallory, &ops] {
        caller
            .get("/v1/reservations/order:X")
            .await
            .problem(StatusCode::NOT_FOUND);
        for (action, body) in [
            ("confirm", json!({})),
            ("release", json!({})),
            ("extend", json!({"ttl_seconds": 60})),
        ] {
            caller
                .post(&format!("/v1/reservations/order:X/{action}"), &body)
                .await
                .problem(StatusCode::NOT_FOUND);
        }
        caller
            .post("/v1/reservations", &reserve_body("order:Y", "MUG-1", 1))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The buyer reads its order's reservation where it belongs.
    let own = mallory
        .get("/v1/orders/X/reservation")
        .await
        .expect(StatusCode::OK);
    assert_eq!(own["status"], "confirmed", "{own}");
    assert_eq!(own["reservation_id"], "order:X");
    // Another buyer sees neither the order nor its reservation.
    let eve = buyer(&server, "eve");
    eve.get("/v1/orders/X/reservation")
        .await
        .problem(StatusCode::NOT_FOUND);

    // The longest order id still has a late reservation to fall back on.
    let long_id = "L".repeat(64);
    place(&mallory, &long_id, "MUG-1", 1).await;
    let reserved = wait_order(&mallory, &long_id, "reserved,rejected").await;
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    master
        .post("/v1/admin/clock/advance", &json!({"seconds": 16 * 60}))
        .await
        .expect(StatusCode::OK);
    wait_order(&mallory, &long_id, "timed_out").await;
    webhook(&server, &long_id, "pay-long", MUG_PRICE).await;
    let late = wait_order(&mallory, &long_id, "confirmed,refunded").await;
    assert_eq!(late["status"], "confirmed", "held again and sold: {late}");
    let parked = master
        .get("/v1/admin/processes/order/parked")
        .await
        .expect(StatusCode::OK);
    assert_eq!(parked["parked"], json!([]), "{parked}");
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_key_that_reserved_confirms_and_buyers_never_do() {
    let Attack {
        env: _env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;
    mallory
        .post("/v1/reservations", &reserve_body("mine", "TV-1", 2))
        .await
        .expect(StatusCode::CREATED);
    let refused = mallory
        .post("/v1/reservations/mine/confirm", &json!({}))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        refused["type"], "/problems/buyers_cannot_confirm",
        "{refused}"
    );

    let shop = key(&master, "shop-backend", &["orders:write"]).await;
    let other = key(&master, "other-backend", &["orders:write"]).await;
    shop.post("/v1/reservations", &reserve_body("cart-1", "TV-1", 1))
        .await
        .expect(StatusCode::CREATED);
    for (caller, reservation) in [(&other, "cart-1"), (&shop, "mine")] {
        let refused = caller
            .post(
                &format!("/v1/reservations/{reservation}/confirm"),
                &json!({}),
            )
            .await
            .problem(StatusCode::FORBIDDEN);
        assert_eq!(
            refused["type"], "/problems/not_your_reservation",
            "{refused}"
        );
    }
    let sold = shop
        .post("/v1/reservations/cart-1/confirm", &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(sold["status"], "confirmed");
    let position = sold["position"].as_i64().unwrap();
    assert_eq!(
        stock(&master, "TV-1", position).await,
        (STOCK as i64 - 1, 2),
        "one sold by the key; the buyer's two stay held, unsold"
    );
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buyer_holds_no_more_than_its_limits_allow() {
    let Attack {
        env: _env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;

    // Ten reservations of three units at once: the limit of 20 lets six through.
    let attempts: Vec<_> = (0..10)
        .map(|i| {
            let api = mallory.clone();
            tokio::spawn(async move {
                let id = format!("grab-{i}");
                let answer = api
                    .post("/v1/reservations", &reserve_body(&id, "TV-1", 3))
                    .await;
                (id, answer)
            })
        })
        .collect();
    // Which six get through is a race: later steps use the ones that did.
    let mut grabbed = Vec::new();
    let mut last = 0;
    for attempt in attempts {
        let (id, answer) = attempt.await.unwrap();
        if answer.status == StatusCode::CREATED {
            grabbed.push(id);
            last = last.max(answer.json()["position"].as_i64().unwrap());
        } else {
            let problem = answer.problem(StatusCode::CONFLICT);
            assert_eq!(problem["type"], "/problems/buyer_hold_limit", "{problem}");
        }
    }
    assert_eq!(
        grabbed.len(),
        6,
        "6 × 3 = 18 units fit under 20; a seventh would not"
    );
    let (released, extended) = (&grabbed[0], &grabbed[1]);
    assert_eq!(stock(&master, "TV-1", last).await, (STOCK as i64, 18));
    // Another buyer is not held back by mallory's limit.
    buyer(&server, "alice")
        .post("/v1/reservations", &reserve_body("alice-1", "TV-1", 20))
        .await
        .expect(StatusCode::CREATED);

    // A release gives the units back to the buyer's allowance.
    mallory
        .post(&format!("/v1/reservations/{released}/release"), &json!({}))
        .await
        .expect(StatusCode::OK);
    mallory
        .post(
            "/v1/reservations",
            &reserve_body("after-release", "TV-1", 3),
        )
        .await
        .expect(StatusCode::CREATED);

    // No hold longer than 15 minutes, and no life longer than an hour through extensions.
    let too_long = mallory
        .post(
            "/v1/reservations",
            &json!({"reservation_id": "long", "ttl_seconds": 3600,
                    "lines": [{"sku": "MUG-1", "quantity": 1, "warehouse_id": "ams"}]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_long["errors"][0]["field"], "ttl_seconds", "{too_long}");
    mallory
        .post(
            &format!("/v1/reservations/{extended}/extend"),
            &json!({"ttl_seconds": 3600}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..3 {
        master
            .post("/v1/admin/clock/advance", &json!({"seconds": 14 * 60}))
            .await
            .expect(StatusCode::OK);
        mallory
            .post(
                &format!("/v1/reservations/{extended}/extend"),
                &json!({"ttl_seconds": 900}),
            )
            .await
            .expect(StatusCode::OK);
    }
    // 42 minutes in, a 15-minute extension would end at 57: allowed; at 56 + 15 not.
    master
        .post("/v1/admin/clock/advance", &json!({"seconds": 14 * 60}))
        .await
        .expect(StatusCode::OK);
    let too_old = mallory
        .post(
            &format!("/v1/reservations/{extended}/extend"),
            &json!({"ttl_seconds": 900}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(
        too_old["type"], "/problems/reservation_too_old",
        "{too_old}"
    );
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_buyer_over_its_rate_slows_only_itself() {
    let Attack {
        env: _env,
        server,
        master: _master,
        mallory,
    } = attack(&["--buyer-rate-limit", "5"]).await;
    // Twenty at once: however slow the machine, they arrive within the burst's second.
    let answers = futures::future::join_all((0..20).map(|_| mallory.get("/v1/orders/none"))).await;
    let limited = answers
        .iter()
        .filter(|answer| answer.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        limited > 0,
        "twenty requests at once pass a rate of five a second"
    );
    buyer(&server, "alice")
        .get("/v1/orders/none")
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_for_orders_that_will_not_ship_are_refunded() {
    let Attack {
        env: _env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0", "--buyer-max-units", "1000"]).await;

    // Rejected: more than there is.
    place(&mallory, "too-many", "MUG-1", STOCK + 1).await;
    let rejected = wait_order(&mallory, "too-many", "reserved,rejected").await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    webhook(&server, "too-many", "pay-1", MUG_PRICE * (STOCK as i64 + 1)).await;
    let refunded = wait_order(&mallory, "too-many", "refunded").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    assert!(refunded["refund_reason"]
        .as_str()
        .unwrap()
        .contains("rejected"));

    // Cancelled after its stock was held, then paid: the stock goes back, nothing ships.
    place(&mallory, "cancel-late", "MUG-1", 3).await;
    wait_order(&mallory, "cancel-late", "reserved").await;
    mallory
        .post("/v1/orders/cancel-late/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    webhook(&server, "cancel-late", "pay-2", MUG_PRICE * 3).await;
    let refunded = wait_order(&mallory, "cancel-late", "refunded,confirmed").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");

    // Cancelled as soon as placed (before or after the process holds its stock).
    place(&mallory, "cancel-early", "MUG-1", 2).await;
    mallory
        .post("/v1/orders/cancel-early/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    webhook(&server, "cancel-early", "pay-3", MUG_PRICE * 2).await;
    let refunded = wait_order(&mallory, "cancel-early", "refunded,confirmed").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");

    // A paid order behind them all still ships: nothing was left retrying.
    place(&mallory, "honest", "MUG-1", 1).await;
    wait_order(&mallory, "honest", "reserved").await;
    webhook(&server, "honest", "pay-4", MUG_PRICE).await;
    let confirmed = wait_order(&mallory, "honest", "confirmed").await;
    let position = confirmed["position"].as_i64().unwrap();
    let cancelled_reservation = mallory
        .get("/v1/orders/cancel-late/reservation")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        cancelled_reservation["status"], "released",
        "{cancelled_reservation}"
    );
    assert_eq!(
        stock(&master, "MUG-1", position).await.0,
        STOCK as i64 - 1,
        "only the honest order's unit left the shelf"
    );
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_is_parked_and_delays_nobody() {
    use sqlx::Connection;
    let Attack {
        env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;
    place(&mallory, "before", "MUG-1", 1).await;
    wait_order(&mallory, "before", "reserved").await;

    // An event the process cannot act on lands in the log (a payment for an order
    // that was never placed, as a buggy writer or a bad migration would leave it).
    let mut db = sqlx::PgConnection::connect(env.database_url().unwrap())
        .await
        .unwrap();
    let poison: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('order', 'ghost', 1, 'OrderPaid', '1.0', $1, '{}') RETURNING position",
    )
    .bind(json!({"OrderPaid": {"order_id": "ghost", "payment_id": "p", "amount": {"amount": 1, "currency": "EUR"}}}))
    .fetch_one(&mut db)
    .await
    .unwrap();

    // Orders after it go through.
    webhook(&server, "before", "pay-before", MUG_PRICE).await;
    place(&mallory, "after", "MUG-1", 1).await;
    wait_order(&mallory, "after", "reserved").await;
    webhook(&server, "after", "pay-after", MUG_PRICE).await;
    wait_order(&mallory, "before", "confirmed").await;
    wait_order(&mallory, "after", "confirmed").await;

    let parked = master
        .get("/v1/admin/processes/order/parked")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        parked["parked"].as_array().unwrap().len(),
        1,
        "{parked}\n{}",
        server.logs()
    );
    assert_eq!(parked["parked"][0]["position"], poison);
    assert_eq!(parked["parked"][0]["order_id"], "ghost");
    // A retry fails the same way and it stays parked; buyers cannot see any of it.
    let again = master
        .post(
            &format!("/v1/admin/processes/order/parked/{poison}/retry"),
            &json!({}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(again["type"], "/problems/still_failing", "{again}");
    mallory
        .get("/v1/admin/processes/order/parked")
        .await
        .problem(StatusCode::FORBIDDEN);
    // The checkpoint moves past the parked event: poll the process's own record
    // (written at most every 200 ms) in a bounded loop.
    let mut checkpoint = 0;
    for _ in 0..200 {
        checkpoint = sqlx::query_scalar::<_, i64>(
            "SELECT position FROM process_checkpoints WHERE name = 'order_process'",
        )
        .fetch_optional(&mut db)
        .await
        .unwrap()
        .unwrap_or(0);
        if checkpoint >= poison {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        checkpoint >= poison,
        "checkpoint {checkpoint} is past {poison}"
    );
    assert!(server.stop().await.success());
}

/// `flash_admission_entries{kind="..."}` from the metrics.
async fn admission_entries(master: &Api, kind: &str) -> f64 {
    let answer = master.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let prefix = format!("flash_admission_entries{{kind=\"{kind}\"}} ");
    answer
        .text
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in the metrics"))
}

/// `count` purchases, each from its own address behind the trusted proxy and for its
/// own buyer; every one is let in or queued (no address or buyer is over a limit).
async fn hostile_purchases(backend: &Api, sale_id: &str, first: usize, count: usize) {
    use futures::StreamExt;
    let answers: Vec<StatusCode> = futures::stream::iter(first..first + count)
        .map(|i| {
            let api = backend.clone();
            let sale_id = sale_id.to_string();
            async move {
                let address = format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255);
                let request = api
                    .client
                    .post(api.url(&format!("/v1/flash-sales/{sale_id}/purchase")))
                    .header("x-forwarded-for", format!("203.0.113.7, {address}"))
                    .json(&json!({"quantity": 1, "user_id": format!("crowd-{i}")}));
                api.send(request).await.status
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for status in [
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let seen = answers.iter().filter(|s| **s == status).count();
        assert_eq!(seen, 0, "{seen} purchases were answered {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_flash_traffic_leaves_nothing_behind_once_it_expires() {
    let env = Env::new(Backend::Postgres).await;
    let server = start(
        &env,
        &[
            "--trusted-proxies",
            "127.0.0.1/32,::1",
            "--key-rate-limit",
            "0",
            "--flash-admission-rate",
            "1",
            "--flash-buyer-limit",
            "600000",
        ],
    )
    .await;
    let master = as_holder(&server, MASTER);
    open_shop(&master).await;
    let now = chrono::DateTime::from_timestamp(server_now(&server).await, 0).unwrap();
    master
        .post(
            "/v1/flash-sales",
            &json!({
                "sale_id": "rush", "sku": "MUG-1", "warehouse_id": "ams", "units": 10,
                "price": {"amount": 99, "currency": "EUR"},
                "starts_at": now - chrono::Duration::minutes(1),
                "ends_at": now + chrono::Duration::hours(2),
                "per_user_limit": 1, "payment_window_seconds": 300
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    // The shop's backend forwards its buyers' purchases through the proxy.
    let backend = key(&master, "storefront", &["orders:write", "buyers:act"]).await;

    hostile_purchases(&backend, "rush", 0, 10_000).await;
    let tickets = admission_entries(&master, "tickets").await;
    assert!(tickets > 9_000.0, "the crowd is queued: {tickets} tickets");
    // Nobody polls: their tickets lapse and, past their retention, are forgotten as
    // the next crowd arrives.
    master
        .post("/v1/admin/clock/advance", &json!({"seconds": 11 * 60}))
        .await
        .expect(StatusCode::OK);
    hostile_purchases(&backend, "rush", 10_000, 10_000).await;

    for kind in ["tickets", "buyer_tickets"] {
        let entries = admission_entries(&master, kind).await;
        assert!(
            entries <= 10_500.0,
            "{kind}: {entries} entries after 20,000 purchases, half of them expired"
        );
    }
    // Keyed limiters are trimmed to what still limits (a few hundred ms per address).
    for kind in ["address_limiter", "buyer_limiter"] {
        let entries = admission_entries(&master, kind).await;
        assert!(
            entries <= 12_000.0,
            "{kind}: {entries} entries after 20,000 distinct callers"
        );
    }
    assert!(server.stop().await.success());
}

/// A keyed retry of an order sent without an id names the same order (its id comes
/// from the key, and the fingerprint leaves it out); a POST that does not honour a key
/// says so instead of ignoring it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_are_honoured_or_refused_never_ignored() {
    let Attack {
        env: _env,
        server,
        master: _master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;
    let keyed = |key: &str| {
        mallory
            .client
            .post(mallory.url("/v1/orders"))
            .header("idempotency-key", key)
            .json(&json!({"lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}}))
    };
    let first = mallory
        .send(keyed("checkout-1"))
        .await
        .expect(StatusCode::CREATED);
    let again = mallory.send(keyed("checkout-1")).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.json()["order_id"],
        first["order_id"],
        "{}",
        again.text
    );
    let other = mallory
        .send(keyed("checkout-2"))
        .await
        .expect(StatusCode::CREATED);
    assert_ne!(other["order_id"], first["order_id"]);

    let order_id = first["order_id"].as_str().unwrap();
    let refused = mallory
        .send(
            mallory
                .client
                .post(mallory.url(&format!("/v1/orders/{order_id}/cancel")))
                .header("idempotency-key", "cancel-1")
                .json(&json!({})),
        )
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        refused["type"], "/problems/idempotency_key_not_taken",
        "{refused}"
    );
    // Nothing was cancelled by the refused request.
    let order = mallory
        .get(&format!("/v1/orders/{order_id}"))
        .await
        .expect(StatusCode::OK);
    assert_ne!(order["status"], "cancelled", "{order}");
    assert!(server.stop().await.success());
}

/// A buyer's unpaid orders hold stock for the payment window: they count against the
/// same limit as its reservations, and give their units back when they end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buyer_cannot_hoard_stock_with_unpaid_orders() {
    let Attack {
        env: _env,
        server,
        master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;
    for n in 0..3 {
        place(&mallory, &format!("hoard-{n}"), "MUG-1", 5).await;
        let order = wait_order(&mallory, &format!("hoard-{n}"), "reserved,rejected").await;
        assert_eq!(order["status"], "reserved", "{order}");
    }
    // 15 units held by orders: six more pass the limit of 20, by order or reservation.
    let body = json!({"order_id": "hoard-3", "lines": [{"sku": "MUG-1", "quantity": 6}],
                      "ship_to": {"region": "nl"}});
    let refused = mallory
        .post("/v1/orders", &body)
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(refused["type"], "/problems/buyer_hold_limit", "{refused}");
    mallory
        .get("/v1/orders/hoard-3")
        .await
        .problem(StatusCode::NOT_FOUND);
    let refused = mallory
        .post("/v1/reservations", &reserve_body("hoard-r", "MUG-1", 6))
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(refused["type"], "/problems/buyer_hold_limit", "{refused}");
    // A cancelled order gives its five back; the shop's backend is not limited.
    mallory
        .post("/v1/orders/hoard-0/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    mallory
        .post("/v1/reservations", &reserve_body("hoard-r", "MUG-1", 5))
        .await
        .expect(StatusCode::CREATED);
    place(&master, "bulk", "MUG-1", 50).await;
    let bulk = wait_order(&master, "bulk", "reserved,rejected").await;
    assert_eq!(bulk["status"], "reserved", "{bulk}");
    assert!(server.stop().await.success());
}

/// A buyer's bad input is refused before anything is counted: nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buyers_bad_input_writes_nothing() {
    let Attack {
        env: _env,
        server,
        master: _master,
        mallory,
    } = attack(&["--buyer-rate-limit", "0"]).await;
    let head = server.head().await;
    mallory
        .post("/v1/reservations", &reserve_body("bad", "MUG-1", 0))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let body = json!({"order_id": "bad", "lines": [{"sku": "NO-SUCH", "quantity": 1}],
                      "ship_to": {"region": "nl"}});
    mallory
        .post("/v1/orders", &body)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let body = json!({"order_id": "bad", "lines": [{"sku": "MUG-1", "quantity": 0}],
                      "ship_to": {"region": "nl"}});
    mallory
        .post("/v1/orders", &body)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.head().await, head, "nothing was written");
    assert!(server.stop().await.success());
}
