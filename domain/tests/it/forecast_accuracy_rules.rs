//! Forecast accuracy, given/when/then and properties: WAPE and MASE on known
//! numbers, no scale for a zone where nothing happened, the naive forecasts, and a
//! rolling origin that only ever shows a forecaster the past.

use std::cell::Cell;

use domain::delivery::{mase, naive, seasonal_naive, wape, Backtest};
use proptest::prelude::*;

#[test]
fn wape_is_the_absolute_errors_over_what_happened() {
    assert_eq!(
        wape(&[10.0, 0.0, 30.0], &[12.0, 1.0, 27.0]),
        Some(6.0 / 40.0)
    );
    assert_eq!(wape(&[1.0, 2.0], &[1.0, 2.0]), Some(0.0));
}

#[test]
fn wape_has_no_value_when_nothing_happened() {
    assert_eq!(wape(&[0.0, 0.0], &[1.0, 2.0]), None);
    assert_eq!(wape(&[1.0], &[1.0, 2.0]), None, "lengths differ");
}

#[test]
fn mase_scales_by_the_seasonal_naive_error_in_the_history() {
    // Season 2: in-sample errors |3-1|, |4-2|, |5-3| = 2 each, so the scale is 2.
    let history = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(mase(&history, &[6.0, 7.0], &[5.0, 9.0], 2), Some(1.5 / 2.0));
}

#[test]
fn a_zone_where_nothing_changed_has_no_mase() {
    let quiet = [0.0; 10];
    assert_eq!(mase(&quiet, &[0.0], &[1.0], 2), None);
    assert_eq!(
        mase(&[1.0, 2.0], &[1.0], &[1.0], 2),
        None,
        "history too short"
    );
}

#[test]
fn the_naive_forecasts_repeat_the_last_value_or_the_last_season() {
    let history = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(
        seasonal_naive(&history, 5, 2),
        Some(vec![4.0, 5.0, 4.0, 5.0, 4.0])
    );
    assert_eq!(naive(&history, 3), Some(vec![5.0; 3]));
    assert_eq!(seasonal_naive(&history, 1, 6), None);
    assert_eq!(naive(&[], 1), None);
}

#[test]
fn a_rolling_origin_shows_each_forecast_only_the_past() {
    let series: Vec<f64> = (0..20).map(f64::from).collect();
    let longest_seen = Cell::new(0);
    let peeking = |history: &[f64], horizon: usize| {
        longest_seen.set(longest_seen.get().max(history.len()));
        // The last value known, carried on the slope of one per step.
        let last = *history.last()?;
        Some((1..=horizon).map(|h| last + h as f64).collect())
    };
    let backtest = Backtest {
        first_origin: 10,
        every: 3,
        horizon: 4,
        season: 2,
    };
    let accuracy = backtest.run(&series, &peeking);
    // Origins 10, 13 and 16 (16 + 4 = 20 is the end).
    assert_eq!(accuracy.origins, 3);
    assert_eq!(longest_seen.get(), 16);
    assert_eq!(accuracy.mase, Some(0.0));
    assert_eq!(accuracy.wape, Some(0.0));
    assert_eq!(accuracy.unscaled, 0);
}

#[test]
fn the_seasonal_naive_forecast_scores_about_one_on_a_noisy_rhythm() {
    // A daily rhythm with noise that does not repeat: seasonal-naive's errors out of
    // sample are like its errors in sample.
    let season = 24;
    let series: Vec<f64> = (0..24 * 60)
        .map(|t| {
            let rhythm =
                10.0 + 8.0 * ((t % season) as f64 / season as f64 * std::f64::consts::TAU).sin();
            let noise = ((t * 7919 % 101) as f64 / 101.0 - 0.5) * 4.0;
            rhythm + noise
        })
        .collect();
    let backtest = Backtest {
        first_origin: 24 * 14,
        every: 24,
        horizon: 8,
        season,
    };
    let seasonal = |history: &[f64], horizon: usize| seasonal_naive(history, horizon, season);
    let mase = backtest.run(&series, &seasonal).mase.unwrap();
    assert!((0.8..1.25).contains(&mase), "{mase}");
}

proptest! {
    /// Errors are never negative, and a change of unit (orders or hundreds of
    /// orders) changes neither figure.
    #[test]
    fn scores_are_non_negative_and_unit_free(
        history in proptest::collection::vec(0.0..50.0f64, 6..40),
        pairs in proptest::collection::vec((0.0..50.0f64, 0.0..50.0f64), 1..10),
        unit in 0.01..100.0f64,
    ) {
        let (actual, forecast): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let scaled = |v: &[f64]| v.iter().map(|x| x * unit).collect::<Vec<_>>();
        if let Some(w) = wape(&actual, &forecast) {
            prop_assert!(w >= 0.0);
            let w2 = wape(&scaled(&actual), &scaled(&forecast)).unwrap();
            prop_assert!((w - w2).abs() <= 1e-9 * w.max(1.0));
        }
        if let Some(m) = mase(&history, &actual, &forecast, 3) {
            prop_assert!(m >= 0.0);
            let m2 = mase(&scaled(&history), &scaled(&actual), &scaled(&forecast), 3).unwrap();
            prop_assert!((m - m2).abs() <= 1e-9 * m.max(1.0));
        }
    }
}

