//! Random interleavings of what buyers and the shop's backend may do — reserve,
//! extend, release, confirm, order, pay with the right and wrong amounts, fail to
//! pay, cancel, replay webhooks, and time passing — against one production server on
//! PostgreSQL. Whatever the order, nothing is sold that was not paid for (per SKU and
//! per buyer), and every order ends in a final status or is still within its window.
//!
//! Fixed seed and few cases, so `make test` stays fast; each case has an SKU and
//! buyers of its own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::json;

use crate::abuse::{buyer, server_now, start, wait_order, webhook, MASTER};
use crate::credentials::{as_holder, key};
use crate::support::{Answer, Api, Backend, Env};

/// Units of each case's SKU, and its price in cents.
const UNITS: i64 = 6;
const PRICE: i64 = 100;
const CASES: u32 = 64;
/// Statuses after which an order can no longer ship anything new.
const SETTLED: &str = "rejected,cancelled,confirmed,refunded,timed_out,payment_failed";

/// Who acts: buyer 0, buyer 1, or the shop's backend key.
const KEY: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        actor: usize,
        units: u64,
    },
    Extend {
        target: usize,
    },
    Release {
        target: usize,
    },
    Confirm {
        actor: usize,
        target: usize,
    },
    Order {
        buyer: usize,
        units: u64,
    },
    Pay {
        order: usize,
        right_amount: bool,
        succeeded: bool,
    },
    Replay {
        payment: usize,
    },
    Cancel {
        order: usize,
    },
    Advance {
        minutes: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..4u64).prop_map(|(actor, units)| Op::Reserve { actor, units }),
        (0..4usize).prop_map(|target| Op::Extend { target }),
        (0..4usize).prop_map(|target| Op::Release { target }),
        (0..3usize, 0..4usize).prop_map(|(actor, target)| Op::Confirm { actor, target }),
        (0..2usize, 1..4u64).prop_map(|(buyer, units)| Op::Order { buyer, units }),
        (0..4usize, any::<bool>(), prop::bool::weighted(0.8)).prop_map(
            |(order, right_amount, succeeded)| Op::Pay {
                order,
                right_amount,
                succeeded
            }
        ),
        (0..4usize).prop_map(|payment| Op::Replay { payment }),
        (0..4usize).prop_map(|order| Op::Cancel { order }),
        (1..20u32).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// What one case has done, to check against what the server says at the end.
#[derive(Default)]
struct Ledger {
    /// (id, who made it, units)
    reservations: Vec<(String, usize, u64)>,
    /// (id, buyer, units)
    orders: Vec<(String, usize, u64)>,
    /// (order id, payment id, amount, succeeded)
    payments: Vec<(String, String, i64, bool)>,
    /// Orders sent a successful payment of their total.
    paid_in_full: HashSet<String>,
    /// Units the shop's backend sold by confirming its own reservations (paid for
    /// outside, as far as the server can know).
    confirmed_by_key: i64,
}

struct Shop {
    master: Api,
    buyers: [Api; 2],
    key: Api,
}

impl Shop {
    fn actor(&self, who: usize) -> &Api {
        if who == KEY {
            &self.key
        } else {
            &self.buyers[who]
        }
    }
}

/// Nothing the server says may be a 5xx.
fn sane(answer: &Answer, what: &str) {
    assert!(
        answer.status.as_u16() < 500,
        "{what}: {} {}",
        answer.status,
        answer.text
    );
}

