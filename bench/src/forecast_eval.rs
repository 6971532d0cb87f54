//! `commerce eval forecast`: the delivery demand forecast backtested on the log.
//!
//! The pricing model is folded from the whole log (as a server would), each city's
//! demand per 15-minute step (its zones together) and each zone's own are cut at
//! rolling origins every two hours from the third week on, and each origin is
//! forecast two hours ahead with only what came before it, by the product's
//! forecaster (`SeasonalAverage`, knowing the scheduled local events), by
//! seasonal-naive (last week's same steps) and by naive (the last value). MASE is
//! scaled by the seasonal-naive error within the history, so a sparse zone never
//! divides by zero (zones whose history never changes are counted apart).

use chrono::Utc;
use clap::Args;
use delivery::outlook::{cells_of, demand_series, event_windows, HORIZON_STEPS};
use delivery::zones::local_step;
use domain::delivery::accuracy::STEPS_PER_WEEK;
use domain::delivery::{naive, seasonal_naive, Accuracy, Backtest, EventWindow, SeasonalAverage};
use serde_json::json;

use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Print one JSON line instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// The three forecasters' accuracy on one series.
struct Scores {
    model: Accuracy,
    seasonal_naive: Accuracy,
    naive: Accuracy,
}

/// Every 8 steps (two hours) from two weeks in, two hours ahead.
fn backtest() -> Backtest {
    Backtest {
        first_origin: 2 * STEPS_PER_WEEK,
        every: HORIZON_STEPS,
        horizon: HORIZON_STEPS,
        season: STEPS_PER_WEEK,
    }
}

fn score(series: &[f64], events: &[EventWindow]) -> Scores {
    let model = SeasonalAverage::weekly();
    let backtest = backtest();
    Scores {
        model: backtest.run(series, &|history: &[f64], horizon: usize| {
            model.forecast_around(history, horizon, events)
        }),
        seasonal_naive: backtest.run(series, &|history: &[f64], horizon: usize| {
            seasonal_naive(history, horizon, STEPS_PER_WEEK)
        }),
        naive: backtest.run(series, &|history: &[f64], horizon: usize| {
            naive(history, horizon)
        }),
    }
}

fn accuracy_json(accuracy: &Accuracy) -> serde_json::Value {
    json!({
        "mase": accuracy.mase,
        "wape": accuracy.wape,
        "origins": accuracy.origins,
        "unscaled": accuracy.unscaled,
    })
}

fn scores_json(scores: &Scores) -> serde_json::Value {
    json!({
        "model": accuracy_json(&scores.model),
        "seasonal_naive": accuracy_json(&scores.seasonal_naive),
        "naive": accuracy_json(&scores.naive),
        "mase_vs_seasonal_naive": ratio(scores.model.mase, scores.seasonal_naive.mase),
    })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// The mean of what the zones scored (each zone's MASE where it has a scale, each
/// zone's WAPE where it had demand), and how many zones counted.
fn mean_of(all: &[Accuracy]) -> Accuracy {
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    Accuracy {
        mase: mean(all.iter().filter_map(|a| a.mase).collect()),
        wape: mean(all.iter().filter_map(|a| a.wape).collect()),
        origins: all.iter().map(|a| a.origins).sum(),
        unscaled: all.iter().filter(|a| a.mase.is_none()).count(),
    }
}

pub async fn run(args: ForecastArgs) -> anyhow::Result<()> {
    let (_lock, backend) = open_exclusive(&args.storage, "eval forecast").await?;
    let started = std::time::Instant::now();
    backend.pricing.catch_up().await?;
    let folded = started.elapsed().as_secs_f64();
    let now = Utc::now();
    let pricing = backend.pricing.clone();
    let report = tokio::task::spawn_blocking(move || {
        pricing.read(|zones| {
            let mut cities = serde_json::Map::new();
            for (city_id, city) in &zones.cities {
                // Whole steps only (the one now running is not over), on the city's
                // wall clock, as the history is kept.
                let until = local_step(city.time_zone, now);
                let cells: Vec<_> = cells_of(zones, city_id).collect();
                let histories: Vec<_> = cells
                    .iter()
                    .filter_map(|c| zones.zone(*c).map(|z| &z.history))
                    .collect();
                let Some((start, series)) = demand_series(&histories, until, i64::MAX / 4) else {
                    continue;
                };
                let city_scores = score(
                    &series,
                    &event_windows(zones, &cells, city.time_zone, start),
                );
                let mut per_zone = (Vec::new(), Vec::new(), Vec::new());
                for cell in &cells {
                    let Some(zone) = zones.zone(*cell) else {
                        continue;
                    };
                    // The zone over the city's span, so every zone has the same origins.
                    let mut own = vec![0.0; series.len()];
                    for (step, demand) in zone.history.range(start..until) {
                        own[(step - start) as usize] += demand;
                    }
                    let scores =
                        score(&own, &event_windows(zones, &[*cell], city.time_zone, start));
                    per_zone.0.push(scores.model);
                    per_zone.1.push(scores.seasonal_naive);
                    per_zone.2.push(scores.naive);
                }
                let zones_scores = Scores {
                    model: mean_of(&per_zone.0),
                    seasonal_naive: mean_of(&per_zone.1),
                    naive: mean_of(&per_zone.2),
                };
                cities.insert(
                    city_id.clone(),
                    json!({
                        "zones": cells.len(),
                        "steps": series.len(),
                        "city": scores_json(&city_scores),
                        "zones_mean": scores_json(&zones_scores),
                    }),
                );
            }
            cities
        })
    })
    .await?
    .0;
    let report = json!({ "cities": report, "fold_seconds": folded });
    if args.json {
        println!("{report}");
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn table(report: &serde_json::Value) -> String {
    let mut out = String::from(
        "city        level       forecaster        MASE    WAPE   origins  MASE vs seasonal-naive\n",
    );
    let number = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |v| format!("{v:.3}"));
    for (city, figures) in report["cities"].as_object().into_iter().flatten() {
        for level in ["city", "zones_mean"] {
            let scores = &figures[level];
            for model in ["model", "seasonal_naive", "naive"] {
                let accuracy = &scores[model];
                let versus = if model == "model" {
                    number(&scores["mase_vs_seasonal_naive"])
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "{city:<11} {level:<11} {model:<16} {:>6} {:>7} {:>9}  {versus}\n",
                    number(&accuracy["mase"]),
                    number(&accuracy["wape"]),
                    accuracy["origins"],
                ));
            }
        }
        out.push_str(&format!(
            "{city:<11} {} zones, {} steps of 15 minutes\n",
            figures["zones"], figures["steps"]
        ));
    }
    out.push_str(&format!(
        "folded the log in {:.1} s\n",
        report["fold_seconds"].as_f64().unwrap_or(0.0)
    ));
    out
}
