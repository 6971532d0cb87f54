//! The write side: everything that appends to the event log (the log itself, its
//! tables, append path and reads, is the `event-log` crate's).
//!
//! * [`service`] — the entry point for every command.
//! * [`host`] — one owner task per live aggregate (any [`domain::Hosted`] cqrs-es
//!   aggregate): queue, decide a batch on one copy of the state, commit, answer;
//!   reload and re-decide on a conflict.
//! * [`committer`] — group commit: the batches of many owners in one transaction.
//! * [`changes`] — wake-ups for waiters on one aggregate (long polls).
//! * [`clock`] — the system clock and the manual clock of development mode.
//! * [`expiry`] — releases stock holds whose time has run out.
//! * [`reservations`] — stock held over several lines; [`buyers`] — the limits of
//!   reservations buyers make themselves.
//! * [`stays`] — hosts' listings and guests' bookings (the Listing aggregate).
//! * [`orders`] — orders and what the order process does for each order event;
//!   [`order_process`] follows the log and runs those steps side by side.

pub mod buyers;
pub mod changes;
pub mod clock;
pub mod committer;
pub mod expiry;
pub mod flash_sales;
pub mod host;
pub use event_log::lease;
pub mod order_process;
pub mod orders;
pub mod reservations;
pub mod service;
pub mod stay_refunds;
pub mod stays;
pub mod warehouses;

pub use clock::{AppClock, ManualClock, SystemClock};
pub use domain::StockLevels;
pub use event_log::{
    AppendBatch, Conflict, Database, EventStore, NewEvent, Receipt, StoreError, StoredEvent,
    StoredReceipt,
};
pub use host::{CommandError, CommandOutcome, KeyedRequest};
pub use service::CommandService;
