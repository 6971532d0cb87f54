//! The pricing model: cities and their policies, zones (H3 cells) with their demand,
//! couriers and steady multiplier, weather, local events and warehouses, folded from
//! the log. Every time is the log's (`occurred_at`), so a replay builds the same
//! model.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use domain::delivery::{emergency_cap, in_rush_hour, DailyMaxima, Steady};
use event_schemas::delivery::{CityEvent, DeliveryFeedEvent, WeatherCondition};
use event_schemas::{DeliveryPolicy, GeoPoint, OrderEvent, RushWindow, WarehouseEvent};
use h3o::{CellIndex, LatLng};
use rustc_hash::FxHashMap;

use crate::config::PricingConfig;

/// Seconds in one step of demand history (15 minutes).
pub const STEP_SECONDS: i64 = 15 * 60;
/// Steps of history a zone keeps: five weeks, one more than the forecast averages.
const HISTORY_STEPS: i64 = 5 * 7 * 24 * 4;
/// Moves a read makes up for at most (enough to bring the highest multiplier back
/// to 1 in steps of 0.05).
const MOST_STEPS_CATCHING_UP: usize = 24;
/// Weather reports kept after they end (a late quote may still ask about them).
const WEATHER_KEPT_HOURS: i64 = 24;

/// The step a moment falls in (UTC).
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The step a moment falls in on the wall clock of `zone`: demand history is kept
/// in local steps, so Monday 12:00 lines up with Monday 12:00 of other weeks across
/// daylight-saving changes (the hour repeated in autumn counts twice, the one
/// skipped in spring is empty).
pub fn local_step(zone: Tz, at: DateTime<Utc>) -> i64 {
    at.with_timezone(&zone)
        .naive_local()
        .and_utc()
        .timestamp()
        .div_euclid(STEP_SECONDS)
}

/// When the local step `step` of `zone` starts (its first occurrence in autumn; in
/// spring's skipped hour, the moment the clock jumps to).
pub fn local_step_start(zone: Tz, step: i64) -> DateTime<Utc> {
    let naive = DateTime::from_timestamp(step * STEP_SECONDS, 0)
        .unwrap_or_default()
        .naive_utc();
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            let after = naive + chrono::Duration::hours(1);
            zone.from_local_datetime(&after)
                .earliest()
                .map_or_else(|| naive.and_utc(), |at| at.with_timezone(&Utc))
        }
    }
}

/// A city as its operator set it, and what the log says of it since.
#[derive(Debug, Clone)]
pub struct City {
    pub city_id: String,
    pub time_zone: Tz,
    pub center: GeoPoint,
    pub radius_km: f64,
    pub policy: DeliveryPolicy,
    pub rush_hours: Vec<RushWindow>,
    pub emergency: Option<Emergency>,
    /// The highest multiplier charged each local day (`DeliveryQuoted`: fees orders
    /// paid, not prices only shown).
    pub maxima: DailyMaxima,
}

impl City {
    /// The local date of `at`.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    pub fn rush_hour(&self, at: DateTime<Utc>) -> bool {
        in_rush_hour(&self.rush_hours, self.time_zone, at)
    }
}

/// A declared emergency: from its log position on, quotes obey `cap`.
#[derive(Debug, Clone, PartialEq)]
pub struct Emergency {
    pub reason: String,
    pub declared_at: DateTime<Utc>,
    pub position: i64,
    /// The 4th-highest daily maximum of the 60 days before the declaration.
    pub cap: f64,
}

/// One zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Couriers online in this cell.
    pub couriers: u32,
    /// Demand within the window: when, and how much (an order 1, a quote less).
    recent: VecDeque<(DateTime<Utc>, f64)>,
    /// The smoothed ratio and the multiplier it holds.
    pub steady: Steady,
    /// When demand or supply last changed here (the last observation).
    observed_at: DateTime<Utc>,
    /// Demand per 15-minute step, for forecasts.
    pub history: BTreeMap<i64, f64>,
}

impl Zone {
    fn new() -> Self {
        Self {
            couriers: 0,
            recent: VecDeque::new(),
            // Seen long ago: its first move need not wait a dwell time.
            steady: Steady::new(DateTime::UNIX_EPOCH),
            observed_at: DateTime::UNIX_EPOCH,
            history: BTreeMap::new(),
        }
    }

    /// Demand within `window` up to `at`.
    pub fn demand_at(&self, at: DateTime<Utc>, window: chrono::Duration) -> f64 {
        let from = at - window;
        self.recent
            .iter()
            .filter(|(t, _)| *t > from && *t <= at)
            .map(|(_, w)| w)
            // From 0.0: an empty sum of floats is -0.0.
            .fold(0.0, |sum, w| sum + w)
    }
}

