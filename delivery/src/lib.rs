//! Delivery pricing's read model: zones (H3 cells) with their demand, couriers and
//! steady multiplier, cities with their policies and emergencies, weather, local
//! events and warehouses, folded from the log in each process (`LivePricing`), and
//! what is read from it: quotes, a zone's state and forecast, a city's forecast and
//! courier moves. The rules themselves (fee, caps, hysteresis, forecaster,
//! rebalancing) are the domain's pure functions (`domain::delivery`); this crate
//! measures the conditions they are given.
//!
//! * [`zones`] — the model and how each event changes it.
//! * [`follower`] — the model following the log (`LiveCopy`).
//! * [`quoting`] — pricing one delivery: city, zone, conditions, fee, quote terms.
//! * [`outlook`] — a zone's report and forecast, a city's forecast, rebalancing.
//! * [`config`] — resolution, demand window, hysteresis, quote lifetime.
//! * [`replenishment`] — stock's reorder points from its daily sales (the domain's
//!   rules), what to reorder per warehouse, days of cover.

pub mod config;
pub mod follower;
pub mod outlook;
pub mod quoting;
pub mod replenishment;
pub mod zones;

pub use config::PricingConfig;
pub use follower::{live, LivePricing};
pub use h3o::CellIndex;

/// The zone of `point` at the resolution of the zone `like` (`None` when either is
/// not what it should be): an order checks its dropoff against a quote's zone this
/// way, whatever resolution the model uses now.
pub fn cell_like(point: event_schemas::GeoPoint, like: &str) -> Option<String> {
    let like: CellIndex = like.parse().ok()?;
    let point = h3o::LatLng::new(point.lat, point.lon).ok()?;
    Some(point.to_cell(like.resolution()).to_string())
}
pub use handle::LiveHandle;
pub use quoting::{quote, Pickup, Quote, QuoteRefusal, QuoteRequest};
pub use zones::Zones;

mod handle;
