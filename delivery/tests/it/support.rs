//! Events at chosen times, folded into a model.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use delivery::{PricingConfig, Zones};
use event_log::LogRecord;
use event_schemas::delivery::{CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::{
    CityEvent, DeliveryFeedEvent, DeliveryPolicy, Destination, GeoPoint, Money, OrderEvent,
    RushWindow, WarehouseEvent,
};
use projections::runtime::InMemory;

/// Berlin's centre, and points east of it.
pub const BERLIN: GeoPoint = GeoPoint {
    lat: 52.52,
    lon: 13.405,
};

pub fn east(km: f64) -> GeoPoint {
    GeoPoint {
        lat: BERLIN.lat,
        lon: BERLIN.lon + km / (111.32 * BERLIN.lat.to_radians().cos()),
    }
}

/// A Wednesday noon in winter (no rush hour: that is 17:00–19:00 local).
pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 14, 11, 0, 0).unwrap()
}

/// Berlin's policy: 25 km around the centre, 1.99 + 0.50 a km, rush hour 17–19.
pub fn berlin_policy(cap: f64) -> CityEvent {
    CityEvent::PricingPolicySet {
        city_id: "berlin".into(),
        time_zone: "Europe/Berlin".into(),
        center: BERLIN,
        radius_km: 25.0,
        policy: DeliveryPolicy {
            currency: "EUR".into(),
            base_fee: 199,
            per_km: 50,
            floor: 199,
            ceiling: 2_000,
            multiplier_cap: cap,
            free_delivery_from: Some(10_000),
        },
        rush_hours: vec![RushWindow {
            days: vec![],
            from: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
        }],
    }
}

/// A log written in memory: each event at the time it is given.
pub struct Log {
    pub records: Vec<LogRecord>,
}

impl Log {
    pub fn new() -> Self {
        Self { records: vec![] }
    }

    pub fn position(&self) -> i64 {
        self.records.len() as i64
    }

    fn push<E: cqrs_es::DomainEvent>(
        &mut self,
        aggregate_type: &str,
        event: &E,
        at: DateTime<Utc>,
    ) -> i64 {
        let position = self.position() + 1;
        self.records.push(LogRecord {
            position,
            aggregate_type: aggregate_type.into(),
            event_version: event.event_version(),
            payload: serde_json::to_string(event).unwrap(),
            occurred_at: at,
        });
        position
    }

    pub fn city(&mut self, event: CityEvent, at: DateTime<Utc>) -> i64 {
        self.push(CITY_AGGREGATE, &event, at)
    }

    pub fn feed(&mut self, event: DeliveryFeedEvent, at: DateTime<Utc>) -> i64 {
        self.push(DELIVERY_FEED_AGGREGATE, &event, at)
    }

    pub fn berlin(&mut self, cap: f64, at: DateTime<Utc>) {
        self.city(berlin_policy(cap), at);
        self.push(
            WAREHOUSE_AGGREGATE,
            &WarehouseEvent::WarehouseRegistered {
                warehouse_id: "ber-1".into(),
                name: "Berlin Mitte".into(),
                region: "de".into(),
                location: BERLIN,
                ships_to: vec![],
            },
            at,
        );
    }

    pub fn courier(&mut self, id: &str, at_point: GeoPoint, zones: &Zones, at: DateTime<Utc>) {
        let cell = zones.cell_of(at_point).unwrap().to_string();
        self.feed(
            DeliveryFeedEvent::CourierWentOnline {
                courier_id: id.into(),
                cell,
            },
            at,
        );
    }

    /// An order delivered to `to`.
    pub fn order(&mut self, to: GeoPoint, at: DateTime<Utc>) -> i64 {
        let id = format!("o{}", self.position());
        self.push(
            ORDER_AGGREGATE,
            &OrderEvent::OrderPlaced {
                order_id: id,
                customer: None,
                lines: vec![],
                total: Money {
                    amount: 1000,
                    currency: "EUR".into(),
                },
                ship_to: Destination {
                    region: "de".into(),
                    lat: Some(to.lat),
                    lon: Some(to.lon),
                },
                priority: false,
            },
            at,
        )
    }

    /// A fee charged (an order used a quote) in `cell` at `multiplier`.
    pub fn charged(&mut self, cell: &str, multiplier: f64, at: DateTime<Utc>) -> i64 {
        let id = format!("o{}", self.position());
        self.push(
            ORDER_AGGREGATE,
            &OrderEvent::DeliveryQuoted {
                order_id: id,
                delivery: event_schemas::QuotedDelivery {
                    fee: Money {
                        amount: (400.0 * multiplier) as i64,
                        currency: "EUR".into(),
                    },
                    base: 400,
                    multipliers: vec![event_schemas::order::ChargedMultiplier {
                        kind: "demand".into(),
                        value: multiplier,
                    }],
                    bindings: vec![],
                    pickup_warehouse: "ber-1".into(),
                    dropoff_cell: cell.into(),
                    order_value: 1000,
                    quoted_at: at,
                    expires_at: at + Duration::minutes(10),
                    priced_at_position: 1,
                },
            },
            at,
        )
    }

    /// `n` orders to `to`, a second apart from `at`.
    pub fn orders(&mut self, n: usize, to: GeoPoint, at: DateTime<Utc>) {
        for i in 0..n {
            self.order(to, at + Duration::seconds(i as i64));
        }
    }

    /// Everything so far, folded into a fresh model.
    pub fn fold(&self, config: PricingConfig) -> Zones {
        let mut zones = Zones::new(config);
        zones.apply(&self.records).unwrap();
        zones
    }
}
