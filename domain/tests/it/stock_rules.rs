//! The rules of the Stock aggregate, one given/when/then each, driven through the
//! cqrs-es test framework (so the `Aggregate` impl is exercised, not just `decide`).

use domain::{DomainError, ErrorKind, Stock, StockAction};
use serde_json::json;

use crate::support::*;

// The refusals the rules give, spelled out as the aggregate words them.

fn insufficient(asked: u64, available: u64) -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        domain::Refusal::InsufficientStock,
        format!("asked for {asked} units but {available} are available"),
    )
    .with_fact("available", available)
}

fn stock_short(on_hand: u64, held: u64) -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        domain::Refusal::StockShort,
        format!(
            "{on_hand} units are on hand but {held} are held; nothing new is held or sold until the shortfall is cleared"
        ),
    )
    .with_fact("on_hand", on_hand)
    .with_fact("held", held)
    .with_fact("available", 0)
}

fn exceeds_hold(hold_id: &str, held: u64) -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        domain::Refusal::ExceedsHold,
        format!("hold '{hold_id}' holds {held} units"),
    )
    .with_fact("held", held)
}

fn unknown_hold(hold_id: &str) -> DomainError {
    DomainError::new(
        ErrorKind::NotFound,
        domain::Refusal::UnknownHold,
        format!("there is no open hold '{hold_id}' on this stock"),
    )
}

fn hold_expired(hold_id: &str) -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        domain::Refusal::HoldExpired,
        format!("hold '{hold_id}' expired and can no longer be sold from"),
    )
}

fn hold_exists(hold_id: &str, held: u64) -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        domain::Refusal::HoldExists,
        format!("hold '{hold_id}' already holds other terms"),
    )
    .with_fact("held", held)
}

fn unknown_warehouse(warehouse_id: &str) -> DomainError {
    DomainError::new(
        ErrorKind::NotFound,
        domain::Refusal::UnknownWarehouse,
        format!("warehouse '{warehouse_id}' is not registered"),
    )
}

// Receive.

#[test]
fn receiving_adds_units_to_an_empty_stock() {
    stock()
        .given_no_previous_events()
        .when(receive(5))
        .then_expect_events(vec![received(5)]);
}

#[test]
fn receiving_adds_to_what_is_on_hand() {
    stock()
        .given(vec![received(5)])
        .when(receive(1_000_000))
        .then_expect_events(vec![received(1_000_000)]);
    assert_eq!(fold(&[received(5), received(1_000_000)]).on_hand, 1_000_005);
}

// Sell from free stock.

#[test]
fn selling_from_free_stock_takes_units_not_held() {
    stock()
        .given(vec![received(10), held("h1", 3, None)])
        .when(sell_for_order(7, "order-1"))
        .then_expect_events(vec![sold(7, None, Some("order-1"))]);
    let after = fold(&[
        received(10),
        held("h1", 3, None),
        sold(7, None, Some("order-1")),
    ]);
    assert_eq!((after.on_hand, after.held(), after.available()), (3, 3, 0));
}

#[test]
fn selling_more_than_available_is_refused_with_what_is_available() {
    stock()
        .given(vec![received(10), held("h1", 4, None)])
        .when(sell(7))
        .then_expect_error(insufficient(7, 6));
    let err = refusal(
        stock()
            .given(vec![received(10), held("h1", 4, None)])
            .when(sell(7)),
    );
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "insufficient_stock",
        &[("available", json!(6))],
    );
}

#[test]
fn selling_from_an_empty_stock_is_refused() {
    stock()
        .given_no_previous_events()
        .when(sell(1))
        .then_expect_error(insufficient(1, 0));
}

#[test]
fn selling_exactly_what_is_available_is_accepted() {
    stock()
        .given(vec![received(10), held("h1", 4, None)])
        .when(sell(6))
        .then_expect_events(vec![sold(6, None, None)]);
}

// Sell from a named hold.

#[test]
fn selling_part_of_a_hold_shrinks_it() {
    let given = vec![received(10), held("h1", 5, None)];
    stock()
        .given(given.clone())
        .when(sell_from_hold(2, "h1"))
        .then_expect_events(vec![sold(2, Some("h1"), None)]);
    let after = fold(&[given, vec![sold(2, Some("h1"), None)]].concat());
    assert_eq!(after.on_hand, 8);
    assert_eq!(after.holds["h1"].quantity, 3);
    assert_eq!(after.available(), 5);
}

