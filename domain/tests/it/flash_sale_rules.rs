//! FlashSale: scheduled with valid terms, units held per buyer within the window and
//! the per-buyer limit, sold on payment, returned for the next buyer, never oversold.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use domain::{ErrorKind, FlashSale, FlashSaleCommand, ScheduleFlashSale, Services};
use event_schemas::{FlashSaleEvent, Money};
use proptest::prelude::*;

/// The framework with the clock at `now`.
fn sales_at(now: DateTime<Utc>) -> TestFramework<FlashSale> {
    TestFramework::with(Services::fixed_at(now))
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

fn terms(units: u64, per_user_limit: u64) -> ScheduleFlashSale {
    ScheduleFlashSale {
        sale_id: "drop-1".into(),
        sku: "SNEAKER".into(),
        warehouse_id: "ams-1".into(),
        units,
        price: Money {
            amount: 4999,
            currency: "EUR".into(),
        },
        starts_at: start(),
        ends_at: start() + Duration::hours(1),
        per_user_limit,
        payment_window_seconds: 300,
    }
}

fn scheduled(units: u64, per_user_limit: u64) -> FlashSaleEvent {
    let t = terms(units, per_user_limit);
    FlashSaleEvent::FlashSaleScheduled {
        sale_id: t.sale_id,
        sku: t.sku,
        warehouse_id: t.warehouse_id,
        units: t.units,
        price: t.price,
        starts_at: t.starts_at,
        ends_at: t.ends_at,
        per_user_limit: t.per_user_limit,
        payment_window_seconds: t.payment_window_seconds,
    }
}

fn purchase(user: &str, quantity: u64) -> FlashSaleCommand {
    FlashSaleCommand::Purchase {
        user_id: user.into(),
        quantity,
    }
}

fn held(user: &str, n: usize, quantity: u64, at: DateTime<Utc>) -> FlashSaleEvent {
    FlashSaleEvent::FlashSaleUnitsHeld {
        sale_id: "drop-1".into(),
        order_id: format!("flash:drop-1.{n}.{user}"),
        user_id: user.into(),
        quantity,
        expires_at: at + Duration::seconds(300),
    }
}

/// Why `command` is refused at `now` after `given`.
fn refusal(
    given: Vec<FlashSaleEvent>,
    command: FlashSaleCommand,
    now: DateTime<Utc>,
) -> domain::DomainError {
    let mut sale = FlashSale::default();
    for event in &given {
        sale.apply_event(event);
    }
    sale.decide(&command, now).expect_err("refused")
}

#[test]
fn a_sale_is_scheduled_once_with_valid_terms() {
    sales_at(start())
        .given_no_previous_events()
        .when(FlashSaleCommand::Schedule(terms(100, 1)))
        .then_expect_events(vec![scheduled(100, 1)]);
    sales_at(start())
        .given(vec![scheduled(100, 1)])
        .when(FlashSaleCommand::Schedule(terms(100, 1)))
        .then_expect_events(vec![]);
    let mut bad = terms(0, 0);
    bad.ends_at = bad.starts_at;
    let error = refusal(vec![], FlashSaleCommand::Schedule(bad), start());
    let fields: Vec<&str> = error.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["units", "ends_at", "per_user_limit"]);
    let error = refusal(
        vec![scheduled(100, 1)],
        FlashSaleCommand::Schedule(terms(50, 1)),
        start(),
    );
    assert_eq!(error.code, "flash_sale_exists");
}

#[test]
fn a_buyer_holds_units_inside_the_window_and_a_retry_buys_nothing_more() {
    let at = start() + Duration::minutes(1);
    sales_at(at)
        .given(vec![scheduled(10, 1)])
        .when(purchase("ada", 1))
        .then_expect_events(vec![held("ada", 1, 1, at)]);
    sales_at(at + Duration::seconds(5))
        .given(vec![scheduled(10, 1), held("ada", 1, 1, at)])
        .when(purchase("ada", 1))
        .then_expect_events(vec![]);
    let early = refusal(
        vec![scheduled(10, 1)],
        purchase("ada", 1),
        start() - Duration::seconds(1),
    );
    assert_eq!(
        (early.kind, early.code),
        (ErrorKind::Invalid, domain::Refusal::OutsideSaleWindow)
    );
    let late = refusal(
        vec![scheduled(10, 1)],
        purchase("ada", 1),
        start() + Duration::hours(1),
    );
    assert_eq!(late.code, "outside_sale_window");
}

