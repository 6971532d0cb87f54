//! What goes into the log and comes out of it: events to append, batches, receipts
//! of idempotency keys, stored events, and what can go wrong.

use chrono::{DateTime, Utc};
use event_schemas::Metadata;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// One event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: String,
    /// The event as JSON text, written once when the event is encoded.
    pub payload: String,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
}

/// Which batches of one append stand or fall together. A unit's batches lie next to
/// each other; when any of them is taken back (a conflict), all of them are. A
/// command that creates another aggregate beside its own events (a flash-sale hold
/// and its buyer's order) appends the two as one unit, so neither lands alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Units {
    /// Per batch, its unit's number (from 1, in order).
    of_batch: Vec<i32>,
}

impl Units {
    /// Consecutive units of these many batches each.
    pub fn of_sizes(sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut of_batch = Vec::new();
        for (unit, size) in sizes.into_iter().enumerate() {
            of_batch.extend(std::iter::repeat_n(unit as i32 + 1, size));
        }
        Self { of_batch }
    }

    /// Per batch, its unit's number.
    pub fn of_batch(&self) -> &[i32] {
        &self.of_batch
    }

    /// Whether some unit has more than one batch.
    pub fn any_linked(&self) -> bool {
        self.of_batch.windows(2).any(|pair| pair[0] == pair[1])
    }

    /// The batches of each unit, as index ranges, in order.
    pub fn ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        for (index, unit) in self.of_batch.iter().enumerate() {
            match ranges.last_mut() {
                Some(last) if self.of_batch[last.start] == *unit => last.end = index + 1,
                _ => ranges.push(index..index + 1),
            }
        }
        ranges
    }
}

/// Whether an append looks up the event each batch follows before writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predecessors {
    /// Refuse a batch whose expected sequence is past its stream's end (it would
    /// leave a gap in the stream's sequences).
    Checked,
    /// The writer read every expected sequence from this database, or was answered
    /// it by an append here, and a stream only grows: so none is past its stream's
    /// end, and the lookups are skipped. On PostgreSQL they were a fifth of an
    /// append's time in the database (an index probe and a heap visit per batch).
    /// A stale sequence is still refused (its rows are taken already).
    Committed,
}

/// The events of one aggregate, to follow `expected_sequence` (0 for a new stream).
#[derive(Debug, Clone, Default)]
pub struct AppendBatch {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub expected_sequence: i64,
    pub events: Vec<NewEvent>,
    /// Commands of this batch that carry an idempotency key: recorded in the same
    /// transaction as the events, so a key is taken exactly when its events land.
    pub receipts: Vec<Receipt>,
}

/// The record that a keyed command was carried out, and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Whose key it is (the credential), so keys of different clients never meet.
    pub scope: String,
    pub key: String,
    /// Fingerprint of the request, to tell a retry from a different request.
    pub request_hash: String,
    /// The command's answer, less its position.
    pub answer: serde_json::Value,
    /// Index in the batch's events of the command's last event, whose position is
    /// the command's position.
    pub last_event: usize,
}

/// A receipt as stored, with the position its command's answer carried.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReceipt {
    pub request_hash: String,
    pub answer: serde_json::Value,
    pub position: i64,
}

/// Another writer got to this aggregate first: nothing of the batch was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the aggregate was changed concurrently")]
pub struct Conflict;

/// One event of an aggregate's stream, as loaded.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub sequence: i64,
    pub position: i64,
    /// The version the payload was written at: [`decode`](Self::decode) upcasts
    /// older ones.
    pub event_version: String,
    /// The payload as stored, JSON text: parsed once, straight into the typed event
    /// (a `Value` in between cost a second parse of every loaded event).
    pub payload: String,
}

impl StoredEvent {
    /// The typed event of an aggregate of `aggregate_type`, upcast from the version it
    /// was written at (through `event_schemas`' upcasters, as every reader does).
    pub fn decode<E: DeserializeOwned>(&self, aggregate_type: &str) -> Result<E, StoreError> {
        event_schemas::decode_str(aggregate_type, &self.event_version, &self.payload)
            .map_err(|e| StoreError::Corrupt(format!("event at position {}: {e}", self.position)))
    }

    /// The payload parsed as JSON, for readers that look into it untyped.
    pub fn payload_json(&self) -> Result<serde_json::Value, StoreError> {
        crate::store::parse_payload(&self.payload, self.position)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("the append failed: {0}")]
    Commit(String),
    #[error("loading the aggregate failed: {0}")]
    Load(String),
    #[error("this node keeps a copy of the log and takes no writes: send them to a command node")]
    Copy,
}

impl From<crate::LogError> for StoreError {
    fn from(error: crate::LogError) -> Self {
        match error {
            crate::LogError::Database(e) => StoreError::Database(e),
            corrupt @ crate::LogError::Corrupt { .. } => StoreError::Corrupt(corrupt.to_string()),
        }
    }
}
