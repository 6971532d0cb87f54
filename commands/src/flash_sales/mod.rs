//! Flash sales on the write side: scheduling (the units held in stock under the sale
//! id first), purchases (units held for the buyer in the sale, then an order at the
//! sale price), and what the order process does with a flash-sale order's payment.

mod settlement;

pub(crate) use settlement::SaleSettlements;

use chrono::Duration;
use domain::{
    DomainError, ErrorKind, FlashSaleCommand, OrderCommand, ScheduleFlashSale, StockAction,
    StockCommand,
};
use event_schemas::{Metadata, PricedLine};

use crate::host::{CommandError, CommandOutcome};
use crate::service::CommandService;
use domain::FlashSaleView;

/// How long after a sale's end its stock hold lasts: buyers holding units at the end
/// may still pay within their window; what is left then goes back to stock by itself.
const HOLD_GRACE: Duration = Duration::hours(1);

/// A buyer's admitted purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub order_id: String,
    pub quantity: u64,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub position: i64,
}

/// The order a purchase that holds units places at the sale price: the hold's
/// companion, appended in the same commit.
pub(crate) fn order_for_purchase(
    command: &FlashSaleCommand,
    sale: &FlashSaleView,
) -> Option<(String, OrderCommand)> {
    let FlashSaleCommand::Purchase { user_id, .. } = command else {
        return None;
    };
    let (order_id, quantity, expires_at) = sale.purchase.clone()?;
    let place = OrderCommand::PlaceForFlashSale {
        order_id: order_id.clone(),
        customer: user_id.clone(),
        sale_id: sale.sale_id.clone(),
        line: PricedLine {
            sku: sale.sku.clone(),
            quantity,
            unit_price: sale.price.clone()?,
        },
        warehouse_id: sale.warehouse_id.clone(),
        payment_due: expires_at,
    };
    Some((order_id, place))
}

impl CommandService {
    /// Schedule a sale: hold its units in the warehouse's stock under the sale id, then
    /// record the sale. Refused with what is available when the stock is short.
    pub async fn schedule_flash_sale(
        &self,
        sale: ScheduleFlashSale,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, FlashSaleView), CommandError> {
        // Refuse bad terms (and see a repeat) before touching stock.
        let existing = match self.flash_sale_state(&sale.sale_id).await {
            Ok((_, found)) => found,
            Err(CommandError::Refused(r)) if r.kind == ErrorKind::NotFound => {
                FlashSaleView::default()
            }
            Err(other) => return Err(other),
        };
        domain::FlashSale::default().decide(
            &FlashSaleCommand::Schedule(sale.clone()),
            self.clock().now(),
        )?;
        if existing.status == domain::FlashSaleStatus::New {
            let hold = StockCommand {
                sku: sale.sku.clone(),
                warehouse_id: sale.warehouse_id.clone(),
                action: StockAction::Hold {
                    hold_id: sale.sale_id.clone(),
                    quantity: sale.units,
                    expires_at: Some(
                        sale.ends_at
                            + Duration::seconds(sale.payment_window_seconds as i64)
                            + HOLD_GRACE,
                    ),
                },
            };
            match self.handle_stock(hold, metadata).await {
                Ok(_) => {}
                // Held already: an earlier attempt got this far.
                Err(CommandError::Refused(r)) if r.code == domain::Refusal::HoldExists => {}
                Err(other) => return Err(other),
            }
        }
        let sale_id = sale.sale_id.clone();
        let result = self
            .flash_sale
            .execute(
                &sale_id,
                FlashSaleCommand::Schedule(sale.clone()),
                metadata.clone(),
                None,
            )
            .await;
        if let Err(CommandError::Refused(_)) = &result {
            if existing.status == domain::FlashSaleStatus::New {
                self.release_sale_stock(
                    &sale.sku,
                    &sale.warehouse_id,
                    &sale_id,
                    "flash_sale_refused",
                    metadata,
                )
                .await?;
            }
        }
        result
    }

    /// A sale as it stands.
    pub async fn flash_sale_state(
        &self,
        sale_id: &str,
    ) -> Result<(CommandOutcome, FlashSaleView), CommandError> {
        let (outcome, view) = self.flash_sale.read(sale_id).await?;
        if view.status == domain::FlashSaleStatus::New {
            return Err(domain::flash_sale::unknown_sale().into());
        }
        Ok((outcome, view))
    }