// Settle a hold by the total sold from it (how a flash sale settles its stock).

fn settle(hold_id: &str, sold: u64) -> domain::StockCommand {
    cmd(StockAction::SettleHold {
        hold_id: hold_id.into(),
        sold,
    })
}

#[test]
fn settling_a_hold_sells_what_its_total_adds() {
    let given = vec![
        received(10),
        held("sale", 6, None),
        sold(2, Some("sale"), None),
    ];
    stock()
        .given(given.clone())
        .when(settle("sale", 5))
        .then_expect_events(vec![sold(3, Some("sale"), None)]);
    let after = fold(&[given, vec![sold(3, Some("sale"), None)]].concat());
    assert_eq!(after.holds["sale"].sold, 5);
    assert_eq!(after.holds["sale"].quantity, 1);
    assert_eq!((after.on_hand, after.available()), (5, 4));
}

#[test]
fn settling_a_total_already_reached_sells_nothing() {
    stock()
        .given(vec![
            received(10),
            held("sale", 6, None),
            sold(4, Some("sale"), None),
        ])
        .when(settle("sale", 3))
        .then_expect_events(vec![]);
}

#[test]
fn settling_beyond_what_the_hold_has_left_is_refused() {
    stock()
        .given(vec![
            received(10),
            held("sale", 6, None),
            sold(4, Some("sale"), None),
        ])
        .when(settle("sale", 7))
        .then_expect_error(exceeds_hold("sale", 2));
}

#[test]
fn settling_an_expired_hold_is_refused() {
    stock()
        .given(vec![received(10), held("sale", 6, Some(at(-1)))])
        .when(settle("sale", 1))
        .then_expect_error(hold_expired("sale"));
}

#[test]
fn selling_a_whole_hold_closes_it() {
    let given = vec![received(10), held("h1", 5, Some(at(30)))];
    stock()
        .given(given.clone())
        .when(cmd(StockAction::Sell {
            quantity: 5,
            hold_id: Some("h1".into()),
            order_id: Some("order-7".into()),
        }))
        .then_expect_events(vec![sold(5, Some("h1"), Some("order-7"))]);
    let after = fold(&[given, vec![sold(5, Some("h1"), Some("order-7"))]].concat());
    assert!(after.holds.is_empty());
    assert_eq!((after.on_hand, after.available()), (5, 5));
}

#[test]
fn a_hold_can_be_sold_when_nothing_is_free() {
    stock()
        .given(vec![received(5), held("h1", 5, None)])
        .when(sell_from_hold(5, "h1"))
        .then_expect_events(vec![sold(5, Some("h1"), None)]);
}

#[test]
fn selling_more_than_a_hold_holds_is_refused() {
    stock()
        .given(vec![received(10), held("h1", 5, None)])
        .when(sell_from_hold(6, "h1"))
        .then_expect_error(exceeds_hold("h1", 5));
}

#[test]
fn selling_from_an_unknown_hold_is_refused_as_not_found() {
    stock()
        .given(vec![received(10), held("h1", 5, None)])
        .when(sell_from_hold(1, "h2"))
        .then_expect_error(unknown_hold("h2"));
}

#[test]
fn selling_from_a_hold_already_sold_out_is_refused_as_not_found() {
    stock()
        .given(vec![
            received(10),
            held("h1", 5, None),
            sold(5, Some("h1"), None),
        ])
        .when(sell_from_hold(1, "h1"))
        .then_expect_error(unknown_hold("h1"));
}

#[test]
fn selling_from_an_expired_hold_is_refused() {
    // A hold expires at its `expires_at`, not after it.
    stock_at(at(10))
        .given(vec![received(10), held("h1", 5, Some(at(10)))])
        .when(sell_from_hold(1, "h1"))
        .then_expect_error(hold_expired("h1"));
}

#[test]
fn selling_from_a_hold_just_before_it_expires_is_accepted() {
    stock_at(at(9))
        .given(vec![received(10), held("h1", 5, Some(at(10)))])
        .when(sell_from_hold(5, "h1"))
        .then_expect_events(vec![sold(5, Some("h1"), None)]);
}

