//! A mixed stock workload from many concurrent clients, and the model that says what
//! the server must show afterwards.
//!
//! The server serialises the commands of one stock in an order the clients cannot see,
//! so the model does not re-decide commands: it folds the *accepted* ones (2xx), whose
//! effects on on-hand and held are plain sums while no count (adjustment) runs
//! concurrently. Counts happen in phases of their own, before and after.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{register_warehouses, Api, Rng};

pub const WAREHOUSES: [&str; 3] = ["wh-ams", "wh-ber", "wh-par"];

pub fn skus(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("sku-{i:02}")).collect()
}

pub fn stock_path(sku: &str, warehouse_id: &str) -> String {
    format!("/v1/stock/{sku}/{warehouse_id}")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub on_hand: i64,
    pub held: i64,
}

impl Levels {
    pub fn available(&self) -> i64 {
        (self.on_hand - self.held).max(0)
    }
}

/// The expected levels per (sku, warehouse), and the highest position any accepted
/// command answered with.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub stocks: BTreeMap<(String, String), Levels>,
    pub max_position: i64,
}

impl Model {
    pub fn keys(&self) -> Vec<(String, String)> {
        self.stocks.keys().cloned().collect()
    }

    pub fn skus(&self) -> Vec<String> {
        let mut skus: Vec<String> = self.stocks.keys().map(|(s, _)| s.clone()).collect();
        skus.dedup();
        skus
    }

    fn saw(&mut self, position: i64) {
        self.max_position = self.max_position.max(position);
    }
}

/// The position of a command answer, after checking its levels are consistent.
#[track_caller]
pub fn check_levels(answer: &Value) -> i64 {
    // Levels are whole numbers: a negative one does not parse as u64.
    let level = |name: &str| {
        answer[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} is not a whole number: {answer}"))
    };
    let (on_hand, held, available) = (level("on_hand"), level("held"), level("available"));
    assert_eq!(
        available,
        on_hand.saturating_sub(held),
        "available: {answer}"
    );
    answer["position"].as_i64().expect("position")
}

/// Register the warehouses and count an opening quantity into every stock.
pub async fn open_stock(api: &Api, skus: &[String], seed: u64) -> Model {
    let mut model = Model::default();
    model.saw(register_warehouses(api, &WAREHOUSES).await);
    let mut rng = Rng::new(seed);
    let counts: Vec<(String, String, u64)> = skus
        .iter()
        .flat_map(|sku| WAREHOUSES.iter().map(move |w| (sku.clone(), w.to_string())))
        .map(|(sku, w)| (sku, w, rng.range(0, 24)))
        .collect();
    let answers = join_all(counts.iter().map(|(sku, w, count)| async move {
        let body = json!({"new_quantity": count, "reason": "opening count"});
        let answer = api
            .post(&format!("{}/adjustments", stock_path(sku, w)), &body)
            .await;
        answer.expect(StatusCode::OK)
    }))
    .await;
    for ((sku, w, count), answer) in counts.iter().zip(answers) {
        model.saw(check_levels(&answer));
        assert_eq!(answer["on_hand"], *count, "{answer}");
        assert_eq!(answer["held"], 0, "{answer}");
        model.stocks.insert(
            (sku.clone(), w.clone()),
            Levels {
                on_hand: *count as i64,
                held: 0,
            },
        );
    }
    model
}

/// How many clients run how many commands each.
#[derive(Debug, Clone)]
pub struct Workload {
    pub clients: usize,
    pub commands_per_client: usize,
    pub seed: u64,
    /// Makes hold ids unique across workloads run on one server.
    pub tag: &'static str,
}

/// Outcomes by command kind.
#[derive(Debug, Default)]
pub struct Tally {
    pub accepted: BTreeMap<&'static str, u64>,
    pub refused: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn commands(&self) -> u64 {
        self.accepted.values().sum::<u64>() + self.refused.values().sum::<u64>()
    }
}

