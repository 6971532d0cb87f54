//! The Stock aggregate: units of one SKU in one warehouse, and the holds on them.
//!
//! `held` is the sum of open holds and `available = max(0, on_hand − held)`. Nothing
//! is sold or held beyond what is available. A count below what is held is recorded
//! and flagged (StockShortfallDetected), never refused; while on hand is below held
//! ("short"), nothing new is held or sold. Holds past their `expires_at` are released
//! as soon as the stock is next touched by a sale, a hold or a count, and by the
//! expiry sweep.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::StockEvent;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::limits::MAX_COUNTED_QUANTITY;
use crate::validate::Validator;

mod emitter;

use emitter::Emitter;

/// Reason recorded when a hold runs past its `expires_at`.
pub const EXPIRED: &str = "expired";

/// Which warehouses exist. The command side keeps this warm before it decides.
pub trait WarehouseRegistry: Send + Sync {
    fn is_registered(&self, warehouse_id: &str) -> bool;
}

impl WarehouseRegistry for std::collections::HashSet<String> {
    fn is_registered(&self, warehouse_id: &str) -> bool {
        self.contains(warehouse_id)
    }
}

/// A command for the stock of `sku` in `warehouse_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockCommand {
    pub sku: String,
    pub warehouse_id: String,
    pub action: StockAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StockAction {
    Receive {
        quantity: u64,
    },
    Sell {
        quantity: u64,
        hold_id: Option<String>,
        order_id: Option<String>,
    },
    Adjust {
        new_quantity: u64,
        reason: String,
    },
    Hold {
        hold_id: String,
        quantity: u64,
        expires_at: Option<DateTime<Utc>>,
    },
    ReleaseHold {
        hold_id: String,
        reason: String,
    },
    /// Move an open hold's end later.
    ExtendHold {
        hold_id: String,
        expires_at: DateTime<Utc>,
    },
    /// Release every hold whose time has run out (the expiry sweep).
    ExpireHolds,
    /// Sell from a hold until `sold` units in all have been sold from it: how a
    /// flash sale settles its stock hold, many paid orders at a time. Saying a total,
    /// not an amount, makes it safe to send again and in any order: a total already
    /// reached sells nothing.
    SettleHold {
        hold_id: String,
        sold: u64,
    },
}

impl StockAction {
    /// A short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            StockAction::Receive { .. } => "receive_stock",
            StockAction::Sell { .. } => "sell_stock",
            StockAction::Adjust { .. } => "adjust_stock",
            StockAction::Hold { .. } => "hold_stock",
            StockAction::ReleaseHold { .. } => "release_hold",
            StockAction::ExpireHolds => "expire_holds",
            StockAction::ExtendHold { .. } => "extend_hold",
            StockAction::SettleHold { .. } => "settle_hold",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub quantity: u64,
    pub expires_at: Option<DateTime<Utc>>,
    /// Units sold from the hold so far (`quantity` is what is left). Required in a
    /// snapshot: one from before it was kept is ignored and the stream replayed, so
    /// the count is never taken for zero.
    pub sold: u64,
}

