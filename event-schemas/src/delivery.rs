//! Events of delivery pricing: what a city's operator sets (its pricing policy and
//! its emergencies, the City aggregate) and what the world reports (couriers going
//! online, moving between zones and going offline, weather, local events), each a
//! one-event stream of the delivery feed so a busy feed never contends.
//!
//! Zones are H3 cells, written as their hexadecimal index (`882a100d25fffff`).

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::GeoPoint;

/// Aggregate type of a city's pricing policy and emergencies (stream id: the city id).
pub const CITY_AGGREGATE: &str = "city";
/// Aggregate type of the delivery feed: each event its own stream (a fresh UUIDv7).
pub const DELIVERY_FEED_AGGREGATE: &str = "delivery_feed";

/// How a city prices delivery (amounts in its currency's minor units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryPolicy {
    pub currency: String,
    pub base_fee: u64,
    pub per_km: u64,
    /// No fee (before free delivery) is below this, or above the ceiling.
    pub floor: u64,
    pub ceiling: u64,
    /// No combined multiplier is above this.
    pub multiplier_cap: f64,
    /// Orders worth at least this are delivered free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_delivery_from: Option<u64>,
}

/// One rush-hour window of a city, in its local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RushWindow {
    /// The weekdays it applies on (`Mon` ... `Sun`); empty: every day.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub days: Vec<Weekday>,
    pub from: NaiveTime,
    /// Exclusive; a window ending before it starts runs past midnight (and its hours
    /// after midnight belong to the day it started on).
    pub until: NaiveTime,
}

/// Weather that changes what delivery costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeatherCondition {
    Clear,
    Rain,
    Snow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum CityEvent {
    /// The city's pricing, replacing any earlier policy. Its zones are the cells whose
    /// centres lie within `radius_km` of `center` (the nearest city's, where two
    /// overlap).
    PricingPolicySet {
        city_id: String,
        /// IANA time zone, e.g. `Europe/Berlin`: rush hours and days are local.
        time_zone: String,
        center: GeoPoint,
        radius_km: f64,
        policy: DeliveryPolicy,
        #[serde(default)]
        rush_hours: Vec<RushWindow>,
    },
    /// From this event's position on, quotes in the city obey the emergency cap.
    EmergencyDeclared {
        city_id: String,
        reason: String,
    },
    EmergencyEnded {
        city_id: String,
    },
}

impl CityEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            CityEvent::PricingPolicySet { .. } => "PricingPolicySet",
            CityEvent::EmergencyDeclared { .. } => "EmergencyDeclared",
            CityEvent::EmergencyEnded { .. } => "EmergencyEnded",
        }
    }
}

/// How many of something happened in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneCount {
    pub cell: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum DeliveryFeedEvent {
    /// A courier started taking deliveries in a zone.
    CourierWentOnline {
        courier_id: String,
        cell: String,
    },
    /// An online courier is now in another zone (zones, not GPS pings).
    CourierMoved {
        courier_id: String,
        cell: String,
    },
    CourierWentOffline {
        courier_id: String,
    },
    /// Weather in a city, or in some of its zones, over a span of time.
    WeatherObserved {
        city_id: String,
        /// The zones it covers; empty: the whole city.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cells: Vec<String>,
        condition: WeatherCondition,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// Quote requests one node answered per zone since its previous report: demand
    /// that has not become an order (yet). Counted, not recorded one by one, so
    /// quoting stays a read.
    QuotesRequested {
        counts: Vec<ZoneCount>,
    },
    /// A concert, a match, a fair: demand rises within `radius_km` while it lasts.
    /// Scheduling an event id again replaces what was known of it.
    LocalEventScheduled {
        event_id: String,
        name: String,
        location: GeoPoint,
        radius_km: f64,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        expected_attendance: u64,
    },
}

impl DeliveryFeedEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            DeliveryFeedEvent::CourierWentOnline { .. } => "CourierWentOnline",
            DeliveryFeedEvent::CourierMoved { .. } => "CourierMoved",
            DeliveryFeedEvent::CourierWentOffline { .. } => "CourierWentOffline",
            DeliveryFeedEvent::WeatherObserved { .. } => "WeatherObserved",
            DeliveryFeedEvent::QuotesRequested { .. } => "QuotesRequested",
            DeliveryFeedEvent::LocalEventScheduled { .. } => "LocalEventScheduled",
        }
    }
}
