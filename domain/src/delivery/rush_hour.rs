//! Rush hour in a city's own time: windows on the local wall clock (17:00–19:00 stays
//! 17:00–19:00 across daylight-saving changes), on the local weekday (for a city east
//! of UTC+12 a Monday morning is a Sunday evening in UTC).

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One rush-hour window of a city, in its local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RushWindow {
    /// The weekdays it applies on; empty: every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    pub from: NaiveTime,
    /// Exclusive; a window ending before it starts runs past midnight (and its hours
    /// after midnight belong to the day it started on).
    pub until: NaiveTime,
}

impl RushWindow {
    fn covers(&self, day: Weekday, time: NaiveTime) -> bool {
        let on = |day: Weekday| self.days.is_empty() || self.days.contains(&day);
        if self.from <= self.until {
            on(day) && self.from <= time && time < self.until
        } else {
            // Past midnight, the window belongs to the day it started on.
            (on(day) && time >= self.from) || (on(day.pred()) && time < self.until)
        }
    }
}

/// Whether `at` falls in one of `windows` on the wall clock of `zone`.
pub fn in_rush_hour(windows: &[RushWindow], zone: Tz, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&zone);
    let (day, time) = (local.weekday(), local.time());
    windows.iter().any(|window| window.covers(day, time))
}