impl Hold {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stock {
    pub on_hand: u64,
    pub holds: BTreeMap<String, Hold>,
}

impl Stock {
    pub fn held(&self) -> u64 {
        self.holds.values().map(|h| h.quantity).sum()
    }

    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.held())
    }

    /// Fewer units on hand than are held: a count found stock missing.
    pub fn is_short(&self) -> bool {
        self.on_hand < self.held()
    }

    /// The earliest time a hold runs out, for the expiry sweep.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.holds.values().filter_map(|h| h.expires_at).min()
    }

    /// Decide a command against the current state: the events it causes, or why not.
    /// A refusal emits nothing; an accepted command may emit nothing when it repeats
    /// what is already true (holding the same hold again).
    pub fn decide(
        &self,
        command: &StockCommand,
        now: DateTime<Utc>,
        warehouses: &dyn WarehouseRegistry,
    ) -> Result<Vec<StockEvent>, DomainError> {
        validate(command)?;
        if !warehouses.is_registered(&command.warehouse_id) {
            return Err(DomainError::new(
                ErrorKind::NotFound,
                crate::Refusal::UnknownWarehouse,
                format!("warehouse '{}' is not registered", command.warehouse_id),
            ));
        }
        let sku = &command.sku;
        let warehouse_id = &command.warehouse_id;
        let event = Emitter { sku, warehouse_id };
        match &command.action {
            StockAction::Receive { quantity } => Ok(vec![event.received(*quantity)]),
            StockAction::Adjust {
                new_quantity,
                reason,
            } => {
                // Expired holds go first, so a count is not flagged short for them.
                let (mut events, held) = self.expiry_releases(now, &event);
                events.push(event.adjusted(self.on_hand, *new_quantity, reason));
                if *new_quantity < held {
                    events.push(event.shortfall(*new_quantity, held));
                }
                Ok(events)
            }
            StockAction::ReleaseHold { hold_id, reason } => {
                let hold = self.open_hold(hold_id)?;
                Ok(vec![event.released(hold_id, hold.quantity, reason)])
            }
            StockAction::ExpireHolds => Ok(self.expiry_releases(now, &event).0),
            StockAction::ExtendHold {
                hold_id,
                expires_at,
            } => {
                let hold = self.open_hold(hold_id)?;
                if hold.expired(now) {
                    return Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::HoldExpired,
                        format!("hold '{hold_id}' already ran out"),
                    ));
                }
                match hold.expires_at {
                    Some(current) if *expires_at > current => {
                        Ok(vec![event.extended(hold_id, *expires_at)])
                    }
                    Some(current) if *expires_at == current => Ok(vec![]),
                    Some(_) => {
                        let mut v = Validator::new();
                        v.fail("expires_at", "must be later than the hold's current end");
                        v.finish().map(|()| vec![])
                    }
                    None => Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::HoldNeverExpires,
                        format!("hold '{hold_id}' has no end to extend"),
                    )),
                }
            }
            StockAction::Sell {
                quantity,
                hold_id: Some(hold_id),
                order_id,
            } => self.sell_from_hold(hold_id, *quantity, order_id, now, &event),
            StockAction::SettleHold { hold_id, sold } => {
                let hold = self.open_hold(hold_id)?;
                if *sold <= hold.sold {
                    return Ok(vec![]);
                }
                self.sell_from_hold(hold_id, sold - hold.sold, &None, now, &event)
            }
            StockAction::Sell {
                quantity,
                hold_id: None,
                order_id,
            } => {
                let (mut events, held) = self.expiry_releases(now, &event);
                self.refuse_while_short(self.on_hand, held)?;
                self.refuse_beyond_available(*quantity, held)?;
                events.push(event.sold(*quantity, None, order_id));
                Ok(events)
            }
            StockAction::Hold {
                hold_id,
                quantity,
                expires_at,
            } => {
                if let Some(existing) = self.holds.get(hold_id).filter(|h| !h.expired(now)) {
                    return if existing.quantity == *quantity && existing.expires_at == *expires_at {
                        Ok(vec![])
                    } else {
                        Err(DomainError::new(
                            ErrorKind::Conflict,
                            crate::Refusal::HoldExists,
                            format!("hold '{hold_id}' already holds other terms"),
                        )
                        .with_fact("held", existing.quantity))
                    };
                }
                if expires_at.is_some_and(|at| at <= now) {
                    let mut v = Validator::new();
                    v.fail("expires_at", "must lie in the future");
                    v.finish()?;
                }
                let (mut events, held) = self.expiry_releases(now, &event);
                self.refuse_while_short(self.on_hand, held)?;
                self.refuse_beyond_available(*quantity, held)?;
                events.push(event.held(hold_id, *quantity, *expires_at));
                Ok(events)
            }
        }
    }

    /// Apply a recorded event. No rules here: events are facts.
    pub fn apply_event(&mut self, event: &StockEvent) {
        match event {
            StockEvent::StockReceived { quantity, .. } => {
                self.on_hand = self.on_hand.saturating_add(*quantity)
            }
            StockEvent::StockSold {
                quantity, hold_id, ..
            } => {
                self.on_hand = self.on_hand.saturating_sub(*quantity);
                if let Some(hold_id) = hold_id {
                    if let Some(hold) = self.holds.get_mut(hold_id) {
                        hold.quantity = hold.quantity.saturating_sub(*quantity);
                        hold.sold = hold.sold.saturating_add(*quantity);
                        if hold.quantity == 0 {
                            self.holds.remove(hold_id);
                        }
                    }
                }
            }
            StockEvent::StockAdjusted { new_quantity, .. } => self.on_hand = *new_quantity,
            StockEvent::StockShortfallDetected { .. } => {}
            StockEvent::StockHeld {
                hold_id,
                quantity,
                expires_at,
                ..
            } => {
                self.holds.insert(
                    hold_id.clone(),
                    Hold {
                        quantity: *quantity,
                        expires_at: *expires_at,
                        sold: 0,
                    },
                );
            }
            StockEvent::StockHoldReleased { hold_id, .. } => {
                self.holds.remove(hold_id);
            }
            StockEvent::StockHoldExtended {
                hold_id,
                expires_at,
                ..
            } => {
                if let Some(hold) = self.holds.get_mut(hold_id) {
                    hold.expires_at = Some(*expires_at);
                }
            }
        }
    }

    /// Sell `quantity` of the units in an open, unexpired hold.
    fn sell_from_hold(
        &self,
        hold_id: &String,
        quantity: u64,
        order_id: &Option<String>,
        now: DateTime<Utc>,
        event: &Emitter,
    ) -> Result<Vec<StockEvent>, DomainError> {
        let hold = self.open_hold(hold_id)?;
        if hold.expired(now) {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::HoldExpired,
                format!("hold '{hold_id}' expired and can no longer be sold from"),
            ));
        }
        let (mut events, held) = self.expiry_releases(now, event);
        self.refuse_while_short(self.on_hand, held)?;
        if quantity > hold.quantity {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::ExceedsHold,
                format!("hold '{hold_id}' holds {} units", hold.quantity),
            )
            .with_fact("held", hold.quantity));
        }
        events.push(event.sold(quantity, Some(hold_id), order_id));
        Ok(events)
    }

    fn open_hold(&self, hold_id: &str) -> Result<&Hold, DomainError> {
        self.holds.get(hold_id).ok_or_else(|| {
            DomainError::new(
                ErrorKind::NotFound,
                crate::Refusal::UnknownHold,
                format!("there is no open hold '{hold_id}' on this stock"),
            )
        })
    }

    /// Releases for every hold past its time, and what stays held after them.
    fn expiry_releases(&self, now: DateTime<Utc>, event: &Emitter) -> (Vec<StockEvent>, u64) {
        let mut held = self.held();
        let mut events = Vec::new();
        for (hold_id, hold) in self.holds.iter().filter(|(_, h)| h.expired(now)) {
            held -= hold.quantity;
            events.push(event.released(hold_id, hold.quantity, EXPIRED));
        }
        (events, held)
    }

    fn refuse_while_short(&self, on_hand: u64, held: u64) -> Result<(), DomainError> {
        if on_hand < held {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::StockShort,
                format!(
                    "{on_hand} units are on hand but {held} are held; nothing new is held or sold until the shortfall is cleared"
                ),
            )
            .with_fact("on_hand", on_hand)
            .with_fact("held", held)
            .with_fact("available", 0));
        }
        Ok(())
    }

    fn refuse_beyond_available(&self, quantity: u64, held: u64) -> Result<(), DomainError> {
        let available = self.on_hand.saturating_sub(held);
        if quantity > available {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::InsufficientStock,
                format!("asked for {quantity} units but {available} are available"),
            )
            .with_fact("available", available));
        }
        Ok(())
    }
}