/// A rhythm over a season of 96 steps with noise that never repeats (a fixed
/// pseudo-random sequence), `seasons` long, times `level`.
fn noisy_rhythm(seasons: usize, level: f64) -> Vec<f64> {
    let season = 96;
    let mut state: u64 = 42;
    (0..season * seasons)
        .map(|t| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.6;
            let phase = (t % season) as f64 / season as f64 * std::f64::consts::TAU;
            level * (10.0 + 8.0 * phase.sin()) * (1.0 + noise)
        })
        .collect()
}

fn daily_model() -> domain::delivery::SeasonalAverage {
    domain::delivery::SeasonalAverage {
        season: 96,
        level_window: 24,
        ..domain::delivery::SeasonalAverage::weekly()
    }
}

#[test]
fn averaging_past_seasons_beats_repeating_the_last_one_by_a_tenth() {
    let series = noisy_rhythm(16, 1.0);
    let backtest = Backtest {
        first_origin: 96 * 5,
        every: 8,
        horizon: 8,
        season: 96,
    };
    let seasonal = |history: &[f64], horizon: usize| seasonal_naive(history, horizon, 96);
    let model = daily_model();
    let ours = backtest.run(&series, &model).mase.unwrap();
    let baseline = backtest.run(&series, &seasonal).mase.unwrap();
    assert!(
        ours <= 0.9 * baseline,
        "ours {ours:.3}, seasonal-naive {baseline:.3}"
    );
}

#[test]
fn a_busier_day_than_usual_raises_the_forecast() {
    use domain::delivery::Forecaster;
    let mut series = noisy_rhythm(6, 1.0);
    let usual = daily_model().forecast(&series, 4).unwrap();
    // The latest quarter of a season ran at one and a half times its usual level.
    let len = series.len();
    for value in &mut series[len - 24..] {
        *value *= 1.5;
    }
    let busier = daily_model().forecast(&series, 4).unwrap();
    for (u, b) in usual.iter().zip(&busier) {
        assert!(b > &(u * 1.3), "usual {u:.2}, after a busy spell {b:.2}");
    }
}

#[test]
fn no_forecast_from_less_than_a_season() {
    use domain::delivery::Forecaster;
    assert_eq!(daily_model().forecast(&[1.0; 95], 4), None);
}

#[test]
fn nine_in_ten_actual_values_fall_in_the_ninety_percent_range() {
    let series = noisy_rhythm(16, 1.0);
    let model = daily_model();
    let (mut inside, mut total) = (0, 0);
    for origin in (96 * 5..series.len() - 8).step_by(8) {
        let ranges = model
            .forecast_with_intervals(&series[..origin], 8, 0.9, &[])
            .unwrap();
        for (range, actual) in ranges.iter().zip(&series[origin..origin + 8]) {
            assert!(range.low <= range.point && range.point <= range.high);
            total += 1;
            if (range.low..=range.high).contains(actual) {
                inside += 1;
            }
        }
    }
    let share = inside as f64 / total as f64;
    assert!((0.8..=0.98).contains(&share), "{inside} of {total} inside");
}

#[test]
fn known_events_stay_out_of_the_rhythm_and_lift_the_steps_they_fall_on() {
    use domain::delivery::EventWindow;
    let season = 96;
    // Events doubled demand for steps 40–47 of seasons 3, 5 and 7; one is scheduled
    // for the same steps of season 8, the one to forecast.
    let events: Vec<EventWindow> = [3, 5, 7, 8]
        .iter()
        .map(|s| EventWindow {
            from: s * season + 40,
            until: s * season + 48,
        })
        .collect();
    let mut series = noisy_rhythm(9, 1.0);
    for event in &events {
        for value in &mut series[event.from..event.until] {
            *value *= 2.0;
        }
    }
    let (history, actual) = series.split_at(8 * season);
    let model = daily_model();
    let error = |forecast: &[f64], steps: std::ops::Range<usize>| -> f64 {
        steps
            .map(|step| (forecast[step] - actual[step]).abs())
            .sum()
    };
    let knowing = model.forecast_around(history, season, &events).unwrap();
    let unaware = model.forecast_around(history, season, &[]).unwrap();
    // On the event's steps: lifted about twofold over the rhythm.
    let rhythm = model
        .forecast_around(history, season, &events[..3])
        .unwrap();
    for step in 40..48 {
        let lift = knowing[step] / rhythm[step];
        assert!((1.6..2.4).contains(&lift), "step {step}: lifted {lift:.2}");
    }
    // Knowing the event is what gets its steps right, and costs the others nothing.
    let (on_event, unaware_on_event) = (error(&knowing, 40..48), error(&unaware, 40..48));
    assert!(
        on_event < 0.85 * unaware_on_event,
        "on the event's steps: knowing {on_event:.1}, not knowing {unaware_on_event:.1}"
    );
    let others = error(&knowing, 48..season) + error(&knowing, 0..40);
    let unaware_others = error(&unaware, 48..season) + error(&unaware, 0..40);
    assert!(
        others <= 1.05 * unaware_others,
        "elsewhere: knowing {others:.1}, not knowing {unaware_others:.1}"
    );
}
