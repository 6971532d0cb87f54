//! The stays read model's tests, as one integration test binary. Each builds a
//! model from events applied in memory (no database), at chosen times.
//!
//! - `search`: given listings, calendars and stays, when searched, then the hits,
//!   their order and their score breakdown.
//! - `screening`: given other listings, when a listing is screened, then the fraud
//!   signals (each on a positive case, none on a clean one).
//! - `pricing`: given bookings, events and searches nearby, then the suggestions.
//! - `model`: what the model reports of a listing (status, rating, host rates).

mod model;
mod pricing;
mod screening;
mod search;
mod support;
