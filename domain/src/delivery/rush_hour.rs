//! Rush hour in a city's own time: windows on the local wall clock (17:00–19:00 stays
//! 17:00–19:00 across daylight-saving changes), on the local weekday (for a city east
//! of UTC+12 a Monday morning is a Sunday evening in UTC).

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

pub use event_schemas::delivery::RushWindow;

fn covers(window: &RushWindow, day: Weekday, time: NaiveTime) -> bool {
    let on = |day: Weekday| window.days.is_empty() || window.days.contains(&day);
    if window.from <= window.until {
        on(day) && window.from <= time && time < window.until
    } else {
        // Past midnight, the window belongs to the day it started on.
        (on(day) && time >= window.from) || (on(day.pred()) && time < window.until)
    }
}

/// Whether `at` falls in one of `windows` on the wall clock of `zone`.
pub fn in_rush_hour(windows: &[RushWindow], zone: Tz, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&zone);
    let (day, time) = (local.weekday(), local.time());
    windows.iter().any(|window| covers(window, day, time))
}
