//! The aggregate host: one owner per aggregate, batches, group commit, snapshots.

use std::sync::Arc;

use commands::{AppClock, CommandError, CommandService, EventStore};
use domain::{ProductCommand, RegisterWarehouse, StockAction, StockCommand};
use event_log::Database;
use event_schemas::{GeoPoint, Metadata, StockEvent};

use crate::support::{wait_committed, Fresh, Kind};

crate::contract! {
    concurrent_sales_on_one_sku_never_oversell => check_concurrent_sales_never_oversell,
    concurrent_mixed_commands_lose_nothing => check_concurrent_mixed_commands_lose_nothing,
    a_refused_command_does_not_affect_its_batch_neighbours => check_refusal_leaves_neighbours_alone,
    a_long_stream_reloads_from_its_snapshot => check_snapshot_reload,
    an_idempotency_key_is_recorded_with_its_events_once => check_idempotency_key_once,
    a_hold_and_the_order_it_creates_land_together_or_not_at_all => check_hold_and_order_land_together,
}

pub(crate) const WAREHOUSE: &str = "wh-1";

/// A command service on `store` with warehouse [`WAREHOUSE`] registered.
pub(crate) async fn service(store: &EventStore) -> Arc<CommandService> {
    let service = Arc::new(CommandService::new(store.clone(), AppClock::System));
    service
        .register_warehouse(
            RegisterWarehouse {
                warehouse_id: WAREHOUSE.into(),
                name: "Test".into(),
                region: "nl".into(),
                location: GeoPoint {
                    lat: 52.0,
                    lon: 4.0,
                },
                ships_to: vec![],
            },
            &Metadata::default(),
        )
        .await
        .unwrap();
    service
}

fn command(sku: &str, action: StockAction) -> StockCommand {
    StockCommand {
        sku: sku.into(),
        warehouse_id: WAREHOUSE.into(),
        action,
    }
}

fn sell(sku: &str, quantity: u64) -> StockCommand {
    command(
        sku,
        StockAction::Sell {
            quantity,
            hold_id: None,
            order_id: None,
        },
    )
}

/// (received, sold) units in the stored stream of a stock.
async fn stored_units(store: &EventStore, sku: &str) -> (u64, u64) {
    let mut totals = (0, 0);
    for stored in store
        .load("stock", &format!("{sku}@{WAREHOUSE}"), 0)
        .await
        .unwrap()
    {
        match stored.decode::<StockEvent>("stock").unwrap() {
            StockEvent::StockReceived { quantity, .. } => totals.0 += quantity,
            StockEvent::StockSold { quantity, .. } => totals.1 += quantity,
            _ => {}
        }
    }
    totals
}