async fn run_case(shop: &Shop, case: usize, ops: Vec<Op>) -> Exercised {
    let sku = format!("P{case}");
    shop.master
        .post(
            &format!("/v1/stock/{sku}/ams/receipts"),
            &json!({"quantity": UNITS}),
        )
        .await
        .expect(StatusCode::OK);
    crate::shop::list_product(&shop.master, &sku, "Thing", PRICE).await;
    let mut ledger = Ledger::default();
    for (step, op) in ops.into_iter().enumerate() {
        let what = format!("case {case} step {step} {op:?}");
        apply(shop, &sku, case, step, op, &mut ledger, &what).await;
    }

    // Every window runs out; every order must settle.
    shop.master
        .post("/v1/admin/clock/advance", &json!({"seconds": 61 * 60}))
        .await
        .expect(StatusCode::OK);
    let mut sold_to_buyers = [0i64; 2];
    for (order_id, buyer, units) in &ledger.orders {
        let order = wait_order(&shop.master, order_id, SETTLED).await;
        let status = order["status"].as_str().unwrap();
        assert!(
            SETTLED.split(',').any(|s| s == status),
            "case {case}: order {order_id} is stuck {status}: {order}"
        );
        if status == "confirmed" {
            assert!(
                ledger.paid_in_full.contains(order_id),
                "case {case}: order {order_id} shipped without a payment of its total"
            );
            sold_to_buyers[*buyer] += *units as i64;
        }
    }
    let head = shop.master.head().await;
    let view = shop
        .master
        .get(&format!("/v1/availability/{sku}?min_position={head}"))
        .await
        .expect(StatusCode::OK);
    let sold = UNITS - view["on_hand"].as_i64().unwrap();
    assert_eq!(
        sold,
        sold_to_buyers.iter().sum::<i64>() + ledger.confirmed_by_key,
        "case {case}: units sold are exactly those paid for: {view}"
    );
    Exercised {
        sold_to_buyers: sold_to_buyers.iter().sum(),
        confirmed_by_key: ledger.confirmed_by_key,
        refused_payments: ledger.payments.iter().filter(|p| p.3).count() as i64
            - ledger.paid_in_full.len() as i64,
    }
}

/// What a case got to, so the test can show the paths it covers were taken.
#[derive(Debug, Default, Clone, Copy)]
struct Exercised {
    sold_to_buyers: i64,
    confirmed_by_key: i64,
    refused_payments: i64,
}

async fn apply(
    shop: &Shop,
    sku: &str,
    case: usize,
    step: usize,
    op: Op,
    ledger: &mut Ledger,
    what: &str,
) {
    match op {
        Op::Reserve { actor, units } => {
            let id = format!("r{case}-{step}");
            let body = json!({"reservation_id": id, "ttl_seconds": 600,
                              "lines": [{"sku": sku, "quantity": units, "warehouse_id": "ams"}]});
            let answer = shop.actor(actor).post("/v1/reservations", &body).await;
            sane(&answer, what);
            if answer.status == StatusCode::CREATED {
                ledger.reservations.push((id, actor, units));
            }
        }
        Op::Extend { target } => {
            let Some((id, owner, _)) = pick(&ledger.reservations, target) else {
                return;
            };
            let answer = shop
                .actor(*owner)
                .post(
                    &format!("/v1/reservations/{id}/extend"),
                    &json!({"ttl_seconds": 600}),
                )
                .await;
            sane(&answer, what);
        }
        Op::Release { target } => {
            let Some((id, owner, _)) = pick(&ledger.reservations, target) else {
                return;
            };
            let answer = shop
                .actor(*owner)
                .post(&format!("/v1/reservations/{id}/release"), &json!({}))
                .await;
            sane(&answer, what);
        }
        Op::Confirm { actor, target } => {
            let Some((id, owner, units)) = pick(&ledger.reservations, target) else {
                return;
            };
            let answer = shop
                .actor(actor)
                .post(&format!("/v1/reservations/{id}/confirm"), &json!({}))
                .await;
            sane(&answer, what);
            if actor != KEY || *owner != KEY {
                // Refused (403), or not even there for a buyer that does not own it.
                assert!(
                    [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&answer.status),
                    "{what}: {}",
                    answer.text
                );
            } else if answer.status == StatusCode::OK && answer.json()["status"] == "confirmed" {
                // A repeat answers 200 too; count the units once.
                if !ledger.paid_in_full.contains(id) {
                    ledger.paid_in_full.insert(id.clone());
                    ledger.confirmed_by_key += *units as i64;
                }
            }
        }
        Op::Order { buyer, units } => {
            let id = format!("o{case}-{step}");
            let body = json!({"order_id": id, "lines": [{"sku": sku, "quantity": units}],
                              "ship_to": {"region": "nl"}});
            let answer = shop.buyers[buyer].post("/v1/orders", &body).await;
            sane(&answer, what);
            if answer.status == StatusCode::CREATED {
                wait_order(&shop.master, &id, "reserved,rejected").await;
                ledger.orders.push((id, buyer, units));
            }
        }
        Op::Pay {
            order,
            right_amount,
            succeeded,
        } => {
            let Some((id, _, units)) = pick(&ledger.orders, order) else {
                return;
            };
            let total = *units as i64 * PRICE;
            let amount = if right_amount { total } else { total + 1 };
            let payment_id = format!("pay{case}-{step}");
            pay(&shop.master, id, &payment_id, amount, succeeded).await;
            ledger
                .payments
                .push((id.clone(), payment_id, amount, succeeded));
            if succeeded && right_amount {
                ledger.paid_in_full.insert(id.clone());
                wait_order(&shop.master, id, "confirmed,refunded").await;
            }
        }
        Op::Replay { payment } => {
            let Some((id, payment_id, amount, succeeded)) = pick(&ledger.payments, payment) else {
                return;
            };
            pay(&shop.master, id, payment_id, *amount, *succeeded).await;
        }
        Op::Cancel { order } => {
            let Some((id, buyer, _)) = pick(&ledger.orders, order) else {
                return;
            };
            let answer = shop.buyers[*buyer]
                .post(&format!("/v1/orders/{id}/cancel"), &json!({}))
                .await;
            sane(&answer, what);
        }
        Op::Advance { minutes } => {
            shop.master
                .post("/v1/admin/clock/advance", &json!({"seconds": minutes * 60}))
                .await
                .expect(StatusCode::OK);
        }
    }
}

