//! A listing's local time: nights are local dates, deadlines local wall-clock
//! times, and the instant behind either is found through the listing's IANA zone.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The local date at `now` in `tz`: the night a guest arriving now would book.
pub fn local_today(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The instant a local wall-clock time falls on. In the hour skipped when clocks go
/// forward the time does not exist: it is read as the same offset from the gap's
/// start (02:30 on the spring change in Berlin is 03:30 local). In the hour
/// repeated when they go back, the earlier of the two is meant.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(at) => at.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // No zone skips more than a few hours at once.
            (1..=4)
                .find_map(|hours| {
                    tz.from_local_datetime(&(local + Duration::hours(hours)))
                        .earliest()
                })
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local))
        }
    }
}

/// The local midnight that begins `date` in `tz`, as an instant.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date, NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_local_date_is_the_zone_s_not_utc_s() {
        // 11:00 UTC on 31 December is already 1 January in Auckland (UTC+13).
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 11, 0, 0).unwrap();
        assert_eq!(
            local_today(chrono_tz::Pacific::Auckland, now),
            date(2027, 1, 1)
        );
        assert_eq!(
            local_today(chrono_tz::America::Los_Angeles, now),
            date(2026, 12, 31)
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward_and_the_autumn_repeat_takes_the_first() {
        let berlin = chrono_tz::Europe::Berlin;
        let gap = local_instant(
            berlin,
            date(2027, 3, 28),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(gap, Utc.with_ymd_and_hms(2027, 3, 28, 1, 30, 0).unwrap());
        let repeat = local_instant(
            berlin,
            date(2027, 10, 31),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(
            repeat,
            Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap()
        );
    }
}
