//! The ParkedEvents aggregate: the events a process manager set aside.
//!
//! A process that cannot act on an event for a reason other than the infrastructure
//! (a refusal it did not expect, a payload it cannot read) parks it: the checkpoint
//! moves past, no other work waits for it, and an operator lists, fixes and retries
//! it. One stream per process.

use std::collections::BTreeMap;

use event_schemas::parked::PARKED_EVENTS_AGGREGATE;
use event_schemas::ParkedEvent;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ParkedEventsCommand {
    Park {
        process: String,
        position: i64,
        event_type: String,
        aggregate_id: String,
        reason: String,
    },
    /// A retry of the event at `position` succeeded.
    Resolve { position: i64 },
    /// Read the parked events; changes nothing.
    Read,
}

/// One parked event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    pub position: i64,
    pub event_type: String,
    pub aggregate_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParkedEvents {
    pub process: String,
    /// Parked and not resolved, by log position.
    pub parked: BTreeMap<i64, Parked>,
}

impl ParkedEvents {
    pub fn decide(&self, command: &ParkedEventsCommand) -> Result<Vec<ParkedEvent>, DomainError> {
        match command {
            ParkedEventsCommand::Park {
                process,
                position,
                event_type,
                aggregate_id,
                reason,
            } => {
                if self
                    .parked
                    .get(position)
                    .is_some_and(|p| p.reason == *reason)
                {
                    return Ok(vec![]);
                }
                Ok(vec![ParkedEvent::ProcessEventParked {
                    process: process.clone(),
                    position: *position,
                    event_type: event_type.clone(),
                    aggregate_id: aggregate_id.clone(),
                    reason: reason.clone(),
                }])
            }
            ParkedEventsCommand::Resolve { position } => {
                if !self.parked.contains_key(position) {
                    return Err(DomainError::new(
                        ErrorKind::NotFound,
                        crate::Refusal::NotParked,
                        format!("no event at position {position} is parked"),
                    ));
                }
                Ok(vec![ParkedEvent::ParkedEventResolved {
                    process: self.process.clone(),
                    position: *position,
                }])
            }
            ParkedEventsCommand::Read => Ok(vec![]),
        }
    }

    pub fn apply_event(&mut self, event: &ParkedEvent) {
        match event {
            ParkedEvent::ProcessEventParked {
                process,
                position,
                event_type,
                aggregate_id,
                reason,
            } => {
                self.process = process.clone();
                self.parked.insert(
                    *position,
                    Parked {
                        position: *position,
                        event_type: event_type.clone(),
                        aggregate_id: aggregate_id.clone(),
                        reason: reason.clone(),
                    },
                );
            }
            ParkedEvent::ParkedEventResolved { position, .. } => {
                self.parked.remove(position);
            }
        }
    }
}

crate::aggregate::aggregate!(ParkedEvents, PARKED_EVENTS_AGGREGATE, ParkedEventsCommand, ParkedEvent,
    decide: |parked, command, _services| parked.decide(command));

impl crate::Hosted for ParkedEvents {
    type View = ParkedEvents;

    fn view(&self) -> ParkedEvents {
        self.clone()
    }
}