#[test]
fn the_per_buyer_limit_counts_held_and_sold_units() {
    let at = start() + Duration::minutes(1);
    let sold = FlashSaleEvent::FlashSaleUnitsSold {
        sale_id: "drop-1".into(),
        order_id: "flash:drop-1.1.ada".into(),
        quantity: 2,
    };
    let error = refusal(
        vec![scheduled(10, 2), held("ada", 1, 2, at), sold.clone()],
        purchase("ada", 1),
        at + Duration::seconds(10),
    );
    assert_eq!(
        (error.kind, error.code),
        (ErrorKind::Forbidden, domain::Refusal::PurchaseLimit)
    );
    let error = refusal(vec![scheduled(10, 2)], purchase("bob", 3), at);
    assert_eq!(error.code, "purchase_limit");
}

#[test]
fn when_every_unit_is_held_buyers_are_told_when_one_may_come_back() {
    let at = start() + Duration::minutes(1);
    let error = refusal(
        vec![scheduled(1, 1), held("ada", 1, 1, at)],
        purchase("bob", 1),
        at + Duration::seconds(100),
    );
    assert_eq!(error.code, "all_held");
    assert_eq!(error.facts["retry_after"], 200);
    // Once ada's window has passed, her unit goes to bob.
    let later = at + Duration::seconds(300);
    sales_at(later)
        .given(vec![scheduled(1, 1), held("ada", 1, 1, at)])
        .when(purchase("bob", 1))
        .then_expect_events(vec![
            FlashSaleEvent::FlashSaleUnitsReturned {
                sale_id: "drop-1".into(),
                order_id: "flash:drop-1.1.ada".into(),
                quantity: 1,
                reason: "expired".into(),
            },
            held("bob", 1, 1, later),
        ]);
}

#[test]
fn a_sold_out_sale_says_so_and_a_paid_order_is_sold_once() {
    let at = start() + Duration::minutes(1);
    let sold = FlashSaleEvent::FlashSaleUnitsSold {
        sale_id: "drop-1".into(),
        order_id: "flash:drop-1.1.ada".into(),
        quantity: 1,
    };
    sales_at(at)
        .given(vec![scheduled(1, 1), held("ada", 1, 1, at)])
        .when(FlashSaleCommand::Sell {
            order_id: "flash:drop-1.1.ada".into(),
        })
        .then_expect_events(vec![sold.clone()]);
    sales_at(at)
        .given(vec![scheduled(1, 1), held("ada", 1, 1, at), sold.clone()])
        .when(FlashSaleCommand::Sell {
            order_id: "flash:drop-1.1.ada".into(),
        })
        .then_expect_events(vec![]);
    let error = refusal(
        vec![scheduled(1, 1), held("ada", 1, 1, at), sold],
        purchase("bob", 1),
        at,
    );
    assert_eq!(error.code, "sold_out");
}

#[test]
fn a_late_payment_takes_its_units_again_only_if_they_are_still_there() {
    let at = start() + Duration::minutes(1);
    let returned = FlashSaleEvent::FlashSaleUnitsReturned {
        sale_id: "drop-1".into(),
        order_id: "flash:drop-1.1.ada".into(),
        quantity: 1,
        reason: "payment_timed_out".into(),
    };
    let late = at + Duration::seconds(400);
    sales_at(late)
        .given(vec![
            scheduled(1, 1),
            held("ada", 1, 1, at),
            returned.clone(),
        ])
        .when(FlashSaleCommand::Sell {
            order_id: "flash:drop-1.1.ada".into(),
        })
        .then_expect_events(vec![
            FlashSaleEvent::FlashSaleUnitsHeld {
                sale_id: "drop-1".into(),
                order_id: "flash:drop-1.1.ada".into(),
                user_id: "ada".into(),
                quantity: 1,
                expires_at: late,
            },
            FlashSaleEvent::FlashSaleUnitsSold {
                sale_id: "drop-1".into(),
                order_id: "flash:drop-1.1.ada".into(),
                quantity: 1,
            },
        ]);
    let error = refusal(
        vec![
            scheduled(1, 1),
            held("ada", 1, 1, at),
            returned,
            held("bob", 1, 1, at + Duration::seconds(350)),
        ],
        FlashSaleCommand::Sell {
            order_id: "flash:drop-1.1.ada".into(),
        },
        late,
    );
    assert_eq!(error.code, "units_gone");
}

