//! `commerce eval stays`: the stays ranking measured against the bookings that
//! followed the searches it ranked, on the log.
//!
//! A first pass over the log finds every recorded search (`StaySearchPerformed`) and
//! every booking that names one (`StayHeld` or `StayRequested` with its `search_id`):
//! a search counts when a later booking names it, the booked listing(s) being the
//! relevant ones. A second pass replays the log into a fresh `StaysModel`, in
//! position order through the same `InMemory::apply` a server's follower uses, and
//! ranks each counted search again on the model as it stood at the position the
//! search was ranked at (`ranked_at`: the booking came later, so it has not changed
//! the calendar yet), with every candidate and its five component values. From
//! those, NDCG@10 for the configured weights, for the order the search showed
//! (`shown`, as recorded), for a random order (its expected value), and for every
//! point of a grid of alternative weights (each weight from `--grid`, normalised to
//! sum 1; a candidate's score is the same weighted sum the model computes, ties by
//! listing id).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use clap::Args;
use event_log::{EventSource, LogRecord};
use event_schemas::stays::{
    ListingEvent, StayQuery, StaySearchEvent, LISTING_AGGREGATE, STAY_SEARCH_AGGREGATE,
};
use projections::runtime::InMemory;
use serde_json::json;
use stays::config::RankingWeights;
use stays::search::{SearchRequest, COMPONENTS};
use stays::{StaysConfig, StaysModel};

use app::config::StorageArgs;
use app::server::open_exclusive;

/// Records read from the log at a time.
const READ_BATCH: i64 = 10_000;
/// The cut-off of NDCG.
pub const K: usize = 10;

#[derive(Debug, Args)]
pub struct StaysEvalArgs {
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// The values each of the five weights takes in the grid (comma-separated); each
    /// point is normalised to sum 1, and points that normalise alike are one.
    #[arg(long, default_value = "0,0.1,0.2,0.3,0.4", value_delimiter = ',')]
    pub grid: Vec<f64>,
    /// Evaluate at most this many searches booked from, evenly spread over the log
    /// (0: all of them). The default keeps a year of 2,000 listings (about 57,000
    /// searches booked from) well within a minute.
    #[arg(long, default_value_t = 20_000)]
    pub max_searches: usize,
    /// Grid points to list, best first.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// A search as recorded.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    position: i64,
    ranked_at: i64,
    search_id: String,
    user_id: Option<String>,
    query: StayQuery,
    shown: Vec<String>,
}

/// A search booked from, to be ranked again at `ranked_at`.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The position the model must reflect (before the search's own record).
    ranked_at: i64,
    search: Recorded,
    /// The listings booked from it.
    booked: Vec<String>,
}

/// The first pass: searches, and the listings booked from each.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    records: u64,
    searches: Vec<Recorded>,
    booked: HashMap<String, BTreeSet<String>>,
    bookings: u64,
}

/// What the first pass found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Found {
    records: u64,
    searches: usize,
    booked_searches: usize,
    bookings: u64,
}

