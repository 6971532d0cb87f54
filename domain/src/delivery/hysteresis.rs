//! A zone's demand multiplier that does not flap: the demand ratio is smoothed (an
//! exponentially weighted moving average), and the multiplier follows the smoothed
//! ratio's target by at most one step at a time, at most once per dwell time,
//! ignoring differences under half a step.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::fee::demand_multiplier;

/// How a zone's multiplier follows its demand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hysteresis {
    /// Weight of the newest ratio in the average (0–1].
    pub smoothing: f64,
    /// Most a multiplier moves at once.
    pub step: f64,
    /// Least time between two moves.
    pub dwell: Duration,
}

impl Default for Hysteresis {
    fn default() -> Self {
        Self {
            smoothing: 0.3,
            step: 0.1,
            dwell: Duration::minutes(5),
        }
    }
}

/// A zone's smoothed ratio and the multiplier it charges, since when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Steady {
    pub ratio: f64,
    pub multiplier: f64,
    pub since: DateTime<Utc>,
}

impl Steady {
    /// A zone seen first at `at`, with no demand yet.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            ratio: 0.0,
            multiplier: 1.0,
            since: at,
        }
    }
}

impl Hysteresis {
    /// The zone after a demand ratio measured at `now`.
    pub fn observe(&self, zone: Steady, ratio: f64, now: DateTime<Utc>) -> Steady {
        let ratio = if ratio.is_finite() {
            ratio.max(0.0)
        } else {
            zone.ratio
        };
        let weight = self.smoothing.clamp(f64::MIN_POSITIVE, 1.0);
        let smoothed = weight * ratio + (1.0 - weight) * zone.ratio;
        let mut next = Steady {
            ratio: smoothed,
            ..zone
        };
        // A step that is not a positive number moves nothing.
        let step = if self.step.is_finite() {
            self.step.abs()
        } else {
            0.0
        };
        let gap = demand_multiplier(smoothed) - zone.multiplier;
        if step > 0.0 && now - zone.since >= self.dwell && gap.abs() >= step / 2.0 {
            // Rounded, so steps of 0.1 stay 1.1, 1.2, ... and never drift to
            // 1.2000000000000002 after a few moves (unless rounding would overstep).
            let moved = zone.multiplier + gap.clamp(-step, step);
            let rounded = (moved * 1e6).round() / 1e6;
            next.multiplier = if (rounded - zone.multiplier).abs() <= step {
                rounded
            } else {
                moved
            };
            next.since = now;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surge_is_followed_one_step_per_dwell() {
        // Given a quiet zone
        let start = DateTime::UNIX_EPOCH;
        let rules = Hysteresis {
            smoothing: 1.0,
            ..Hysteresis::default()
        };
        let mut zone = Steady::new(start);
        // When demand jumps to six times supply, measured every minute
        let mut moves = Vec::new();
        for minute in 1..=30 {
            let now = start + Duration::minutes(minute);
            let next = rules.observe(zone, 6.0, now);
            if next.multiplier != zone.multiplier {
                moves.push((minute, next.multiplier));
            }
            zone = next;
        }
        // Then the multiplier climbs by 0.1 every five minutes toward 1.8
        let minutes: Vec<i64> = moves.iter().map(|m| m.0).collect();
        assert_eq!(minutes, [5, 10, 15, 20, 25, 30]);
        assert!((zone.multiplier - 1.6).abs() < 1e-9);
    }

    #[test]
    fn a_step_that_is_no_positive_number_moves_nothing_and_never_panics() {
        let start = DateTime::UNIX_EPOCH;
        let later = start + Duration::hours(1);
        for step in [0.0, f64::NAN] {
            let rules = Hysteresis {
                step,
                ..Hysteresis::default()
            };
            assert_eq!(
                rules.observe(Steady::new(start), 9.0, later).multiplier,
                1.0
            );
        }
        let negative = Hysteresis {
            step: -0.1,
            ..Hysteresis::default()
        };
        let moved = negative.observe(Steady::new(start), 9.0, later).multiplier;
        assert!(
            (moved - 1.1).abs() < 1e-9,
            "a negative step counts by its size"
        );
    }
}
