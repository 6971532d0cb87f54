//! What the zone routes show: a zone's demand, supply, ratio and multiplier now, the
//! forecast for the next two hours with its range, a city's forecast, and the
//! courier moves that would cover the next hour best.

use chrono::{DateTime, Duration, Utc};
use domain::delivery::{
    rebalance, EventWindow, Move, RebalancingRules, SeasonalAverage, ZoneOutlook,
};
use h3o::CellIndex;
use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::zones::{local_step, local_step_start, Zones};

/// Steps forecast: two hours of 15-minute steps.
pub const HORIZON_STEPS: usize = 8;
/// The share of actual values the forecast's range should hold.
pub const COVERAGE: f64 = 0.9;
/// Zones one rebalancing weighs at most (the ones furthest from balance).
const MOST_REBALANCED: usize = 1_000;
/// Steps of history a forecast reads: four weeks.
const HISTORY_READ: i64 = 4 * 7 * 24 * 4;

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastStep {
    pub from: DateTime<Utc>,
    pub demand: f64,
    pub low: f64,
    pub high: f64,
}

/// A zone now.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneReport {
    pub cell: CellIndex,
    pub city_id: Option<String>,
    /// Demand within the window (orders, and quote requests at their weight).
    pub demand: f64,
    /// Couriers in the zone and the ring around it.
    pub supply: u32,
    /// Demand over supply, smoothed.
    pub ratio: f64,
    /// The demand multiplier the zone holds.
    pub demand_multiplier: f64,
    /// Every multiplier together, after the caps (what a delivery here is charged).
    pub multiplier: f64,
    /// `None` until the zone has a week of history.
    pub forecast: Option<Vec<ForecastStep>>,
}

/// The zone `cell` at `at`.
pub fn zone_report(zones: &Zones, cell: CellIndex, at: DateTime<Utc>) -> ZoneReport {
    let centre = Zones::centre(cell);
    let city_id = zones.city_at(centre).map(|c| c.city_id.clone());
    let steady = zones.steady_at(cell, at);
    let multiplier = city_id.as_deref().map_or(1.0, |city| {
        crate::quoting::multiplier_at(zones, city, cell, centre, at)
    });
    let histories: Vec<_> = zones.zone(cell).map(|z| &z.history).into_iter().collect();
    ZoneReport {
        cell,
        demand: zones
            .zone(cell)
            .map_or(0.0, |z| z.demand_at(at, zones.config.demand_window)),
        supply: zones.supply(cell),
        ratio: steady.ratio,
        demand_multiplier: steady.multiplier,
        multiplier,
        forecast: forecast(zones, &histories, &[cell], zones.zone_clock(cell), at),
        city_id,
    }
}

/// The zones of `city_id`: those whose centre the city holds.
pub fn cells_of<'a>(zones: &'a Zones, city_id: &'a str) -> impl Iterator<Item = CellIndex> + 'a {
    zones.zones().map(|(cell, _)| cell).filter(move |cell| {
        zones
            .city_at(Zones::centre(*cell))
            .is_some_and(|c| c.city_id == city_id)
    })
}

/// The demand forecast of a whole city, from its zones' histories summed.
pub fn city_forecast(zones: &Zones, city_id: &str, at: DateTime<Utc>) -> Option<Vec<ForecastStep>> {
    let cells: Vec<CellIndex> = cells_of(zones, city_id).collect();
    let histories: Vec<_> = cells
        .iter()
        .filter_map(|c| zones.zone(*c).map(|z| &z.history))
        .collect();
    let clock = zones.cities.get(city_id).map_or(Tz::UTC, |c| c.time_zone);
    forecast(zones, &histories, &cells, clock, at)
}

