//! The delivery pricing model's tests, as one integration test binary.
//!
//! - `model`: given events (built in memory, at chosen times), when folded, then the
//!   zones, quotes, emergency caps, forecasts and moves they imply.
//! - `following`: the model following a real log on SQLite.
//! - `replenishment`: reorder points from stock received and sold on chosen days.

mod following;
mod model;
mod replenishment;
mod support;