#[test]
fn an_earlier_order_paid_late_is_sold_beside_the_buyer_s_new_hold() {
    let at = start() + Duration::minutes(1);
    let first = "flash:drop-1.1.ada";
    let given = vec![
        scheduled(3, 2),
        held("ada", 1, 1, at),
        FlashSaleEvent::FlashSaleUnitsReturned {
            sale_id: "drop-1".into(),
            order_id: first.into(),
            quantity: 1,
            reason: "payment_failed".into(),
        },
        held("ada", 2, 1, at + Duration::seconds(10)),
    ];
    let paid = at + Duration::seconds(200);
    let sold_late = vec![
        FlashSaleEvent::FlashSaleUnitsHeld {
            sale_id: "drop-1".into(),
            order_id: first.into(),
            user_id: "ada".into(),
            quantity: 1,
            expires_at: paid,
        },
        FlashSaleEvent::FlashSaleUnitsSold {
            sale_id: "drop-1".into(),
            order_id: first.into(),
            quantity: 1,
        },
    ];
    sales_at(paid)
        .given(given.clone())
        .when(FlashSaleCommand::Sell {
            order_id: first.into(),
        })
        .then_expect_events(sold_late.clone());

    let mut sale = FlashSale::default();
    for event in given.iter().chain(&sold_late) {
        sale.apply_event(event);
    }
    let (open, units, _) = sale.open_hold_of("ada", paid).expect("the new hold");
    assert_eq!((open.as_str(), units), ("flash:drop-1.2.ada", 1));
    assert_eq!((sale.sold, sale.held(), sale.remaining()), (1, 1, 1));
    let after: Vec<_> = given.into_iter().chain(sold_late).collect();
    sales_at(paid)
        .given(after.clone())
        .when(FlashSaleCommand::Sell {
            order_id: first.into(),
        })
        .then_expect_events(vec![]);
    // The sold unit still counts against the limit once the new hold goes back.
    let returned_second = FlashSaleEvent::FlashSaleUnitsReturned {
        sale_id: "drop-1".into(),
        order_id: "flash:drop-1.2.ada".into(),
        quantity: 1,
        reason: "payment_failed".into(),
    };
    let error = refusal(
        after.into_iter().chain([returned_second]).collect(),
        purchase("ada", 2),
        paid,
    );
    assert_eq!(error.code, "purchase_limit");
}

#[test]
fn the_sale_ends_after_its_window_with_what_is_unsold() {
    let at = start() + Duration::minutes(1);
    sales_at(start() + Duration::hours(1))
        .given(vec![scheduled(5, 1), held("ada", 1, 1, at)])
        .when(FlashSaleCommand::Tick)
        .then_expect_events(vec![
            FlashSaleEvent::FlashSaleUnitsReturned {
                sale_id: "drop-1".into(),
                order_id: "flash:drop-1.1.ada".into(),
                quantity: 1,
                reason: "expired".into(),
            },
            FlashSaleEvent::FlashSaleEnded {
                sale_id: "drop-1".into(),
                reason: "ended".into(),
                unsold: 5,
            },
        ]);
}

proptest! {
    /// Whatever buyers do, units sold plus held never pass the sale's units, and no
    /// buyer holds or bought more than the limit.
    #[test]
    fn never_oversold(steps in proptest::collection::vec((0u8..4, 0usize..6, 1u64..3, 0i64..400), 1..80)) {
        let mut sale = FlashSale::default();
        sale.apply_event(&scheduled(5, 2));
        let mut now = start();
        for (action, buyer, quantity, advance) in steps {
            now += Duration::seconds(advance);
            let user = format!("u{buyer}");
            let command = match action {
                0 | 1 => purchase(&user, quantity),
                2 => FlashSaleCommand::Sell { order_id: format!("flash:drop-1.1.{user}") },
                _ => FlashSaleCommand::Return { order_id: format!("flash:drop-1.1.{user}"), reason: "payment_failed".into() },
            };
            if let Ok(events) = sale.decide(&command, now) {
                for event in &events {
                    sale.apply_event(event);
                }
            }
            prop_assert!(sale.sold + sale.held() <= sale.units);
            for bought in sale.buyers.values().map(|buyer| &buyer.bought) {
                prop_assert!(*bought <= sale.per_user_limit);
            }
        }
    }
}
