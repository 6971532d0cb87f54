//! Events of the Reservation aggregate: stock held for a buyer over several lines,
//! all or nothing. Each line is a Stock hold under the reservation id.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which reservation events are stored.
pub const RESERVATION_AGGREGATE: &str = "reservation";

/// One line of a reservation: units of a SKU in one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ReservationLine {
    pub sku: String,
    pub warehouse_id: String,
    pub quantity: u64,
}

/// A line that could not be held, and what was available for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineShortage {
    pub sku: String,
    pub warehouse_id: String,
    pub wanted: u64,
    pub available: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ReservationEvent {
    ReservationRequested {
        reservation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer: Option<String>,
        /// Who asked for it (`key:ID`, `buyer:SUBJECT`, `process:NAME`, `master`):
        /// only a key that created a reservation may confirm it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_by: Option<String>,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
    },
    /// Every line is held until `expires_at`.
    ReservationHeld {
        reservation_id: String,
        expires_at: DateTime<Utc>,
    },
    /// Some line could not be held; every hold taken was released.
    ReservationFailed {
        reservation_id: String,
        shortages: Vec<LineShortage>,
    },
    /// Every hold of the reservation now ends at `expires_at`.
    ReservationExtended {
        reservation_id: String,
        expires_at: DateTime<Utc>,
    },
    /// The held units were sold.
    ReservationConfirmed { reservation_id: String },
    ReservationReleased {
        reservation_id: String,
        reason: String,
    },
}

impl ReservationEvent {
    /// The reservation the event belongs to.
    pub fn reservation_id(&self) -> &str {
        match self {
            ReservationEvent::ReservationRequested { reservation_id, .. }
            | ReservationEvent::ReservationHeld { reservation_id, .. }
            | ReservationEvent::ReservationFailed { reservation_id, .. }
            | ReservationEvent::ReservationExtended { reservation_id, .. }
            | ReservationEvent::ReservationConfirmed { reservation_id }
            | ReservationEvent::ReservationReleased { reservation_id, .. } => reservation_id,
        }
    }

    pub fn event_type(&self) -> &'static str {
        match self {
            ReservationEvent::ReservationRequested { .. } => "ReservationRequested",
            ReservationEvent::ReservationHeld { .. } => "ReservationHeld",
            ReservationEvent::ReservationFailed { .. } => "ReservationFailed",
            ReservationEvent::ReservationExtended { .. } => "ReservationExtended",
            ReservationEvent::ReservationConfirmed { .. } => "ReservationConfirmed",
            ReservationEvent::ReservationReleased { .. } => "ReservationReleased",
        }
    }
}
