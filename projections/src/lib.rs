//! The read side: projections built from the global event log, and their queries.
//!
//! * [`log`] — reads committed events in position order (commit order).
//! * [`runtime`] — runs a projection: catch-up in batches, checkpoint stored in the
//!   same transaction as the data, woken on commit, rebuild into a fresh generation
//!   beside the live one and swap it in once caught up.
//! * [`availability`] — stock on hand, held and available per SKU and warehouse.
//!
//! This crate never imports the write side: it reads the `events` table and is told
//! of commits through a `watch` of the last committed position.

pub mod api_keys;
pub mod availability;
pub mod db;
pub mod log;
pub mod open_holds;
pub mod runtime;
pub mod warehouses;

pub use availability::{Availability, AvailabilityView, WarehouseAvailability};
pub use db::ReadDb;
pub use runtime::{ProjectionHandle, Projector, RebuildState, RebuildStatus, WaitError};
