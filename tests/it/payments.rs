//! Payments through the API: the signed webhook, the sandbox provider, and what the
//! order process does with a payment — sell and ship, release on failure or timeout,
//! hold again or refund when the payment comes late.

use api::routes::payments::{sign, SIGNATURE_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Api, Backend, Env};

on_both_backends!(
    paid_orders_ship_failed_ones_release,
    late_payments_hold_again_or_refund,
    unpaid_orders_time_out_after_a_crash
);

async fn order(api: &Api, id: &str, quantity: u64) -> Value {
    let body = json!({"order_id": id, "lines": [{"sku": "MUG-1", "quantity": quantity}], "ship_to": {"region": "nl"}});
    api.post("/v1/orders", &body)
        .await
        .expect(StatusCode::CREATED);
    wait(api, id, "reserved,rejected").await
}

async fn wait(api: &Api, id: &str, statuses: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{id}?wait_for_status={statuses}&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

async fn stock(api: &Api, position: &Value) -> (i64, i64, i64) {
    let view = api
        .get(&format!("/v1/availability/MUG-1?min_position={position}"))
        .await
        .expect(StatusCode::OK);
    (
        view["on_hand"].as_i64().unwrap(),
        view["held"].as_i64().unwrap(),
        view["available"].as_i64().unwrap(),
    )
}

async fn pay(api: &Api, id: &str, status: &str) -> Value {
    api.post(
        &format!("/v1/payments/sandbox/{id}"),
        &json!({ "status": status }),
    )
    .await
    .expect(StatusCode::OK)
}

async fn paid_orders_ship_failed_ones_release(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    crate::shop::open_shop(&server, 5, 1000).await;

    assert_eq!(order(&server, "o-paid", 2).await["status"], "reserved");
    let paid = pay(&server, "o-paid", "succeeded").await;
    assert_eq!(paid["answer"]["status"], "paid");
    let confirmed = wait(&server, "o-paid", "confirmed").await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    assert_eq!(
        stock(&server, &confirmed["position"]).await,
        (3, 0, 3),
        "two sold from the hold"
    );

    // The provider repeats its callback: nothing changes. A wrong signature is refused
    // and writes nothing. The sandbox signs as providers do: t=<its clock>,v1=<hex>.
    let signature = paid["signature"].as_str().unwrap();
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );
    let raw = paid["body"].as_str().unwrap().as_bytes().to_vec();
    let again = server
        .send(
            server
                .client
                .post(server.url("/v1/payments/webhook"))
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(raw.clone()),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["status"], "confirmed");
    // A second, different successful payment is refunded; the order stays confirmed
    // and nothing more is sold.
    let twice = pay(&server, "o-paid", "succeeded").await;
    assert_eq!(twice["answer"]["status"], "confirmed", "{twice}");
    assert_eq!(
        stock(&server, &twice["answer"]["position"]).await,
        (3, 0, 3)
    );
    let head = server.head().await;
    server
        .send(
            server
                .client
                .post(server.url("/v1/payments/webhook"))
                .header("content-type", "application/json")
                .header(
                    SIGNATURE_HEADER,
                    sign(
                        b"not-the-webhook-secret",
                        chrono::Utc::now().timestamp(),
                        &raw,
                    ),
                )
                .body(raw),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(server.head().await, head);

    // A failed payment lets the stock go.
    assert_eq!(order(&server, "o-failed", 2).await["status"], "reserved");
    pay(&server, "o-failed", "failed").await;
    let failed = wait(&server, "o-failed", "payment_failed").await;
    assert_eq!(failed["status"], "payment_failed");
    // The release is the order process's next step: wait for it on the reservation.
    let released = server
        .get("/v1/orders/o-failed/reservation?wait_for_status=released&timeout_ms=20000")
        .await
        .expect(StatusCode::OK);
    assert_eq!(released["status"], "released", "{released}");
    assert_eq!(stock(&server, &released["position"]).await, (3, 0, 3));

    // An amount that is not the total is refused (and flagged).
    assert_eq!(order(&server, "o-short", 1).await["status"], "reserved");
    let short = server
        .post(
            "/v1/payments/sandbox/o-short",
            &json!({"status": "succeeded", "amount": {"amount": 1, "currency": "EUR"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short["type"], "/problems/amount_mismatch");
    assert!(server.stop().await.success());
}

async fn late_payments_hold_again_or_refund(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    crate::shop::open_shop(&server, 3, 1000).await;

    // No payment within the window: the order times out and its stock goes back.
    assert_eq!(order(&server, "o-late", 2).await["status"], "reserved");
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 11 * 60}))
        .await
        .expect(StatusCode::OK);
    let timed_out = wait(&server, "o-late", "timed_out").await;
    assert_eq!(timed_out["status"], "timed_out", "{timed_out}");
    assert_eq!(stock(&server, &timed_out["position"]).await, (3, 0, 3));

    // Paid late while the stock is still there: held again and shipped.
    pay(&server, "o-late", "succeeded").await;
    let confirmed = wait(&server, "o-late", "confirmed,refunded").await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    assert_eq!(stock(&server, &confirmed["position"]).await, (1, 0, 1));

    // Paid late when the stock is gone: refunded.
    assert_eq!(order(&server, "o-gone", 1).await["status"], "reserved");
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 11 * 60}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        wait(&server, "o-gone", "timed_out").await["status"],
        "timed_out"
    );
    server
        .post("/v1/stock/MUG-1/ams/sales", &json!({"quantity": 1}))
        .await
        .expect(StatusCode::OK);
    pay(&server, "o-gone", "succeeded").await;
    let refunded = wait(&server, "o-gone", "confirmed,refunded").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    assert!(server.stop().await.success());
}

/// The orders awaiting payment are found again after a crash: the one left unpaid
/// times out on the restarted server, the paid one stays confirmed.
async fn unpaid_orders_time_out_after_a_crash(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    crate::shop::open_shop(&server, 3, 1000).await;
    assert_eq!(order(&server, "o-unpaid", 1).await["status"], "reserved");
    assert_eq!(order(&server, "o-paid", 1).await["status"], "reserved");
    pay(&server, "o-paid", "succeeded").await;
    assert_eq!(
        wait(&server, "o-paid", "confirmed").await["status"],
        "confirmed"
    );
    server.crash().await;

    let server = env.start_with(&["--clock", "manual"]).await;
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 11 * 60}))
        .await
        .expect(StatusCode::OK);
    let timed_out = wait(&server, "o-unpaid", "timed_out").await;
    assert_eq!(timed_out["status"], "timed_out", "{timed_out}");
    assert_eq!(
        wait(&server, "o-paid", "confirmed").await["status"],
        "confirmed"
    );
    assert_eq!(stock(&server, &timed_out["position"]).await, (2, 0, 2));
    assert!(server.stop().await.success());
}
