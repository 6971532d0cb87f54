//! `commerce eval recs`: offline evaluation of the recommendations on an interaction
//! file (and optionally an item file), every model from one leave-last-out split,
//! printed as a table, or as one JSON line with `--json`. `commerce eval forecast`
//! and `commerce eval stays` evaluate on the log ([`crate::forecast_eval`],
//! [`crate::stays_eval`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use recommendations::offline::als::AlsParams;
use recommendations::offline::atomic::{read_interactions, read_items};
use recommendations::offline::evaluate::{evaluate, Report};

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// HR@10, NDCG@10, Recall@10, coverage, intra-list diversity and novelty of
    /// popularity, ItemKNN, ALS, each source alone and the ensemble (with and without
    /// diversity), on one leave-last-out split.
    Recs(RecsArgs),
    /// Backtest the delivery demand forecast on the log (rolling origin, two hours
    /// ahead every two hours): MASE and WAPE per city and for its zones, beside the
    /// seasonal-naive and naive forecasts in the same run.
    Forecast(crate::forecast_eval::ForecastArgs),
    /// The stays ranking against the bookings that followed its searches: replays
    /// the log into a fresh stays model, ranks each search booked from again as of
    /// the position it was ranked at, and prints NDCG@10 (the booked listing
    /// relevant) of the configured weights, of the order shown as recorded and of a
    /// random order, and of a grid of alternative weights: the best point and the
    /// top five (`commerce seed --stays N` writes a history to run it on).
    Stays(crate::stays_eval::StaysEvalArgs),
}

#[derive(Debug, Args)]
pub struct RecsArgs {
    /// Tab-separated `user_id:token item_id:token rating:float timestamp:float`
    /// (RecBole's atomic `.inter` layout; `commerce seed --interactions N` writes one).
    #[arg(long)]
    pub interactions: PathBuf,
    /// Tab-separated items: `item_id:token title:token_seq category:token
    /// shop_id:token tags:token_seq materials:token_seq` (content needs it).
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// Print one JSON line instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The product's knobs, as `serve --recommendations` takes them.
    #[arg(long, default_value = "", value_parser = recommendations::Config::with_overrides)]
    pub recommendations: recommendations::Config,
}

pub async fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Recs(args) => recs(args),
        EvalCommand::Forecast(args) => crate::forecast_eval::run(args).await,
        EvalCommand::Stays(args) => crate::stays_eval::run(args).await,
    }
}

fn open(path: &PathBuf) -> anyhow::Result<std::io::BufReader<std::fs::File>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(std::io::BufReader::new(file))
}

