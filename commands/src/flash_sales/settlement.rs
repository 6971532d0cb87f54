//! A flash sale's stock hold, settled many paid orders at a time.
//!
//! A paid order's units are sold in the sale first: the sale is where the buyers'
//! units live. The warehouse's stock then follows with one `SettleHold` to the sale's
//! total sold. Orders paid while a settlement is on its way are covered together by
//! the next one, so a rush of payments costs the stock one command per round, not one
//! per order (nor a receipt each), and purchases do not queue behind settlements in
//! the stock's owner. Saying a total makes a settlement safe to repeat: the sale's
//! ticker repeats it every second, which finishes what a crash interrupted. A hold
//! that is gone is settled only as far as the stock's stream shows it sold: a unit the
//! sale sold after its hold went back is never confirmed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use domain::{FlashSaleView, StockAction, StockCommand};
use event_schemas::{Metadata, StockEvent};

use crate::host::CommandError;
use crate::service::CommandService;

/// The settlements of the sales this process has settled.
#[derive(Debug, Default)]
pub(crate) struct SaleSettlements {
    sales: Mutex<HashMap<String, Arc<Settling>>>,
}

/// One sale's settlement: what is asked for, what is done, and whose turn it is.
#[derive(Debug, Default)]
struct Settling {
    /// The highest total sold anyone asked to settle.
    wanted: AtomicU64,
    /// The highest total a committed settlement reached.
    settled: AtomicU64,
    /// One settlement of a sale at a time; the others wait and are usually covered.
    turn: tokio::sync::Mutex<()>,
}

impl SaleSettlements {
    fn of(&self, sale_id: &str) -> Arc<Settling> {
        let mut sales = self.sales.lock().expect("settlements poisoned");
        // Every paid order asks: the sale's id is copied only the first time.
        if let Some(settling) = sales.get(sale_id) {
            return settling.clone();
        }
        sales.entry(sale_id.to_string()).or_default().clone()
    }

    /// A sale whose hold is given back needs no more settling.
    pub(crate) fn forget(&self, sale_id: &str) {
        self.sales
            .lock()
            .expect("settlements poisoned")
            .remove(sale_id);
    }
}

