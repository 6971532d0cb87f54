//! Reorder points for stock, from the log (issue 17's "same forecaster for stock"):
//! per SKU × warehouse, units sold per day and the stock available now, folded in
//! each process; the domain's rules (`domain::delivery::reorder`) turn them into a
//! velocity, a safety stock, a reorder point, days of cover and a suggested
//! quantity, with each warehouse's lead time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::delivery::{advise, ReorderAdvice, ReorderRules};
use event_log::{Database, LogRecord};
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::{RecordedEvent, StockEvent};
use projections::availability::fold;
use projections::runtime::{InMemory, LiveCopy, ProjectionError};

/// Days of sales a velocity is measured over, at most.
pub const SALES_DAYS: i64 = 28;

/// How replenishment is tuned: the rules, and lead times per warehouse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplenishmentConfig {
    pub rules: ReorderRules,
    /// Lead time in days of a warehouse, where it differs from `rules`'.
    pub lead_times: BTreeMap<String, f64>,
}

impl ReplenishmentConfig {
    /// Settings from `name=value` pairs: `service_level` (0.5–0.9999),
    /// `lead_time_days`, `review_days`, and `lead_time.<warehouse>` per warehouse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut config = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not name=value"))?;
            let number: f64 = value
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite() && *n >= 0.0 && *n <= 365.0)
                .ok_or_else(|| format!("{name}: '{value}' is not a number from 0 to 365"))?;
            match name {
                "service_level" if (0.5..=0.9999).contains(&number) => {
                    config.rules.service_level = number
                }
                "service_level" => return Err("service_level must be 0.5 to 0.9999".into()),
                "lead_time_days" => config.rules.lead_time_days = number,
                "review_days" => config.rules.review_days = number,
                _ => match name.strip_prefix("lead_time.") {
                    Some(warehouse) if !warehouse.is_empty() => {
                        config.lead_times.insert(warehouse.to_string(), number);
                    }
                    _ => return Err(format!("unknown replenishment setting '{name}'")),
                },
            }
        }
        Ok(config)
    }

    /// The rules of one warehouse.
    pub fn rules_for(&self, warehouse_id: &str) -> ReorderRules {
        ReorderRules {
            lead_time_days: self
                .lead_times
                .get(warehouse_id)
                .copied()
                .unwrap_or(self.rules.lead_time_days),
            ..self.rules
        }
    }
}

/// One SKU in one warehouse.
#[derive(Debug, Clone, Default)]
struct Shelf {
    on_hand: i64,
    held: i64,
    /// Units sold per day (days since the epoch, UTC).
    sold: BTreeMap<i64, u64>,
    /// The first day the log told of this shelf.
    since: i64,
}

/// What to reorder for one SKU in one warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub sku: String,
    pub warehouse_id: String,
    pub available: i64,
    pub advice: ReorderAdvice,
}

/// Stock and its sales per SKU × warehouse, as of the log position folded to.
#[derive(Debug, Clone)]
pub struct Replenishment {
    pub config: ReplenishmentConfig,
    shelves: HashMap<(String, String), Shelf>,
    /// The latest day the log told of.
    today: i64,
}

fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

impl Replenishment {
    pub fn new(config: ReplenishmentConfig) -> Self {
        Self {
            config,
            shelves: HashMap::new(),
            today: 0,
        }
    }

    /// The advice for one shelf (`None` when the log never named it).
    pub fn advice(&self, sku: &str, warehouse_id: &str) -> Option<Suggestion> {
        let shelf = self
            .shelves
            .get(&(sku.to_string(), warehouse_id.to_string()))?;
        Some(self.suggest(sku, warehouse_id, shelf))
    }

    fn suggest(&self, sku: &str, warehouse_id: &str, shelf: &Shelf) -> Suggestion {
        // Whole days: from the first day seen (at most SALES_DAYS back) to
        // yesterday, so today's half day does not read as a slow day; a shelf
        // seen only today counts today.
        let first = shelf.since.max(self.today - SALES_DAYS);
        let last = (self.today - 1).max(first);
        let daily: Vec<f64> = (first..=last)
            .map(|day| shelf.sold.get(&day).copied().unwrap_or(0) as f64)
            .collect();
        let available = shelf.on_hand - shelf.held;
        Suggestion {
            sku: sku.to_string(),
            warehouse_id: warehouse_id.to_string(),
            available,
            advice: advise(&daily, available, &self.config.rules_for(warehouse_id)),
        }
    }

    /// Every shelf's advice, in no order.
    pub fn all(&self) -> Vec<Suggestion> {
        self.shelves
            .iter()
            .map(|((sku, warehouse), shelf)| self.suggest(sku, warehouse, shelf))
            .collect()
    }

    /// What to reorder in `warehouse_id` now: every SKU at or under its reorder
    /// point that sells, the fewest days of cover first.
    pub fn to_reorder(&self, warehouse_id: &str) -> Vec<Suggestion> {
        let mut due: Vec<Suggestion> = self
            .shelves
            .iter()
            .filter(|((_, warehouse), _)| warehouse == warehouse_id)
            .map(|((sku, warehouse), shelf)| self.suggest(sku, warehouse, shelf))
            .filter(|s| s.advice.suggested_quantity > 0)
            .collect();
        due.sort_by(|a, b| {
            let cover = |s: &Suggestion| s.advice.days_of_cover.unwrap_or(f64::INFINITY);
            cover(a)
                .total_cmp(&cover(b))
                .then_with(|| a.sku.cmp(&b.sku))
        });
        due
    }
}

impl InMemory for Replenishment {
    const WHAT: &'static str = "replenishment";
    const AGGREGATE_TYPE: Option<&'static str> = Some(STOCK_AGGREGATE);

    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError> {
        for record in records {
            let day = day_of(record.occurred_at);
            self.today = self.today.max(day);
            // Sales are what the velocity is made of; the levels come from the one
            // reading of stock events below.
            if !record.payload.starts_with("{\"StockSold\"") {
                continue;
            }
            if let RecordedEvent::Stock(StockEvent::StockSold {
                sku,
                warehouse_id,
                quantity,
                ..
            }) = record.decode()?
            {
                let today = self.today;
                let shelf = self.shelves.entry((sku, warehouse_id)).or_insert(Shelf {
                    since: today,
                    ..Shelf::default()
                });
                *shelf.sold.entry(day).or_default() += quantity;
                // Trimmed only when a day falls out, not rebuilt on every sale.
                let oldest = self.today - SALES_DAYS - 1;
                if shelf
                    .sold
                    .keys()
                    .next()
                    .is_some_and(|first| *first < oldest)
                {
                    shelf.sold = shelf.sold.split_off(&oldest);
                }
            }
        }
        for (key, change) in fold(records)? {
            let today = self.today;
            let shelf = self.shelves.entry(key).or_insert(Shelf {
                since: today,
                ..Shelf::default()
            });
            (shelf.on_hand, shelf.held) = change.applied_to((shelf.on_hand, shelf.held));
        }
        Ok(())
    }

    fn fresh(&self) -> Self {
        Self::new(self.config.clone())
    }
}

/// Replenishment of this process, following the log.
pub type LiveReplenishment = LiveCopy<Replenishment>;

/// An empty model at position 0, to follow the whole log.
pub fn live_replenishment(db: Database, config: ReplenishmentConfig) -> Arc<LiveReplenishment> {
    LiveCopy::new(db, Replenishment::new(config), 0)
}