/// What one client saw accepted.
#[derive(Default)]
struct ClientResult {
    deltas: BTreeMap<usize, Levels>,
    max_position: i64,
    tally: Tally,
}

/// Run the workload's clients concurrently and fold what they saw accepted into `model`.
pub async fn run(api: &Api, model: &mut Model, workload: &Workload) -> Tally {
    let stocks = Arc::new(model.keys());
    let clients = (0..workload.clients).map(|client| {
        let api = api.clone();
        let stocks = stocks.clone();
        let workload = workload.clone();
        tokio::spawn(async move { run_client(&api, &stocks, client, &workload).await })
    });
    let mut tally = Tally::default();
    for result in join_all(clients).await {
        let result = result.expect("a client task panicked");
        model.saw(result.max_position);
        for (stock, delta) in result.deltas {
            let levels = model.stocks.get_mut(&stocks[stock]).expect("a known stock");
            levels.on_hand += delta.on_hand;
            levels.held += delta.held;
        }
        for (kind, n) in result.tally.accepted {
            *tally.accepted.entry(kind).or_default() += n;
        }
        for (kind, n) in result.tally.refused {
            *tally.refused.entry(kind).or_default() += n;
        }
    }
    tally
}

/// One client: a deterministic random mix of receipts, sales from free stock and from
/// its own holds, holds (some expiring in an hour), releases, and reads of its writes.
async fn run_client(
    api: &Api,
    stocks: &[(String, String)],
    client: usize,
    workload: &Workload,
) -> ClientResult {
    let mut rng = Rng::new(workload.seed ^ ((client as u64 + 1) * 0x0100_0000_01b3));
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // This client's open holds: (stock, hold id, units still held).
    let mut holds: Vec<(usize, String, i64)> = Vec::new();
    let mut result = ClientResult::default();
    for n in 0..workload.commands_per_client {
        let mut roll = rng.below(100);
        if roll >= 75 && holds.is_empty() {
            roll = 0;
        }
        let (kind, stock, answer, delta) = match roll {
            0..=29 => {
                let stock = rng.below(stocks.len());
                let quantity = rng.range(1, 6);
                let path = format!(
                    "{}/receipts",
                    stock_path(&stocks[stock].0, &stocks[stock].1)
                );
                let answer = api.post(&path, &json!({"quantity": quantity})).await;
                let delta = Levels {
                    on_hand: quantity as i64,
                    held: 0,
                };
                ("receive", stock, answer, delta)
            }
            30..=54 => {
                let stock = rng.below(stocks.len());
                let quantity = rng.range(1, 8);
                let path = format!("{}/sales", stock_path(&stocks[stock].0, &stocks[stock].1));
                let body = json!({"quantity": quantity, "order_id": format!("o-{}-{client}-{n}", workload.tag)});
                let answer = api.post(&path, &body).await;
                let delta = Levels {
                    on_hand: -(quantity as i64),
                    held: 0,
                };
                ("sell", stock, answer, delta)
            }
            55..=74 => {
                let stock = rng.below(stocks.len());
                let quantity = rng.range(1, 5);
                let hold_id = format!("{}-c{client}-h{n}", workload.tag);
                let mut body = json!({"hold_id": hold_id, "quantity": quantity});
                if rng.below(2) == 0 {
                    body["expires_at"] = json!(expires_at);
                }
                let path = format!("{}/holds", stock_path(&stocks[stock].0, &stocks[stock].1));
                let answer = api.post(&path, &body).await;
                if answer.status == StatusCode::CREATED {
                    holds.push((stock, hold_id, quantity as i64));
                }
                let delta = Levels {
                    on_hand: 0,
                    held: quantity as i64,
                };
                ("hold", stock, answer, delta)
            }
            75..=89 => {
                let which = rng.below(holds.len());
                let (stock, hold_id, remaining) = holds[which].clone();
                let quantity = rng.range(1, remaining as u64) as i64;
                let path = format!("{}/sales", stock_path(&stocks[stock].0, &stocks[stock].1));
                let answer = api
                    .post(&path, &json!({"quantity": quantity, "hold_id": hold_id}))
                    .await;
                // Selling from one's own open hold never depends on the other clients.
                answer.expect(StatusCode::OK);
                if quantity == remaining {
                    holds.swap_remove(which);
                } else {
                    holds[which].2 -= quantity;
                }
                let delta = Levels {
                    on_hand: -quantity,
                    held: -quantity,
                };
                ("sell_from_hold", stock, answer, delta)
            }
            _ => {
                let which = rng.below(holds.len());
                let (stock, hold_id, remaining) = holds.swap_remove(which);
                let path = format!(
                    "{}/holds/{hold_id}/release",
                    stock_path(&stocks[stock].0, &stocks[stock].1)
                );
                // The body is optional: leave it out half of the time.
                let request = api.client.post(api.url(&path));
                let request = if rng.below(2) == 0 {
                    request
                } else {
                    request.json(&json!({"reason": "cart abandoned"}))
                };
                let answer = api.send(request).await;
                answer.expect(StatusCode::OK);
                let delta = Levels {
                    on_hand: 0,
                    held: -remaining,
                };
                ("release", stock, answer, delta)
            }
        };
        if answer.status.is_success() {
            let body = answer.json();
            let position = check_levels(&body);
            assert_eq!(body["sku"], stocks[stock].0.as_str());
            assert_eq!(body["warehouse_id"], stocks[stock].1.as_str());
            assert!(body["events"].as_u64().unwrap_or(0) >= 1, "{body}");
            result.max_position = result.max_position.max(position);
            let entry = result.deltas.entry(stock).or_default();
            entry.on_hand += delta.on_hand;
            entry.held += delta.held;
            *result.tally.accepted.entry(kind).or_default() += 1;
        } else {
            // Only a sale or a hold from free stock may be refused, and only for want of
            // stock: the refusal says how many are available, fewer than asked.
            assert!(
                matches!(kind, "sell" | "hold"),
                "{kind} refused: {answer:?}"
            );
            let problem = answer.problem(StatusCode::CONFLICT);
            assert_eq!(problem["type"], "/problems/insufficient_stock", "{problem}");
            let available = problem["available"]
                .as_i64()
                .unwrap_or_else(|| panic!("a refusal without `available`: {problem}"));
            let asked = delta.on_hand.abs().max(delta.held);
            assert!(
                (0..asked).contains(&available),
                "refused {asked} with {available} available: {problem}"
            );
            *result.tally.refused.entry(kind).or_default() += 1;
        }
        // Now and then read one's own write back.
        if rng.below(6) == 0 && result.max_position > 0 {
            let (sku, w) = &stocks[stock];
            let path = format!(
                "/v1/availability/{sku}/{w}?min_position={}",
                result.max_position
            );
            let view = api.get(&path).await.expect(StatusCode::OK);
            check_levels(&view);
            let held = view["held"].as_i64().unwrap();
            assert!(view["on_hand"].as_i64().unwrap() >= held, "short: {view}");
            assert!(view["position"].as_i64().unwrap() >= result.max_position);
        }
    }
    result
}

