//! What moves prices besides a listing's own calendar: how many searches asked for
//! each night around each cell (counts only, dropped once the night has passed), and
//! the local events scheduled nearby.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use event_schemas::values::GeoPoint;
use rustc_hash::FxHashMap;

use super::grid::Cell;

/// Searches per night (day number) and cell of the searched point.
#[derive(Debug, Clone, Default)]
pub struct Demand {
    by_night: BTreeMap<i64, FxHashMap<Cell, u32>>,
}

impl Demand {
    pub fn record(&mut self, cell: Cell, nights: impl Iterator<Item = i64>) {
        for night in nights {
            *self
                .by_night
                .entry(night)
                .or_default()
                .entry(cell)
                .or_default() += 1;
        }
    }

    /// Searches for `night` in `cells`.
    pub fn searches(&self, night: i64, cells: &[Cell]) -> u32 {
        self.by_night.get(&night).map_or(0, |by_cell| {
            cells.iter().filter_map(|c| by_cell.get(c)).sum()
        })
    }

    /// Searches for any night of `[from, until)` in `cells`.
    pub fn searches_between(&self, from: i64, until: i64, cells: &[Cell]) -> u32 {
        self.by_night
            .range(from..until)
            .map(|(_, by_cell)| cells.iter().filter_map(|c| by_cell.get(c)).sum::<u32>())
            .sum()
    }

    /// Forget nights before `day`.
    pub fn forget_before(&mut self, day: i64) {
        self.by_night = self.by_night.split_off(&day);
    }
}

/// A local event (`LocalEventScheduled`).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEvent {
    pub event_id: String,
    pub location: GeoPoint,
    pub radius_km: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expected_attendance: u64,
}

impl LocalEvent {
    /// Whether the event is on during the local date `night` in `zone`: the dates
    /// from its start's to its end's (an end at midnight does not reach the next).
    pub fn on_night(&self, zone: Tz, night: NaiveDate) -> bool {
        let first = self.starts_at.with_timezone(&zone).date_naive();
        let end = self
            .ends_at
            .max(self.starts_at + chrono::Duration::seconds(1));
        let last = (end - chrono::Duration::seconds(1))
            .with_timezone(&zone)
            .date_naive();
        first <= night && night <= last
    }

    pub fn covers(&self, point: GeoPoint) -> bool {
        self.location.distance_km(&point) <= self.radius_km
    }
}
