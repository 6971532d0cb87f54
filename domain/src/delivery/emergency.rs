//! The emergency cap. During a declared emergency a multiplier may not exceed the
//! 4th-highest multiplier charged on different days in the preceding 60 days (the
//! rule Uber agreed to in New York in 2014, then nationwide): a city's own recent
//! history bounds what it may charge when people have no choice.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// Days before the emergency whose maxima count.
pub const EMERGENCY_LOOKBACK_DAYS: i64 = 60;
/// Which of the highest distinct-day maxima is the cap.
const NTH_HIGHEST: usize = 4;

/// The highest multiplier charged each day in one city (local dates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyMaxima {
    by_day: BTreeMap<NaiveDate, f64>,
}

impl DailyMaxima {
    /// A multiplier charged on `day`.
    pub fn record(&mut self, day: NaiveDate, multiplier: f64) {
        if !multiplier.is_finite() {
            return;
        }
        let highest = self.by_day.entry(day).or_insert(multiplier);
        *highest = highest.max(multiplier);
    }

    /// Days older than the look-back from `today` can never count again.
    pub fn forget_before(&mut self, today: NaiveDate) {
        let oldest = today - Duration::days(EMERGENCY_LOOKBACK_DAYS);
        self.by_day = self.by_day.split_off(&oldest);
    }

    /// Each day's maximum in the `EMERGENCY_LOOKBACK_DAYS` days before `today`
    /// (today itself excluded: "preceding" days).
    fn preceding(&self, today: NaiveDate) -> impl Iterator<Item = f64> + '_ {
        let oldest = today - Duration::days(EMERGENCY_LOOKBACK_DAYS);
        self.by_day.range(oldest..today).map(|(_, m)| *m)
    }
}

/// The cap during an emergency declared on `today`: the 4th-highest of the
/// preceding 60 days' maxima, never above `ordinary_cap`; with fewer than four days
/// charged, the ordinary cap.
pub fn emergency_cap(maxima: &DailyMaxima, today: NaiveDate, ordinary_cap: f64) -> f64 {
    let mut days: Vec<f64> = maxima.preceding(today).collect();
    if days.len() < NTH_HIGHEST {
        return ordinary_cap;
    }
    days.sort_by(|a, b| b.total_cmp(a));
    days[NTH_HIGHEST - 1].min(ordinary_cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Duration::days(n.into())
    }

    #[test]
    fn the_cap_is_the_fourth_highest_day_of_the_last_sixty() {
        // Given a city whose busiest days charged 3.5, 3.2, 2.9, 2.8 and 2.1, and
        // a 4.0 seventy days before the blizzard
        let mut maxima = DailyMaxima::default();
        maxima.record(day(0), 4.0);
        for (n, m) in [
            (20, 2.1),
            (30, 3.5),
            (31, 1.2),
            (31, 3.2),
            (40, 2.9),
            (50, 2.8),
        ] {
            maxima.record(day(n), m);
        }
        // When an emergency is declared on day 70
        let cap = emergency_cap(&maxima, day(70), 5.0);
        // Then the cap is 2.8 (day 31 counts once, at its highest; day 0 is too old)
        assert_eq!(cap, 2.8);
    }

    #[test]
    fn with_fewer_than_four_days_the_ordinary_cap_holds() {
        let mut maxima = DailyMaxima::default();
        for n in 1..=3 {
            maxima.record(day(n), 1.5);
        }
        assert_eq!(emergency_cap(&maxima, day(10), 2.5), 2.5);
    }

    #[test]
    fn the_day_of_the_emergency_does_not_count() {
        let mut maxima = DailyMaxima::default();
        for n in 1..=3 {
            maxima.record(day(n), 1.5);
        }
        maxima.record(day(10), 3.0);
        assert_eq!(
            emergency_cap(&maxima, day(10), 2.5),
            2.5,
            "three days before"
        );
        assert_eq!(emergency_cap(&maxima, day(11), 2.5), 1.5);
    }
}
