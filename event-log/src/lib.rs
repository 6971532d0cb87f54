//! The event log, and the one way to read it.
//!
//! This crate owns the `events`, `snapshots`, `processed_commands`,
//! `process_checkpoints` and `stream_copies` tables (their migrations on both backends), the append path
//! (many aggregates' batches in one transaction, with the idempotency receipts),
//! snapshots, process checkpoints, and the read API every reader uses: the
//! [`EventSource`] trait, yielding [`LogRecord`]s whose payloads decode through
//! `event_schemas`' upcasters. It also holds the one connection type, [`Database`],
//! that the write side and the read models share, with the write transactions the
//! read models commit in ([`WriteTx`]).
//!
//! * [`database`] — connecting to SQLite or PostgreSQL.
//! * [`store`] — [`EventStore`]: open (migrate), append, load one aggregate, the head
//!   and wake-ups on commit.
//! * [`source`] — [`EventSource`] and [`LogRecord`]: the log in position order.
//! * [`backend`] — what differs between SQLite and PostgreSQL, behind one trait
//!   ([`sqlite`], [`postgres`]).
//! * [`snapshots`], [`reads`] — snapshots, cold loads (gathered into shared queries
//!   on PostgreSQL by `loads`), receipts and process checkpoints.
//! * [`tail`] — [`LogTail`]: the log's newest records in memory, read once for
//!   every reader of the process ([`Database::read_recent`]).
//! * [`copy`] — a query node's copy of another deployment's log, written from a
//!   stream with the events' own positions ([`EventStore::open_copy`] refuses appends).
//! * [`lease`] — one process per database for a background task (a session
//!   advisory lock on PostgreSQL).
//! * [`groups`] — requests served in groups (group commit, gathered loads).
//! * [`write`] — read models' write transactions.
//!
//! Both backends keep the postgres-es / sqlite-es `events` and `snapshots` layout,
//! with our `position` (commit order), `event_id` and `occurred_at` besides.

/// Run `$body` with `$pool` bound to the pool that serves reads, on either backend.
/// Both take `$1`-style parameters, so the SQL is written once.
#[macro_export]
macro_rules! on_reader {
    ($db:expr, $pool:ident => $body:expr) => {
        match ($db).pools() {
            $crate::Pools::Sqlite { reader: $pool, .. } => $body,
            $crate::Pools::Postgres($pool) => $body,
        }
    };
}

/// Run `$body` with `$t` bound to the transaction of whichever backend `$tx` holds.
/// Both backends take `$1`-style parameters, so most SQL is written once.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::WriteTx::Sqlite($t) => $body,
            $crate::WriteTx::Postgres($t) => $body,
        }
    };
}

pub mod backend;
pub mod copy;
pub mod database;
pub mod groups;
pub mod lease;
mod loads;
pub mod postgres;
pub mod reads;
pub mod snapshots;
pub mod source;
pub mod sqlite;
pub mod store;
pub mod tail;
pub mod types;
pub mod write;

pub use copy::CopiedEvent;
pub use database::{Database, Pools};
pub use snapshots::Snapshot;
pub use source::{EventSource, LogError, LogRecord};
pub use store::EventStore;
pub use tail::{LogTail, Recent};
pub use types::{
    AppendBatch, Conflict, NewEvent, Predecessors, Receipt, StoreError, StoredEvent, StoredReceipt,
    Units,
};
pub use write::WriteTx;
