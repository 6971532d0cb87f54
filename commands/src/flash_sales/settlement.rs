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