async fn check_concurrent_sales_never_oversell(store: &EventStore, _: &Database) {
    let service = service(store).await;
    let receive = command("HOT", StockAction::Receive { quantity: 100 });
    service
        .handle_stock(receive, &Metadata::default())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                service
                    .handle_stock(sell("HOT", 1), &Metadata::default())
                    .await
            })
        })
        .collect();
    let (mut sold, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok((outcome, _)) => {
                assert_eq!(outcome.events, 1);
                sold += 1;
            }
            Err(CommandError::Refused(refusal)) => {
                assert_eq!(refusal.code, "insufficient_stock");
                refused += 1;
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!((sold, refused), (100, 200));
    assert_eq!(stored_units(store, "HOT").await, (100, 100));
}

async fn check_concurrent_mixed_commands_lose_nothing(store: &EventStore, _: &Database) {
    let service = service(store).await;
    // 64 callers × 25 commands over 4 SKUs: every accepted command is in the log once.
    let tasks: Vec<_> = (0..64u64)
        .map(|caller| {
            let service = service.clone();
            tokio::spawn(async move {
                let mut accepted = std::collections::BTreeMap::<String, (u64, u64)>::new();
                for k in 0..25u64 {
                    let sku = format!("SKU-{}", (caller + k) % 4);
                    let action = if k % 3 == 2 {
                        StockAction::Sell {
                            quantity: 2,
                            hold_id: None,
                            order_id: None,
                        }
                    } else {
                        StockAction::Receive { quantity: 1 }
                    };
                    let is_sale = matches!(action, StockAction::Sell { .. });
                    match service
                        .handle_stock(command(&sku, action), &Metadata::default())
                        .await
                    {
                        Ok(_) => {
                            let entry = accepted.entry(sku).or_default();
                            if is_sale {
                                entry.1 += 2;
                            } else {
                                entry.0 += 1;
                            }
                        }
                        Err(CommandError::Refused(_)) => {}
                        Err(other) => panic!("unexpected failure: {other}"),
                    }
                }
                accepted
            })
        })
        .collect();
    let mut accepted = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for task in tasks {
        for (sku, (received, sold)) in task.await.unwrap() {
            let entry = accepted.entry(sku).or_default();
            entry.0 += received;
            entry.1 += sold;
        }
    }
    for (sku, expected) in &accepted {
        let stored = stored_units(store, sku).await;
        assert_eq!(&stored, expected, "{sku}");
        assert!(stored.0 >= stored.1, "{sku} oversold");
        let (_, levels) = service
            .handle_stock(command(sku, StockAction::ExpireHolds), &Metadata::default())
            .await
            .unwrap();
        assert_eq!(levels.on_hand, stored.0 - stored.1);
    }
}

async fn check_refusal_leaves_neighbours_alone(store: &EventStore, _: &Database) {
    let service = service(store).await;
    service
        .handle_stock(
            command("B", StockAction::Receive { quantity: 10 }),
            &Metadata::default(),
        )
        .await
        .unwrap();
    // Sent together, these are decided in one batch when they queue up together;
    // whatever the batching, the refused one must not take the others down with it.
    let quantities = [4u64, 100, 4, 50, 2];
    let tasks: Vec<_> = quantities
        .iter()
        .map(|&q| {
            let service = service.clone();
            tokio::spawn(async move {
                service
                    .handle_stock(sell("B", q), &Metadata::default())
                    .await
            })
        })
        .collect();
    let mut accepted = 0;
    for (task, q) in tasks.into_iter().zip(quantities) {
        match task.await.unwrap() {
            Ok(_) => accepted += q,
            Err(CommandError::Refused(refusal)) => {
                assert_eq!(refusal.code, "insufficient_stock");
                // 4 + 4 + 2 is all there is, so only the two that never fit are refused.
                assert!(q > 10, "a sale of {q} that fitted was refused");
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(stored_units(store, "B").await, (10, 10));
}

async fn check_snapshot_reload(store: &EventStore, _: &Database) {
    let service = service(store).await;
    let total = <domain::Stock as domain::Hosted>::SNAPSHOT_EVERY as u64 + 20;
    for _ in 0..total {
        service
            .handle_stock(
                command("LONG", StockAction::Receive { quantity: 1 }),
                &Metadata::default(),
            )
            .await
            .unwrap();
    }
    // The snapshot is written in the background: wait until it is there.
    let snapshot = loop {
        if let Some(snapshot) = store
            .load_snapshot("stock", &format!("LONG@{WAREHOUSE}"))
            .await
            .unwrap()
        {
            break snapshot;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(
        snapshot.last_sequence,
        <domain::Stock as domain::Hosted>::SNAPSHOT_EVERY
    );
    // A fresh host (another process, or after eviction) starts from the snapshot
    // and the events after it, and ends where the log is.
    let fresh = service_without_registration(store);
    let (_, levels) = fresh
        .handle_stock(
            command("LONG", StockAction::Receive { quantity: 1 }),
            &Metadata::default(),
        )
        .await
        .unwrap();
    assert_eq!(levels.on_hand, total + 1);
    assert_eq!(stored_units(store, "LONG").await, (total + 1, 0));
}

fn service_without_registration(store: &EventStore) -> CommandService {
    CommandService::new(store.clone(), AppClock::System)
}

/// Two processes (two stores, two hosts, two group committers) on one PostgreSQL
/// database selling the same SKU stay exact: optimistic concurrency and reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_sell_one_sku_exactly() {
    let fresh = Fresh::new(Kind::Postgres).await;
    fresh
        .run(async {
            let first = EventStore::open(fresh.connect().await).await.unwrap();
            let second = EventStore::open(fresh.connect().await).await.unwrap();
            let a = service(&first).await;
            let b = Arc::new(service_without_registration(&second));
            a.handle_stock(
                command("HOT", StockAction::Receive { quantity: 300 }),
                &Metadata::default(),
            )
            .await
            .unwrap();
            let tasks: Vec<_> = (0..400)
                .map(|i| {
                    let service = if i % 2 == 0 { a.clone() } else { b.clone() };
                    tokio::spawn(async move {
                        service
                            .handle_stock(sell("HOT", 1), &Metadata::default())
                            .await
                    })
                })
                .collect();
            let mut sold = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => sold += 1,
                    Err(CommandError::Refused(refusal)) => {
                        assert_eq!(refusal.code, "insufficient_stock")
                    }
                    Err(other) => panic!("unexpected failure: {other}"),
                }
            }
            assert_eq!(sold, 300);
            assert_eq!(stored_units(&first, "HOT").await, (300, 300));
        })
        .await;
}

fn keyed(key: &str, hash: &str) -> Option<commands::KeyedRequest> {
    Some(commands::KeyedRequest {
        scope: "client-1".into(),
        key: key.into(),
        request_hash: hash.into(),
    })
}

async fn check_idempotency_key_once(store: &EventStore, _: &Database) {
    let first = service(store).await;
    let receive = command("K", StockAction::Receive { quantity: 5 });
    let (outcome, _) = first
        .handle_stock_keyed(receive.clone(), &Metadata::default(), keyed("k-1", "h"))
        .await
        .unwrap();
    let receipt = store
        .find_receipt("client-1", "k-1")
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(receipt.position, outcome.position);
    assert_eq!(receipt.request_hash, "h");
    assert_eq!(receipt.answer["events"], 1);
    assert_eq!(receipt.answer["view"]["on_hand"], 5);
    // Another process that has not heard of the key runs into it at commit time.
    let second = service_without_registration(store);
    match second
        .handle_stock_keyed(receive.clone(), &Metadata::default(), keyed("k-1", "h"))
        .await
    {
        Err(CommandError::AlreadyDone(again)) => assert_eq!(again, receipt),
        other => panic!("expected the first answer, got {other:?}"),
    }
    // The same key in another scope is another key.
    let other_scope = Some(commands::KeyedRequest {
        scope: "client-2".into(),
        key: "k-1".into(),
        request_hash: "h".into(),
    });
    second
        .handle_stock_keyed(receive, &Metadata::default(), other_scope)
        .await
        .unwrap();
    assert_eq!(stored_units(store, "K").await, (10, 0));
}

/// A copy in memory answers reads without the log only while no other process wrote:
/// once this process hears of another's commit, its reads show what was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_shows_what_another_process_wrote_once_it_is_heard_of() {
    use event_schemas::{Money, ProductChanges, ProductDetails, Shop};
    let fresh = Fresh::new(Kind::Postgres).await;
    fresh
        .run(async {
            let first = EventStore::open(fresh.connect().await).await.unwrap();
            let second = EventStore::open(fresh.connect().await).await.unwrap();
            let a = service_without_registration(&first);
            let b = service_without_registration(&second);
            let price = |amount| Money {
                amount,
                currency: "EUR".into(),
            };
            let details = ProductDetails {
                title: "Mug".into(),
                description: String::new(),
                tags: vec![],
                category: "kitchen".into(),
                materials: vec![],
                shop: Shop {
                    shop_id: "shop-1".into(),
                    name: "Shop".into(),
                    location: GeoPoint { lat: 0.0, lon: 0.0 },
                },
                price: price(1000),
                language: "en".into(),
            };
            let list = ProductCommand::List {
                sku: "MUG-1".into(),
                details,
            };
            a.handle_product(list, &Metadata::default(), None)
                .await
                .unwrap();
            // The first process's copy is live and current.
            let (_, product) = a.product("MUG-1").await.unwrap();
            assert_eq!(product.details.unwrap().price, price(1000));

            let mut heard_by_first = first.committed();
            for amount in [1500, 2000] {
                let update = ProductCommand::Update {
                    sku: "MUG-1".into(),
                    changes: ProductChanges {
                        price: Some(price(amount)),
                        ..Default::default()
                    },
                };
                let (written, _) = b
                    .handle_product(update, &Metadata::default(), None)
                    .await
                    .unwrap();
                wait_committed(&mut heard_by_first, written.position).await;
                let (read, product) = a.product("MUG-1").await.unwrap();
                assert_eq!(product.details.unwrap().price, price(amount));
                assert!(read.position >= written.position);
            }
        })
        .await;
}

/// A flash-sale purchase appends the buyer's hold and the order it creates as one
/// unit: one commit, next to each other. When the order cannot land (its id is
/// taken: here written straight to the log, as no client can), neither does the hold.
async fn check_hold_and_order_land_together(store: &EventStore, _: &Database) {
    let service = service(store).await;
    let metadata = Metadata::default();
    service
        .handle_stock(
            command("MUG", StockAction::Receive { quantity: 10 }),
            &metadata,
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let sale = domain::ScheduleFlashSale {
        sale_id: "s1".into(),
        sku: "MUG".into(),
        warehouse_id: WAREHOUSE.into(),
        units: 5,
        price: event_schemas::Money {
            amount: 499,
            currency: "EUR".into(),
        },
        starts_at: now - chrono::Duration::minutes(1),
        ends_at: now + chrono::Duration::hours(1),
        per_user_limit: 1,
        payment_window_seconds: 300,
    };
    service.schedule_flash_sale(sale, &metadata).await.unwrap();

    let bought = service
        .purchase_flash_sale("s1", "u1", 1, &metadata)
        .await
        .unwrap();
    let order = store.load("order", &bought.order_id, 0).await.unwrap();
    assert_eq!(order.len(), 1, "the order is placed once");
    assert_eq!(
        order[0].position, bought.position,
        "the answer covers the order"
    );
    let sale_events = store.load("flash_sale", "s1", 0).await.unwrap();
    let held = sale_events.last().unwrap();
    assert!(
        matches!(
            held.decode::<event_schemas::FlashSaleEvent>("flash_sale")
                .unwrap(),
            event_schemas::FlashSaleEvent::FlashSaleUnitsHeld { .. }
        ),
        "{held:?}"
    );
    assert_eq!(
        held.position + 1,
        order[0].position,
        "the hold and its order are one unit of one commit"
    );
    // The same buyer again: the same order, nothing new written.
    let again = service
        .purchase_flash_sale("s1", "u1", 1, &metadata)
        .await
        .unwrap();
    assert_eq!(again.order_id, bought.order_id);
    assert_eq!(
        store
            .load("order", &bought.order_id, 0)
            .await
            .unwrap()
            .len(),
        1
    );

    // u2's first order id is taken already: the purchase cannot land, and its hold
    // is not written either.
    let taken = domain::ids::flash_order_id("s1", "u2", 1);
    let squatter = testkit::events("squatter", 1, 1);
    let written = store
        .append(&[commands::AppendBatch {
            aggregate_type: "order".into(),
            ..testkit::batch(&taken, 0, squatter)
        }])
        .await
        .unwrap();
    assert!(written[0].is_ok());
    let refused = service.purchase_flash_sale("s1", "u2", 1, &metadata).await;
    assert!(
        matches!(refused, Err(CommandError::Contended)),
        "{refused:?}"
    );
    let sale_events = store.load("flash_sale", "s1", 0).await.unwrap();
    assert_eq!(
        sale_events.last().unwrap().position,
        held.position,
        "no hold was written for u2"
    );
    assert_eq!(store.load("order", &taken, 0).await.unwrap().len(), 1);
    // Other buyers go on.
    service
        .purchase_flash_sale("s1", "u3", 1, &metadata)
        .await
        .unwrap();
}
