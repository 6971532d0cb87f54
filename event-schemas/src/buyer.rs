//! Events of a buyer's holds: how many units each buyer holds in reservations, kept
//! where the limit is decided so concurrent reservations cannot pass it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which buyers' holds are stored (one stream per buyer).
pub const BUYER_HOLDS_AGGREGATE: &str = "buyer_holds";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum BuyerHoldsEvent {
    /// The buyer's reservation `reservation_id` counts `units` until `expires_at`.
    /// `at` is when it was taken: entries that ran out before it are forgotten.
    BuyerUnitsTaken {
        buyer: String,
        reservation_id: String,
        units: u64,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The reservation was extended: its units count until the new end.
    BuyerUnitsExtended {
        buyer: String,
        reservation_id: String,
        expires_at: DateTime<Utc>,
    },
    /// The reservation ended (released, failed, sold): its units no longer count.
    BuyerUnitsReturned {
        buyer: String,
        reservation_id: String,
    },
}

impl BuyerHoldsEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            BuyerHoldsEvent::BuyerUnitsTaken { .. } => "BuyerUnitsTaken",
            BuyerHoldsEvent::BuyerUnitsExtended { .. } => "BuyerUnitsExtended",
            BuyerHoldsEvent::BuyerUnitsReturned { .. } => "BuyerUnitsReturned",
        }
    }
}