/// The summed `histories`, one value per 15-minute step from the first step any of
/// them holds (at most `steps` back) up to, not including, `until`: the series and
/// the step it starts at. `None` when they hold nothing.
pub fn demand_series(
    histories: &[&BTreeMap<i64, f64>],
    until: i64,
    steps: i64,
) -> Option<(i64, Vec<f64>)> {
    let first = histories.iter().filter_map(|h| h.keys().next()).min()?;
    let start = (*first).max(until - steps);
    // A history ahead of this clock (another node's) has nothing before `until`.
    if start >= until {
        return None;
    }
    let mut series = vec![0.0; (until - start).max(0) as usize];
    for history in histories {
        for (step, demand) in history.range(start..until) {
            series[(step - start) as usize] += demand;
        }
    }
    Some((start, series))
}

/// The local events that reach any of `cells`, as step windows of a series that
/// starts at step `start` (they may reach past its end: the forecast's horizon).
pub fn event_windows(
    zones: &Zones,
    cells: &[CellIndex],
    clock: Tz,
    start: i64,
) -> Vec<EventWindow> {
    zones
        .local_events
        .values()
        .filter(|e| {
            cells
                .iter()
                .any(|c| e.location.distance_km(&Zones::centre(*c)) <= e.radius_km)
        })
        .filter_map(|e| {
            let from = local_step(clock, e.starts_at) - start;
            let until = local_step(clock, e.ends_at - Duration::seconds(1)) - start + 1;
            (until > 0).then(|| EventWindow {
                from: from.max(0) as usize,
                until: until as usize,
            })
        })
        .collect()
}

/// The forecast of the summed `histories` for the steps after `at`'s, knowing the
/// local events that reach `cells`.
fn forecast(
    zones: &Zones,
    histories: &[&BTreeMap<i64, f64>],
    cells: &[CellIndex],
    clock: Tz,
    at: DateTime<Utc>,
) -> Option<Vec<ForecastStep>> {
    let now = local_step(clock, at);
    let (start, series) = demand_series(histories, now, HISTORY_READ)?;
    let events = event_windows(zones, cells, clock, start);
    let steps = SeasonalAverage::weekly().forecast_with_intervals(
        &series,
        HORIZON_STEPS,
        COVERAGE,
        &events,
    )?;
    Some(
        steps
            .into_iter()
            .enumerate()
            .map(|(h, interval)| ForecastStep {
                from: local_step_start(clock, now + h as i64),
                demand: interval.point,
                low: interval.low,
                high: interval.high,
            })
            .collect(),
    )
}

/// Courier moves within and around `city_id` that cover the next hour's forecast
/// best (zones without a week of history expect their current rate to go on).
pub fn rebalancing(
    zones: &Zones,
    city_id: &str,
    at: DateTime<Utc>,
    rules: &RebalancingRules,
) -> Vec<Move> {
    let per_hour = 60.0 / zones.config.demand_window.num_minutes().max(1) as f64;
    let mut outlooks: Vec<ZoneOutlook> = zones
        .zones()
        .filter(|(_, zone)| zone.couriers > 0 || !zone.history.is_empty())
        .filter_map(|(cell, zone)| {
            let centre = Zones::centre(cell);
            let city = zones.city_at(centre).filter(|c| c.city_id == city_id)?;
            let next_hour = forecast(zones, &[&zone.history], &[cell], city.time_zone, at)
                .map(|steps| steps.iter().take(4).map(|s| s.demand).sum())
                .unwrap_or_else(|| zone.demand_at(at, zones.config.demand_window) * per_hour);
            Some(ZoneOutlook {
                zone: cell.to_string(),
                city: city.city_id.clone(),
                lat: centre.lat,
                lon: centre.lon,
                forecast: next_hour,
                couriers: zone.couriers,
            })
        })
        .collect();
    // The rebalancer compares every pair: the zones with most to give or take only.
    let imbalance =
        |o: &ZoneOutlook| (o.forecast - f64::from(o.couriers) * rules.deliveries_per_courier).abs();
    outlooks.sort_by(|a, b| {
        imbalance(b)
            .total_cmp(&imbalance(a))
            .then(a.zone.cmp(&b.zone))
    });
    outlooks.truncate(MOST_REBALANCED);
    rebalance(&outlooks, rules)
}