#[test]
fn expired_holds_are_released_before_a_sale_from_a_hold_checks_for_a_shortfall() {
    // h2 has expired, so only 5 of the 7 on hand are really held: the sale from h1
    // releases h2 first and goes through, as a free sale at that moment would.
    let given = vec![
        received(10),
        held("h1", 5, None),
        held("h2", 5, Some(at(5))),
        adjusted(10, 7, "count"),
        shortfall(7, 10),
    ];
    stock_at(at(10))
        .given(given.clone())
        .when(sell_from_hold(1, "h1"))
        .then_expect_events(vec![
            released("h2", 5, "expired"),
            sold(1, Some("h1"), None),
        ]);
    stock_at(at(10))
        .given(given)
        .when(sell(2))
        .then_expect_events(vec![released("h2", 5, "expired"), sold(2, None, None)]);
}

#[test]
fn a_count_releases_expired_holds_before_it_looks_for_a_shortfall() {
    stock_at(at(10))
        .given(vec![received(10), held("h1", 5, Some(at(5)))])
        .when(adjust(3, "count"))
        .then_expect_events(vec![released("h1", 5, "expired"), adjusted(10, 3, "count")]);
}

// Adjust.

#[test]
fn adjusting_up_records_the_count() {
    stock()
        .given(vec![received(5)])
        .when(adjust(8, "cycle count"))
        .then_expect_events(vec![adjusted(5, 8, "cycle count")]);
}

#[test]
fn adjusting_down_above_what_is_held_records_the_count_only() {
    stock()
        .given(vec![received(10), held("h1", 3, None)])
        .when(adjust(4, "damaged"))
        .then_expect_events(vec![adjusted(10, 4, "damaged")]);
}

#[test]
fn adjusting_down_to_exactly_what_is_held_is_no_shortfall() {
    stock()
        .given(vec![received(10), held("h1", 3, None)])
        .when(adjust(3, "damaged"))
        .then_expect_events(vec![adjusted(10, 3, "damaged")]);
}

#[test]
fn adjusting_to_zero_is_a_valid_count() {
    stock()
        .given(vec![received(10)])
        .when(adjust(0, "lost"))
        .then_expect_events(vec![adjusted(10, 0, "lost")]);
}

#[test]
fn adjusting_to_the_same_count_is_still_recorded() {
    stock()
        .given(vec![received(10)])
        .when(adjust(10, "recount"))
        .then_expect_events(vec![adjusted(10, 10, "recount")]);
}

#[test]
fn adjusting_below_what_is_held_is_recorded_and_flagged_not_refused() {
    stock()
        .given(vec![received(10), held("h1", 3, None), held("h2", 2, None)])
        .when(adjust(2, "theft"))
        .then_expect_events(vec![adjusted(10, 2, "theft"), shortfall(2, 5)]);
    let after = fold(&[
        received(10),
        held("h1", 3, None),
        held("h2", 2, None),
        adjusted(10, 2, "theft"),
        shortfall(2, 5),
    ]);
    assert!(after.is_short());
    assert_eq!((after.on_hand, after.held(), after.available()), (2, 5, 0));
}

#[test]
fn adjusting_up_to_the_largest_count_is_accepted() {
    stock()
        .given_no_previous_events()
        .when(adjust(1_000_000_000, "count"))
        .then_expect_events(vec![adjusted(0, 1_000_000_000, "count")]);
}

#[test]
fn adjusting_beyond_the_largest_count_is_invalid() {
    stock()
        .given_no_previous_events()
        .when(adjust(1_000_000_001, "count"))
        .then_expect_error(invalid(&[(
            "new_quantity",
            "must be a whole number from 0 to 1000000000",
        )]));
}

#[test]
fn adjusting_without_a_reason_is_invalid() {
    for reason in ["", "   ", &"x".repeat(201)] {
        stock()
            .given(vec![received(1)])
            .when(adjust(3, reason))
            .then_expect_error(invalid(&[("reason", TEXT)]));
    }
    stock()
        .given(vec![received(1)])
        .when(adjust(3, &"é".repeat(200)))
        .then_expect_events(vec![adjusted(1, 3, &"é".repeat(200))]);
}

// While short.

/// 10 received, holds h1 = 3 and h2 = 2, then a count of 2: short by 3.
fn short_stock() -> Vec<event_schemas::StockEvent> {
    vec![
        received(10),
        held("h1", 3, None),
        held("h2", 2, None),
        adjusted(10, 2, "theft"),
        shortfall(2, 5),
    ]
}

