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
                let new_order = match self.sale_orders.get_mut(order_id) {
                    Some(order) => {
                        if let Some(until) = order.held_until.take() {
                            self.held_units -= order.quantity;
                            self.expiries.remove(&(until, order_id.clone()));
                        }
                        order.quantity = *quantity;
                        order.held_until = Some(*expires_at);
                        false
                    }
                    None => {
                        self.sale_orders.insert(
                            order_id.clone(),
                            SaleOrder {
                                user_id: user_id.clone(),
                                quantity: *quantity,
                                held_until: Some(*expires_at),
                                sold: false,
                            },
                        );
                        true
                    }
                };
                self.expiries.insert((*expires_at, order_id.clone()));
                self.held_units += quantity;
                let buyer = self.buyers.entry(user_id.clone()).or_default();
                buyer.bought += quantity;
                if new_order {
                    buyer.orders += 1;
                }
            }
            FlashSaleEvent::FlashSaleUnitsSold {
                order_id, quantity, ..
            } => {
                self.release_hold(order_id);
                match self.sale_orders.get_mut(order_id) {
                    Some(order) => order.sold = true,
                    // Not in the log's history (a sale is held before it is sold),
                    // but a state must still know the order is sold.
                    None => {
                        self.sale_orders.insert(
                            order_id.clone(),
                            SaleOrder {
                                user_id: String::new(),
                                quantity: *quantity,
                                held_until: None,
                                sold: true,
                            },
                        );
                    }
                }
                self.sold += quantity;
            }
            FlashSaleEvent::FlashSaleUnitsReturned {
                order_id, quantity, ..
            } => {
                if self.release_hold(order_id) {
                    let user_id = self.sale_orders.get(order_id).map(|o| &o.user_id);
                    if let Some(buyer) = user_id.and_then(|user| self.buyers.get_mut(user)) {
                        buyer.bought = buyer.bought.saturating_sub(*quantity);
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
    /// Close the order's open hold, keeping the counter and the expiry index in step;
    /// whether there was one.
    fn release_hold(&mut self, order_id: &str) -> bool {
        let Some(order) = self.sale_orders.get_mut(order_id) else {
            return false;
        };
        let Some(until) = order.held_until.take() else {
            return false;
        };
        self.held_units -= order.quantity;
        self.expiries.remove(&(until, order_id.to_string()));
        true
    }
}