/// Count every stock again after the concurrent phase: on hand becomes held plus a
/// little, so a sale of one more than that is refused with what is available.
pub async fn recount(api: &Api, model: &mut Model) {
    let stocks = model.stocks.clone();
    let answers = join_all(stocks.iter().enumerate().map(|(i, ((sku, w), levels))| {
        let extra = (i % 4) as i64;
        async move {
            let path = stock_path(sku, w);
            let count = json!({"new_quantity": levels.held + extra, "reason": "cycle count"});
            let counted = api
                .post(&format!("{path}/adjustments"), &count)
                .await
                .expect(StatusCode::OK);
            assert_eq!(counted["on_hand"], levels.held + extra, "{counted}");
            assert_eq!(counted["held"], levels.held, "{counted}");
            assert_eq!(counted["available"], extra, "{counted}");
            let too_many = json!({"quantity": extra + 1});
            let refused = api.post(&format!("{path}/sales"), &too_many).await;
            let problem = refused.problem(StatusCode::CONFLICT);
            assert_eq!(problem["available"], extra, "{problem}");
            (check_levels(&counted), levels.held + extra)
        }
    }))
    .await;
    for ((key, _), (position, on_hand)) in stocks.iter().zip(answers) {
        model.saw(position);
        model.stocks.get_mut(key).unwrap().on_hand = on_hand;
    }
}

