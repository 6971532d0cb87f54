//! The write side: the event log and everything that appends to it.
//!
//! * [`store`] — the event log on SQLite or PostgreSQL (postgres-es / sqlite-es table
//!   layout plus commit-ordered `position`, `event_id`, `occurred_at`), with our own
//!   multi-aggregate `append` and commit wake-ups.
//! * [`host`] — runs commands against aggregates: load, decide, append, retry on a
//!   conflict with another process.
//! * [`clock`] — the system clock and the manual clock of development mode.
//! * [`expiry`] — releases stock holds whose time has run out.

pub mod clock;
pub mod expiry;
pub mod host;
pub mod store;
pub mod warehouses;

pub use clock::{AppClock, ManualClock, SystemClock};
pub use host::{CommandError, CommandOutcome, CommandService, StockLevels};
pub use store::{AppendBatch, Conflict, Database, EventStore, NewEvent, StoreError, StoredEvent};