    /// Hold units for a buyer and place their order at the sale price, in one commit
    /// (the order is the hold's companion). A buyer who already holds units gets
    /// that same order back.
    pub async fn purchase_flash_sale(
        &self,
        sale_id: &str,
        user_id: &str,
        quantity: u64,
        metadata: &Metadata,
    ) -> Result<Purchase, CommandError> {
        let purchase = FlashSaleCommand::Purchase {
            user_id: user_id.to_string(),
            quantity,
        };
        let (outcome, sale) = self
            .flash_sale
            .execute(sale_id, purchase.clone(), metadata.clone(), None)
            .await?;
        let (order_id, quantity, expires_at) = sale.purchase.clone().ok_or_else(|| {
            DomainError::new(
                ErrorKind::Conflict,
                domain::Refusal::AllHeld,
                "the hold ran out at once",
            )
        })?;
        let mut position = outcome.position;
        if outcome.linked_events == 0 {
            // Held before (the buyer's retry), or its order could not be decided with
            // the hold: placed now, once (a retry's append conflicts, and an owner
            // then loads the order and decides again).
            let place = order_for_purchase(&purchase, &sale)
                .map(|(_, place)| place)
                .ok_or_else(|| {
                    // A scheduled sale always has its price; an unscheduled one refused above.
                    DomainError::new(
                        ErrorKind::NotFound,
                        domain::Refusal::UnknownFlashSale,
                        "there is no such flash sale",
                    )
                })?;
            let (placed, _) = self
                .order
                .create(&order_id, place, metadata.clone(), None)
                .await?;
            position = position.max(placed.position);
        }
        Ok(Purchase {
            order_id,
            quantity,
            expires_at,
            position,
        })
    }

    /// Stop taking purchases. Units held by buyers stay theirs to pay for.
    pub async fn cancel_flash_sale(
        &self,
        sale_id: &str,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, FlashSaleView), CommandError> {
        let answer = self
            .flash_sale
            .execute(sale_id, FlashSaleCommand::Cancel, metadata.clone(), None)
            .await?;
        self.settle_and_return_unsold(&answer.1, metadata).await?;
        Ok(answer)
    }

    /// Close a sale whose window has passed, return buyer holds that ran out, and
    /// settle the sale's stock hold (which finishes a settlement a crash interrupted).
    pub async fn tick_flash_sale(&self, sale_id: &str) -> Result<FlashSaleView, CommandError> {
        let metadata = Metadata {
            actor: Some("process:flash_sales".into()),
            ..Default::default()
        };
        let tick = FlashSaleCommand::Tick;
        let (outcome, view) = self
            .flash_sale
            .execute(sale_id, tick, metadata.clone(), None)
            .await?;
        self.flash_sale_changed(&outcome);
        self.settle_and_return_unsold(&view, &metadata).await?;
        Ok(view)
    }

    /// Settle the sale's stock hold; then an ended sale with no buyer holds left gives
    /// what the hold has left back now (else the hold runs out by itself once the last
    /// buyer's window has passed).
    async fn settle_and_return_unsold(
        &self,
        sale: &FlashSaleView,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        self.settle_sale_stock(sale, metadata).await?;
        let over = matches!(
            sale.status,
            domain::FlashSaleStatus::Ended | domain::FlashSaleStatus::Cancelled
        );
        if over && sale.held == 0 {
            self.release_sale_stock(
                &sale.sku,
                &sale.warehouse_id,
                &sale.sale_id,
                "flash_sale_ended",
                metadata,
            )
            .await?;
            self.sale_settlements.forget(&sale.sale_id);
        }
        Ok(())
    }

    async fn release_sale_stock(
        &self,
        sku: &str,
        warehouse_id: &str,
        sale_id: &str,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let release = StockCommand {
            sku: sku.to_string(),
            warehouse_id: warehouse_id.to_string(),
            action: StockAction::ReleaseHold {
                hold_id: sale_id.to_string(),
                reason: reason.to_string(),
            },
        };
        match self.handle_stock(release, metadata).await {
            // Released already, or ran out by itself.
            Ok(_) | Err(CommandError::Refused(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// A flash-sale order was paid: sell its units from the sale, then settle the
    /// sale's stock hold (with other orders paid meanwhile); `None` when the units went
    /// to other buyers meanwhile (then refund).
    pub(crate) async fn sell_flash_units(
        &self,
        order: &domain::Order,
        sale_id: &str,
        metadata: &Metadata,
    ) -> Result<Option<Vec<event_schemas::ReservationLine>>, CommandError> {
        let sell = FlashSaleCommand::Sell {
            order_id: order.order_id.clone(),
        };
        let sale = match self
            .flash_sale
            .execute(sale_id, sell, metadata.clone(), None)
            .await
        {
            Ok((outcome, sale)) => {
                self.flash_sale_changed(&outcome);
                sale
            }
            Err(CommandError::Refused(_)) => return Ok(None),
            Err(other) => return Err(other),
        };
        self.settle_sale_stock(&sale, metadata).await?;
        Ok(Some(order.reserved.clone()))
    }

    /// A flash-sale order's units go back to the sale.
    pub(crate) async fn return_flash_units(
        &self,
        order_id: &str,
        sale_id: &str,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let back = FlashSaleCommand::Return {
            order_id: order_id.to_string(),
            reason: reason.to_string(),
        };
        let (outcome, _) = self
            .flash_sale
            .execute(sale_id, back, metadata.clone(), None)
            .await?;
        self.flash_sale_changed(&outcome);
        Ok(())
    }

    /// Wake the queues waiting for units, when a command sold or returned some.
    fn flash_sale_changed(&self, outcome: &CommandOutcome) {
        if outcome.events > 0 {
            self.flash_changes.send_modify(|n| *n += 1);
        }
    }
}
