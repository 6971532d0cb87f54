//! Stock through the API: a concurrent mixed load checked against a model, reading
//! one's own writes, holds that run out on the manual clock, counts below what is held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::load::{self, check_levels, stock_path, Workload};
use crate::on_both_backends;
use crate::support::{register_warehouses, Api, Backend, Env};

on_both_backends!(
    concurrent_load_matches_the_accepted_commands,
    reads_see_their_own_writes,
    holds_run_out_on_the_manual_clock,
    holds_of_a_crashed_process_still_run_out,
    a_count_below_what_is_held_blocks_new_sales,
);

/// ~3 warehouses × 10 SKUs, 32 clients posting a random mix of commands at once;
/// afterwards every level is the fold of the accepted commands, nothing went below
/// zero, and per-SKU totals are the sums over warehouses.
async fn concurrent_load_matches_the_accepted_commands(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let mut model = load::open_stock(&server, &load::skus(10), 7).await;

    let workload = Workload {
        clients: 32,
        commands_per_client: 10,
        seed: 0x5eed,
        tag: "load",
    };
    let tally = load::run(&server, &mut model, &workload).await;
    assert_eq!(tally.commands(), 320);
    assert!(
        tally.accepted.values().sum::<u64>() > 0,
        "nothing was accepted: {tally:?}"
    );
    eprintln!("{backend:?}: {tally:?}");

    load::verify(&server, &model).await;
    for ((sku, w), levels) in &model.stocks {
        assert!(levels.on_hand >= 0, "{sku}@{w} went negative: {levels:?}");
        assert!(
            levels.on_hand >= levels.held,
            "{sku}@{w} holds more than it has: {levels:?}"
        );
    }
    // Every event in the log came from a command whose answer we saw.
    assert_eq!(server.head().await, model.max_position);

    // Counts after the concurrent phase, one per stock, then a sale of one unit too
    // many is refused with what is available.
    load::recount(&server, &mut model).await;
    load::verify(&server, &model).await;
    assert_eq!(server.head().await, model.max_position);

    assert!(server.stop().await.success());
}

/// The `position` of every command answer, passed as `min_position`, yields a view
/// that includes the write, while other clients keep writing elsewhere; a position
/// that will not be reached in time is answered 503 with Retry-After.
async fn reads_see_their_own_writes(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    register_warehouses(&server, &["wh-1"]).await;

    // Other clients write to other SKUs all along, so the projection has work to do.
    let stop = Arc::new(AtomicBool::new(false));
    let noise: Vec<_> = (0..4)
        .map(|i| {
            let api = server.api.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let path = format!("{}/receipts", stock_path(&format!("noise-{i}"), "wh-1"));
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    api.post(&path, &json!({"quantity": 1}))
                        .await
                        .expect(StatusCode::OK);
                    n += 1;
                }
                n
            })
        })
        .collect();

    let path = stock_path("ryw", "wh-1");
    let mut open_holds: Vec<String> = Vec::new();
    for i in 0..30 {
        let answer = match i % 5 {
            0 => server
                .post(&format!("{path}/receipts"), &json!({"quantity": 5}))
                .await
                .expect(StatusCode::OK),
            1 => {
                let hold_id = format!("cart-{i}");
                let body = json!({"hold_id": hold_id, "quantity": 3});
                let answer = server
                    .post(&format!("{path}/holds"), &body)
                    .await
                    .expect(StatusCode::CREATED);
                // Holding the same again changes nothing and says where that was true.
                let again = server
                    .post(&format!("{path}/holds"), &body)
                    .await
                    .expect(StatusCode::OK);
                assert_eq!(again["events"], 0);
                assert!(again["position"].as_i64() >= answer["position"].as_i64());
                check_view(&server, &again).await;
                open_holds.push(hold_id);
                answer
            }
            2 => server
                .post(&format!("{path}/sales"), &json!({"quantity": 1}))
                .await
                .expect(StatusCode::OK),
            3 => {
                let hold_id = open_holds.last().expect("a hold").clone();
                server
                    .post(
                        &format!("{path}/sales"),
                        &json!({"quantity": 1, "hold_id": hold_id, "order_id": format!("order-{i}")}),
                    )
                    .await
                    .expect(StatusCode::OK)
            }
            _ => {
                let hold_id = open_holds.remove(0);
                server
                    .post(
                        &format!("{path}/holds/{hold_id}/release"),
                        &json!({"reason": "payment failed"}),
                    )
                    .await
                    .expect(StatusCode::OK)
            }
        };
        check_view(&server, &answer).await;
    }

    // A position past the log's head was never answered to anyone: the caller's
    // mistake (422 naming min_position, with the head), not a wait that may end.
    let far = server.head().await + 1_000_000;
    let (one, all) = (
        format!("/v1/availability/ryw/wh-1?min_position={far}"),
        format!("/v1/availability/ryw?min_position={far}"),
    );
    let (one, all) = tokio::join!(server.get(&one), server.get(&all));
    for answer in [one, all] {
        let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "min_position", "{problem}");
        assert!(problem["head"].as_i64().unwrap() < far, "{problem}");
    }

    stop.store(true, Ordering::Relaxed);
    for task in noise {
        assert!(task.await.expect("a noise client") > 0);
    }
    assert!(server.stop().await.success());
}