#[test]
fn while_short_new_holds_are_refused() {
    stock()
        .given(short_stock())
        .when(hold("h3", 1, None))
        .then_expect_error(stock_short(2, 5));
    let err = refusal(stock().given(short_stock()).when(hold("h3", 1, None)));
    assert_refusal(
        &err,
        ErrorKind::Conflict,
        "stock_short",
        &[
            ("on_hand", json!(2)),
            ("held", json!(5)),
            ("available", json!(0)),
        ],
    );
}

#[test]
fn while_short_sales_from_free_stock_are_refused() {
    stock()
        .given(short_stock())
        .when(sell(1))
        .then_expect_error(stock_short(2, 5));
}

#[test]
fn while_short_sales_from_a_hold_are_refused() {
    stock()
        .given(short_stock())
        .when(sell_from_hold(1, "h1"))
        .then_expect_error(stock_short(2, 5));
}

#[test]
fn while_short_repeating_an_open_hold_is_still_idempotent() {
    stock()
        .given(short_stock())
        .when(hold("h1", 3, None))
        .then_expect_events(vec![]);
}

#[test]
fn while_short_releases_are_allowed_and_can_clear_the_shortfall() {
    stock()
        .given(short_stock())
        .when(release("h1", "order cancelled"))
        .then_expect_events(vec![released("h1", 3, "order cancelled")]);
    let cleared = fold(&[short_stock(), vec![released("h1", 3, "order cancelled")]].concat());
    assert!(!cleared.is_short());
    assert_eq!(cleared.available(), 0);
    // Once cleared, sales from the remaining hold go through again.
    stock()
        .given([short_stock(), vec![released("h1", 3, "order cancelled")]].concat())
        .when(sell_from_hold(2, "h2"))
        .then_expect_events(vec![sold(2, Some("h2"), None)]);
}

#[test]
fn while_short_a_release_that_leaves_it_short_is_still_allowed() {
    stock()
        .given(short_stock())
        .when(release("h2", "order cancelled"))
        .then_expect_events(vec![released("h2", 2, "order cancelled")]);
    assert!(fold(&[short_stock(), vec![released("h2", 2, "order cancelled")]].concat()).is_short());
}

#[test]
fn while_short_receipts_are_allowed_and_clear_it() {
    stock()
        .given(short_stock())
        .when(receive(4))
        .then_expect_events(vec![received(4)]);
    let after = fold(&[short_stock(), vec![received(4)]].concat());
    assert!(!after.is_short());
    stock()
        .given([short_stock(), vec![received(4)]].concat())
        .when(sell(1))
        .then_expect_events(vec![sold(1, None, None)]);
}

#[test]
fn while_short_a_higher_count_clears_it() {
    stock()
        .given(short_stock())
        .when(adjust(5, "found"))
        .then_expect_events(vec![adjusted(2, 5, "found")]);
}

#[test]
fn while_short_a_lower_count_flags_the_new_shortfall() {
    stock()
        .given(short_stock())
        .when(adjust(1, "recount"))
        .then_expect_events(vec![adjusted(2, 1, "recount"), shortfall(1, 5)]);
}

#[test]
fn while_short_the_expiry_sweep_runs_and_can_clear_it() {
    let given = vec![
        received(10),
        held("h1", 3, None),
        held("h2", 4, Some(at(5))),
        adjusted(10, 4, "theft"),
        shortfall(4, 7),
    ];
    stock_at(at(5))
        .given(given.clone())
        .when(expire_holds())
        .then_expect_events(vec![released("h2", 4, "expired")]);
    assert!(!fold(&[given, vec![released("h2", 4, "expired")]].concat()).is_short());
}

// Hold.

#[test]
fn holding_sets_units_aside() {
    stock()
        .given(vec![received(10)])
        .when(hold("h1", 4, Some(at(15))))
        .then_expect_events(vec![held("h1", 4, Some(at(15)))]);
    let after = fold(&[received(10), held("h1", 4, Some(at(15)))]);
    assert_eq!((after.on_hand, after.held(), after.available()), (10, 4, 6));
    assert_eq!(after.next_expiry(), Some(at(15)));
}

#[test]
fn holding_without_an_expiry_holds_until_released() {
    stock()
        .given(vec![received(10)])
        .when(hold("h1", 10, None))
        .then_expect_events(vec![held("h1", 10, None)]);
    assert_eq!(
        fold(&[received(10), held("h1", 10, None)]).next_expiry(),
        None
    );
}

