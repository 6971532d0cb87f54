//! How good a demand forecast is, for `commerce eval forecast`: its errors against
//! what happened, scaled so a quiet zone compares with a busy one, beside the naive
//! forecasts every model must beat, over a rolling origin (forecast from each point
//! of the past in turn, with only what was known then).

/// 15-minute steps in a week: the season of demand (hour-of-week rhythm).
pub const STEPS_PER_WEEK: usize = 7 * 24 * 4;

/// Weighted absolute percentage error: the absolute errors summed over the actual
/// values summed. `None` when nothing happened (no scale), or the lengths differ.
pub fn wape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    if actual.len() != forecast.len() {
        return None;
    }
    let total: f64 = actual.iter().map(|a| a.abs()).sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    Some(absolute_errors(actual, forecast) / total)
}

/// Mean absolute scaled error: the forecast's mean absolute error over the mean
/// absolute error the seasonal-naive forecast made one step ahead within `history`.
/// `None` when the history is too short to have that error, when that error is zero
/// (a zone where nothing ever changed gives no scale, and is left out rather than
/// divided by zero), or when the lengths differ.
pub fn mase(history: &[f64], actual: &[f64], forecast: &[f64], season: usize) -> Option<f64> {
    if actual.len() != forecast.len() || actual.is_empty() || season == 0 {
        return None;
    }
    if history.len() <= season {
        return None;
    }
    let in_sample: f64 = history
        .iter()
        .skip(season)
        .zip(history)
        .map(|(now, season_before)| (now - season_before).abs())
        .sum();
    let scale = in_sample / (history.len() - season) as f64;
    if scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    Some(absolute_errors(actual, forecast) / actual.len() as f64 / scale)
}

/// The seasonal-naive forecast: each step as it was one season earlier. `None`
/// when the history is shorter than a season.
pub fn seasonal_naive(history: &[f64], horizon: usize, season: usize) -> Option<Vec<f64>> {
    if season == 0 || history.len() < season {
        return None;
    }
    let last_season = &history[history.len() - season..];
    Some((0..horizon).map(|h| last_season[h % season]).collect())
}

/// The naive forecast: the last value, held. `None` without a history.
pub fn naive(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    history.last().map(|last| vec![*last; horizon])
}

/// A forecaster under test: from the history known at an origin, the next
/// `horizon` steps (`None` when it cannot forecast from so little).
pub trait Forecaster {
    fn forecast(&self, history: &[f64], horizon: usize) -> Option<Vec<f64>>;
}

impl<F: Fn(&[f64], usize) -> Option<Vec<f64>>> Forecaster for F {
    fn forecast(&self, history: &[f64], horizon: usize) -> Option<Vec<f64>> {
        self(history, horizon)
    }
}

/// Where a rolling-origin backtest forecasts from: the first origin, the steps
/// between origins, the steps ahead, and the season that scales MASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backtest {
    pub first_origin: usize,
    pub every: usize,
    pub horizon: usize,
    pub season: usize,
}

/// A backtest's result: MASE averaged over the origins that have a scale, WAPE
/// over every forecast step pooled, and how many origins counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub mase: Option<f64>,
    pub wape: Option<f64>,
    /// Origins forecast from.
    pub origins: usize,
    /// Origins left out of MASE (no scale: nothing changed in their history).
    pub unscaled: usize,
}

impl Backtest {
    /// Forecast `series` from each origin with only the values before it, and score
    /// the forecasts against what followed.
    pub fn run(&self, series: &[f64], model: &dyn Forecaster) -> Accuracy {
        let (mut mase_sum, mut scaled, mut unscaled, mut origins) = (0.0, 0usize, 0usize, 0usize);
        let (mut actual_all, mut forecast_all) = (Vec::new(), Vec::new());
        let mut origin = self.first_origin.max(1);
        while self.horizon > 0 && origin + self.horizon <= series.len() {
            let history = &series[..origin];
            let actual = &series[origin..origin + self.horizon];
            if let Some(forecast) = model
                .forecast(history, self.horizon)
                .filter(|f| f.len() == self.horizon)
            {
                origins += 1;
                match mase(history, actual, &forecast, self.season) {
                    Some(value) => {
                        mase_sum += value;
                        scaled += 1;
                    }
                    None => unscaled += 1,
                }
                actual_all.extend_from_slice(actual);
                forecast_all.extend(forecast);
            }
            origin += self.every.max(1);
        }
        Accuracy {
            mase: (scaled > 0).then(|| mase_sum / scaled as f64),
            wape: wape(&actual_all, &forecast_all),
            origins,
            unscaled,
        }
    }
}

fn absolute_errors(actual: &[f64], forecast: &[f64]) -> f64 {
    actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum()
}
