//! The BuyerHolds aggregate: the units one buyer holds in reservations, and the
//! limits a buyer's reservations keep to.
//!
//! A buyer's token may reserve, so without a bound one buyer could hold a shop's
//! whole stock. The count lives here, in one stream per buyer, because the limit must
//! be decided where the units are counted: a read model lags, and two reservations at
//! once would both pass it. A reservation's units count until its end (time takes
//! them off without an event) or until it ends early.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use event_schemas::buyer::BUYER_HOLDS_AGGREGATE;
use event_schemas::BuyerHoldsEvent;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};

/// What a buyer's reservations may do; the shop configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerLimits {
    /// Most units one buyer may hold at once, over all its reservations.
    pub max_units: u64,
    /// Longest a buyer may ask a reservation to hold, from now, in seconds.
    pub max_ttl_seconds: i64,
    /// Longest a buyer's reservation may live from when it was taken, extensions
    /// included, in seconds.
    pub max_life_seconds: i64,
}

impl BuyerLimits {
    pub fn max_ttl(&self) -> Duration {
        Duration::seconds(self.max_ttl_seconds)
    }

    pub fn max_life(&self) -> Duration {
        Duration::seconds(self.max_life_seconds)
    }
}

impl Default for BuyerLimits {
    fn default() -> Self {
        Self {
            max_units: 20,
            max_ttl_seconds: 15 * 60,
            max_life_seconds: 60 * 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BuyerHoldsCommand {
    /// Count a new reservation's units, within the limits.
    Take {
        buyer: String,
        reservation_id: String,
        units: u64,
        expires_at: DateTime<Utc>,
        limits: BuyerLimits,
    },
    /// Let a reservation count until a later end, within the longest life.
    Extend {
        reservation_id: String,
        expires_at: DateTime<Utc>,
        limits: BuyerLimits,
    },
    /// The reservation ended: its units no longer count.
    Return { reservation_id: String },
}

/// One counted reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedHold {
    pub units: u64,
    pub taken_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuyerHolds {
    pub buyer: String,
    pub holds: BTreeMap<String, CountedHold>,
}

impl BuyerHolds {
    /// Units the buyer holds at `now`.
    pub fn units_at(&self, now: DateTime<Utc>) -> u64 {
        self.holds
            .values()
            .filter(|h| h.expires_at > now)
            .map(|h| h.units)
            .sum()
    }

    pub fn decide(
        &self,
        command: &BuyerHoldsCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<BuyerHoldsEvent>, DomainError> {
        match command {
            BuyerHoldsCommand::Take {
                buyer,
                reservation_id,
                units,
                expires_at,
                limits,
            } => {
                if self.holds.contains_key(reservation_id) {
                    // Asked again (a retry, or a collision the reservation itself
                    // refuses): counted once, as first asked.
                    return Ok(vec![]);
                }
                if *expires_at - now > limits.max_ttl() {
                    return Err(too_long("ttl_seconds", limits.max_ttl()));
                }
                let held = self.units_at(now);
                if held.saturating_add(*units) > limits.max_units {
                    return Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::BuyerHoldLimit,
                        format!(
                            "a buyer may hold at most {} units at once; {held} are held now",
                            limits.max_units
                        ),
                    )
                    .with_fact("held", held)
                    .with_fact("limit", limits.max_units));
                }
                Ok(vec![BuyerHoldsEvent::BuyerUnitsTaken {
                    buyer: buyer.clone(),
                    reservation_id: reservation_id.clone(),
                    units: *units,
                    expires_at: *expires_at,
                    at: now,
                }])
            }
            BuyerHoldsCommand::Extend {
                reservation_id,
                expires_at,
                limits,
            } => {
                let Some(existing) = self.holds.get(reservation_id) else {
                    return Err(DomainError::new(
                        ErrorKind::NotFound,
                        crate::Refusal::UnknownReservation,
                        "there is no such reservation",
                    ));
                };
                if *expires_at - now > limits.max_ttl() {
                    return Err(too_long("ttl_seconds", limits.max_ttl()));
                }
                if *expires_at - existing.taken_at > limits.max_life() {
                    return Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::ReservationTooOld,
                        format!(
                            "a buyer's reservation may hold for at most {} minutes in all",
                            limits.max_life().num_minutes()
                        ),
                    ));
                }
                if *expires_at <= existing.expires_at {
                    return Ok(vec![]);
                }
                Ok(vec![BuyerHoldsEvent::BuyerUnitsExtended {
                    buyer: self.buyer.clone(),
                    reservation_id: reservation_id.clone(),
                    expires_at: *expires_at,
                }])
            }
            BuyerHoldsCommand::Return { reservation_id } => {
                Ok(if self.holds.contains_key(reservation_id) {
                    vec![BuyerHoldsEvent::BuyerUnitsReturned {
                        buyer: self.buyer.clone(),
                        reservation_id: reservation_id.clone(),
                    }]
                } else {
                    vec![]
                })
            }
        }
    }

    pub fn apply_event(&mut self, event: &BuyerHoldsEvent) {
        match event {
            BuyerHoldsEvent::BuyerUnitsTaken {
                buyer,
                reservation_id,
                units,
                expires_at,
                at,
            } => {
                self.buyer = buyer.clone();
                // What ran out before now counts for nothing: forget it, so a buyer's
                // stream stays as small as what it holds.
                self.holds.retain(|_, h| h.expires_at > *at);
                self.holds.insert(
                    reservation_id.clone(),
                    CountedHold {
                        units: *units,
                        taken_at: *at,
                        expires_at: *expires_at,
                    },
                );
            }
            BuyerHoldsEvent::BuyerUnitsExtended {
                reservation_id,
                expires_at,
                ..
            } => {
                if let Some(hold) = self.holds.get_mut(reservation_id) {
                    hold.expires_at = *expires_at;
                }
            }
            BuyerHoldsEvent::BuyerUnitsReturned { reservation_id, .. } => {
                self.holds.remove(reservation_id);
            }
        }
    }
}

fn too_long(field: &str, max: Duration) -> DomainError {
    let mut v = crate::validate::Validator::new();
    v.fail(
        field,
        format!("a buyer may hold for at most {} seconds", max.num_seconds()),
    );
    v.finish().expect_err("one failure was added")
}

crate::aggregate::aggregate!(BuyerHolds, BUYER_HOLDS_AGGREGATE, BuyerHoldsCommand, BuyerHoldsEvent,
    decide: |holds, command, services| holds.decide(command, services.now()));

impl crate::Hosted for BuyerHolds {
    type View = ();

    fn view(&self) {}
}