#[test]
fn holding_more_than_available_is_refused() {
    stock()
        .given(vec![received(10), held("h1", 8, None)])
        .when(hold("h2", 3, None))
        .then_expect_error(insufficient(3, 2));
}

#[test]
fn holding_the_same_hold_again_with_the_same_terms_changes_nothing() {
    // Even with nothing left available: the repeat asks for nothing new.
    stock()
        .given(vec![received(4), held("h1", 4, Some(at(15)))])
        .when(hold("h1", 4, Some(at(15))))
        .then_expect_events(vec![]);
    stock()
        .given(vec![received(4), held("h1", 4, None)])
        .when(hold("h1", 4, None))
        .then_expect_events(vec![]);
}

#[test]
fn holding_the_same_hold_with_another_quantity_is_refused() {
    stock()
        .given(vec![received(10), held("h1", 4, Some(at(15)))])
        .when(hold("h1", 5, Some(at(15))))
        .then_expect_error(hold_exists("h1", 4));
}

#[test]
fn holding_the_same_hold_with_another_expiry_is_refused() {
    stock()
        .given(vec![received(10), held("h1", 4, Some(at(15)))])
        .when(hold("h1", 4, Some(at(16))))
        .then_expect_error(hold_exists("h1", 4));
    stock()
        .given(vec![received(10), held("h1", 4, Some(at(15)))])
        .when(hold("h1", 4, None))
        .then_expect_error(hold_exists("h1", 4));
}

#[test]
fn holding_a_partly_sold_hold_again_with_its_original_terms_is_refused() {
    // The hold now holds 1, so the original command's terms no longer match.
    stock()
        .given(vec![
            received(10),
            held("h1", 4, None),
            sold(3, Some("h1"), None),
        ])
        .when(hold("h1", 4, None))
        .then_expect_error(hold_exists("h1", 1));
}

#[test]
fn holding_again_after_the_hold_was_sold_out_opens_a_new_hold() {
    // Idempotency lasts only while the hold is open: a retried hold command after
    // the hold was sold (or released) sets units aside again.
    stock()
        .given(vec![
            received(10),
            held("h1", 4, None),
            sold(4, Some("h1"), None),
        ])
        .when(hold("h1", 4, None))
        .then_expect_events(vec![held("h1", 4, None)]);
}

#[test]
fn holding_with_an_expiry_in_the_past_is_invalid() {
    for expires_at in [at(-1), t0()] {
        stock()
            .given(vec![received(10)])
            .when(hold("h1", 1, Some(expires_at)))
            .then_expect_error(invalid(&[("expires_at", "must lie in the future")]));
    }
}

#[test]
fn holding_again_under_the_id_of_an_expired_hold_replaces_it() {
    stock_at(at(20))
        .given(vec![received(10), held("h1", 8, Some(at(15)))])
        .when(hold("h1", 8, Some(at(40))))
        .then_expect_events(vec![
            released("h1", 8, "expired"),
            held("h1", 8, Some(at(40))),
        ]);
}

// Expiry.

#[test]
fn a_sale_releases_expired_holds_first_and_can_use_their_units() {
    stock_at(at(5))
        .given(vec![
            received(10),
            held("h1", 6, Some(at(5))),
            held("h2", 2, None),
            held("h3", 1, Some(at(6))),
        ])
        .when(sell(7))
        .then_expect_events(vec![released("h1", 6, "expired"), sold(7, None, None)]);
}

#[test]
fn a_new_hold_releases_expired_holds_first_and_can_use_their_units() {
    stock_at(at(30))
        .given(vec![
            received(10),
            held("h1", 6, Some(at(5))),
            held("h2", 2, Some(at(10))),
        ])
        .when(hold("h3", 10, Some(at(60))))
        .then_expect_events(vec![
            released("h1", 6, "expired"),
            released("h2", 2, "expired"),
            held("h3", 10, Some(at(60))),
        ]);
}

#[test]
fn a_refused_sale_releases_nothing_but_counts_expired_holds_as_free() {
    stock_at(at(5))
        .given(vec![
            received(10),
            held("h1", 6, Some(at(5))),
            held("h2", 2, None),
        ])
        .when(sell(9))
        .then_expect_error(insufficient(9, 8));
}

