//! Pricing one delivery from the model: which city and zone, the conditions there at
//! that moment, the fee by the domain's rules, and the terms a quote token carries.

use chrono::{DateTime, Utc};
use domain::delivery::{price, Conditions, Priced, QuoteTerms, Weather};
use event_schemas::delivery::WeatherCondition;
use event_schemas::GeoPoint;
use h3o::CellIndex;

use crate::zones::Zones;

/// No delivery is priced over a longer distance.
pub const MAX_DELIVERY_KM: f64 = 100.0;

/// What a caller asks to have priced.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRequest {
    /// Where the goods leave from: a registered warehouse, named or near the point.
    pub pickup: Pickup,
    pub dropoff: GeoPoint,
    /// What the goods are worth, in the city's currency's minor units.
    pub order_value: u64,
    /// The moment priced (the server's clock unless asked for later).
    pub at: DateTime<Utc>,
    /// The buyer the quote is for; `None` when a shop's key asks.
    pub buyer: Option<String>,
    /// Who asks (the principal's actor).
    pub asked_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pickup {
    Warehouse(String),
    Point(GeoPoint),
}

/// Why a delivery cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteRefusal {
    #[error("the dropoff is in no city with a delivery pricing policy")]
    OutsideCities,
    #[error("warehouse '{0}' is not registered")]
    UnknownWarehouse(String),
    #[error("no registered warehouse is within {0} km of the pickup point")]
    NoWarehouseAtPickup(String),
    #[error("the dropoff is {0} km from the pickup; deliveries go at most 100 km")]
    TooFar(String),
}

impl QuoteRefusal {
    /// The stable code a caller can act on.
    pub fn code(&self) -> &'static str {
        match self {
            QuoteRefusal::OutsideCities => "outside_delivery_area",
            QuoteRefusal::UnknownWarehouse(_) => "unknown_warehouse",
            QuoteRefusal::NoWarehouseAtPickup(_) => "no_pickup_warehouse",
            QuoteRefusal::TooFar(_) => "delivery_too_far",
        }
    }
}

/// A priced delivery and where it was priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub city_id: String,
    pub cell: CellIndex,
    pub distance_km: f64,
    pub priced: Priced,
    pub terms: QuoteTerms,
    /// Demand over supply in the dropoff zone, smoothed.
    pub ratio: f64,
}

/// The conditions in `cell` of `city_id` at `at` (the dropoff `point` for local
/// events).
pub fn conditions_at(
    zones: &Zones,
    city_id: &str,
    cell: CellIndex,
    point: GeoPoint,
    at: DateTime<Utc>,
) -> Conditions {
    let city = zones.cities.get(city_id);
    let weather = match zones.weather_at(city_id, cell, at) {
        WeatherCondition::Clear => None,
        WeatherCondition::Rain => Some(Weather::Rain),
        WeatherCondition::Snow => Some(Weather::Snow),
    };
    Conditions {
        demand: zones.steady_at(cell, at).multiplier,
        weather,
        rush_hour: city.is_some_and(|c| c.rush_hour(at)),
        local_event: zones.local_event_at(point, at).is_some(),
        emergency_cap: city.and_then(|c| c.emergency.as_ref()).map(|e| e.cap),
    }
}

/// The multiplier a delivery to `cell` would be charged at `at`, after the caps.
pub fn multiplier_at(
    zones: &Zones,
    city_id: &str,
    cell: CellIndex,
    point: GeoPoint,
    at: DateTime<Utc>,
) -> f64 {
    let Some(city) = zones.cities.get(city_id) else {
        return 1.0;
    };
    let conditions = conditions_at(zones, city_id, cell, point, at);
    price(&city.policy, &conditions, 0.0, 0).applied
}

/// Price `request` on the model as of `position`; the terms expire after the
/// configured time.
pub fn quote(zones: &Zones, request: &QuoteRequest, position: i64) -> Result<Quote, QuoteRefusal> {
    let city = zones
        .city_at(request.dropoff)
        .ok_or(QuoteRefusal::OutsideCities)?;
    let (warehouse_id, pickup) = match &request.pickup {
        Pickup::Warehouse(id) => match zones.warehouses.get(id) {
            Some(at) => (id.clone(), *at),
            None => return Err(QuoteRefusal::UnknownWarehouse(id.clone())),
        },
        Pickup::Point(point) => match zones.warehouse_near(*point) {
            Some((id, at)) => (id.to_string(), at),
            None => {
                return Err(QuoteRefusal::NoWarehouseAtPickup(
                    zones.config.pickup_radius_km.to_string(),
                ))
            }
        },
    };
    let distance_km = pickup.distance_km(&request.dropoff);
    if distance_km > MAX_DELIVERY_KM {
        return Err(QuoteRefusal::TooFar(format!("{distance_km:.1}")));
    }
    let cell = zones
        .cell_of(request.dropoff)
        .ok_or(QuoteRefusal::OutsideCities)?;
    let conditions = conditions_at(zones, &city.city_id, cell, request.dropoff, request.at);
    let priced = price(&city.policy, &conditions, distance_km, request.order_value);
    let terms = QuoteTerms {
        fee: priced.fee,
        currency: city.policy.currency.clone(),
        base: priced.base,
        multipliers: priced.multipliers.clone(),
        bindings: priced.bindings.clone(),
        pickup,
        pickup_warehouse: warehouse_id,
        dropoff_cell: cell.to_string(),
        buyer: request.buyer.clone(),
        asked_by: request.asked_by.clone(),
        order_value: request.order_value,
        issued_at: request.at,
        expires_at: request.at + zones.config.quote_ttl,
        priced_at_position: position,
    };
    Ok(Quote {
        city_id: city.city_id.clone(),
        cell,
        distance_km,
        ratio: zones.steady_at(cell, request.at).ratio,
        priced,
        terms,
    })
}
