//! The ReorderLine aggregate: a reorder is suggested once per crossing of the
//! reorder point.

use cqrs_es::test::TestFramework;
use domain::delivery::ReorderAdvice;
use domain::{ReorderCommand, ReorderLine, Services};
use event_schemas::ReorderEvent;

fn lines() -> TestFramework<ReorderLine> {
    TestFramework::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
}

fn advice() -> ReorderAdvice {
    ReorderAdvice {
        velocity: 10.0,
        daily_spread: 0.0,
        safety_stock: 0.0,
        reorder_point: 70.0,
        days_of_cover: Some(2.0),
        suggested_quantity: 190,
    }
}

fn suggest() -> ReorderCommand {
    ReorderCommand::Suggest {
        sku: "MUG".into(),
        warehouse_id: "ams".into(),
        available: 20,
        advice: advice(),
    }
}

fn suggested() -> ReorderEvent {
    ReorderEvent::ReorderSuggested {
        sku: "MUG".into(),
        warehouse_id: "ams".into(),
        available: 20,
        velocity: 10.0,
        safety_stock: 0.0,
        reorder_point: 70.0,
        days_of_cover: Some(2.0),
        suggested_quantity: 190,
    }
}

fn cleared() -> ReorderEvent {
    ReorderEvent::ReorderPointCleared {
        sku: "MUG".into(),
        warehouse_id: "ams".into(),
        available: 300,
    }
}

fn clear() -> ReorderCommand {
    ReorderCommand::Clear {
        sku: "MUG".into(),
        warehouse_id: "ams".into(),
        available: 300,
    }
}

#[test]
fn a_crossing_is_suggested_once() {
    lines()
        .given_no_previous_events()
        .when(suggest())
        .then_expect_events(vec![suggested()]);
    lines()
        .given(vec![suggested()])
        .when(suggest())
        .then_expect_events(vec![]);
}

#[test]
fn stock_above_the_point_again_clears_it_and_the_next_fall_is_a_new_crossing() {
    lines()
        .given(vec![suggested()])
        .when(clear())
        .then_expect_events(vec![cleared()]);
    lines()
        .given_no_previous_events()
        .when(clear())
        .then_expect_events(vec![]);
    lines()
        .given(vec![suggested(), cleared()])
        .when(suggest())
        .then_expect_events(vec![suggested()]);
}