#[test]
fn a_sale_releases_expired_holds_and_so_clears_a_shortfall_they_caused() {
    stock_at(at(5))
        .given(vec![
            received(10),
            held("h1", 6, Some(at(5))),
            adjusted(10, 4, "count"),
            shortfall(4, 6),
        ])
        .when(sell(4))
        .then_expect_events(vec![released("h1", 6, "expired"), sold(4, None, None)]);
}

#[test]
fn the_expiry_sweep_releases_only_expired_holds() {
    stock_at(at(10))
        .given(vec![
            received(10),
            held("h1", 1, Some(at(10))),
            held("h2", 2, Some(at(11))),
            held("h3", 3, None),
            held("h0", 4, Some(at(1))),
        ])
        .when(expire_holds())
        .then_expect_events(vec![
            released("h0", 4, "expired"),
            released("h1", 1, "expired"),
        ]);
}

#[test]
fn the_expiry_sweep_with_nothing_expired_changes_nothing() {
    stock_at(at(10))
        .given(vec![
            received(10),
            held("h1", 1, Some(at(11))),
            held("h2", 2, None),
        ])
        .when(expire_holds())
        .then_expect_events(vec![]);
    stock()
        .given_no_previous_events()
        .when(expire_holds())
        .then_expect_events(vec![]);
}

#[test]
fn next_expiry_is_the_earliest_expiry_of_an_open_hold() {
    let stock = fold(&[
        received(10),
        held("h1", 1, Some(at(30))),
        held("h2", 1, None),
        held("h3", 1, Some(at(20))),
    ]);
    assert_eq!(stock.next_expiry(), Some(at(20)));
    assert_eq!(Stock::default().next_expiry(), None);
}

// Release.

#[test]
fn releasing_a_hold_frees_what_it_still_holds() {
    stock()
        .given(vec![
            received(10),
            held("h1", 5, None),
            sold(2, Some("h1"), None),
        ])
        .when(release("h1", "order cancelled"))
        .then_expect_events(vec![released("h1", 3, "order cancelled")]);
    let after = fold(&[
        received(10),
        held("h1", 5, None),
        sold(2, Some("h1"), None),
        released("h1", 3, "order cancelled"),
    ]);
    assert_eq!((after.on_hand, after.held(), after.available()), (8, 0, 8));
}

#[test]
fn releasing_an_expired_hold_uses_the_given_reason() {
    stock_at(at(20))
        .given(vec![received(10), held("h1", 5, Some(at(10)))])
        .when(release("h1", "checkout abandoned"))
        .then_expect_events(vec![released("h1", 5, "checkout abandoned")]);
}

#[test]
fn releasing_an_unknown_hold_is_refused_as_not_found() {
    stock()
        .given(vec![received(10), held("h1", 5, None)])
        .when(release("h2", "order cancelled"))
        .then_expect_error(unknown_hold("h2"));
    let err = refusal(stock().given(vec![received(10)]).when(release("h1", "x")));
    assert_refusal(&err, ErrorKind::NotFound, "unknown_hold", &[]);
}

#[test]
fn releasing_a_hold_twice_is_refused_the_second_time() {
    stock()
        .given(vec![
            received(10),
            held("h1", 5, None),
            released("h1", 5, "order cancelled"),
        ])
        .when(release("h1", "order cancelled"))
        .then_expect_error(unknown_hold("h1"));
}

#[test]
fn releasing_without_a_reason_is_invalid() {
    stock()
        .given(vec![received(10), held("h1", 5, None)])
        .when(release("h1", " "))
        .then_expect_error(invalid(&[("reason", TEXT)]));
}

// Quantities.

#[test]
fn quantities_of_zero_or_beyond_a_million_are_invalid() {
    for quantity in [0, 1_000_001, u64::MAX] {
        for command in [
            receive(quantity),
            sell(quantity),
            sell_from_hold(quantity, "h1"),
            hold("h2", quantity, None),
        ] {
            stock()
                .given(vec![received(1_000_000), held("h1", 1_000_000, None)])
                .when(command.clone())
                .then_expect_error(invalid(&[("quantity", QUANTITY)]));
            let err = refusal(stock().given_no_previous_events().when(command));
            assert_refusal(&err, ErrorKind::Invalid, "invalid_command", &[]);
            assert_eq!(err.errors, vec![field("quantity", QUANTITY)]);
        }
    }
}