impl Scan {
    pub(crate) fn take(&mut self, record: &LogRecord) -> anyhow::Result<()> {
        self.records += 1;
        let payload = record.payload.as_str();
        if record.aggregate_type == STAY_SEARCH_AGGREGATE
            && payload.starts_with("{\"StaySearchPerformed\"")
        {
            if let StaySearchEvent::StaySearchPerformed {
                search_id,
                user_id,
                query,
                shown,
                ranked_at,
            } = record.decode_as::<StaySearchEvent>()?
            {
                self.searches.push(Recorded {
                    position: record.position,
                    ranked_at,
                    search_id,
                    user_id,
                    query,
                    shown,
                });
            }
        } else if record.aggregate_type == LISTING_AGGREGATE
            && (payload.starts_with("{\"StayHeld\"") || payload.starts_with("{\"StayRequested\""))
        {
            if let ListingEvent::StayHeld {
                listing_id, stay, ..
            }
            | ListingEvent::StayRequested {
                listing_id, stay, ..
            } = record.decode_as::<ListingEvent>()?
            {
                if let Some(search_id) = stay.search_id {
                    // A request later held is one booking.
                    if self.booked.entry(search_id).or_default().insert(listing_id) {
                        self.bookings += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The searches booked from, in the order the replay reaches them (at most
    /// `max`, evenly spread, when `max` is above 0).
    pub(crate) fn cases(self, max: usize) -> (Vec<Case>, Found) {
        let mut found = Found {
            records: self.records,
            searches: self.searches.len(),
            booked_searches: 0,
            bookings: self.bookings,
        };
        let mut booked = self.booked;
        let mut cases: Vec<Case> = self
            .searches
            .into_iter()
            .filter_map(|search| {
                let listings = booked.remove(&search.search_id)?;
                // A search is ranked before it is recorded; a position that says
                // otherwise is read as the one just before it.
                let ranked_at = if (0..search.position).contains(&search.ranked_at) {
                    search.ranked_at
                } else {
                    search.position - 1
                };
                Some(Case {
                    ranked_at,
                    search,
                    booked: listings.into_iter().collect(),
                })
            })
            .collect();
        found.booked_searches = cases.len();
        cases.sort_by_key(|c| (c.ranked_at, c.search.position));
        if max > 0 && cases.len() > max {
            let all = cases.len();
            let mut kept = Vec::with_capacity(max);
            let mut cases = cases.into_iter().enumerate();
            for n in 0..max {
                let wanted = n * all / max;
                for (i, case) in cases.by_ref() {
                    if i == wanted {
                        kept.push(case);
                        break;
                    }
                }
            }
            return (kept, found);
        }
        (cases, found)
    }
}

/// A search ranked again: every candidate in the configured order, with its
/// component values, and where the booked listings are.
#[derive(Debug, Clone)]
pub(crate) struct Ranked {
    ids: Vec<String>,
    values: Vec<[f64; 5]>,
    /// Indexes into `ids` of the booked listings among the candidates.
    relevant: Vec<usize>,
    /// Listings booked from the search (found among the candidates or not).
    booked: usize,
    /// Ranks (from 1) of the booked listings in what the search showed.
    shown_ranks: Vec<usize>,
}

/// The second pass: the model as of each case's position.
pub(crate) struct Replay {
    model: StaysModel,
    cases: VecDeque<Case>,
    weights: RankingWeights,
}

impl Replay {
    pub(crate) fn new(cases: Vec<Case>) -> Self {
        let config = StaysConfig::default();
        Self {
            model: StaysModel::new(config),
            cases: cases.into(),
            weights: config.weights,
        }
    }

    /// Take the next records (in position order), ranking every case whose
    /// position the model reaches on the way.
    pub(crate) fn take(
        &mut self,
        records: &[LogRecord],
        ranked: &mut impl FnMut(Ranked),
    ) -> anyhow::Result<()> {
        let mut applied = 0;
        for (i, record) in records.iter().enumerate() {
            while self
                .cases
                .front()
                .is_some_and(|case| case.ranked_at < record.position)
            {
                self.model.apply(&records[applied..i])?;
                applied = i;
                let case = self.cases.pop_front().expect("a case");
                ranked(self.rank(case));
            }
        }
        self.model.apply(&records[applied..])?;
        Ok(())
    }

    /// Rank the cases the log did not reach past.
    pub(crate) fn finish(&mut self, ranked: &mut impl FnMut(Ranked)) {
        while let Some(case) = self.cases.pop_front() {
            ranked(self.rank(case));
        }
    }

    fn rank(&self, case: Case) -> Ranked {
        let answer = self.model.search(&SearchRequest {
            query: case.search.query,
            user_id: case.search.user_id,
            limit: usize::MAX,
            offset: 0,
            weights: Some(self.weights),
        });
        let mut values = Vec::with_capacity(answer.hits.len());
        let mut ids = Vec::with_capacity(answer.hits.len());
        for hit in answer.hits {
            let mut v = [0.0; 5];
            for (slot, component) in v.iter_mut().zip(&hit.breakdown) {
                *slot = component.value;
            }
            values.push(v);
            ids.push(hit.listing_id);
        }
        let relevant = case
            .booked
            .iter()
            .filter_map(|b| ids.iter().position(|id| id == b))
            .collect();
        let shown_ranks = case
            .booked
            .iter()
            .filter_map(|b| case.search.shown.iter().position(|id| id == b))
            .map(|i| i + 1)
            .collect();
        Ranked {
            ids,
            values,
            relevant,
            booked: case.booked.len(),
            shown_ranks,
        }
    }
}

/// 1 / log2(rank + 1).
fn gain(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// NDCG@10 of a list whose relevant items sit at `ranks` (from 1), of `relevant`
/// relevant items in all (binary relevance).
pub fn ndcg_at_10(ranks: &[usize], relevant: usize) -> f64 {
    let ideal: f64 = (1..=relevant.min(K)).map(gain).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    ranks
        .iter()
        .filter(|r| (1..=K).contains(*r))
        .map(|r| gain(*r))
        .sum::<f64>()
        / ideal
}

/// The expected NDCG@10 of a random order of `candidates` items, `found` of them
/// relevant, of `relevant` relevant in all.
pub fn random_ndcg_at_10(candidates: usize, found: usize, relevant: usize) -> f64 {
    let ideal: f64 = (1..=relevant.min(K)).map(gain).sum();
    if ideal == 0.0 || candidates == 0 {
        return 0.0;
    }
    // Each relevant item is at each rank with probability 1 / candidates.
    let per_item: f64 = (1..=candidates.min(K)).map(gain).sum::<f64>() / candidates as f64;
    found as f64 * per_item / ideal
}

/// A candidate's score: the weighted sum, as the model adds it.
fn score(weights: &[f64; 5], values: &[f64; 5]) -> f64 {
    weights.iter().zip(values).map(|(w, v)| w * v).sum()
}

/// The rank (from 1) of candidate `target` when ordered by `weights` (best first,
/// ties by id), or `cap + 1` once it is known to be below `cap`.
pub(crate) fn rank_under(
    weights: &[f64; 5],
    ids: &[String],
    values: &[[f64; 5]],
    target: usize,
    cap: usize,
) -> usize {
    let own = score(weights, &values[target]);
    let mut rank = 1;
    for (c, v) in values.iter().enumerate() {
        if c == target {
            continue;
        }
        let s = score(weights, v);
        if s > own || (s == own && ids[c] < ids[target]) {
            rank += 1;
            if rank > cap {
                return cap + 1;
            }
        }
    }
    rank
}

/// The grid: every combination of `values` for the five weights, normalised to sum
/// 1, each direction once (the all-zero one left out).
pub fn grid(values: &[f64]) -> Vec<[f64; 5]> {
    let mut values: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let n = values.len();
    let mut points: Vec<[f64; 5]> = Vec::new();
    let mut seen = BTreeSet::new();
    for code in 0..n.pow(5) {
        let mut w = [0.0; 5];
        let mut rest = code;
        for slot in w.iter_mut() {
            *slot = values[rest % n];
            rest /= n;
        }
        let total: f64 = w.iter().sum();
        if total <= 0.0 {
            continue;
        }
        for slot in w.iter_mut() {
            *slot /= total;
        }
        let key = w.map(|x| (x * 1e9).round() as i64);
        if seen.insert(key) {
            points.push(w);
        }
    }
    points
}

/// Sums over the searches evaluated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) searches: u64,
    candidates: u64,
    /// Booked listings not among the candidates ranked again.
    missing: u64,
    pub(crate) current: f64,
    pub(crate) logged: f64,
    pub(crate) random: f64,
    /// Searches whose booked listing the configured weights put in the top 10.
    current_hits: u64,
    /// Searches whose top 10 as shown and as ranked again are the same listings.
    same_top: u64,
    pub(crate) grid: Vec<f64>,
}

impl Tally {
    pub(crate) fn new(points: usize) -> Self {
        Self {
            grid: vec![0.0; points],
            ..Self::default()
        }
    }

    pub(crate) fn add(&mut self, ranked: &Ranked, grid: &[[f64; 5]], shown_top: Option<bool>) {
        self.searches += 1;
        self.candidates += ranked.ids.len() as u64;
        self.missing += (ranked.booked - ranked.relevant.len()) as u64;
        let current: Vec<usize> = ranked.relevant.iter().map(|i| i + 1).collect();
        self.current += ndcg_at_10(&current, ranked.booked);
        self.current_hits += u64::from(current.iter().any(|r| *r <= K));
        self.logged += ndcg_at_10(&ranked.shown_ranks, ranked.booked);
        self.random += random_ndcg_at_10(ranked.ids.len(), ranked.relevant.len(), ranked.booked);
        self.same_top += u64::from(shown_top.unwrap_or(false));
        for (sum, weights) in self.grid.iter_mut().zip(grid) {
            let ranks: Vec<usize> = ranked
                .relevant
                .iter()
                .map(|t| rank_under(weights, &ranked.ids, &ranked.values, *t, K))
                .collect();
            *sum += ndcg_at_10(&ranks, ranked.booked);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.searches += other.searches;
        self.candidates += other.candidates;
        self.missing += other.missing;
        self.current += other.current;
        self.logged += other.logged;
        self.random += other.random;
        self.current_hits += other.current_hits;
        self.same_top += other.same_top;
        for (a, b) in self.grid.iter_mut().zip(other.grid) {
            *a += b;
        }
    }

    fn mean(&self, sum: f64) -> f64 {
        if self.searches == 0 {
            0.0
        } else {
            sum / self.searches as f64
        }
    }
}

/// A search ranked again, with whether its shown top 10 is the re-ranked top 10.
struct Work {
    ranked: Ranked,
    same_top: bool,
}

fn same_top(ranked: &Ranked, shown: &[String]) -> bool {
    let n = shown.len().min(K);
    ranked.ids.len() >= n && ranked.ids[..n] == shown[..n]
}

pub async fn run(args: StaysEvalArgs) -> anyhow::Result<()> {
    let points = grid(&args.grid);
    if points.is_empty() {
        anyhow::bail!("--grid needs a value above 0");
    }
    let (_lock, backend) = open_exclusive(&args.storage, "eval stays").await?;
    let db = backend.commands.store().database().clone();
    let started = Instant::now();

    let mut scan = Scan::default();
    let mut after = 0;
    loop {
        let records = db.read_after(after, READ_BATCH).await?;
        let Some(last) = records.last() else { break };
        after = last.position;
        for record in &records {
            scan.take(record)?;
        }
    }
    let (cases, found) = scan.cases(args.max_searches);
    let scanned = started.elapsed().as_secs_f64();
    let evaluating = cases.len();
    if !args.json {
        eprintln!(
            "read {} records in {scanned:.1} s: {} searches, {} booked from; ranking {evaluating} again on {} weightings",
            found.records, found.searches, found.booked_searches, points.len() + 1
        );
    }

    // Workers score what the replay ranks, beside it.
    let points = Arc::new(points);
    let (send, receive) = mpsc::sync_channel::<Work>(1_024);
    let receive = Arc::new(Mutex::new(receive));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let receive = receive.clone();
            let points = points.clone();
            std::thread::spawn(move || {
                let mut tally = Tally::new(points.len());
                loop {
                    let next = receive.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(work) = next else { break };
                    tally.add(&work.ranked, &points, Some(work.same_top));
                }
                tally
            })
        })
        .collect();
    let mut replay = Replay::new(cases);
    // The shown lists travel beside the cases, in the order they are ranked.
    let mut order: VecDeque<Vec<String>> = replay
        .cases
        .iter()
        .map(|c| c.search.shown.clone())
        .collect();
    let mut forward = |ranked: Ranked| {
        let shown = order.pop_front().unwrap_or_default();
        let same = same_top(&ranked, &shown);
        // A worker that died leaves the others to finish; the count shows it.
        let _ = send.send(Work {
            ranked,
            same_top: same,
        });
    };
    let mut after = 0;
    loop {
        let records = db.read_after(after, READ_BATCH).await?;
        let Some(last) = records.last() else { break };
        after = last.position;
        tokio::task::block_in_place(|| replay.take(&records, &mut forward))?;
    }
    replay.finish(&mut forward);
    // The workers end once every case is sent.
    drop(send);
    let mut tally = Tally::new(points.len());
    for worker in workers {
        let part = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a scoring thread failed"))?;
        tally.merge(part);
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = report(&tally, &found, &points, &args, seconds);
    if args.json {
        println!("{report}");
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn weights_json(w: &[f64; 5]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = COMPONENTS
        .iter()
        .zip(w)
        .map(|(name, w)| (name.to_string(), json!((w * 1e4).round() / 1e4)))
        .collect();
    serde_json::Value::Object(map)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// One JSON object with every figure.
fn report(
    tally: &Tally,
    found: &Found,
    points: &[[f64; 5]],
    args: &StaysEvalArgs,
    seconds: f64,
) -> serde_json::Value {
    let mut by_ndcg: Vec<(f64, &[f64; 5])> = tally
        .grid
        .iter()
        .map(|sum| tally.mean(*sum))
        .zip(points)
        .collect();
    by_ndcg.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<serde_json::Value> = by_ndcg
        .iter()
        .take(args.top.max(1))
        .map(|(ndcg, w)| json!({ "weights": weights_json(w), "ndcg_at_10": round4(*ndcg) }))
        .collect();
    let current = tally.mean(tally.current);
    let best = by_ndcg.first().map_or(0.0, |b| b.0);
    let worst = by_ndcg.last().map_or(0.0, |b| b.0);
    json!({
        "records": found.records,
        "searches_recorded": found.searches,
        "searches_booked_from": found.booked_searches,
        "bookings_from_search": found.bookings,
        "searches_evaluated": tally.searches,
        "mean_candidates": round4(if tally.searches == 0 { 0.0 } else { tally.candidates as f64 / tally.searches as f64 }),
        "booked_not_among_candidates": tally.missing,
        "shown_top_10_same_as_ranked_again": tally.same_top,
        "current_weights": weights_json(&StaysConfig::default().weights.as_array()),
        "ndcg_at_10": {
            "current": round4(current),
            "logged": round4(tally.mean(tally.logged)),
            "random": round4(tally.mean(tally.random)),
            "best_grid": round4(best),
            "worst_grid": round4(worst),
        },
        "current_booked_in_top_10": tally.current_hits,
        "best_vs_current": round4(if current > 0.0 { best / current } else { 0.0 }),
        "best": top.first().cloned().unwrap_or_default(),
        "top": top,
        "grid_values": args.grid,
        "grid_points": points.len(),
        "seconds": (seconds * 10.0).round() / 10.0,
    })
}

fn weights_text(w: &serde_json::Value) -> String {
    COMPONENTS
        .iter()
        .map(|name| format!("{name} {:.2}", w[name].as_f64().unwrap_or(0.0)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(r: &serde_json::Value) -> String {
    let n = &r["ndcg_at_10"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let mut out = format!(
        "{} searches recorded, {} booked from ({} bookings); {} ranked again at their own log position, {:.0} candidates on average ({} booked listings not among them; {} searches show the same top 10 as ranked again)\n\n",
        r["searches_recorded"],
        r["searches_booked_from"],
        r["bookings_from_search"],
        r["searches_evaluated"],
        f(&r["mean_candidates"]),
        r["booked_not_among_candidates"],
        r["shown_top_10_same_as_ranked_again"],
    );
    out.push_str("NDCG@10, the booked listing relevant:\n");
    out.push_str(&format!(
        "  current weights ({}): {:.4}  (booked in the top 10: {} searches)\n",
        weights_text(&r["current_weights"]),
        f(&n["current"]),
        r["current_booked_in_top_10"]
    ));
    out.push_str(&format!(
        "  logged order (shown as recorded):   {:.4}\n",
        f(&n["logged"])
    ));
    out.push_str(&format!(
        "  random order (expected):            {:.4}\n",
        f(&n["random"])
    ));
    out.push_str(&format!(
        "  best grid point:                    {:.4}  ({:.2}x the current weights; worst grid point {:.4})\n\n",
        f(&n["best_grid"]),
        f(&r["best_vs_current"]),
        f(&n["worst_grid"])
    ));
    out.push_str(&format!(
        "top {} of {} grid points (each weight from {}, normalised):\n",
        r["top"].as_array().map_or(0, Vec::len),
        r["grid_points"],
        r["grid_values"]
    ));
    for point in r["top"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:.4}  {}\n",
            f(&point["ndcg_at_10"]),
            weights_text(&point["weights"])
        ));
    }
    out.push_str(&format!("evaluated in {:.1} s\n", f(&r["seconds"])));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::stays::generate;
    use crate::seed::stays::tests::{as_records, small_plan};

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("l{i:02}")).collect()
    }

    #[test]
    fn ndcg_on_hand_made_lists() {
        // Booked at rank 1: 1; at rank 3: 1 / log2(4) = 0.5; below 10 or not found: 0.
        assert_eq!(ndcg_at_10(&[1], 1), 1.0);
        assert!((ndcg_at_10(&[3], 1) - 0.5).abs() < 1e-12);
        assert_eq!(ndcg_at_10(&[11], 1), 0.0);
        assert_eq!(ndcg_at_10(&[], 1), 0.0);
        // Two booked, at 1 and 3: (1 + 0.5) / (1 + 1 / log2(3)).
        let expected = 1.5 / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at_10(&[1, 3], 2) - expected).abs() < 1e-12);
        // A random order of one candidate is that candidate at rank 1.
        assert_eq!(random_ndcg_at_10(1, 1, 1), 1.0);
        // Of 20, the booked one is in the top 10 half the time.
        let mean: f64 = (1..=20).map(|r| ndcg_at_10(&[r], 1)).sum::<f64>() / 20.0;
        assert!((random_ndcg_at_10(20, 1, 1) - mean).abs() < 1e-12);
    }

    #[test]
    fn the_rank_under_a_weighting_is_the_place_in_the_full_order() {
        // Given candidates with component values, when the booked one's rank is
        // counted, then it is its place when all are sorted by score (ties by id).
        let ids = ids(30);
        let values: Vec<[f64; 5]> = (0..30)
            .map(|i| {
                let x = i as f64;
                [
                    (x * 0.37).sin().abs(),
                    (x * 0.11).cos().abs(),
                    0.5,
                    (i % 7) as f64 / 7.0,
                    (i % 3) as f64 / 3.0,
                ]
            })
            .collect();
        for weights in grid(&[0.0, 0.5, 1.0]) {
            let mut order: Vec<usize> = (0..30).collect();
            order.sort_by(|a, b| {
                score(&weights, &values[*b])
                    .total_cmp(&score(&weights, &values[*a]))
                    .then(ids[*a].cmp(&ids[*b]))
            });
            for target in [0, 7, 19, 29] {
                let place = order.iter().position(|c| *c == target).unwrap() + 1;
                assert_eq!(rank_under(&weights, &ids, &values, target, 100), place);
                assert_eq!(
                    rank_under(&weights, &ids, &values, target, K),
                    place.min(K + 1)
                );
            }
        }
        // The default grid: 5^5 - 1 combinations, fewer directions.
        let points = grid(&[0.0, 0.1, 0.2, 0.3, 0.4]);
        assert!(
            points.len() > 2_000 && points.len() < 3_124,
            "{}",
            points.len()
        );
        assert!(points
            .iter()
            .all(|w| (w.iter().sum::<f64>() - 1.0).abs() < 1e-9));
    }

    #[test]
    fn replaying_a_seeded_history_ranks_each_search_as_it_was_shown() {
        // Given a seeded history (ranked by the model with the configured weights),
        // when it is replayed and each search booked from is ranked again at its
        // position, then the configured weights score what the logged order scores
        // and both beat a random order.
        let (events, world) = generate(small_plan(21)).unwrap();
        let records = as_records(&events);
        let mut scan = Scan::default();
        for record in &records {
            scan.take(record).unwrap();
        }
        let (cases, found) = scan.cases(0);
        assert_eq!(found.searches as u64, world.summary.searches);
        assert!(found.booked_searches > 200, "{found:?}");
        let shown: Vec<Vec<String>> = cases.iter().map(|c| c.search.shown.clone()).collect();
        let points = grid(&[0.0, 0.5, 1.0]);
        let mut tally = Tally::new(points.len());
        let mut replay = Replay::new(cases);
        let mut n = 0;
        let mut score = |ranked: Ranked| {
            let same = same_top(&ranked, &shown[n]);
            n += 1;
            tally.add(&ranked, &points, Some(same));
        };
        for chunk in records.chunks(997) {
            replay.take(chunk, &mut score).unwrap();
        }
        replay.finish(&mut score);
        assert_eq!(tally.searches as usize, found.booked_searches);
        assert_eq!(tally.missing, 0);
        assert!(
            tally.same_top as f64 >= 0.98 * tally.searches as f64,
            "{tally:?}"
        );
        let (current, logged, random) = (
            tally.mean(tally.current),
            tally.mean(tally.logged),
            tally.mean(tally.random),
        );
        assert!((current - logged).abs() < 0.01, "{current} vs {logged}");
        assert!(current > random, "{current} vs {random}");
    }
}
