//! Confirming a reservation sells each line exactly once: a hold that is gone (run
//! out, released by the sweep between the check and the sale) is a failure, never
//! taken for "sold", and a confirm repeated after a partial sale sells only what is
//! left.

use std::sync::Arc;

use commands::{CommandError, CommandService, EventStore};
use domain::{StockAction, StockCommand};
use event_log::Database;
use event_schemas::{Metadata, ReservationLine};

use crate::host::WAREHOUSE;

crate::contract! {
    a_hold_lost_before_the_sale_is_a_failure_not_a_sale => check_lost_hold_is_a_failure,
    a_confirm_after_a_partial_sale_sells_each_line_once => check_partial_sale_is_not_repeated,
}

async fn shop(store: &EventStore) -> Arc<CommandService> {
    let service = crate::host::service(store).await;
    for sku in ["A", "B"] {
        stock(&service, sku, StockAction::Receive { quantity: 5 })
            .await
            .unwrap();
    }
    service
}

async fn stock(
    service: &CommandService,
    sku: &str,
    action: StockAction,
) -> Result<commands::StockLevels, CommandError> {
    let command = StockCommand {
        sku: sku.into(),
        warehouse_id: WAREHOUSE.into(),
        action,
    };
    service
        .handle_stock(command, &Metadata::default())
        .await
        .map(|(_, levels)| levels)
}

/// (on hand, held) of `sku`, read with a command that changes nothing.
async fn levels(service: &CommandService, sku: &str) -> (u64, u64) {
    let levels = stock(service, sku, StockAction::ExpireHolds).await.unwrap();
    (levels.on_hand, levels.held)
}

fn line(sku: &str, quantity: u64) -> ReservationLine {
    ReservationLine {
        sku: sku.into(),
        warehouse_id: WAREHOUSE.into(),
        quantity,
    }
}

/// The expiry sweep (or anyone) releases a line's hold under the reservation.
async fn lose_hold(service: &CommandService, sku: &str, reservation_id: &str) {
    stock(
        service,
        sku,
        StockAction::ReleaseHold {
            hold_id: reservation_id.into(),
            reason: "expired".into(),
        },
    )
    .await
    .unwrap();
}

async fn reserve(service: &CommandService, id: &str, lines: Vec<ReservationLine>) {
    let expires_at = chrono::Utc::now() + chrono::Duration::minutes(15);
    let answer = service
        .reserve(id, None, lines, expires_at, &Metadata::default())
        .await
        .unwrap();
    assert_eq!(answer.reservation.status, domain::ReservationStatus::Held);
}

async fn check_lost_hold_is_a_failure(store: &EventStore, _: &Database) {
    let service = shop(store).await;
    reserve(&service, "r-1", vec![line("A", 2)]).await;
    lose_hold(&service, "A", "r-1").await;

    let refused = service
        .confirm_reservation("r-1", &Metadata::default())
        .await
        .expect_err("a hold that is gone sells nothing");
    assert!(
        matches!(&refused, CommandError::Refused(r) if r.code == "unknown_hold"),
        "{refused:?}"
    );
    assert_eq!(levels(&service, "A").await, (5, 0), "nothing was sold");
    let reservation = service.reservation("r-1").await.unwrap().reservation;
    assert_eq!(reservation.status, domain::ReservationStatus::Held);
}

async fn check_partial_sale_is_not_repeated(store: &EventStore, _: &Database) {
    let service = shop(store).await;
    reserve(&service, "r-2", vec![line("A", 2), line("B", 3)]).await;
    // B's hold goes before the confirm gets to it: A is sold, B is not.
    lose_hold(&service, "B", "r-2").await;
    for attempt in 1..=3 {
        let refused = service
            .confirm_reservation("r-2", &Metadata::default())
            .await
            .expect_err("B cannot be sold");
        assert!(
            matches!(&refused, CommandError::Refused(r) if r.code == "unknown_hold"),
            "attempt {attempt}: {refused:?}"
        );
        assert_eq!(
            levels(&service, "A").await,
            (3, 0),
            "attempt {attempt}: A's two units were sold once"
        );
        assert_eq!(levels(&service, "B").await, (5, 0), "attempt {attempt}");
    }
}
