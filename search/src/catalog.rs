//! What the search projection keeps in memory beside the index: the current record of
//! every product (uncommitted documents cannot be read back from tantivy, and an update
//! carries only the changed fields), stock levels to know when in-stock flips, and the
//! signals queries use: vocabulary, popular queries, title words.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use event_log::{LogError, LogRecord};
use event_schemas::{ActivityEvent, ProductDetails, ProductEvent, RecordedEvent, StockEvent};
use serde::{Deserialize, Serialize};

use crate::schema::words;
use crate::spelling::Vocabulary;

/// A product as search sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub sku: String,
    #[serde(flatten)]
    pub details: ProductDetails,
    pub in_stock: bool,
    /// Log position of the listing: newer listings sort first under `newest`.
    /// (Named `listed_at` in indexes built before; read under either name.)
    #[serde(alias = "listed_at")]
    pub listed_position: i64,
}

/// What queries read besides the index; shared with them behind a lock that each
/// applied batch takes once.
#[derive(Debug, Default)]
pub struct Signals {
    /// Every word of listed products, with how many products use it, and the index
    /// of their spellings.
    pub vocabulary: Vocabulary,
    /// Words of titles to the products whose title has them (autocomplete).
    pub title_words: BTreeMap<String, HashSet<String>>,
    /// Titles of listed products, and whether they are in stock.
    pub titles: HashMap<String, (String, bool)>,
    /// Shop names by shop id.
    pub shops: HashMap<String, String>,
    /// Queries people ran, normalised, with how often.
    pub queries: BTreeMap<String, u64>,
}

/// Stock of one SKU in one warehouse.
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    on_hand: i64,
    held: i64,
}

/// The in-memory half of the projection.
#[derive(Debug, Default)]
pub struct Catalog {
    products: HashMap<String, ProductRecord>,
    stock: HashMap<String, HashMap<String, Level>>,
    pub signals: Arc<RwLock<Signals>>,
}

impl Catalog {
    pub fn product(&self, sku: &str) -> Option<&ProductRecord> {
        self.products.get(sku)
    }

    /// Fold a batch of events in position order; the SKUs whose document must be
    /// written again (or removed) are added to `dirty`. Every event is decoded before
    /// anything changes, so a batch that fails leaves the catalog as it was; queries
    /// wait for the signals only while the decoded events are folded (and the spelling
    /// index is brought up to date, once for the batch).
    pub fn apply(
        &mut self,
        records: &[LogRecord],
        dirty: &mut HashSet<String>,
    ) -> Result<(), LogError> {
        let mut events = Vec::new();
        for record in records {
            match record.aggregate_type.as_str() {
                event_schemas::product::PRODUCT_AGGREGATE
                | event_schemas::stock::STOCK_AGGREGATE
                | event_schemas::activity::ACTIVITY_AGGREGATE => {
                    events.push((record.position, record.decode()?))
                }
                _ => {}
            }
        }
        let signals = self.signals.clone();
        let mut signals = signals.write().expect("signals lock");
        for (position, event) in events {
            match event {
                RecordedEvent::Product(event) => {
                    self.apply_product(event, position, &mut signals, dirty)
                }
                RecordedEvent::Stock(event) => self.apply_stock(event, &mut signals, dirty),
                RecordedEvent::Activity(event) => self.apply_activity(event, &mut signals),
                _ => {}
            }
        }
        signals.vocabulary.refresh();
        Ok(())
    }

    fn apply_product(
        &mut self,
        event: ProductEvent,
        position: i64,
        signals: &mut Signals,
        dirty: &mut HashSet<String>,
    ) {
        match event {
            ProductEvent::ProductListed { sku, details } => {
                if let Some(old) = self.products.remove(&sku) {
                    forget(signals, &old);
                }
                let record = ProductRecord {
                    in_stock: self.in_stock(&sku),
                    sku: sku.clone(),
                    details,
                    listed_position: position,
                };
                remember(signals, &record);
                self.products.insert(sku.clone(), record);
                dirty.insert(sku);
            }
            ProductEvent::ProductUpdated { sku, changes } => {
                let Some(record) = self.products.get_mut(&sku) else {
                    return;
                };
                forget(signals, record);
                let d = &mut record.details;
                macro_rules! take {
                    ($($field:ident),*) => {$(
                        if let Some(value) = changes.$field { d.$field = value; }
                    )*};
                }
                take!(
                    title,
                    description,
                    tags,
                    category,
                    materials,
                    shop,
                    price,
                    language
                );
                remember(signals, record);
                dirty.insert(sku);
            }
            ProductEvent::ProductDelisted { sku } => {
                if let Some(old) = self.products.remove(&sku) {
                    forget(signals, &old);
                    dirty.insert(sku);
                }
            }
        }
    }