/// Every stock and every SKU total, read at the model's position, equals the model.
pub async fn verify(api: &Api, model: &Model) {
    let min = model.max_position;
    for ((sku, w), levels) in &model.stocks {
        let view = api
            .get(&format!("/v1/availability/{sku}/{w}?min_position={min}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(view["sku"], sku.as_str());
        assert_eq!(view["warehouse_id"], w.as_str());
        assert_eq!(
            (view["on_hand"].as_i64(), view["held"].as_i64()),
            (Some(levels.on_hand), Some(levels.held)),
            "{sku}@{w}: the view {view} is not the fold of the accepted commands {levels:?}"
        );
        assert_eq!(view["available"], levels.available(), "{view}");
        assert!(view["position"].as_i64().unwrap() >= min, "{view}");
    }
    for sku in model.skus() {
        let view = api
            .get(&format!("/v1/availability/{sku}?min_position={min}"))
            .await
            .expect(StatusCode::OK);
        let expected: Vec<(&String, &Levels)> = model
            .stocks
            .iter()
            .filter(|((s, _), _)| *s == sku)
            .map(|((_, w), l)| (w, l))
            .collect();
        let listed = view["warehouses"].as_array().expect("warehouses");
        assert_eq!(listed.len(), expected.len(), "{view}");
        for (entry, (w, levels)) in listed.iter().zip(&expected) {
            assert_eq!(entry["warehouse_id"], w.as_str(), "{view}");
            assert_eq!(entry["on_hand"], levels.on_hand, "{view}");
            assert_eq!(entry["held"], levels.held, "{view}");
            assert_eq!(entry["available"], levels.available(), "{view}");
        }
        let sum = |f: &dyn Fn(&Levels) -> i64| expected.iter().map(|(_, l)| f(l)).sum::<i64>();
        assert_eq!(view["on_hand"], sum(&|l| l.on_hand), "{view}");
        assert_eq!(view["held"], sum(&|l| l.held), "{view}");
        assert_eq!(view["available"], sum(&|l| l.available()), "{view}");
        let listed_sum = |member: &str| {
            listed
                .iter()
                .map(|e| e[member].as_i64().unwrap())
                .sum::<i64>()
        };
        for member in ["on_hand", "held", "available"] {
            assert_eq!(view[member], listed_sum(member), "{member}: {view}");
        }
        assert!(view["position"].as_i64().unwrap() >= min, "{view}");
    }
}

/// Every availability answer for the model's stocks and SKUs, read at `min_position`.
pub async fn snapshot(api: &Api, model: &Model, min_position: i64) -> Vec<(String, Value)> {
    let mut paths: Vec<String> = model
        .skus()
        .iter()
        .map(|sku| format!("/v1/availability/{sku}"))
        .collect();
    paths.extend(
        model
            .keys()
            .iter()
            .map(|(sku, w)| format!("/v1/availability/{sku}/{w}")),
    );
    join_all(paths.into_iter().map(|path| async move {
        let answer = api
            .get(&format!("{path}?min_position={min_position}"))
            .await;
        let body = answer.expect(StatusCode::OK);
        (path, body)
    }))
    .await
}

/// Assert two snapshots are the same, naming the first answer that differs.
#[track_caller]
pub fn assert_same(before: &[(String, Value)], after: &[(String, Value)], when: &str) {
    assert_eq!(before.len(), after.len());
    for ((path, a), (_, b)) in before.iter().zip(after) {
        assert_eq!(a, b, "{when}: GET {path} changed");
    }
}
