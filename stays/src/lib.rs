//! Stays' read model: every listing with its calendar as bitsets of nights, its
//! quality (reviews, host response and cancellation rates), guests' profiles and
//! searches, local events; folded from the log in each process (`LiveStays`), and
//! what is read from it: ranked search with a score breakdown, fraud screening of a
//! listing about to be created or changed, nightly price suggestions. The booking
//! rules themselves are the Listing aggregate's (`domain::stays`).
//!
//! * [`model`] — the model and how each event changes it.
//! * [`search`] — the search filter (a bit operation per listing) and ranking.
//! * [`screening`] — fraud signals.
//! * [`pricing`] — nightly price suggestions.
//! * [`follower`] — the model following the log (`LiveCopy`).
//! * [`config`] — ranking weights and thresholds.

pub mod config;
pub mod follower;
pub mod model;
pub mod pricing;
pub mod screening;
pub mod search;

pub use config::StaysConfig;
pub use follower::{live, LiveStays};
pub use model::StaysModel;
