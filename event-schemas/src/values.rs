//! Value types shared by several events.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An amount of money in integer minor units (cents for USD) and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

/// A point on the earth in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    /// Great-circle distance to `other`, in km.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        haversine_km(self.lat, self.lon, other.lat, other.lon)
    }
}

/// Mean earth radius, in km (the one haversine distances are usually quoted with).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance between two points, in km (search's geo filter, delivery
/// distances and courier moves all measure with this one).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// What shipping from a warehouse to one region costs and takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShippingRate {
    pub region: String,
    pub cost_per_item: Money,
    pub cost_per_shipment: Money,
    pub days: u32,
}
