//! Reservations through the API: many buyers racing for few units, all-or-nothing
//! lines, confirmation, release, and expiry on the manual clock.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::load::stock_path;
use crate::on_both_backends;
use crate::support::{register_warehouses, Api, Backend, Env};

on_both_backends!(
    buyers_racing_for_ten_units_get_exactly_ten_holds,
    a_reservation_holds_every_line_or_none,
    lines_without_a_warehouse_are_allocated,
    an_extended_reservation_outlives_its_first_end,
);

async fn receive(api: &Api, sku: &str, warehouse: &str, quantity: u64) -> i64 {
    let answer = api
        .post(
            &format!("{}/receipts", stock_path(sku, warehouse)),
            &json!({ "quantity": quantity }),
        )
        .await
        .expect(StatusCode::OK);
    answer["position"].as_i64().unwrap()
}

async fn availability(api: &Api, sku: &str, min_position: i64) -> Value {
    api.get(&format!(
        "/v1/availability/{sku}?min_position={min_position}"
    ))
    .await
    .expect(StatusCode::OK)
}

/// 200 buyers race for 10 units spread over 3 warehouses: exactly 10 hold one, the
/// rest hear what is available; confirmed units stay sold, the rest come back when
/// the holds run out.
async fn buyers_racing_for_ten_units_get_exactly_ten_holds(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    let warehouses = ["wh-a", "wh-b", "wh-c"];
    register_warehouses(&server, &warehouses).await;
    for (warehouse, units) in warehouses.iter().zip([4, 3, 3]) {
        receive(&server, "DROP", warehouse, units).await;
    }
    let buyers: Vec<_> = (0..200)
        .map(|buyer| {
            let api = server.api.clone();
            let warehouse = warehouses[buyer % 3];
            tokio::spawn(async move {
                let body = json!({
                    "reservation_id": format!("buyer-{buyer}"),
                    "lines": [{"sku": "DROP", "quantity": 1, "warehouse_id": warehouse}],
                });
                (buyer, api.post("/v1/reservations", &body).await)
            })
        })
        .collect();
    let mut held = Vec::new();
    let mut last_position = 0;
    for buyer in buyers {
        let (id, answer) = buyer.await.unwrap();
        if answer.status == StatusCode::CREATED {
            let body = answer.json();
            assert_eq!(body["status"], "held", "{body}");
            last_position = last_position.max(body["position"].as_i64().unwrap());
            held.push(id);
        } else {
            let problem = answer.problem(StatusCode::CONFLICT);
            assert_eq!(problem["lines"][0]["available"], 0, "{problem}");
            last_position = last_position.max(problem["position"].as_i64().unwrap());
        }
    }
    assert_eq!(held.len(), 10, "exactly the units there are were held");
    let during = availability(&server, "DROP", last_position).await;
    assert_eq!(
        (
            during["on_hand"].as_i64(),
            during["held"].as_i64(),
            during["available"].as_i64()
        ),
        (Some(10), Some(10), Some(0)),
        "{during}"
    );

    // Three buyers pay; the holds of the other seven run out.
    for id in &held[..3] {
        let confirmed = server
            .post(&format!("/v1/reservations/buyer-{id}/confirm"), &json!({}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(confirmed["status"], "confirmed");
    }
    let advanced = server
        .post("/v1/admin/clock/advance", &json!({"seconds": 16 * 60}))
        .await
        .expect(StatusCode::OK);
    let after = availability(&server, "DROP", advanced["position"].as_i64().unwrap()).await;
    assert_eq!(
        (
            after["on_hand"].as_i64(),
            after["held"].as_i64(),
            after["available"].as_i64()
        ),
        (Some(7), Some(0), Some(7)),
        "{after}"
    );
    for warehouse in &after["warehouses"].as_array().unwrap()[..] {
        assert!(warehouse["on_hand"].as_i64().unwrap() >= 0, "{after}");
    }
    let late = server
        .get(&format!("/v1/reservations/buyer-{}", held[5]))
        .await
        .expect(StatusCode::OK);
    assert_eq!(late["status"], "expired", "{late}");
    server
        .post(
            &format!("/v1/reservations/buyer-{}/confirm", held[5]),
            &json!({}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(server.stop().await.success());
}

/// One short line fails the whole reservation and leaves nothing held; repeating a
/// request is harmless; release gives everything back.
async fn a_reservation_holds_every_line_or_none(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    register_warehouses(&server, &["wh-a", "wh-b"]).await;
    receive(&server, "MUG", "wh-a", 5).await;
    let position = receive(&server, "CUP", "wh-b", 1).await;

    let too_much = json!({
        "reservation_id": "r-fail",
        "lines": [
            {"sku": "MUG", "quantity": 2, "warehouse_id": "wh-a"},
            {"sku": "CUP", "quantity": 1, "warehouse_id": "wh-b"},
            {"sku": "CUP", "quantity": 1, "warehouse_id": "wh-b"},
        ],
    });
    let problem = server
        .post("/v1/reservations", &too_much)
        .await
        .problem(StatusCode::CONFLICT);
    // The same SKU twice counts as the sum: 2 CUP wanted, 1 there.
    let lines = problem["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{problem}");
    assert_eq!(
        (
            lines[0]["sku"].as_str(),
            lines[0]["wanted"].as_u64(),
            lines[0]["available"].as_u64()
        ),
        (Some("CUP"), Some(2), Some(1))
    );
    let mug = availability(&server, "MUG", problem["position"].as_i64().unwrap()).await;
    assert_eq!(mug["held"], 0, "the MUG hold was taken back: {mug}");

    let good = json!({
        "reservation_id": "r-ok",
        "lines": [
            {"sku": "MUG", "quantity": 2, "warehouse_id": "wh-a"},
            {"sku": "CUP", "quantity": 1, "warehouse_id": "wh-b"},
        ],
    });
    let held = server
        .post("/v1/reservations", &good)
        .await
        .expect(StatusCode::CREATED);
    let again = server
        .post("/v1/reservations", &good)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        again["position"], held["position"],
        "a repeat changes nothing"
    );
    let other = json!({"reservation_id": "r-ok", "lines": [{"sku": "MUG", "quantity": 1, "warehouse_id": "wh-a"}]});
    server
        .post("/v1/reservations", &other)
        .await
        .problem(StatusCode::CONFLICT);
    let mug = availability(&server, "MUG", held["position"].as_i64().unwrap()).await;
    assert_eq!(
        (mug["held"].as_i64(), mug["available"].as_i64()),
        (Some(2), Some(3))
    );

    let released = server
        .post(
            "/v1/reservations/r-ok/release",
            &json!({"reason": "cart emptied"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(released["status"], "released");
    let mug = availability(&server, "MUG", released["position"].as_i64().unwrap()).await;
    assert_eq!(
        (mug["held"].as_i64(), mug["available"].as_i64()),
        (Some(0), Some(5))
    );
    let cup = availability(
        &server,
        "CUP",
        released["position"].as_i64().unwrap().max(position),
    )
    .await;
    assert_eq!(cup["available"], 1);
    server
        .get("/v1/reservations/nope")
        .await
        .problem(StatusCode::NOT_FOUND);

    // With an Idempotency-Key, a retry gets the first answer, even for a generated id.
    let keyed = |body: &Value| {
        server
            .client
            .post(server.url("/v1/reservations"))
            .header("idempotency-key", "cart-retry-1")
            .json(body)
    };
    let cart = json!({"lines": [{"sku": "MUG", "quantity": 1, "warehouse_id": "wh-a"}]});
    let first = server.send(keyed(&cart)).await.expect(StatusCode::CREATED);
    let retry = server.send(keyed(&cart)).await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let retry = retry.expect(StatusCode::CREATED);
    assert_eq!(retry["reservation_id"], first["reservation_id"]);
    assert_eq!(retry["position"], first["position"]);
    let other = json!({"lines": [{"sku": "MUG", "quantity": 2, "warehouse_id": "wh-a"}]});
    server
        .send(keyed(&other))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let mug = availability(&server, "MUG", first["position"].as_i64().unwrap()).await;
    assert_eq!(mug["held"], 1, "one hold for the two requests: {mug}");
    server
        .post(
            "/v1/reservations",
            &json!({"lines": [{"sku": "MUG", "quantity": 1}]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .post(
            "/v1/reservations",
            &json!({"lines": [{"sku": "MUG", "quantity": 0, "warehouse_id": "wh-a"}]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(server.stop().await.success());
}

fn rated_warehouse(id: &str, per_item: i64, per_shipment: i64, days: u32) -> Value {
    json!({
        "warehouse_id": id,
        "name": format!("Warehouse {id}"),
        "region": "nl",
        "location": {"lat": 52.37, "lon": 4.89},
        "ships_to": [{
            "region": "nl",
            "cost_per_item": {"amount": per_item, "currency": "EUR"},
            "cost_per_shipment": {"amount": per_shipment, "currency": "EUR"},
            "days": days
        }]
    })
}

/// Lines without a warehouse go where the allocation policy says: one warehouse when
/// one has everything (cheapest, or fastest for priority), else a split.
async fn lines_without_a_warehouse_are_allocated(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    for warehouse in [
        rated_warehouse("cheap", 10, 100, 5),
        rated_warehouse("fast", 30, 300, 1),
        rated_warehouse("far", 1, 1, 9),
    ] {
        server
            .post("/v1/warehouses", &warehouse)
            .await
            .expect(StatusCode::CREATED);
    }
    // "far" is the cheapest but has no stock; "far-away" has plenty but ships only
    // to de: neither may be chosen.
    let mut far = rated_warehouse("far-away", 1, 1, 9);
    far["warehouse_id"] = json!("far-away");
    far["ships_to"][0]["region"] = json!("de");
    server
        .post("/v1/warehouses", &far)
        .await
        .expect(StatusCode::CREATED);
    receive(&server, "MUG", "cheap", 2).await;
    receive(&server, "MUG", "fast", 5).await;
    receive(&server, "MUG", "far-away", 100).await;
    receive(&server, "BOWL", "fast", 1).await;

    let reserve = |id: &str, lines: Value, priority: bool| json!({"reservation_id": id, "lines": lines, "ship_to": {"region": "nl"}, "priority": priority});
    // Cheapest single warehouse with everything.
    let cheap = server
        .post(
            "/v1/reservations",
            &reserve("r1", json!([{"sku": "MUG", "quantity": 1}]), false),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(cheap["lines"][0]["warehouse_id"], "cheap", "{cheap}");
    assert!(
        cheap["explanation"].as_str().is_some_and(|e| !e.is_empty()),
        "{cheap}"
    );
    // Priority: the fastest.
    let fast = server
        .post(
            "/v1/reservations",
            &reserve("r2", json!([{"sku": "MUG", "quantity": 1}]), true),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(fast["lines"][0]["warehouse_id"], "fast", "{fast}");
    // Only "fast" has both: one shipment is preferred.
    let both = server
        .post(
            "/v1/reservations",
            &reserve(
                "r3",
                json!([{"sku": "MUG", "quantity": 1}, {"sku": "BOWL", "quantity": 1}]),
                false,
            ),
        )
        .await
        .expect(StatusCode::CREATED);
    let warehouses: Vec<&str> = both["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["warehouse_id"].as_str().unwrap())
        .collect();
    assert_eq!(warehouses, ["fast", "fast"], "{both}");
    // 1 left in cheap, 3 in fast: 4 units need a split.
    let split = server
        .post(
            "/v1/reservations",
            &reserve("r4", json!([{"sku": "MUG", "quantity": 4}]), false),
        )
        .await
        .expect(StatusCode::CREATED);
    let mut parts: Vec<(String, u64)> = split["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["warehouse_id"].as_str().unwrap().to_string(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    parts.sort();
    assert_eq!(
        parts,
        [("cheap".to_string(), 1), ("fast".to_string(), 3)],
        "{split}"
    );
    // Nothing left that ships to nl.
    let short = server
        .post(
            "/v1/reservations",
            &reserve("r5", json!([{"sku": "MUG", "quantity": 1}]), false),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(short["detail"].as_str().unwrap().contains("MUG"), "{short}");
    // Without a destination, a line without a warehouse cannot be placed.
    server
        .post(
            "/v1/reservations",
            &json!({"lines": [{"sku": "MUG", "quantity": 1}]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(server.stop().await.success());
}

/// Extending moves every hold's end: past the first end the units stay held, past
/// the new one they come back.
async fn an_extended_reservation_outlives_its_first_end(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    register_warehouses(&server, &["wh-a", "wh-b"]).await;
    receive(&server, "MUG", "wh-a", 3).await;
    receive(&server, "CUP", "wh-b", 3).await;
    let lines = json!([
        {"sku": "MUG", "quantity": 1, "warehouse_id": "wh-a"},
        {"sku": "CUP", "quantity": 2, "warehouse_id": "wh-b"},
    ]);
    server
        .post(
            "/v1/reservations",
            &json!({"reservation_id": "slow-pay", "lines": lines, "ttl_seconds": 600}),
        )
        .await
        .expect(StatusCode::CREATED);
    let extended = server
        .post(
            "/v1/reservations/slow-pay/extend",
            &json!({"ttl_seconds": 1800}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(extended["status"], "held");
    // Shortening is refused.
    server
        .post(
            "/v1/reservations/slow-pay/extend",
            &json!({"ttl_seconds": 60}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);

    // With an Idempotency-Key, a retry after time moved on answers the first
    // extension instead of extending again.
    let keyed = |ttl: u32| {
        server
            .client
            .post(server.url("/v1/reservations/slow-pay/extend"))
            .header("idempotency-key", "extend-once")
            .json(&json!({"ttl_seconds": ttl}))
    };
    let first = server.send(keyed(2400)).await;
    let first_body = first.expect(StatusCode::OK);
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 10}))
        .await
        .expect(StatusCode::OK);
    let retry = server.send(keyed(2400)).await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        retry.expect(StatusCode::OK)["expires_at"],
        first_body["expires_at"]
    );
    server
        .send(keyed(1200))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);

    let past_first = server
        .post("/v1/admin/clock/advance", &json!({"seconds": 890}))
        .await
        .expect(StatusCode::OK);
    let cup = availability(&server, "CUP", past_first["position"].as_i64().unwrap()).await;
    assert_eq!(cup["held"], 2, "still held past the first end: {cup}");
    let state = server
        .get("/v1/reservations/slow-pay")
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["status"], "held", "{state}");

    let past_second = server
        .post("/v1/admin/clock/advance", &json!({"seconds": 1600}))
        .await
        .expect(StatusCode::OK);
    let position = past_second["position"].as_i64().unwrap();
    let cup = availability(&server, "CUP", position).await;
    let mug = availability(&server, "MUG", position).await;
    assert_eq!(
        (cup["held"].as_i64(), mug["held"].as_i64()),
        (Some(0), Some(0)),
        "{cup} {mug}"
    );
    server
        .post(
            "/v1/reservations/slow-pay/extend",
            &json!({"ttl_seconds": 600}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(server.stop().await.success());
}

#[tokio::test]
async fn the_longest_hold_and_the_most_shipments_are_configurable() {
    let env = Env::new(Backend::Sqlite).await;
    let server = env
        .start_with(&["--reservation-max-ttl", "600", "--max-shipments", "1"])
        .await;
    register_warehouses(&server, &["wh-a", "wh-b"]).await;
    receive(&server, "MUG", "wh-a", 1).await;
    let at = receive(&server, "MUG", "wh-b", 1).await;
    let too_long = server
        .post(
            "/v1/reservations",
            &json!({"lines": [{"sku": "MUG", "quantity": 1, "warehouse_id": "wh-a"}], "ttl_seconds": 601}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long["detail"].as_str().unwrap().contains("600"),
        "{too_long}"
    );
    // Two units are there, but only split over two warehouses, and one is allowed.
    let split = server
        .post(
            &format!("/v1/reservations?min_position={at}"),
            &json!({"lines": [{"sku": "MUG", "quantity": 2}], "ship_to": {"region": "nl"}}),
        )
        .await;
    assert_eq!(split.status, StatusCode::CONFLICT, "{}", split.text);
    assert_eq!(split.json()["max_shipments"], 1, "{}", split.text);
}
