//! Demand ahead, from demand past: each future step is the weighted average of the
//! same step of the week in the last few weeks (recent weeks weigh more), scaled by
//! how the latest day ran against what that average expected (so a busier or quieter
//! week than usual carries on). Averaging several weeks is what beats seasonal-naive,
//! which repeats last week's noise along with its rhythm. Known local events are
//! left out of the rhythm, and a future one is lifted by as much as past ones ran
//! above it.
//!
//! Written here rather than taken from a crate: it is a few lines over the
//! log's own 15-minute counts, and the general models (ETS, MSTL) need a season's
//! worth of history per parameter to fit well, which a new zone does not have.

use super::accuracy::Forecaster;
use super::reorder::z_score;

/// One step ahead: the forecast and the range it falls in with the asked coverage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub point: f64,
    pub low: f64,
    pub high: f64,
}

/// The model's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalAverage {
    /// Steps in a season (a week of 15-minute steps for demand).
    pub season: usize,
    /// Past seasons averaged, at most.
    pub seasons: usize,
    /// Each season further back weighs this much of the one after it.
    pub decay: f64,
    /// Steps of the latest history that set the level (a day of 15-minute steps).
    pub level_window: usize,
    /// The level factor stays within [1 / this, this].
    pub level_limit: f64,
}

impl SeasonalAverage {
    /// A week of 15-minute steps, the last four weeks, each older one at 0.7 of the
    /// next, the level from the latest day within a factor of two.
    pub fn weekly() -> Self {
        Self {
            season: super::accuracy::STEPS_PER_WEEK,
            seasons: 4,
            decay: 0.7,
            level_window: 96,
            level_limit: 2.0,
        }
    }

    /// The weighted average of step `at` over the seasons before it that the
    /// history holds, leaving out steps during local events; `None` when it holds
    /// none.
    fn seasonal_mean(&self, history: &[f64], at: usize, events: &[EventWindow]) -> Option<f64> {
        let (mut sum, mut weights, mut weight) = (0.0, 0.0, 1.0);
        for k in 1..=self.seasons {
            let Some(past) = at.checked_sub(k * self.season) else {
                break;
            };
            if let (Some(value), false) = (history.get(past), during(events, past)) {
                sum += weight * value;
                weights += weight;
            }
            weight *= self.decay;
        }
        (weights > 0.0).then(|| sum / weights)
    }

    /// How the latest `level_window` steps (outside events) ran against their
    /// seasonal means.
    fn level(&self, history: &[f64], events: &[EventWindow]) -> f64 {
        let from = history.len().saturating_sub(self.level_window);
        let limit = self.level_limit.max(1.0);
        ratio_seen(history, from..history.len(), |at| {
            (!during(events, at))
                .then(|| self.seasonal_mean(history, at, events))
                .flatten()
        })
        .map_or(1.0, |ratio| ratio.clamp(1.0 / limit, limit))
    }

    /// How much busier past events ran than their steps' seasonal means (1 when the
    /// history has none), within a factor of `EVENT_LIFT_LIMIT`.
    fn event_lift(&self, history: &[f64], events: &[EventWindow]) -> f64 {
        let past = events
            .iter()
            .flat_map(|event| event.from..event.until.min(history.len()));
        ratio_seen(history, past, |at| self.seasonal_mean(history, at, events))
            .map_or(1.0, |ratio| {
                ratio.clamp(1.0 / EVENT_LIFT_LIMIT, EVENT_LIFT_LIMIT)
            })
    }

    /// The forecast for the `horizon` steps after `history`, knowing the local events
    /// (past ones are left out of the rhythm and show how much an event lifts demand;
    /// future ones are lifted by that much).
    pub fn forecast_around(
        &self,
        history: &[f64],
        horizon: usize,
        events: &[EventWindow],
    ) -> Option<Vec<f64>> {
        if self.season == 0 || history.len() < self.season {
            return None;
        }
        let level = self.level(history, events);
        let lift = self.event_lift(history, events);
        (0..horizon)
            .map(|h| {
                let at = history.len() + h;
                let lifted = if during(events, at) { lift } else { 1.0 };
                self.seasonal_mean(history, at, events)
                    .map(|mean| (mean * level * lifted).max(0.0))
            })
            .collect()
    }

    /// The forecast with a range around each step that holds the actual value with
    /// probability `coverage` (0.5–0.999), taking the errors as normal with the
    /// spread of the model's own errors over the latest season (never below zero).
    pub fn forecast_with_intervals(
        &self,
        history: &[f64],
        horizon: usize,
        coverage: f64,
        events: &[EventWindow],
    ) -> Option<Vec<Interval>> {
        let points = self.forecast_around(history, horizon, events)?;
        let spread = self.error_spread(history, events);
        let half_width = z_score(0.5 + coverage.clamp(0.5, 0.999) / 2.0) * spread;
        Some(
            points
                .into_iter()
                .map(|point| Interval {
                    point,
                    low: (point - half_width).max(0.0),
                    high: point + half_width,
                })
                .collect(),
        )
    }

    /// The standard deviation of the model's errors over the latest season (outside
    /// events): each step against its seasonal mean times the level.
    fn error_spread(&self, history: &[f64], events: &[EventWindow]) -> f64 {
        let level = self.level(history, events);
        let from = history.len().saturating_sub(self.season);
        let errors: Vec<f64> = (from..history.len())
            .filter(|at| !during(events, *at))
            .filter_map(|at| {
                self.seasonal_mean(history, at, events)
                    .map(|mean| history[at] - mean * level)
            })
            .collect();
        if errors.len() < 2 {
            return 0.0;
        }
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        let variance =
            errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (errors.len() - 1) as f64;
        variance.sqrt()
    }
}

impl Forecaster for SeasonalAverage {
    fn forecast(&self, history: &[f64], horizon: usize) -> Option<Vec<f64>> {
        self.forecast_around(history, horizon, &[])
    }
}

/// A known local event (a match, a concert) in steps of the series: from `from`
/// until before `until`, past or future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    pub from: usize,
    pub until: usize,
}

/// An event lifts (or lowers) demand by at most this factor.
const EVENT_LIFT_LIMIT: f64 = 5.0;

fn during(events: &[EventWindow], at: usize) -> bool {
    events
        .iter()
        .any(|event| (event.from..event.until).contains(&at))
}

/// What the steps saw over what `expected` says they would, over the steps that have
/// an expectation; `None` when there is nothing to compare.
fn ratio_seen(
    history: &[f64],
    steps: impl IntoIterator<Item = usize>,
    expected: impl Fn(usize) -> Option<f64>,
) -> Option<f64> {
    let (mut seen, mut wanted) = (0.0, 0.0);
    for at in steps {
        if let (Some(value), Some(mean)) = (history.get(at), expected(at)) {
            seen += value;
            wanted += mean;
        }
    }
    (seen > 0.0 && wanted > 0.0).then(|| seen / wanted)
}
