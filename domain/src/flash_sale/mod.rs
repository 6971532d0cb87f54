//! The FlashSale aggregate: units of one SKU set aside in one warehouse (a Stock hold
//! under the sale id, taken before the sale is scheduled), sold at the sale price
//! inside a window, at most `per_user_limit` units per buyer.
//!
//! A buyer's units are held here while they pay; a failed or late payment returns them
//! to the sale for the next buyer, never to general stock. A purchase retried by the
//! same buyer finds their open hold and buys nothing more.

use std::sync::Arc;

use imbl::{OrdMap, OrdSet};

use chrono::{DateTime, Duration, Utc};
use event_schemas::flash_sale::FLASH_SALE_AGGREGATE;
use event_schemas::{FlashSaleEvent, Money};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;

mod apply;
mod view;

pub use view::FlashSaleView;

/// Most units one sale may offer.
pub const MAX_UNITS: u64 = 10_000_000;
/// Longest payment window, in seconds (a day).
pub const MAX_PAYMENT_WINDOW: u64 = 86_400;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashSaleStatus {
    #[default]
    New,
    Scheduled,
    Ended,
    Cancelled,
}

/// One buyer of a sale, with their latest order. A buyer holds units in one order
/// at a time, their latest, so a purchase changes this one entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SaleBuyer {
    /// Units they hold or bought.
    pub bought: u64,
    /// Orders they have had (the latest's id derives from it).
    pub orders: u64,
    /// Their order number `orders`, unless its id is not one this sale derives.
    pub latest: Option<SaleOrder>,
}

impl SaleBuyer {
    /// The units their latest order holds at `now`, and until when.
    fn open_hold(&self, now: DateTime<Utc>) -> Option<(u64, DateTime<Utc>)> {
        let order = self.latest?;
        let until = order.held_until.filter(|until| *until > now)?;
        Some((order.quantity, until))
    }
}

/// One order of a sale: how many units, and whether they are held or sold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SaleOrder {
    pub quantity: u64,
    /// While the order's units are held for it: until when.
    pub held_until: Option<DateTime<Utc>>,
    /// The order's units are sold.
    pub sold: bool,
}