/// A weather report.
#[derive(Debug, Clone)]
pub struct WeatherSpan {
    pub city_id: String,
    /// Empty: the whole city.
    pub cells: Vec<CellIndex>,
    pub condition: WeatherCondition,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// A scheduled local event.
#[derive(Debug, Clone)]
pub struct LocalEvent {
    pub event_id: String,
    pub name: String,
    pub location: GeoPoint,
    pub radius_km: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expected_attendance: u64,
}

impl LocalEvent {
    pub fn covers(&self, point: GeoPoint, at: DateTime<Utc>) -> bool {
        self.starts_at <= at
            && at < self.ends_at
            && self.location.distance_km(&point) <= self.radius_km
    }
}

/// Everything pricing knows, as of the log position it was folded to.
#[derive(Debug, Clone)]
pub struct Zones {
    pub config: PricingConfig,
    pub cities: BTreeMap<String, City>,
    zones: FxHashMap<CellIndex, Zone>,
    /// Where each online courier is.
    couriers: FxHashMap<String, CellIndex>,
    weather: Vec<WeatherSpan>,
    pub local_events: BTreeMap<String, LocalEvent>,
    pub warehouses: BTreeMap<String, GeoPoint>,
    /// The latest time the log told of.
    pub now: DateTime<Utc>,
}

impl Zones {
    pub fn new(config: PricingConfig) -> Self {
        Self {
            config,
            cities: BTreeMap::new(),
            zones: FxHashMap::default(),
            couriers: FxHashMap::default(),
            weather: Vec::new(),
            local_events: BTreeMap::new(),
            warehouses: BTreeMap::new(),
            now: DateTime::UNIX_EPOCH,
        }
    }

    /// The zone of a point, at the configured resolution.
    pub fn cell_of(&self, point: GeoPoint) -> Option<CellIndex> {
        LatLng::new(point.lat, point.lon)
            .ok()
            .map(|p| p.to_cell(self.config.resolution))
    }

    /// A zone named in an event, brought to the configured resolution (through its
    /// centre), so a change of resolution does not lose what the log said.
    fn cell_named(&self, name: &str) -> Option<CellIndex> {
        let cell: CellIndex = name.parse().ok()?;
        if cell.resolution() == self.config.resolution {
            return Some(cell);
        }
        Some(LatLng::from(cell).to_cell(self.config.resolution))
    }

    /// The wall clock of the city a zone belongs to (UTC outside every city).
    pub fn zone_clock(&self, cell: CellIndex) -> Tz {
        self.city_at(Self::centre(cell))
            .map_or(Tz::UTC, |city| city.time_zone)
    }

    /// The zone an online courier is in.
    pub fn courier_cell(&self, courier_id: &str) -> Option<CellIndex> {
        self.couriers.get(courier_id).copied()
    }

    pub fn zone(&self, cell: CellIndex) -> Option<&Zone> {
        self.zones.get(&cell)
    }

    /// Every zone the model holds.
    pub fn zones(&self) -> impl Iterator<Item = (CellIndex, &Zone)> {
        self.zones.iter().map(|(cell, zone)| (*cell, zone))
    }

