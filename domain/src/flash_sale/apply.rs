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
                let order = SaleOrder {
                    quantity: *quantity,
                    held_until: Some(*expires_at),
                    sold: false,
                };
                // Held again (paid after its units went back): the same order.
                let held_again = self.order_mut(order_id).map(|held| {
                    let released = held.held_until.map(|until| (until, held.quantity));
                    *held = SaleOrder {
                        sold: held.sold,
                        ..order
                    };
                    released
                });
                match held_again {
                    Some(released) => {
                        if let Some((until, units)) = released {
                            self.held_units -= units;
                            self.expiries.remove(&(until, Arc::from(order_id.as_str())));
                        }
                        self.buyer_mut(user_id).bought += quantity;
                    }
                    None => self.add_order(order_id, user_id, order),
                }
                self.expiries
                    .insert((*expires_at, Arc::from(order_id.as_str())));
                self.held_units += quantity;
            }
            FlashSaleEvent::FlashSaleUnitsSold {
                order_id, quantity, ..
            } => {
                self.release_hold(order_id);
                match self.order_mut(order_id) {
                    Some(order) => order.sold = true,
                    // Not in the log's history (a sale is held before it is sold),
                    // but a state must still know the order is sold.
                    None => {
                        self.earlier_orders.insert(
                            Arc::from(order_id.as_str()),
                            EarlierOrder {
                                user_id: Arc::from(""),
                                order: SaleOrder {
                                    quantity: *quantity,
                                    held_until: None,
                                    sold: true,
                                },
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
                    let user_id = self.order(order_id).map(|(user_id, _)| user_id);
                    if let Some(buyer) = user_id.and_then(|user| self.buyers.get_mut(&*user)) {
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
        let Some(order) = self.order_mut(order_id) else {
            return false;
        };
        let Some(until) = order.held_until.take() else {
            return false;
        };
        let units = order.quantity;
        self.held_units -= units;
        self.expiries.remove(&(until, Arc::from(order_id)));
        true
    }

    /// The buyer's entry, made if they are new.
    fn buyer_mut(&mut self, user_id: &str) -> &mut SaleBuyer {
        if !self.buyers.contains_key(user_id) {
            self.buyers.insert(Arc::from(user_id), SaleBuyer::default());
        }
        self.buyers.get_mut(user_id).expect("just made")
    }

    /// A new order of `user_id`'s: their latest from now on, the one before it kept
    /// among the earlier orders.
    fn add_order(&mut self, order_id: &str, user_id: &str, order: SaleOrder) {
        let number = self.buyers.get(user_id).map_or(0, |buyer| buyer.orders) + 1;
        // Only an id this sale derives for the buyer's next order is found from the
        // buyer; any other is looked up by itself.
        let derived =
            crate::ids::parse_flash_order_id(&self.sale_id, order_id) == Some((user_id, number));
        if number == 1 && derived {
            // A sale's usual purchase: a new buyer, one insert.
            let buyer = SaleBuyer {
                bought: order.quantity,
                orders: 1,
                latest: Some(order),
            };
            self.buyers.insert(Arc::from(user_id), buyer);
            return;
        }
        let sale_id = self.sale_id.clone();
        let buyer = self.buyer_mut(user_id);
        buyer.bought += order.quantity;
        buyer.orders = number;
        let before = match derived {
            true => buyer.latest.replace(order),
            false => buyer.latest.take(),
        };
        let user = Arc::<str>::from(user_id);
        if let Some(before) = before {
            self.earlier_orders.insert(
                Arc::from(crate::ids::flash_order_id(&sale_id, user_id, number - 1)),
                EarlierOrder {
                    user_id: user.clone(),
                    order: before,
                },
            );
        }
        if !derived {
            self.earlier_orders.insert(
                Arc::from(order_id),
                EarlierOrder {
                    user_id: user,
                    order,
                },
            );
        }
    }
}
