//! Events of a process's parked events: events a process manager could not act on
//! for a reason other than the infrastructure, set aside so they hold nothing back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which parked events are stored (one stream per process).
pub const PARKED_EVENTS_AGGREGATE: &str = "parked_events";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ParkedEvent {
    /// The process gave up on the event at `position` of the log, for `reason`; its
    /// checkpoint moves past it. Parked again with a new reason after a failed retry.
    ProcessEventParked {
        process: String,
        position: i64,
        event_type: String,
        aggregate_id: String,
        reason: String,
    },
    /// A retry of the parked event succeeded.
    ParkedEventResolved { process: String, position: i64 },
}

impl ParkedEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ParkedEvent::ProcessEventParked { .. } => "ProcessEventParked",
            ParkedEvent::ParkedEventResolved { .. } => "ParkedEventResolved",
        }
    }
}