impl CommandService {
    /// Sell from the sale's stock hold until it has sold what the sale has (`sale`
    /// as a command just left it); returns once a committed settlement covers that.
    pub(crate) async fn settle_sale_stock(
        &self,
        sale: &FlashSaleView,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let settling = self.sale_settlements.of(&sale.sale_id);
        settling.wanted.fetch_max(sale.sold, Ordering::AcqRel);
        while settling.settled.load(Ordering::Acquire) < sale.sold {
            let _turn = settling.turn.lock().await;
            if settling.settled.load(Ordering::Acquire) >= sale.sold {
                break;
            }
            // Everyone who asked so far is covered by this one.
            let total = settling.wanted.load(Ordering::Acquire);
            let settle = StockCommand {
                sku: sale.sku.clone(),
                warehouse_id: sale.warehouse_id.clone(),
                action: StockAction::SettleHold {
                    hold_id: sale.sale_id.clone(),
                    sold: total,
                },
            };
            match self.handle_stock(settle, metadata).await {
                Ok(_) => {
                    settling.settled.fetch_max(total, Ordering::AcqRel);
                }
                // No open hold: it closed when its last unit was sold, or it went back
                // (or ran out) first. Only the log tells which, and how much it sold.
                Err(CommandError::Refused(refusal))
                    if refusal.code == domain::Refusal::UnknownHold =>
                {
                    let sold = self.sold_from_hold(sale).await?;
                    settling.settled.fetch_max(sold, Ordering::AcqRel);
                    if sold < sale.sold {
                        // Units the sale sold after its hold was gone: never confirm
                        // them (the order process sets the payment aside).
                        return Err(CommandError::Refused(refusal));
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// Units ever sold from the sale's stock hold, from the stock's stream.
    async fn sold_from_hold(&self, sale: &FlashSaleView) -> Result<u64, CommandError> {
        let stock_id = event_schemas::stock::stock_aggregate_id(&sale.sku, &sale.warehouse_id);
        let events = self
            .store()
            .load(event_schemas::stock::STOCK_AGGREGATE, &stock_id, 0)
            .await?;
        let mut sold = 0u64;
        for stored in events {
            let event: StockEvent = stored.decode(event_schemas::stock::STOCK_AGGREGATE)?;
            if let StockEvent::StockSold {
                quantity,
                hold_id: Some(hold_id),
                ..
            } = event
            {
                if hold_id == sale.sale_id {
                    sold = sold.saturating_add(quantity);
                }
            }
        }
        Ok(sold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::AppClock;
    use domain::{FlashSaleCommand, RegisterWarehouse, ScheduleFlashSale};
    use event_log::EventStore;
    use event_schemas::{GeoPoint, Money};
    use testkit::{Fresh, Kind};

    const SKU: &str = "MUG-1";
    const WAREHOUSE: &str = "wh-1";

    fn stock(action: StockAction) -> StockCommand {
        StockCommand {
            sku: SKU.into(),
            warehouse_id: WAREHOUSE.into(),
            action,
        }
    }

    async fn shop(store: &EventStore) -> CommandService {
        let service = CommandService::new(store.clone(), AppClock::System);
        let metadata = Metadata::default();
        let warehouse = RegisterWarehouse {
            warehouse_id: WAREHOUSE.into(),
            name: "Test".into(),
            region: "nl".into(),
            location: GeoPoint {
                lat: 52.0,
                lon: 4.0,
            },
            ships_to: vec![],
        };
        service
            .register_warehouse(warehouse, &metadata)
            .await
            .unwrap();
        service
            .handle_stock(stock(StockAction::Receive { quantity: 10 }), &metadata)
            .await
            .unwrap();
        service
    }

    /// A sale of two units, both bought; the buyers' order ids.
    async fn sale_bought_out(service: &CommandService, sale_id: &str) -> Vec<String> {
        let now = service.clock().now();
        let sale = ScheduleFlashSale {
            sale_id: sale_id.into(),
            sku: SKU.into(),
            warehouse_id: WAREHOUSE.into(),
            units: 2,
            price: Money {
                amount: 999,
                currency: "EUR".into(),
            },
            starts_at: now - chrono::Duration::seconds(1),
            ends_at: now + chrono::Duration::hours(1),
            per_user_limit: 1,
            payment_window_seconds: 300,
        };
        let metadata = Metadata::default();
        service.schedule_flash_sale(sale, &metadata).await.unwrap();
        let mut orders = Vec::new();
        for buyer in ["ada", "bob"] {
            let bought = service
                .purchase_flash_sale(sale_id, buyer, 1, &metadata)
                .await
                .unwrap();
            orders.push(bought.order_id);
        }
        orders
    }

    /// Sell an order's units in the sale, as a payment does; the sale after it.
    async fn sell_in_sale(
        service: &CommandService,
        sale_id: &str,
        order_id: &str,
    ) -> FlashSaleView {
        let sell = FlashSaleCommand::Sell {
            order_id: order_id.into(),
        };
        let (_, sale) = service
            .flash_sale
            .execute(sale_id, sell, Metadata::default(), None)
            .await
            .unwrap();
        sale
    }

    #[tokio::test]
    async fn a_sold_out_hold_stays_settled_after_a_restart() {
        let fresh = Fresh::new(Kind::Sqlite).await;
        fresh
            .run(async {
                let store = EventStore::open(fresh.connect().await).await.unwrap();
                let service = shop(&store).await;
                let orders = sale_bought_out(&service, "drop").await;
                let mut sale = FlashSaleView::default();
                for order_id in &orders {
                    sale = sell_in_sale(&service, "drop", order_id).await;
                }
                let metadata = Metadata::default();
                service.settle_sale_stock(&sale, &metadata).await.unwrap();
                assert_eq!(service.sold_from_hold(&sale).await.unwrap(), 2);
                // The hold closed with its last unit; a process that did not see it
                // settle finds it gone and the stock's stream says all was sold.
                let restarted = CommandService::new(store.clone(), AppClock::System);
                restarted.settle_sale_stock(&sale, &metadata).await.unwrap();
                assert_eq!(restarted.sold_from_hold(&sale).await.unwrap(), 2);
            })
            .await;
    }

    #[tokio::test]
    async fn units_sold_after_the_hold_went_back_are_never_settled() {
        let fresh = Fresh::new(Kind::Sqlite).await;
        fresh
            .run(async {
                let store = EventStore::open(fresh.connect().await).await.unwrap();
                let service = shop(&store).await;
                let orders = sale_bought_out(&service, "late").await;
                let metadata = Metadata::default();
                let release = stock(StockAction::ReleaseHold {
                    hold_id: "late".into(),
                    reason: "flash_sale_ended".into(),
                });
                service.handle_stock(release, &metadata).await.unwrap();
                let sale = sell_in_sale(&service, "late", &orders[0]).await;
                match service.settle_sale_stock(&sale, &metadata).await {
                    Err(CommandError::Refused(refusal)) => {
                        assert_eq!(refusal.code, domain::Refusal::UnknownHold)
                    }
                    other => panic!("settled units the stock no longer held: {other:?}"),
                }
                assert_eq!(service.sold_from_hold(&sale).await.unwrap(), 0);
            })
            .await;
    }
}