/// An order that is not its buyer's latest (they ordered again after its units
/// went back), with whose it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlierOrder {
    pub user_id: Arc<str>,
    pub order: SaleOrder,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleFlashSale {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub units: u64,
    pub price: Money,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub per_user_limit: u64,
    pub payment_window_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FlashSaleCommand {
    Schedule(ScheduleFlashSale),
    /// Hold units for a buyer (or find the hold they already have).
    Purchase {
        user_id: String,
        quantity: u64,
    },
    /// The buyer paid: sell the order's units (holding them again first if they had
    /// gone back to the sale and are still there).
    Sell {
        order_id: String,
    },
    /// The order's units go back to the sale.
    Return {
        order_id: String,
        reason: String,
    },
    /// Close the sale if its window has passed, and return buyer holds that ran out.
    Tick,
    Cancel,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlashSale {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub units: u64,
    pub price: Option<Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_user_limit: u64,
    pub payment_window_seconds: u64,
    pub status: FlashSaleStatus,
    // Persistent maps: the host copies the state once per batch, and a sale's
    // buyers run to hundreds of thousands, so a copy must cost nothing. After a
    // copy every insert copies the nodes on its path, so a purchase touches as few
    // maps as it can (its buyer's entry, and the expiry index at its end), and the
    // keys are shared strings: copying a node copies pointers, not strings.
    /// Every buyer who has held units, by user id, with their latest order.
    pub buyers: OrdMap<Arc<str>, SaleBuyer>,
    /// Orders other than their buyer's latest, by order id.
    pub earlier_orders: OrdMap<Arc<str>, EarlierOrder>,
    /// Units held in open holds.
    pub held_units: u64,
    /// Open holds by when they run out, with their order ids.
    pub expiries: OrdSet<(DateTime<Utc>, Arc<str>)>,
    pub sold: u64,
}

impl FlashSale {
    pub fn held(&self) -> u64 {
        self.held_units
    }

    /// Units neither sold nor held.
    pub fn remaining(&self) -> u64 {
        self.units.saturating_sub(self.sold + self.held())
    }

    /// The buyer's hold still open at `now`, if any: (order id, units, until when).
    /// A buyer holds units in one order at a time (a purchase with a hold open buys
    /// nothing more), their latest.
    pub fn open_hold_of(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Option<(String, u64, DateTime<Utc>)> {
        let buyer = self.buyers.get(user_id)?;
        let (quantity, until) = buyer.open_hold(now)?;
        Some((
            order_id(&self.sale_id, user_id, buyer.orders),
            quantity,
            until,
        ))
    }

    /// An order of the sale and whose it is.
    fn order(&self, order_id: &str) -> Option<(Arc<str>, SaleOrder)> {
        if let Some((user_id, n)) = crate::ids::parse_flash_order_id(&self.sale_id, order_id) {
            if let Some((user_id, buyer)) = self.buyers.get_key_value(user_id) {
                if let (true, Some(latest)) = (buyer.orders == n, buyer.latest) {
                    return Some((user_id.clone(), latest));
                }
            }
        }
        let earlier = self.earlier_orders.get(order_id)?;
        Some((earlier.user_id.clone(), earlier.order))
    }

    /// An order of the sale, to change.
    fn order_mut(&mut self, order_id: &str) -> Option<&mut SaleOrder> {
        let latest_of =
            crate::ids::parse_flash_order_id(&self.sale_id, order_id).filter(|(user_id, n)| {
                self.buyers
                    .get(*user_id)
                    .is_some_and(|buyer| buyer.orders == *n && buyer.latest.is_some())
            });
        match latest_of {
            Some((user_id, _)) => self.buyers.get_mut(user_id)?.latest.as_mut(),
            None => Some(&mut self.earlier_orders.get_mut(order_id)?.order),
        }
    }

    /// The units held for `order_id`, while they are.
    fn held_for(&self, order_id: &str) -> Option<u64> {
        let (_, order) = self.order(order_id)?;
        order.held_until.map(|_| order.quantity)
    }

    /// What `user_id` holds or bought.
    fn bought_by(&self, user_id: &str) -> u64 {
        self.buyers.get(user_id).map_or(0, |buyer| buyer.bought)
    }

    /// When the first buyer hold runs out.
    pub fn earliest_expiry(&self) -> Option<DateTime<Utc>> {
        self.expiries.get_min().map(|(at, _)| *at)
    }

    /// Whether purchases are taken at `now`.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == FlashSaleStatus::Scheduled
            && self.starts_at.is_some_and(|s| now >= s)
            && self.ends_at.is_some_and(|e| now < e)
    }

    fn unknown(&self) -> DomainError {
        unknown_sale()
    }

    /// Buyer holds that ran out by `now`, returned.
    fn expired(&self, now: DateTime<Utc>) -> Vec<FlashSaleEvent> {
        self.expiries
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter_map(|(_, order_id)| {
                self.held_for(order_id)
                    .map(|quantity| FlashSaleEvent::FlashSaleUnitsReturned {
                        sale_id: self.sale_id.clone(),
                        order_id: order_id.to_string(),
                        quantity,
                        reason: "expired".into(),
                    })
            })
            .collect()
    }

    pub fn decide(
        &self,
        command: &FlashSaleCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<FlashSaleEvent>, DomainError> {
        match command {
            FlashSaleCommand::Schedule(s) => self.schedule(s),
            _ if self.status == FlashSaleStatus::New => Err(self.unknown()),
            FlashSaleCommand::Purchase { user_id, quantity } => {
                self.purchase(user_id, *quantity, now)
            }
            FlashSaleCommand::Sell { order_id } => self.sell(order_id, now),
            FlashSaleCommand::Return { order_id, reason } => Ok(self
                .held_for(order_id)
                .map(|quantity| FlashSaleEvent::FlashSaleUnitsReturned {
                    sale_id: self.sale_id.clone(),
                    order_id: order_id.clone(),
                    quantity,
                    reason: reason.clone(),
                })
                .into_iter()
                .collect()),
            FlashSaleCommand::Tick => {
                let mut events = self.expired(now);
                if self.status == FlashSaleStatus::Scheduled
                    && self.ends_at.is_some_and(|e| now >= e)
                {
                    events.push(self.ended("ended", &events));
                }
                Ok(events)
            }
            FlashSaleCommand::Cancel => match self.status {
                FlashSaleStatus::Scheduled => Ok(vec![self.ended("cancelled", &[])]),
                _ => Ok(vec![]),
            },
        }
    }

    /// The end, counting as unsold what `returned` gives back first.
    fn ended(&self, reason: &str, returned: &[FlashSaleEvent]) -> FlashSaleEvent {
        let returning = returned_units(returned);
        FlashSaleEvent::FlashSaleEnded {
            sale_id: self.sale_id.clone(),
            reason: reason.into(),
            unsold: self.remaining() + returning,
        }
    }

    fn schedule(&self, s: &ScheduleFlashSale) -> Result<Vec<FlashSaleEvent>, DomainError> {
        let mut v = Validator::new();
        v.id("sale_id", &s.sale_id);
        v.id("sku", &s.sku);
        v.id("warehouse_id", &s.warehouse_id);
        v.check(
            (1..=MAX_UNITS).contains(&s.units),
            "units",
            &format!("must be 1 to {MAX_UNITS}"),
        );
        // The same money rule as every other price (below 10^12 minor units).
        crate::warehouse::money(&mut v, "price", &s.price);
        v.check(
            s.ends_at > s.starts_at,
            "ends_at",
            "must be after starts_at",
        );
        // The sale's stock hold outlives its end by the payment window and a grace
        // period: that time must exist.
        v.check(
            s.ends_at - s.starts_at <= Duration::days(366)
                && s.ends_at.checked_add_signed(Duration::days(2)).is_some(),
            "ends_at",
            "a sale lasts at most a year, and ends in a representable time",
        );
        v.check(
            (1..=s.units.max(1)).contains(&s.per_user_limit),
            "per_user_limit",
            "must be 1 to the sale's units",
        );
        v.check(
            (1..=MAX_PAYMENT_WINDOW).contains(&s.payment_window_seconds),
            "payment_window_seconds",
            &format!("must be 1 to {MAX_PAYMENT_WINDOW}"),
        );
        v.finish()?;
        if self.status != FlashSaleStatus::New {
            let same = self.sku == s.sku
                && self.warehouse_id == s.warehouse_id
                && self.units == s.units
                && self.price.as_ref() == Some(&s.price)
                && self.starts_at == Some(s.starts_at)
                && self.ends_at == Some(s.ends_at);
            return if same {
                Ok(vec![])
            } else {
                Err(DomainError::new(
                    ErrorKind::Conflict,
                    crate::Refusal::FlashSaleExists,
                    format!("flash sale '{}' exists with other terms", s.sale_id),
                ))
            };
        }
        Ok(vec![FlashSaleEvent::FlashSaleScheduled {
            sale_id: s.sale_id.clone(),
            sku: s.sku.clone(),
            warehouse_id: s.warehouse_id.clone(),
            units: s.units,
            price: s.price.clone(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            per_user_limit: s.per_user_limit,
            payment_window_seconds: s.payment_window_seconds,
        }])
    }

    fn purchase(
        &self,
        user_id: &str,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<FlashSaleEvent>, DomainError> {
        let mut v = Validator::new();
        v.id("user_id", user_id);
        v.quantity("quantity", quantity);
        v.finish()?;
        let buyer = self.buyers.get(user_id).copied().unwrap_or_default();
        // A retry of a purchase that holds units answers with that hold.
        if buyer.open_hold(now).is_some() {
            return Ok(vec![]);
        }
        if !self.open_at(now) {
            let detail = match self.status {
                FlashSaleStatus::Ended | FlashSaleStatus::Cancelled => "the sale is over".into(),
                _ if self.starts_at.is_some_and(|s| now < s) => format!(
                    "the sale starts at {}",
                    self.starts_at.expect("checked").to_rfc3339()
                ),
                _ => "the sale is over".to_string(),
            };
            return Err(DomainError::new(
                ErrorKind::Invalid,
                crate::Refusal::OutsideSaleWindow,
                detail,
            ));
        }
        let bought = buyer.bought;
        if bought.saturating_add(quantity) > self.per_user_limit {
            return Err(DomainError::new(
                ErrorKind::Forbidden,
                crate::Refusal::PurchaseLimit,
                format!(
                    "at most {} per buyer; you hold or bought {bought}",
                    self.per_user_limit
                ),
            )
            .with_fact("per_user_limit", self.per_user_limit)
            .with_fact("bought", bought));
        }
        let mut events = self.expired(now);
        let returning = returned_units(&events);
        let remaining = self.remaining() + returning;
        if remaining < quantity {
            return Err(self.none_left(quantity, remaining, now));
        }
        let order_number = buyer.orders + 1;
        events.push(FlashSaleEvent::FlashSaleUnitsHeld {
            sale_id: self.sale_id.clone(),
            order_id: order_id(&self.sale_id, user_id, order_number),
            user_id: user_id.to_string(),
            quantity,
            expires_at: now + Duration::seconds(self.payment_window_seconds as i64),
        });
        Ok(events)
    }

    /// Sold out, every unit held by someone who may still not pay, or fewer left
    /// than asked for.
    fn none_left(&self, quantity: u64, remaining: u64, now: DateTime<Utc>) -> DomainError {
        if self.sold >= self.units {
            return DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::SoldOut,
                "every unit is sold",
            )
            .with_fact("sold", self.sold);
        }
        if remaining > 0 {
            return DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::InsufficientUnits,
                format!("{quantity} wanted, {remaining} left"),
            )
            .with_fact("remaining", remaining);
        }
        let retry_after = self
            .earliest_expiry()
            .map(|at| (at - now).num_seconds().max(1))
            .unwrap_or(1);
        DomainError::new(
            ErrorKind::Conflict,
            crate::Refusal::AllHeld,
            "every unit is held by a buyer who may not pay; try again later",
        )
        .with_fact("held", self.held())
        .with_fact("retry_after", retry_after)
    }

    fn sell(&self, order_id: &str, now: DateTime<Utc>) -> Result<Vec<FlashSaleEvent>, DomainError> {
        let order = self.order(order_id);
        if order.as_ref().is_some_and(|(_, order)| order.sold) {
            return Ok(vec![]);
        }
        if let Some(quantity) = self.held_for(order_id) {
            return Ok(vec![FlashSaleEvent::FlashSaleUnitsSold {
                sale_id: self.sale_id.clone(),
                order_id: order_id.to_string(),
                quantity,
            }]);
        }
        let Some((user_id, quantity)) = order.map(|(user_id, order)| (user_id, order.quantity))
        else {
            return Err(DomainError::new(
                ErrorKind::NotFound,
                crate::Refusal::UnknownFlashOrder,
                format!("order '{order_id}' is not of this sale"),
            ));
        };
        // Paid after its units went back: take them again if they are still there.
        let mut events = self.expired(now);
        let returning = returned_units(&events);
        if self.remaining() + returning < quantity {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::UnitsGone,
                "the order's units went to other buyers",
            ));
        }
        // The buyer may have bought again meanwhile: the limit still holds.
        let bought = self.bought_by(&user_id);
        if bought.saturating_add(quantity) > self.per_user_limit {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::UnitsGone,
                "the buyer holds their limit in another order",
            ));
        }
        events.push(FlashSaleEvent::FlashSaleUnitsHeld {
            sale_id: self.sale_id.clone(),
            order_id: order_id.to_string(),
            user_id: user_id.to_string(),
            quantity,
            expires_at: now,
        });
        events.push(FlashSaleEvent::FlashSaleUnitsSold {
            sale_id: self.sale_id.clone(),
            order_id: order_id.to_string(),
            quantity,
        });
        Ok(events)
    }
}

/// Units that `events` give back to the sale.
fn returned_units(events: &[FlashSaleEvent]) -> u64 {
    events
        .iter()
        .map(|e| match e {
            FlashSaleEvent::FlashSaleUnitsReturned { quantity, .. } => *quantity,
            _ => 0,
        })
        .sum()
}

/// What a read or command of a sale that was never scheduled answers.
pub fn unknown_sale() -> DomainError {
    DomainError::new(
        ErrorKind::NotFound,
        crate::Refusal::UnknownFlashSale,
        "there is no such flash sale",
    )
}

/// The id of a buyer's `n`th order of a sale: derived, so no client can take it first.
fn order_id(sale_id: &str, user_id: &str, n: u64) -> String {
    crate::ids::flash_order_id(sale_id, user_id, n)
}