#[test]
fn a_million_units_is_the_largest_quantity_one_command_moves() {
    stock()
        .given_no_previous_events()
        .when(receive(1_000_000))
        .then_expect_events(vec![received(1_000_000)]);
    stock()
        .given(vec![received(1_000_000), received(1)])
        .when(hold("h1", 1_000_000, None))
        .then_expect_events(vec![held("h1", 1_000_000, None)]);
    stock()
        .given(vec![received(1_000_000)])
        .when(sell(1_000_000))
        .then_expect_events(vec![sold(1_000_000, None, None)]);
}

// Ids.

fn bad_ids() -> Vec<(String, &'static str)> {
    vec![
        (String::new(), ID_LENGTH),
        ("x".repeat(65), ID_LENGTH),
        ("sku@wh".into(), ID_CHARS),
        ("a/b".into(), ID_CHARS),
        ("has space".into(), ID_CHARS),
        ("émoji".into(), ID_CHARS),
    ]
}

#[test]
fn bad_skus_are_invalid() {
    for (id, message) in bad_ids() {
        let mut command = receive(1);
        command.sku = id;
        stock()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(invalid(&[("sku", message)]));
    }
}

#[test]
fn bad_warehouse_ids_are_invalid_not_unknown() {
    for (id, message) in bad_ids() {
        let mut command = receive(1);
        command.warehouse_id = id;
        stock()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(invalid(&[("warehouse_id", message)]));
    }
}

#[test]
fn bad_hold_ids_are_invalid() {
    for (id, message) in bad_ids() {
        for command in [
            hold(&id, 1, None),
            sell_from_hold(1, &id),
            release(&id, "order cancelled"),
        ] {
            stock()
                .given(vec![received(10)])
                .when(command)
                .then_expect_error(invalid(&[("hold_id", message)]));
        }
    }
}

#[test]
fn bad_order_ids_are_invalid() {
    for (id, message) in bad_ids() {
        stock()
            .given(vec![received(10)])
            .when(sell_for_order(1, &id))
            .then_expect_error(invalid(&[("order_id", message)]));
    }
}

#[test]
fn ids_of_64_letters_digits_dashes_underscores_and_dots_are_valid() {
    let long = "a".repeat(64);
    let mut command = receive(1);
    command.sku = long.clone();
    command.warehouse_id = "Wh_1.b-2".into();
    let services = services_knowing("Wh_1.b-2");
    cqrs_es::test::TestFramework::<Stock>::with(services)
        .given_no_previous_events()
        .when(command)
        .then_expect_events(vec![event_schemas::StockEvent::StockReceived {
            sku: long,
            warehouse_id: "Wh_1.b-2".into(),
            quantity: 1,
        }]);
}

#[test]
fn every_field_error_is_reported_at_once() {
    let command = domain::StockCommand {
        sku: String::new(),
        warehouse_id: "a/b".into(),
        action: StockAction::Hold {
            hold_id: "h@1".into(),
            quantity: 0,
            expires_at: None,
        },
    };
    let err = refusal(stock().given_no_previous_events().when(command));
    assert_eq!(
        err,
        invalid(&[
            ("sku", ID_LENGTH),
            ("warehouse_id", ID_CHARS),
            ("hold_id", ID_CHARS),
            ("quantity", QUANTITY),
        ])
    );
    assert_eq!(
        err.detail,
        format!(
            "sku: {ID_LENGTH}; warehouse_id: {ID_CHARS}; hold_id: {ID_CHARS}; quantity: {QUANTITY}"
        )
    );
}

// Warehouses.

#[test]
fn a_stock_in_an_unknown_warehouse_is_refused_as_not_found() {
    let actions = [
        StockAction::Receive { quantity: 1 },
        StockAction::Sell {
            quantity: 1,
            hold_id: None,
            order_id: None,
        },
        StockAction::Adjust {
            new_quantity: 1,
            reason: "count".into(),
        },
        StockAction::Hold {
            hold_id: "h1".into(),
            quantity: 1,
            expires_at: None,
        },
        StockAction::ReleaseHold {
            hold_id: "h1".into(),
            reason: "x".into(),
        },
        StockAction::ExpireHolds,
    ];
    for action in actions {
        let command = domain::StockCommand {
            sku: SKU.into(),
            warehouse_id: "wh-9".into(),
            action,
        };
        stock()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(unknown_warehouse("wh-9"));
    }
}

