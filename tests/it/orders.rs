//! Orders through the API: placed with catalog prices, stock reserved by the order
//! process from the log, waited for with a long poll, cancelled.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Api, Backend, Env};

on_both_backends!(
    an_order_is_reserved_or_rejected_by_the_order_process,
    buyers_racing_for_ten_units_over_three_warehouses,
);

async fn wait(api: &Api, order_id: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{order_id}?wait_for_status=reserved,rejected&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

async fn an_order_is_reserved_or_rejected_by_the_order_process(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    crate::shop::open_shop(&server, 3, 1299).await;

    let order = json!({"order_id": "o-1", "lines": [{"sku": "MUG-1", "quantity": 2}], "ship_to": {"region": "nl"}});
    let placed = server
        .post("/v1/orders", &order)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(placed["total"], json!({"amount": 2598, "currency": "EUR"}));
    let again = server
        .post("/v1/orders", &order)
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["order_id"], "o-1");
    let reserved = wait(&server, "o-1").await;
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    assert_eq!(
        reserved["reserved"],
        json!([{"sku": "MUG-1", "warehouse_id": "ams", "quantity": 2}])
    );
    let stock = server
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            reserved["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (stock["held"].as_i64(), stock["available"].as_i64()),
        (Some(2), Some(1)),
        "{stock}"
    );

    // Only one unit is left: the next order for two is rejected, and holds nothing.
    let second = json!({"order_id": "o-2", "lines": [{"sku": "MUG-1", "quantity": 2}], "ship_to": {"region": "nl"}});
    server
        .post("/v1/orders", &second)
        .await
        .expect(StatusCode::CREATED);
    let rejected = wait(&server, "o-2").await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert!(
        rejected["explanation"].as_str().unwrap().contains("MUG-1"),
        "{rejected}"
    );

    // Cancelling gives the stock back.
    let cancelled = server
        .post(
            "/v1/orders/o-1/cancel",
            &json!({"reason": "changed my mind"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let stock = server
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            cancelled["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (stock["held"].as_i64(), stock["available"].as_i64()),
        (Some(0), Some(3)),
        "{stock}"
    );
    server
        .post("/v1/orders/o-1/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/orders/o-2/cancel", &json!({}))
        .await
        .problem(StatusCode::CONFLICT);

    // An Idempotency-Key replays the first answer; reused for another order, it is refused.
    let keyed = |body: &Value| {
        server
            .client
            .post(server.url("/v1/orders"))
            .header("idempotency-key", "checkout-123")
            .json(body)
    };
    let fourth = json!({"order_id": "o-4", "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}});
    let first_answer = server.send(keyed(&fourth)).await;
    let first_answer = first_answer.expect(StatusCode::CREATED);
    let replay = server.send(keyed(&fourth)).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        replay.expect(StatusCode::CREATED)["position"],
        first_answer["position"]
    );
    let mut other = fourth.clone();
    other["order_id"] = json!("o-5");
    server
        .send(keyed(&other))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wait(&server, "o-4").await["status"], "reserved");
    let cancelled = server
        .post("/v1/orders/o-4/cancel", &json!({}))
        .await
        .expect(StatusCode::OK);
    let stock = server
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            cancelled["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(stock["held"], 0, "{stock}");

    // Unlisted products and bad input are refused and write nothing.
    let head = server.head().await;
    server
        .post(
            "/v1/orders",
            &json!({"lines": [{"sku": "NOPE", "quantity": 1}], "ship_to": {"region": "nl"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .post(
            "/v1/orders",
            &json!({"lines": [{"sku": "MUG-1", "quantity": 0}], "ship_to": {"region": "nl"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .post(
            "/v1/orders",
            &json!({"lines": [], "ship_to": {"region": "nl"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.head().await, head);
    server
        .get("/v1/orders/none")
        .await
        .problem(StatusCode::NOT_FOUND);

    // After a restart the process resumes from its checkpoint: a new order is still
    // acted on, and the old ones are not acted on again.
    assert!(server.stop().await.success());
    let server = env.start().await;
    let third = json!({"order_id": "o-3", "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}});
    server
        .post("/v1/orders", &third)
        .await
        .expect(StatusCode::CREATED);
    let reserved = wait(&server, "o-3").await;
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    let stock = server
        .get(&format!(
            "/v1/availability/MUG-1?min_position={}",
            reserved["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (stock["held"].as_i64(), stock["available"].as_i64()),
        (Some(1), Some(2)),
        "{stock}"
    );
    assert!(server.stop().await.success());
}

/// Two processes on one PostgreSQL database: one holds the order process's lease,
/// and an order placed through either is reserved exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_order_process() {
    let env = Env::new(Backend::Postgres).await;
    let first = env.start().await;
    let second_env = env.sibling();
    let second = second_env.start().await;
    crate::shop::open_shop(&first, 3, 1299).await;
    for (i, api) in [&first.api, &second.api, &first.api]
        .into_iter()
        .enumerate()
    {
        let order = json!({"order_id": format!("p-{i}"), "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}});
        api.post("/v1/orders", &order)
            .await
            .expect(StatusCode::CREATED);
    }
    let mut last = 0;
    for i in 0..3 {
        let reserved = wait(&second, &format!("p-{i}")).await;
        assert_eq!(reserved["status"], "reserved", "{reserved}");
        last = last.max(reserved["position"].as_i64().unwrap());
    }
    let stock = first
        .get(&format!("/v1/availability/MUG-1?min_position={last}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (stock["held"].as_i64(), stock["available"].as_i64()),
        (Some(3), Some(0)),
        "{stock}"
    );
    assert!(first.stop().await.success());
    assert!(second.stop().await.success());
}

/// 200 buyers order one unit each of 10 spread over 3 warehouses: exactly 10 orders
/// get stock, the rest are rejected with why; three pay, and when the others' payment
/// window and holds run out, all unsold stock is available again.
async fn buyers_racing_for_ten_units_over_three_warehouses(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    for (warehouse, units) in [("w-a", 4u64), ("w-b", 3), ("w-c", 3)] {
        let body = json!({
            "warehouse_id": warehouse, "name": warehouse, "region": "nl",
            "location": {"lat": 52.0, "lon": 4.0},
            "ships_to": [{"region": "nl", "cost_per_item": {"amount": 50, "currency": "EUR"},
                          "cost_per_shipment": {"amount": 100, "currency": "EUR"}, "days": 1}]
        });
        server
            .post("/v1/warehouses", &body)
            .await
            .expect(StatusCode::CREATED);
        server
            .post(
                &format!("/v1/stock/DROP/{warehouse}/receipts"),
                &json!({"quantity": units}),
            )
            .await
            .expect(StatusCode::OK);
    }
    let product = json!({
        "sku": "DROP", "title": "Drop", "category": "drops",
        "shop": {"shop_id": "s1", "name": "Shop", "location": {"lat": 52.0, "lon": 4.0}},
        "price": {"amount": 5000, "currency": "EUR"}, "language": "en"
    });
    server
        .post("/v1/products", &product)
        .await
        .expect(StatusCode::CREATED);

    let buyers: Vec<_> = (0..200)
        .map(|buyer| {
            let api = server.api.clone();
            tokio::spawn(async move {
                let id = format!("race-{buyer}");
                let body = json!({"order_id": id, "lines": [{"sku": "DROP", "quantity": 1}], "ship_to": {"region": "nl"}});
                api.post("/v1/orders", &body).await.expect(StatusCode::CREATED);
                wait(&api, &id).await
            })
        })
        .collect();
    let mut reserved = Vec::new();
    let mut last = 0;
    for buyer in buyers {
        let order = buyer.await.unwrap();
        last = last.max(order["position"].as_i64().unwrap());
        match order["status"].as_str().unwrap() {
            "reserved" => reserved.push(order["order_id"].as_str().unwrap().to_string()),
            "rejected" => assert!(
                order["explanation"].as_str().unwrap().contains("DROP"),
                "{order}"
            ),
            other => panic!("unexpected status {other}: {order}"),
        }
    }
    assert_eq!(
        reserved.len(),
        10,
        "exactly the units there are were reserved"
    );
    let stock = server
        .get(&format!("/v1/availability/DROP?min_position={last}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["held"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(10), Some(10), Some(0)),
        "{stock}"
    );
    // Per warehouse too, every unit is held: none is left available anywhere.
    let warehouses = stock["warehouses"].as_array().unwrap();
    let on_hand: i64 = warehouses
        .iter()
        .map(|w| w["on_hand"].as_i64().unwrap())
        .sum();
    assert_eq!(on_hand, 10, "{stock}");
    for warehouse in warehouses {
        assert_eq!(warehouse["available"], 0, "{stock}");
        assert_eq!(warehouse["held"], warehouse["on_hand"], "{stock}");
    }

    for id in &reserved[..3] {
        server
            .post(
                &format!("/v1/payments/sandbox/{id}"),
                &json!({"status": "succeeded"}),
            )
            .await
            .expect(StatusCode::OK);
        let confirmed = server
            .get(&format!(
                "/v1/orders/{id}?wait_for_status=confirmed&timeout_ms=20000"
            ))
            .await
            .expect(StatusCode::OK);
        assert_eq!(confirmed["status"], "confirmed");
    }
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 16 * 60}))
        .await
        .expect(StatusCode::OK);
    let mut last = 0;
    for id in &reserved[3..] {
        let order = server
            .get(&format!(
                "/v1/orders/{id}?wait_for_status=timed_out&timeout_ms=20000"
            ))
            .await
            .expect(StatusCode::OK);
        assert_eq!(order["status"], "timed_out", "{order}");
        last = last.max(order["position"].as_i64().unwrap());
    }
    let stock = server
        .get(&format!("/v1/availability/DROP?min_position={last}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["held"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(7), Some(0), Some(7)),
        "{stock}"
    );
    assert!(server.stop().await.success());
}