    fn apply_stock(
        &mut self,
        event: StockEvent,
        signals: &mut Signals,
        dirty: &mut HashSet<String>,
    ) {
        let (sku, warehouse_id) = event.stock_key();
        let (sku, warehouse_id) = (sku.to_string(), warehouse_id.to_string());
        let level = self
            .stock
            .entry(sku.clone())
            .or_default()
            .entry(warehouse_id)
            .or_default();
        match event {
            StockEvent::StockReceived { quantity, .. } => level.on_hand += quantity as i64,
            StockEvent::StockSold {
                quantity, hold_id, ..
            } => {
                level.on_hand -= quantity as i64;
                if hold_id.is_some() {
                    level.held -= quantity as i64;
                }
            }
            StockEvent::StockAdjusted { new_quantity, .. } => level.on_hand = new_quantity as i64,
            StockEvent::StockHeld { quantity, .. } => level.held += quantity as i64,
            StockEvent::StockHoldReleased { quantity, .. } => level.held -= quantity as i64,
            StockEvent::StockShortfallDetected { .. } | StockEvent::StockHoldExtended { .. } => {
                return
            }
        }
        let in_stock = self.in_stock(&sku);
        if let Some(record) = self.products.get_mut(&sku) {
            // Most stock changes leave the document as it is: only a flip rewrites it.
            if record.in_stock != in_stock {
                record.in_stock = in_stock;
                if let Some(title) = signals.titles.get_mut(&sku) {
                    title.1 = in_stock;
                }
                dirty.insert(sku);
            }
        }
    }

    fn apply_activity(&mut self, event: ActivityEvent, signals: &mut Signals) {
        match event {
            // What shoppers engage with is their profile, which the recommendations
            // keep (personalised search reads it there).
            ActivityEvent::ActivityRecorded { .. } => {}
            ActivityEvent::SearchPerformed { query, hits, .. } => {
                let query = normalise_query(&query);
                // A query that found nothing, or found things only through a typo,
                // is no suggestion for anyone.
                let spelt_right = query
                    .split(' ')
                    .all(|word| signals.vocabulary.contains(word));
                if !query.is_empty() && hits > 0 && spelt_right {
                    *signals.queries.entry(query).or_default() += 1;
                }
            }
        }
    }

    fn in_stock(&self, sku: &str) -> bool {
        self.stock
            .get(sku)
            .is_some_and(|levels| levels.values().any(|l| l.on_hand - l.held > 0))
    }
}

/// A query as it is counted and suggested: its words, lower-cased, one space apart.
pub fn normalise_query(query: &str) -> String {
    words(query).join(" ")
}

/// Every distinct word a product's text uses.
fn product_words(details: &ProductDetails) -> HashSet<String> {
    let mut all = String::new();
    for part in [
        &details.title,
        &details.description,
        &details.shop.name,
        &details.category.replace('/', " "),
    ] {
        all.push_str(part);
        all.push(' ');
    }
    for part in details.tags.iter().chain(&details.materials) {
        all.push_str(part);
        all.push(' ');
    }
    words(&all).into_iter().collect()
}

fn remember(signals: &mut Signals, record: &ProductRecord) {
    for word in product_words(&record.details) {
        signals.vocabulary.add(word);
    }
    for word in words(&record.details.title) {
        signals
            .title_words
            .entry(word)
            .or_default()
            .insert(record.sku.clone());
    }
    signals.shops.insert(
        record.details.shop.shop_id.clone(),
        record.details.shop.name.clone(),
    );
    signals.titles.insert(
        record.sku.clone(),
        (record.details.title.clone(), record.in_stock),
    );
}

fn forget(signals: &mut Signals, record: &ProductRecord) {
    for word in product_words(&record.details) {
        signals.vocabulary.remove(&word);
    }
    for word in words(&record.details.title) {
        if let Some(skus) = signals.title_words.get_mut(&word) {
            skus.remove(&record.sku);
            if skus.is_empty() {
                signals.title_words.remove(&word);
            }
        }
    }
    signals.titles.remove(&record.sku);
}
