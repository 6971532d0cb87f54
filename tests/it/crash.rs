//! Crash safety: the server is killed (SIGKILL) at varying moments while clients
//! place and pay orders; after a restart every order ends in a consistent state and
//! the stock is the initial stock less what was sold, with nothing oversold.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Api, Backend, Env, Rng};

on_both_backends!(orders_and_payments_survive_kill_9);

const INITIAL: i64 = 40;

/// Place orders and pay those that get stock, until the server goes away. Every id
/// is written down before it is sent, whether or not an answer comes back.
async fn client(api: Api, round: usize, sent: Arc<Mutex<Vec<String>>>) {
    for n in 0.. {
        let id = format!("crash-{round}-{n}");
        sent.lock().unwrap().push(id.clone());
        let body = json!({"order_id": id, "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}});
        let Ok(placed) = api
            .client
            .post(api.url("/v1/orders"))
            .json(&body)
            .send()
            .await
        else {
            return;
        };
        if !placed.status().is_success() {
            return;
        }
        let wait = api.url(&format!(
            "/v1/orders/{id}?wait_for_status=reserved,rejected&timeout_ms=5000"
        ));
        let Ok(order) = api.client.get(wait).send().await else {
            return;
        };
        let Ok(order) = order.json::<serde_json::Value>().await else {
            return;
        };
        if order["status"] == "reserved" && n % 3 != 2 {
            let pay = api.url(&format!("/v1/payments/sandbox/{id}"));
            if api
                .client
                .post(pay)
                .json(&json!({"status": "succeeded"}))
                .send()
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

async fn orders_and_payments_survive_kill_9(backend: Backend) {
    let env = Env::new(backend).await;
    let mut rng = Rng::new(0x5eed);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let first = env.start().await;
    crate::shop::open_shop(&first, INITIAL as u64, 1000).await;
    let mut server = Some(first);
    for round in 0..3 {
        let running = match server.take() {
            Some(running) => running,
            None => env.start().await,
        };
        let before = sent.lock().unwrap().len();
        let load = tokio::spawn(client(running.api.clone(), round, sent.clone()));
        // Let some orders of this round through, then kill the server wherever it is.
        let target = before + rng.range(5, 25) as usize;
        while sent.lock().unwrap().len() < target && !load.is_finished() {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        running.crash().await;
        let _ = load.await;
    }

    // After the last restart the order process finishes what was in flight.
    let server = env.start().await;
    let ids = sent.lock().unwrap().clone();
    let (mut confirmed, mut reserved, mut last) = (0, 0, 0);
    for id in &ids {
        let answer = server.get(&format!("/v1/orders/{id}")).await;
        if answer.status == StatusCode::NOT_FOUND {
            continue; // never placed: the crash came first
        }
        let order = server
            .get(&format!(
                "/v1/orders/{id}?wait_for_status=reserved,rejected,confirmed,refunded&timeout_ms=20000"
            ))
            .await
            .expect(StatusCode::OK);
        // A paid order is settled by the process after the restart.
        let order = if order["status"] == "paid" {
            server
                .get(&format!(
                    "/v1/orders/{id}?wait_for_status=confirmed,refunded&timeout_ms=20000"
                ))
                .await
                .expect(StatusCode::OK)
        } else {
            order
        };
        match order["status"].as_str().unwrap() {
            "confirmed" => confirmed += 1,
            "reserved" => reserved += 1,
            "rejected" | "refunded" => {}
            other => panic!("order {id} is left {other}: {order}"),
        }
        last = last.max(order["position"].as_i64().unwrap());
    }
    assert!(confirmed + reserved > 0, "some orders went through");
    let stock = server
        .get(&format!("/v1/availability/MUG-1?min_position={last}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        stock["on_hand"].as_i64(),
        Some(INITIAL - confirmed),
        "{stock}"
    );
    assert_eq!(
        stock["held"].as_i64(),
        Some(reserved),
        "held stock is exactly the reserved orders': {stock}"
    );
    assert_eq!(
        stock["available"].as_i64(),
        Some(INITIAL - confirmed - reserved),
        "available is what is neither sold nor held: {stock}"
    );
    assert!(server.stop().await.success());
}
