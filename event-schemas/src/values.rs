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

/// What shipping from a warehouse to one region costs and takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShippingRate {
    pub region: String,
    pub cost_per_item: Money,
    pub cost_per_shipment: Money,
    pub days: u32,
}