#[test]
fn validation_comes_before_the_warehouse_lookup() {
    let command = domain::StockCommand {
        sku: SKU.into(),
        warehouse_id: "wh-9".into(),
        action: StockAction::Receive { quantity: 0 },
    };
    stock()
        .given_no_previous_events()
        .when(command)
        .then_expect_error(invalid(&[("quantity", QUANTITY)]));
}

// The pure functions agree with the cqrs-es path.

#[test]
fn decide_gives_what_the_aggregate_writes() {
    let given = vec![
        received(10),
        held("h1", 6, Some(at(5))),
        held("h2", 2, None),
    ];
    let state = fold(&given);
    let command = sell(7);
    let decided = state.decide(&command, at(5), &registry());
    let handled = stock_at(at(5)).given(given).when(command).inspect_result();
    assert_eq!(decided, handled);
    assert_eq!(
        decided.unwrap(),
        vec![released("h1", 6, "expired"), sold(7, None, None)]
    );
}

#[test]
fn action_names_are_stable() {
    let names: Vec<&str> = [
        receive(1),
        sell(1),
        adjust(1, "r"),
        hold("h", 1, None),
        release("h", "r"),
        expire_holds(),
    ]
    .iter()
    .map(|c| c.action.name())
    .collect();
    assert_eq!(
        names,
        [
            "receive_stock",
            "sell_stock",
            "adjust_stock",
            "hold_stock",
            "release_hold",
            "expire_holds"
        ]
    );
}

/// Services whose registry knows one given warehouse.
fn services_knowing(warehouse_id: &str) -> domain::Services {
    domain::Services::at(
        t0(),
        std::sync::Arc::new(std::collections::HashSet::from([warehouse_id.to_string()])),
    )
}

// Extend.

fn extend(hold_id: &str, expires_at: chrono::DateTime<chrono::Utc>) -> domain::StockCommand {
    cmd(StockAction::ExtendHold {
        hold_id: hold_id.into(),
        expires_at,
    })
}

fn extended(hold_id: &str, expires_at: chrono::DateTime<chrono::Utc>) -> event_schemas::StockEvent {
    event_schemas::StockEvent::StockHoldExtended {
        sku: SKU.into(),
        warehouse_id: WH.into(),
        hold_id: hold_id.into(),
        expires_at,
    }
}

#[test]
fn an_open_timed_hold_can_be_extended_and_then_outlives_its_old_end() {
    stock_at(at(10))
        .given(vec![received(5), held("h1", 2, Some(at(15)))])
        .when(extend("h1", at(30)))
        .then_expect_events(vec![extended("h1", at(30))]);
    // Past the old end, the extended hold is still held.
    stock_at(at(20))
        .given(vec![
            received(5),
            held("h1", 2, Some(at(15))),
            extended("h1", at(30)),
        ])
        .when(sell(4))
        .then_expect_error_message("asked for 4 units but 3 are available");
    // Extending to the same end again changes nothing.
    stock_at(at(10))
        .given(vec![received(5), held("h1", 2, Some(at(30)))])
        .when(extend("h1", at(30)))
        .then_expect_events(vec![]);
}

#[test]
fn a_hold_cannot_be_shortened_revived_or_given_an_end_it_never_had() {
    let earlier = stock_at(at(10))
        .given(vec![received(5), held("h1", 2, Some(at(15)))])
        .when(extend("h1", at(12)))
        .inspect_result()
        .unwrap_err();
    assert_eq!(earlier.code, "invalid_command");
    let expired = stock_at(at(20))
        .given(vec![received(5), held("h1", 2, Some(at(15)))])
        .when(extend("h1", at(30)))
        .inspect_result()
        .unwrap_err();
    assert_eq!(expired.code, "hold_expired");
    let endless = stock_at(at(10))
        .given(vec![received(5), held("h1", 2, None)])
        .when(extend("h1", at(30)))
        .inspect_result()
        .unwrap_err();
    assert_eq!(endless.code, "hold_never_expires");
    let unknown = stock_at(at(10))
        .given(vec![received(5)])
        .when(extend("h9", at(30)))
        .inspect_result()
        .unwrap_err();
    assert_eq!(unknown.code, "unknown_hold");
}