fn validate(command: &StockCommand) -> Result<(), DomainError> {
    let mut v = Validator::new();
    v.id("sku", &command.sku);
    v.id("warehouse_id", &command.warehouse_id);
    match &command.action {
        StockAction::Receive { quantity } => v.quantity("quantity", *quantity),
        StockAction::Sell {
            quantity,
            hold_id,
            order_id,
        } => {
            v.quantity("quantity", *quantity);
            if let Some(hold_id) = hold_id {
                v.reference("hold_id", hold_id);
            }
            if let Some(order_id) = order_id {
                v.reference("order_id", order_id);
            }
        }
        StockAction::Adjust {
            new_quantity,
            reason,
        } => {
            v.check(
                *new_quantity <= MAX_COUNTED_QUANTITY,
                "new_quantity",
                "must be a whole number from 0 to 1000000000",
            );
            v.text("reason", reason);
        }
        StockAction::Hold {
            hold_id, quantity, ..
        } => {
            v.reference("hold_id", hold_id);
            v.quantity("quantity", *quantity);
        }
        StockAction::ReleaseHold { hold_id, reason } => {
            v.reference("hold_id", hold_id);
            v.text("reason", reason);
        }
        StockAction::ExtendHold { hold_id, .. } => v.reference("hold_id", hold_id),
        StockAction::SettleHold { hold_id, sold } => {
            v.reference("hold_id", hold_id);
            v.check(
                *sold <= MAX_COUNTED_QUANTITY,
                "sold",
                "must be a whole number from 0 to 1000000000",
            );
        }
        StockAction::ExpireHolds => {}
    }
    v.finish()
}

crate::aggregate::aggregate!(Stock, STOCK_AGGREGATE, StockCommand, StockEvent,
    decide: |stock, command, services| stock.decide(command, services.now(), services.warehouses.as_ref()));

/// A stock's levels after a command, and when its next hold runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevels {
    pub on_hand: u64,
    pub held: u64,
    pub available: u64,
    #[serde(skip_serializing, default)]
    pub next_expiry: Option<DateTime<Utc>>,
}

impl crate::Hosted for Stock {
    type View = StockLevels;

    fn view(&self) -> StockLevels {
        StockLevels {
            on_hand: self.on_hand,
            held: self.held(),
            available: self.available(),
            next_expiry: self.next_expiry(),
        }
    }
}
