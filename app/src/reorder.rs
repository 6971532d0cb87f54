//! The replenishment process: records `ReorderSuggested` when a SKU's available
//! stock in a warehouse falls to or under its reorder point, once per crossing
//! (`ReorderPointCleared` when it is above again), from the replenishment model this
//! process keeps. One process per database runs it at a time, under a lease (a
//! PostgreSQL advisory lock, as the order process); the ReorderLine aggregate drops
//! repeats, so a new lease holder may go over what the last one did.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use commands::lease::Lease;
use commands::CommandService;
use delivery::replenishment::LiveReplenishment;
use domain::ReorderCommand;
use event_log::StoreError;
use event_schemas::reorder::REORDER_AGGREGATE;
use event_schemas::{Metadata, ReorderEvent};

/// Advisory lock key of the replenishment process's lease ("reorder").
const LEASE_KEY: i64 = 0x7265_6f72_6465_7200;
/// Least time between two passes over the shelves.
const PASS_EVERY: Duration = Duration::from_secs(1);

/// Run the process for as long as this one lives.
pub fn spawn_reorder_process(commands: Arc<CommandService>, model: Arc<LiveReplenishment>) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_while_leased(&commands, &model).await {
                tracing::warn!(%error, "replenishment process stopped; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// The shelves with a suggestion open, from the log's reorder events.
pub async fn open_shelves(
    commands: &CommandService,
) -> Result<HashSet<(String, String)>, StoreError> {
    let mut open = HashSet::new();
    let mut after = 0;
    loop {
        let records = commands
            .store()
            .read_type_after(REORDER_AGGREGATE, after, 1_000)
            .await?;
        let Some(last) = records.last().map(|r| r.position) else {
            return Ok(open);
        };
        for record in &records {
            match record.parse_as::<ReorderEvent>() {
                Ok(ReorderEvent::ReorderSuggested {
                    sku, warehouse_id, ..
                }) => {
                    open.insert((sku, warehouse_id));
                }
                Ok(ReorderEvent::ReorderPointCleared {
                    sku, warehouse_id, ..
                }) => {
                    open.remove(&(sku, warehouse_id));
                }
                Err(_) => {}
            }
        }
        after = last;
    }
}

/// One pass over every shelf: suggest where stock is at or under the reorder point
/// and nothing is open, clear where it is above and something is; `open` follows.
/// Answers how many events were recorded.
pub async fn pass(
    commands: &CommandService,
    model: &LiveReplenishment,
    open: &mut HashSet<(String, String)>,
    metadata: &Metadata,
) -> usize {
    let (shelves, _) = model.read(|m| m.all());
    let mut recorded = 0;
    for shelf in shelves {
        let key = (shelf.sku.clone(), shelf.warehouse_id.clone());
        let below = shelf.advice.suggested_quantity > 0;
        let command = match (below, open.contains(&key)) {
            (true, false) => ReorderCommand::Suggest {
                sku: shelf.sku,
                warehouse_id: shelf.warehouse_id,
                available: shelf.available,
                advice: shelf.advice,
            },
            (false, true) => ReorderCommand::Clear {
                sku: shelf.sku,
                warehouse_id: shelf.warehouse_id,
                available: shelf.available,
            },
            _ => continue,
        };
        match commands.handle_reorder(command, metadata).await {
            Ok(wrote) => {
                recorded += usize::from(wrote);
                if below {
                    open.insert(key);
                } else {
                    open.remove(&key);
                }
            }
            Err(error) => {
                tracing::warn!(%error, sku = %key.0, warehouse = %key.1, "a reorder suggestion was not recorded")
            }
        }
    }
    recorded
}

async fn run_while_leased(
    commands: &Arc<CommandService>,
    model: &Arc<LiveReplenishment>,
) -> Result<(), StoreError> {
    let Some(mut lease) = Lease::take(commands.store().database(), LEASE_KEY).await? else {
        // Another process runs it; look again later.
        tokio::time::sleep(Duration::from_secs(2)).await;
        return Ok(());
    };
    let metadata = Metadata {
        actor: Some("replenishment-process".into()),
        ..Default::default()
    };
    let mut open = open_shelves(commands).await?;
    let mut committed = commands.store().readable();
    let mut seen = -1;
    loop {
        let position = model.position();
        if position != seen {
            seen = position;
            pass(commands, model, &mut open, &metadata).await;
        }
        lease.check().await?;
        tokio::time::sleep(PASS_EVERY).await;
        let _ = tokio::time::timeout(PASS_EVERY, committed.changed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commands::AppClock;
    use delivery::replenishment::{live_replenishment, ReplenishmentConfig};
    use domain::{RegisterWarehouse, StockAction, StockCommand};
    use event_schemas::GeoPoint;

    fn stock(sku: &str, action: StockAction) -> StockCommand {
        StockCommand {
            sku: sku.into(),
            warehouse_id: "ams".into(),
            action,
        }
    }

    #[tokio::test]
    async fn a_suggestion_is_recorded_once_per_crossing() {
        // Given 100 mugs in ams, and a process that has seen nothing
        let log = testkit::TestLog::sqlite().await;
        let commands = CommandService::new(log.store.clone(), AppClock::System);
        let metadata = Metadata::default();
        commands
            .register_warehouse(
                RegisterWarehouse {
                    warehouse_id: "ams".into(),
                    name: "Amsterdam".into(),
                    region: "nl".into(),
                    location: GeoPoint {
                        lat: 52.37,
                        lon: 4.89,
                    },
                    ships_to: vec![],
                },
                &metadata,
            )
            .await
            .unwrap();
        let model = live_replenishment(log.read.clone(), ReplenishmentConfig::default());
        let run = |quantity| stock("MUG", StockAction::Receive { quantity });
        commands.handle_stock(run(100), &metadata).await.unwrap();
        let mut open = HashSet::new();
        // When 90 are sold today (velocity 90 a day: the reorder point is 630)
        let sell = stock(
            "MUG",
            StockAction::Sell {
                quantity: 90,
                order_id: None,
                hold_id: None,
            },
        );
        commands.handle_stock(sell, &metadata).await.unwrap();
        model.catch_up().await.unwrap();
        // Then one suggestion is recorded, and a second pass records nothing
        assert_eq!(pass(&commands, &model, &mut open, &metadata).await, 1);
        assert_eq!(pass(&commands, &model, &mut open, &metadata).await, 0);
        // And a process starting afresh finds it open in the log and repeats nothing
        let mut fresh = open_shelves(&commands).await.unwrap();
        assert!(fresh.contains(&("MUG".to_string(), "ams".to_string())));
        assert_eq!(pass(&commands, &model, &mut fresh, &metadata).await, 0);
        // When 2,000 arrive (above the reorder point), then it is cleared once
        commands.handle_stock(run(2_000), &metadata).await.unwrap();
        model.catch_up().await.unwrap();
        assert_eq!(pass(&commands, &model, &mut open, &metadata).await, 1);
        assert!(open.is_empty());
        let events = log
            .store
            .read_type_after(REORDER_AGGREGATE, 0, 10)
            .await
            .unwrap();
        let types: Vec<&str> = events
            .iter()
            .map(|r| match r.parse_as::<ReorderEvent>().unwrap() {
                ReorderEvent::ReorderSuggested { .. } => "suggested",
                ReorderEvent::ReorderPointCleared { .. } => "cleared",
            })
            .collect();
        assert_eq!(types, ["suggested", "cleared"]);
    }
}