fn recs(args: RecsArgs) -> anyhow::Result<()> {
    let interactions = read_interactions(open(&args.interactions)?)
        .with_context(|| format!("reading {}", args.interactions.display()))?;
    let items = match &args.items {
        Some(path) => {
            read_items(open(path)?).with_context(|| format!("reading {}", path.display()))?
        }
        None => Vec::new(),
    };
    let started = std::time::Instant::now();
    let report = evaluate(
        interactions,
        &items,
        AlsParams::default(),
        &args.recommendations,
    );
    if args.json {
        println!("{}", json(&report));
    } else {
        print!("{}", table(&report));
        println!("evaluated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// One JSON object: the split's sizes and, per model, its figures.
pub fn json(report: &Report) -> serde_json::Value {
    let models: serde_json::Map<String, serde_json::Value> = report
        .models
        .iter()
        .map(|(name, figures)| {
            (
                name.clone(),
                serde_json::to_value(figures).expect("figures are JSON"),
            )
        })
        .collect();
    serde_json::json!({
        "interactions": report.interactions,
        "train_interactions": report.train_interactions,
        "test_users": report.test_users,
        "items": report.items,
        "models": models,
    })
}

/// The figures as a table, with the ratios the targets are stated in.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "{} interactions ({} for training), {} test shoppers, {} items; leave-last-out, full ranking, k = 10\n\n",
        report.interactions, report.train_interactions, report.test_users, report.items
    );
    out.push_str(&format!(
        "{:<28}{:>9}{:>9}{:>9}{:>10}{:>10}{:>9}\n",
        "model", "HR@10", "NDCG@10", "Rec@10", "cover@10", "ILD", "novelty"
    ));
    for (name, f) in &report.models {
        out.push_str(&format!(
            "{:<28}{:>9.4}{:>9.4}{:>9.4}{:>10.4}{:>10.4}{:>9.2}\n",
            name,
            f.hr_at_10,
            f.ndcg_at_10,
            f.recall_at_10,
            f.coverage_at_10,
            f.intra_list_diversity,
            f.novelty
        ));
    }
    let ndcg = |name: &str| report.model(name).map_or(0.0, |f| f.ndcg_at_10);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let ensemble = report.model("ensemble").cloned().unwrap_or_default();
    let plain = report
        .model("ensemble_without_diversity")
        .cloned()
        .unwrap_or_default();
    let knn = report.model("item_knn").cloned().unwrap_or_default();
    out.push_str(&format!(
        "\nensemble NDCG@10: {:.2}× ItemKNN (target ≥ 1.10), {:.2}× popularity (target ≥ 2)\n",
        ratio(ensemble.ndcg_at_10, knn.ndcg_at_10),
        ratio(ensemble.ndcg_at_10, ndcg("popularity"))
    ));
    out.push_str(&format!(
        "diversity: NDCG@10 {:+.1}% (target ≥ −3%), ILD {:+.1}% (target ≥ +20%); coverage@10 {:.2}× ItemKNN (target ≥ 2)\n",
        100.0 * (ratio(ensemble.ndcg_at_10, plain.ndcg_at_10) - 1.0),
        100.0 * (ratio(ensemble.intra_list_diversity, plain.intra_list_diversity) - 1.0),
        ratio(ensemble.coverage_at_10, knn.coverage_at_10)
    ));
    out
}

#[cfg(test)]
mod tests {
    use recommendations::offline::als::AlsParams;
    use recommendations::offline::evaluate::evaluate;

    use crate::seed::interactions::generate;

    /// The small evaluation `make test` runs: the synthetic shoppers have tastes for
    /// collaborative filtering to find, the product's ensemble finds more than
    /// popularity does, and diversity diversifies. (The targets against ItemKNN are
    /// read from `commerce eval recs` on larger sets, in the note.)
    #[test]
    fn on_synthetic_shoppers_the_ensemble_beats_popularity_and_diversity_diversifies() {
        let (items, interactions) = generate(5_000, 42);
        assert_eq!(interactions.len(), 5_000);
        assert_eq!(
            generate(5_000, 42).1,
            interactions,
            "the same seed, the same data"
        );

        let report = evaluate(
            interactions,
            &items,
            AlsParams::default(),
            &recommendations::Config::default(),
        );
        assert!(report.test_users >= 150, "{report:?}");
        let figures = |name: &str| report.model(name).cloned().unwrap();
        for (name, f) in &report.models {
            for value in [
                f.hr_at_10,
                f.ndcg_at_10,
                f.coverage_at_10,
                f.intra_list_diversity,
            ] {
                assert!((0.0..=1.0).contains(&value), "{name}: {f:?}");
            }
            assert!(f.ndcg_at_10 <= f.hr_at_10, "{name}: {f:?}");
        }
        let popularity = figures("popularity");
        let ensemble = figures("ensemble");
        let plain = figures("ensemble_without_diversity");
        assert!(
            figures("item_knn").ndcg_at_10 > 2.0 * popularity.ndcg_at_10,
            "{report:?}"
        );
        assert!(
            figures("als").ndcg_at_10 > 2.0 * popularity.ndcg_at_10,
            "{report:?}"
        );
        assert!(
            ensemble.ndcg_at_10 >= 2.0 * popularity.ndcg_at_10,
            "{report:?}"
        );
        assert!(
            ensemble.intra_list_diversity >= 1.1 * plain.intra_list_diversity,
            "{report:?}"
        );
        assert!(
            ensemble.coverage_at_10 > 10.0 * popularity.coverage_at_10,
            "{report:?}"
        );
    }
}