/// Read the stock (and its SKU) at a command answer's position: it shows the levels
/// the answer reported (nobody else writes to this stock).
async fn check_view(api: &Api, answer: &Value) {
    let position = check_levels(answer);
    let (sku, w) = (
        answer["sku"].as_str().unwrap(),
        answer["warehouse_id"].as_str().unwrap(),
    );
    let view = api
        .get(&format!(
            "/v1/availability/{sku}/{w}?min_position={position}"
        ))
        .await
        .expect(StatusCode::OK);
    for member in ["on_hand", "held", "available"] {
        assert_eq!(
            view[member], answer[member],
            "{member}: {view} after {answer}"
        );
    }
    assert!(view["position"].as_i64().unwrap() >= position, "{view}");
    let totals = api
        .get(&format!("/v1/availability/{sku}?min_position={position}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(totals["on_hand"], answer["on_hand"], "{totals}");
    assert_eq!(totals["held"], answer["held"], "{totals}");
}

/// With `--clock manual`, a hold that expires in 15 minutes is released when the clock
/// is advanced past it (and not before); the advance answers with a position to read.
async fn holds_run_out_on_the_manual_clock(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    register_warehouses(&server, &["wh-1"]).await;
    let path = stock_path("ttl", "wh-1");
    server
        .post(&format!("{path}/receipts"), &json!({"quantity": 10}))
        .await
        .expect(StatusCode::OK);
    let open = server
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "open", "quantity": 2}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(open["held"], 2);

    // The server's now: the manual clock started at the real time and stands still.
    let clock = server
        .post("/v1/admin/clock/advance", &json!({"seconds": 0}))
        .await
        .expect(StatusCode::OK);
    let now = parse_time(&clock["now"]);
    let at = |seconds: i64| {
        (now + chrono::Duration::seconds(seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let timed = server
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "timed", "quantity": 4, "expires_at": at(15 * 60)}),
        )
        .await
        .expect(StatusCode::CREATED);
    let later = server
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "later", "quantity": 1, "expires_at": at(16 * 60)}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(timed["held"], 6);
    assert_eq!(later["held"], 7);
    let before = availability(&server, "ttl", "wh-1", check_levels(&later)).await;
    assert_eq!(before["held"], 7);

    let advanced = server
        .post("/v1/admin/clock/advance", &json!({"seconds": 901}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        parse_time(&advanced["now"]),
        now + chrono::Duration::seconds(901)
    );
    let position = advanced["position"]
        .as_i64()
        .expect("the advance has a position");
    assert!(position > check_levels(&later), "{advanced}");
    let after = availability(&server, "ttl", "wh-1", position).await;
    // Only the hold due by now is gone: held is back to what it was before it.
    assert_eq!(after["held"], 3, "{after}");
    assert_eq!(after["on_hand"], 10, "{after}");
    assert_eq!(after["available"], 7, "{after}");

    // The released hold can no longer be sold from; the other ones still can.
    server
        .post(
            &format!("{path}/sales"),
            &json!({"quantity": 1, "hold_id": "timed"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    let sold = server
        .post(
            &format!("{path}/sales"),
            &json!({"quantity": 1, "hold_id": "later"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (sold["on_hand"].as_i64(), sold["held"].as_i64()),
        (Some(9), Some(2))
    );

    // A hold may not be taken for a time that has passed on the server's clock.
    let past = server
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "stale", "quantity": 1, "expires_at": at(900)}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.to_string().contains("expires_at"), "{past}");
    assert!(server.stop().await.success());
}

/// A hold taken by a process that then crashes runs out all the same: the next
/// process learns it from the open-holds read model, not from its own memory.
async fn holds_of_a_crashed_process_still_run_out(backend: Backend) {
    let env = Env::new(backend).await;
    let first = env.start_with(&["--clock", "manual"]).await;
    register_warehouses(&first, &["wh-1"]).await;
    let path = stock_path("orphan", "wh-1");
    first
        .post(&format!("{path}/receipts"), &json!({"quantity": 5}))
        .await
        .expect(StatusCode::OK);
    // Far enough ahead that the second process's clock, started later, is still before it.
    let expires_at = (chrono::Utc::now() + chrono::Duration::minutes(15))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let held = first
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "cart-1", "quantity": 3, "expires_at": expires_at}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(held["available"], 2);
    first.crash().await;

    let second = env.start_with(&["--clock", "manual"]).await;
    let advanced = second
        .post("/v1/admin/clock/advance", &json!({"seconds": 16 * 60}))
        .await
        .expect(StatusCode::OK);
    let position = advanced["position"].as_i64().expect("a position");
    assert!(position > check_levels(&held), "{advanced}");
    let after = availability(&second, "orphan", "wh-1", position).await;
    assert_eq!(
        (after["held"].as_i64(), after["available"].as_i64()),
        (Some(0), Some(5)),
        "{after}"
    );
    assert!(second.stop().await.success());
}

fn parse_time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
}

async fn availability(api: &Api, sku: &str, w: &str, min_position: i64) -> Value {
    api.get(&format!(
        "/v1/availability/{sku}/{w}?min_position={min_position}"
    ))
    .await
    .expect(StatusCode::OK)
}

/// A count below what is held is recorded, not refused; while short, nothing is sold
/// or held; releasing clears the shortfall.
async fn a_count_below_what_is_held_blocks_new_sales(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    register_warehouses(&server, &["wh-1"]).await;
    let path = stock_path("short", "wh-1");
    server
        .post(&format!("{path}/receipts"), &json!({"quantity": 10}))
        .await
        .expect(StatusCode::OK);
    server
        .post(
            &format!("{path}/holds"),
            &json!({"hold_id": "big", "quantity": 6}),
        )
        .await
        .expect(StatusCode::CREATED);
    let counted = server
        .post(
            &format!("{path}/adjustments"),
            &json!({"new_quantity": 4, "reason": "cycle count: 6 missing"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (&counted["on_hand"], &counted["held"], &counted["available"]),
        (&json!(4), &json!(6), &json!(0)),
        "{counted}"
    );
    let view = availability(&server, "short", "wh-1", check_levels(&counted)).await;
    assert_eq!(
        (view["on_hand"].as_i64(), view["held"].as_i64()),
        (Some(4), Some(6))
    );
    assert_eq!(view["available"], 0, "{view}");
    let head = server.head().await;

    for (what, body) in [
        ("sales", json!({"quantity": 1})),
        ("sales", json!({"quantity": 1, "hold_id": "big"})),
        ("holds", json!({"hold_id": "small", "quantity": 1})),
    ] {
        let refused = server.post(&format!("{path}/{what}"), &body).await;
        let problem = refused.problem(StatusCode::CONFLICT);
        assert_eq!(problem["available"], 0, "{problem}");
    }
    assert_eq!(server.head().await, head, "a refusal wrote events");

    let released = server
        .post(&format!("{path}/holds/big/release"), &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(released["available"], 4, "{released}");
    let sold = server
        .post(&format!("{path}/sales"), &json!({"quantity": 4}))
        .await
        .expect(StatusCode::OK);
    let view = availability(&server, "short", "wh-1", check_levels(&sold)).await;
    assert_eq!(
        (
            view["on_hand"].as_i64(),
            view["held"].as_i64(),
            view["available"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert!(server.stop().await.success());
}