    /// The city a point belongs to: the nearest centre whose radius reaches it.
    pub fn city_at(&self, point: GeoPoint) -> Option<&City> {
        self.cities
            .values()
            .map(|city| (city.center.distance_km(&point), city))
            .filter(|(km, city)| *km <= city.radius_km)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, city)| city)
    }

    pub fn centre(cell: CellIndex) -> GeoPoint {
        let centre = LatLng::from(cell);
        GeoPoint {
            lat: centre.lat(),
            lon: centre.lng(),
        }
    }

    /// Couriers in `cell` and the ring around it.
    pub fn supply(&self, cell: CellIndex) -> u32 {
        cell.grid_disk::<Vec<_>>(self.config.supply_ring)
            .iter()
            .filter_map(|c| self.zones.get(c))
            .map(|z| z.couriers)
            .sum()
    }

    /// Demand over supply in `cell` at `at` (supply counts at least one courier, so
    /// a zone with demand and nobody near has its demand as its ratio).
    pub fn ratio(&self, cell: CellIndex, at: DateTime<Utc>) -> f64 {
        let demand = self
            .zones
            .get(&cell)
            .map_or(0.0, |z| z.demand_at(at, self.config.demand_window));
        demand / f64::from(self.supply(cell).max(1))
    }

    /// The zone's steady state as observed at `at` (without keeping it: a read). At
    /// the moment of the last change it is what that change left; later, time has
    /// moved demand out of the window and the dwell on, so it is observed again.
    pub fn steady_at(&self, cell: CellIndex, at: DateTime<Utc>) -> Steady {
        match self.zones.get(&cell) {
            Some(zone) if zone.observed_at >= at => zone.steady,
            _ => {
                let steady = self.caught_up(cell, at);
                self.config
                    .hysteresis
                    .observe(steady, self.ratio(cell, at), at)
            }
        }
    }

    /// The zone's steady state brought up to just before `at`: a quiet zone comes
    /// down a step per dwell time that passed since its last change (demand leaving
    /// the window as it goes), not one step per read.
    fn caught_up(&self, cell: CellIndex, at: DateTime<Utc>) -> Steady {
        let (mut steady, observed_at) = match self.zones.get(&cell) {
            Some(zone) => (zone.steady, zone.observed_at),
            None => (Steady::new(DateTime::UNIX_EPOCH), DateTime::UNIX_EPOCH),
        };
        let hysteresis = self.config.hysteresis;
        if hysteresis.dwell > chrono::Duration::zero() {
            let mut moment = observed_at.max(steady.since + hysteresis.dwell);
            for _ in 0..MOST_STEPS_CATCHING_UP {
                if moment >= at {
                    break;
                }
                steady = hysteresis.observe(steady, self.ratio(cell, moment), moment);
                moment = moment.max(steady.since) + hysteresis.dwell;
            }
        }
        steady
    }

    /// Rain or snow reported for `cell` of `city` at `at` (the latest report wins).
    pub fn weather_at(&self, city: &str, cell: CellIndex, at: DateTime<Utc>) -> WeatherCondition {
        self.weather
            .iter()
            .rev()
            .find(|w| {
                w.city_id == city
                    && w.from <= at
                    && at < w.until
                    && (w.cells.is_empty() || w.cells.contains(&cell))
            })
            .map_or(WeatherCondition::Clear, |w| w.condition)
    }

    /// The local event whose radius and time cover `point` at `at`, if any.
    pub fn local_event_at(&self, point: GeoPoint, at: DateTime<Utc>) -> Option<&LocalEvent> {
        self.local_events.values().find(|e| e.covers(point, at))
    }

    /// The registered warehouse nearest `point` within the pickup radius.
    pub fn warehouse_near(&self, point: GeoPoint) -> Option<(&str, GeoPoint)> {
        self.warehouses
            .iter()
            .map(|(id, at)| (at.distance_km(&point), id, *at))
            .filter(|(km, _, _)| *km <= self.config.pickup_radius_km)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id, at)| (id.as_str(), at))
    }

    // ----- folding the log -----

    pub(crate) fn warehouse(&mut self, event: WarehouseEvent) {
        let WarehouseEvent::WarehouseRegistered {
            warehouse_id,
            location,
            ..
        } = event;
        self.warehouses.insert(warehouse_id, location);
    }

    pub(crate) fn city(&mut self, event: CityEvent, position: i64, at: DateTime<Utc>) {
        match event {
            CityEvent::PricingPolicySet {
                city_id,
                time_zone,
                center,
                radius_km,
                policy,
                rush_hours,
            } => {
                // The aggregate accepted only zones chrono-tz knows; an unknown one
                // (written by a newer build) prices in UTC rather than stopping.
                let time_zone = time_zone.parse().unwrap_or(Tz::UTC);
                let (emergency, maxima) = match self.cities.remove(&city_id) {
                    Some(old) => (old.emergency, old.maxima),
                    None => (None, DailyMaxima::default()),
                };
                self.cities.insert(
                    city_id.clone(),
                    City {
                        city_id,
                        time_zone,
                        center,
                        radius_km,
                        policy,
                        rush_hours,
                        emergency,
                        maxima,
                    },
                );
            }
            CityEvent::EmergencyDeclared { city_id, reason } => {
                if let Some(city) = self.cities.get_mut(&city_id) {
                    let today = city.local_day(at);
                    let cap = emergency_cap(&city.maxima, today, city.policy.multiplier_cap);
                    city.emergency = Some(Emergency {
                        reason,
                        declared_at: at,
                        position,
                        cap,
                    });
                }
            }
            CityEvent::EmergencyEnded { city_id } => {
                if let Some(city) = self.cities.get_mut(&city_id) {
                    city.emergency = None;
                }
            }
        }
    }

    pub(crate) fn feed(&mut self, event: DeliveryFeedEvent, at: DateTime<Utc>) {
        match event {
            DeliveryFeedEvent::CourierWentOnline { courier_id, cell }
            | DeliveryFeedEvent::CourierMoved { courier_id, cell } => {
                let Some(cell) = self.cell_named(&cell) else {
                    return;
                };
                let left = self.couriers.insert(courier_id, cell);
                if let Some(left) = left {
                    self.courier_leaves(left, at);
                }
                self.zones.entry(cell).or_insert_with(Zone::new).couriers += 1;
                self.observe_around(cell, at);
            }
            DeliveryFeedEvent::CourierWentOffline { courier_id } => {
                if let Some(left) = self.couriers.remove(&courier_id) {
                    self.courier_leaves(left, at);
                }
            }
            DeliveryFeedEvent::WeatherObserved {
                city_id,
                cells,
                condition,
                from,
                until,
            } => {
                let cells = cells.iter().filter_map(|c| self.cell_named(c)).collect();
                let kept_after = at - chrono::Duration::hours(WEATHER_KEPT_HOURS);
                self.weather.retain(|w| w.until > kept_after);
                self.weather.push(WeatherSpan {
                    city_id,
                    cells,
                    condition,
                    from,
                    until,
                });
            }
            DeliveryFeedEvent::QuotesRequested { counts } => {
                let weight = self.config.quote_weight;
                for count in counts {
                    if let Some(cell) = self.cell_named(&count.cell) {
                        self.demand(cell, at, f64::from(count.count) * weight);
                    }
                }
            }
            DeliveryFeedEvent::LocalEventScheduled {
                event_id,
                name,
                location,
                radius_km,
                starts_at,
                ends_at,
                expected_attendance,
            } => {
                self.local_events.insert(
                    event_id.clone(),
                    LocalEvent {
                        event_id,
                        name,
                        location,
                        radius_km,
                        starts_at,
                        ends_at,
                        expected_attendance,
                    },
                );
            }
        }
    }

    pub(crate) fn order(&mut self, event: OrderEvent, at: DateTime<Utc>) {
        match event {
            // Only orders delivered to a point have a zone; others are not demand.
            OrderEvent::OrderPlaced { ship_to, .. } => {
                if let (Some(lat), Some(lon)) = (ship_to.lat, ship_to.lon) {
                    if let Some(cell) = self.cell_of(GeoPoint { lat, lon }) {
                        self.demand(cell, at, 1.0);
                    }
                }
            }
            // A fee charged: its multiplier counts toward its day's maximum, on the
            // day it was quoted.
            OrderEvent::DeliveryQuoted { delivery, .. } => {
                let charged = delivery
                    .bindings
                    .iter()
                    .rfind(|b| b.rule.ends_with("_cap"))
                    .map_or_else(
                        || delivery.multipliers.iter().map(|m| m.value).product(),
                        |cap| cap.after,
                    );
                let Some(cell) = self.cell_named(&delivery.dropoff_cell) else {
                    return;
                };
                let city_id = self.city_at(Self::centre(cell)).map(|c| c.city_id.clone());
                if let Some(city) = city_id.and_then(|id| self.cities.get_mut(&id)) {
                    let day = city.local_day(delivery.quoted_at);
                    city.maxima.record(day, charged);
                    city.maxima.forget_before(day);
                }
            }
            _ => {}
        }
    }

    /// Time moves on: demand leaves the window.
    pub(crate) fn advance(&mut self, at: DateTime<Utc>) {
        self.now = self.now.max(at);
    }

    fn courier_leaves(&mut self, cell: CellIndex, at: DateTime<Utc>) {
        if let Some(zone) = self.zones.get_mut(&cell) {
            zone.couriers = zone.couriers.saturating_sub(1);
        }
        self.observe_around(cell, at);
    }

    fn demand(&mut self, cell: CellIndex, at: DateTime<Utc>, weight: f64) {
        if weight <= 0.0 {
            return;
        }
        let window = self.config.demand_window;
        let step = local_step(self.zone_clock(cell), at);
        let zone = self.zones.entry(cell).or_insert_with(Zone::new);
        zone.recent.push_back((at, weight));
        while zone.recent.front().is_some_and(|(t, _)| *t <= at - window) {
            zone.recent.pop_front();
        }
        *zone.history.entry(step).or_insert(0.0) += weight;
        // Kept by time, so every zone holds the same span.
        if zone
            .history
            .keys()
            .next()
            .is_some_and(|first| *first < step - HISTORY_STEPS)
        {
            zone.history = zone.history.split_off(&(step - HISTORY_STEPS));
        }
        self.observe(cell, at);
    }

    /// Supply changed in `cell`: every zone within the ring sees it.
    fn observe_around(&mut self, cell: CellIndex, at: DateTime<Utc>) {
        for near in cell.grid_disk::<Vec<_>>(self.config.supply_ring) {
            if self.zones.contains_key(&near) {
                self.observe(near, at);
            }
        }
    }

    /// Move the zone's steady state on (from where reads had brought it).
    fn observe(&mut self, cell: CellIndex, at: DateTime<Utc>) {
        if !self.zones.contains_key(&cell) {
            return;
        }
        // Every change is observed, also several at one moment.
        let steady =
            self.config
                .hysteresis
                .observe(self.caught_up(cell, at), self.ratio(cell, at), at);
        if let Some(zone) = self.zones.get_mut(&cell) {
            zone.steady = steady;
            zone.observed_at = zone.observed_at.max(at);
        }
    }
}