/// One of what the case made so far, chosen by `n` (any `n` picks one, if any).
fn pick<T>(made: &[T], n: usize) -> Option<&T> {
    (!made.is_empty()).then(|| &made[n % made.len()])
}

/// The provider's signed callback: a success of `amount`, or a failure.
async fn pay(api: &Api, order_id: &str, payment_id: &str, amount: i64, succeeded: bool) {
    if succeeded {
        webhook(api, order_id, payment_id, amount).await;
        return;
    }
    let body = serde_json::to_vec(&json!({
        "order_id": order_id, "payment_id": payment_id, "status": "failed",
        "amount": {"amount": amount, "currency": "EUR"},
    }))
    .unwrap();
    let signature = api::routes::payments::sign(
        crate::abuse::WEBHOOK_SECRET.as_bytes(),
        server_now(api).await,
        &body,
    );
    let answer = api
        .send(
            api.client
                .post(api.url("/v1/payments/webhook"))
                .header("content-type", "application/json")
                .header(api::routes::payments::SIGNATURE_HEADER, signature)
                .body(body),
        )
        .await;
    sane(&answer, "a failed payment");
    assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
}

#[test]
fn random_buyer_and_key_commands_never_sell_what_was_not_paid_for() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let env = runtime.block_on(Env::new(Backend::Postgres));
    let server = runtime.block_on(start(&env, &["--buyer-rate-limit", "0"]));
    let master = as_holder(&server, MASTER);
    let shop = runtime.block_on(async {
        crate::shop::open_shop(&master, 1, PRICE).await;
        Shop {
            buyers: [buyer(&server, "prop-ada"), buyer(&server, "prop-bob")],
            key: key(&master, "backend", &["orders:write"]).await,
            master: master.clone(),
        }
    });
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]));
    let next_case = AtomicUsize::new(0);
    let total = std::sync::Mutex::new(Exercised::default());
    runner
        .run(&prop::collection::vec(op(), 2..16), |ops| {
            let case = next_case.fetch_add(1, Ordering::Relaxed);
            let exercised = runtime.block_on(run_case(&shop, case, ops));
            let mut total = total.lock().unwrap();
            total.sold_to_buyers += exercised.sold_to_buyers;
            total.confirmed_by_key += exercised.confirmed_by_key;
            total.refused_payments += exercised.refused_payments;
            Ok(())
        })
        .unwrap();
    // The seed reaches every way units leave the shelf.
    let total = *total.lock().unwrap();
    assert!(
        total.sold_to_buyers > 0 && total.confirmed_by_key > 0,
        "the cases never sold anything: {total:?}"
    );
    assert!(runtime.block_on(server.stop()).success());
}
