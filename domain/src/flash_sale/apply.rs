//! How a flash sale's events change its state.

use super::*;

impl FlashSale {
    pub fn apply_event(&mut self, event: &FlashSaleEvent) {
        match event {
            FlashSaleEvent::FlashSaleScheduled {
                sale_id,
                sku,
                warehouse_id,
                units,
                price,
                starts_at,
                ends_at,
                per_user_limit,
                payment_window_seconds,
            } => {
                self.sale_id = sale_id.clone();
                self.sku = sku.clone();
                self.warehouse_id = warehouse_id.clone();
                self.units = *units;
                self.price = Some(price.clone());
                self.starts_at = Some(*starts_at);
                self.ends_at = Some(*ends_at);
                self.per_user_limit = *per_user_limit;
                self.payment_window_seconds = *payment_window_seconds;
                self.status = FlashSaleStatus::Scheduled;
            }
            FlashSaleEvent::FlashSaleUnitsHeld {
                order_id,
                user_id,
                quantity,
                expires_at,
                ..
            } => {
                self.expiries.insert((*expires_at, order_id.clone()));
                let previous = self.holds.insert(
                    order_id.clone(),
                    BuyerHold {
                        user_id: user_id.clone(),
                        quantity: *quantity,
                        expires_at: *expires_at,
                    },
                );
                if let Some(previous) = previous {
                    self.held_units -= previous.quantity;
                    self.expiries
                        .remove(&(previous.expires_at, order_id.clone()));
                }
                self.held_units += quantity;
                *self.bought.entry(user_id.clone()).or_default() += quantity;
                if !self.order_lines.contains_key(order_id) {
                    *self.orders.entry(user_id.clone()).or_default() += 1;
                }
                self.order_lines
                    .insert(order_id.clone(), (user_id.clone(), *quantity));
            }
            FlashSaleEvent::FlashSaleUnitsSold {
                order_id, quantity, ..
            } => {
                self.forget_hold(order_id);
                self.sold_orders.insert(order_id.clone());
                self.sold += quantity;
            }
            FlashSaleEvent::FlashSaleUnitsReturned {
                order_id, quantity, ..
            } => {
                if let Some(hold) = self.forget_hold(order_id) {
                    if let Some(bought) = self.bought.get_mut(&hold.user_id) {
                        *bought = bought.saturating_sub(*quantity);
                    }
                }
            }
            FlashSaleEvent::FlashSaleEnded { reason, .. } => {
                self.status = if reason == "cancelled" {
                    FlashSaleStatus::Cancelled
                } else {
                    FlashSaleStatus::Ended
                };
            }
        }
    }
}

impl FlashSale {
    /// Close an open hold, keeping the counters and the expiry index in step.
    fn forget_hold(&mut self, order_id: &str) -> Option<BuyerHold> {
        let hold = self.holds.remove(order_id)?;
        self.held_units -= hold.quantity;
        self.expiries
            .remove(&(hold.expires_at, order_id.to_string()));
        Some(hold)
    }
}
