//! The read side: projections built from the global event log, and their queries.
//!
//! * [`runtime`] — runs a projection: catch-up in batches, checkpoint stored in the
//!   same transaction as the data, woken on commit, rebuild into a fresh generation
//!   beside the live one and swap it in once caught up.
//! * [`availability`] — stock on hand, held and available per SKU and warehouse.
//! * [`open_holds`] — stock holds still open, for the expiry sweep.
//! * [`stay_nights`] — booked nights of stays under a primary key: the second line
//!   of defence against double booking, and its alarm.
//! * [`api_keys`] — the API key table, in memory; [`warehouses`] — the warehouses'
//!   shipping rates.
//! * [`listings`] — what was created (warehouses, products, orders, reservations,
//!   flash sales), for the list endpoints.
//!
//! This crate never imports the write side: it reads the log through `event-log`'s
//! read API ([`event_log::EventSource`]), writes its read models in
//! [`event_log::WriteTx`]s on the same [`event_log::Database`], and is told of
//! commits through a `watch` of the last committed position.

pub mod api_keys;
pub mod availability;
pub mod listings;
pub mod open_holds;
pub mod runtime;
pub mod stay_nights;
pub mod warehouses;

pub use availability::{Availability, AvailabilityView, WarehouseAvailability};
pub use runtime::{ProjectionHandle, Projector, RebuildState, RebuildStatus, WaitError};
