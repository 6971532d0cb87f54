//! The model kept in memory in each process, following the log: catalog events,
//! stock (in stock anywhere or not), shoppers' activity, and paid orders as
//! purchases. Read-your-writes as for every read model: `min_position` waits until
//! the copy has reached that position.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use event_log::{Database, EventSource, LogRecord};
use event_schemas::{ActivityEvent, ActivityKind, OrderEvent, ProductEvent, RecordedEvent};
use projections::availability::fold;
use projections::runtime::{wait_for_position, ProjectionError};
use projections::WaitError;
use tokio::sync::watch;

use crate::catalog::Item;
use crate::history::Feedback;
use crate::{Config, Input, Model, Recommendation, Request};

/// Events read per batch.
const BATCH: i64 = 10_000;
/// How long the follower waits for a wake-up before looking anyway.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// The model, and what following the log needs beside it.
struct Followed {
    model: Model,
    /// On hand and held per SKU, per warehouse.
    stock: HashMap<String, HashMap<String, (i64, i64)>>,
    /// Orders placed and not yet paid or ended: their buyer and SKUs.
    open_orders: HashMap<String, (String, Vec<String>)>,
}

/// The recommendation model of this process, as of `position`.
pub struct LiveRecommendations {
    db: Database,
    followed: RwLock<Followed>,
    position: watch::Sender<i64>,
    catching_up: tokio::sync::Mutex<()>,
}

impl LiveRecommendations {
    /// An empty model at position 0; [`catch_up`](Self::catch_up) or
    /// [`spawn_follow`](Self::spawn_follow) brings it to the log's head.
    pub fn new(db: Database, config: Config) -> Arc<Self> {
        Arc::new(Self {
            db,
            followed: RwLock::new(Followed {
                model: Model::new(config, DateTime::UNIX_EPOCH),
                stock: HashMap::new(),
                open_orders: HashMap::new(),
            }),
            position: watch::channel(0).0,
            catching_up: tokio::sync::Mutex::new(()),
        })
    }

    /// The position the answers reflect.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// Wait (at most `timeout`) until the copy has reached `min_position`.
    pub async fn wait_for(&self, min_position: i64, timeout: Duration) -> Result<(), WaitError> {
        wait_for_position(&self.position, min_position, timeout).await
    }

    /// The list for `request` at `now`, and the position it reflects.
    pub fn recommend(&self, request: &Request, now: DateTime<Utc>) -> (Vec<Recommendation>, i64) {
        let followed = self.followed.read().unwrap_or_else(|e| e.into_inner());
        let position = self.position();
        (followed.model.recommend(request, now), position)
    }

    /// Follow the log for as long as the process runs, woken by `committed`.
    pub fn spawn_follow(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        let live = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = live.catch_up().await {
                    tracing::error!(%error, "recommendations failed to follow the log; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                if *committed.borrow_and_update() > live.position() {
                    continue;
                }
                let _ = tokio::time::timeout(IDLE_RECHECK, committed.changed()).await;
            }
        });
    }

    /// Apply every event committed so far.
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            let from = self.position();
            // The head first: every event up to it is visible to the read after it.
            let head = self.db.head().await?;
            let records = self.db.read_after(from, BATCH).await?;
            let full = records.len() as i64 == BATCH;
            let last = records.last().map_or(from, |last| last.position);
            let reached = if full { last } else { head.max(last) };
            let stock = fold(&records)?;
            {
                let mut followed = self.followed.write().unwrap_or_else(|e| e.into_inner());
                for record in &records {
                    followed.take(record)?;
                }
                if let Some(last) = records.last() {
                    followed.take_stock(stock, last.occurred_at);
                }
                self.position.send_if_modified(|position| {
                    let advanced = reached > *position;
                    *position = (*position).max(reached);
                    advanced
                });
            }
            if !full {
                return Ok(());
            }
        }
    }
}

impl Followed {
    /// Take in one record (stock events are taken per batch, by `take_stock`).
    fn take(&mut self, record: &LogRecord) -> Result<(), ProjectionError> {
        let at = record.occurred_at;
        match record.decode()? {
            RecordedEvent::Product(event) => self.product(event, at),
            RecordedEvent::Activity(ActivityEvent::ActivityRecorded {
                user_id,
                kind,
                sku: Some(sku),
                ..
            }) => {
                let feedback = match kind {
                    ActivityKind::Viewed => Feedback::Viewed,
                    ActivityKind::Carted => Feedback::Carted,
                    ActivityKind::Purchased => Feedback::Purchased,
                    ActivityKind::Searched => return Ok(()),
                };
                self.model.apply(
                    Input::Interaction {
                        user_id,
                        sku,
                        feedback,
                    },
                    at,
                );
            }
            RecordedEvent::Order(event) => self.order(event, at),
            _ => {}
        }
        Ok(())
    }

    fn product(&mut self, event: ProductEvent, at: DateTime<Utc>) {
        match event {
            ProductEvent::ProductListed { sku, details } => {
                let item = Item {
                    sku,
                    title: details.title,
                    category: details.category,
                    shop_id: details.shop.shop_id,
                    tags: details.tags,
                    materials: details.materials,
                    listed: true,
                    in_stock: false,
                    rebuyable: false,
                    listed_at: at,
                };
                let sku = item.sku.clone();
                let in_stock = self.in_stock(&sku);
                self.model.apply(Input::Listed(item), at);
                self.model.apply(Input::Stock { sku, in_stock }, at);
            }
            ProductEvent::ProductUpdated { sku, changes } => {
                let Some(mut item) = self.model.catalog().get(&sku).cloned() else {
                    return;
                };
                if let Some(title) = changes.title {
                    item.title = title;
                }
                if let Some(category) = changes.category {
                    item.category = category;
                }
                if let Some(tags) = changes.tags {
                    item.tags = tags;
                }
                if let Some(materials) = changes.materials {
                    item.materials = materials;
                }
                if let Some(shop) = changes.shop {
                    item.shop_id = shop.shop_id;
                }
                self.model.apply(Input::Listed(item), at);
            }
            ProductEvent::ProductDelisted { sku } => {
                self.model.apply(Input::Delisted { sku }, at);
            }
        }
    }

    fn order(&mut self, event: OrderEvent, at: DateTime<Utc>) {
        match event {
            OrderEvent::OrderPlaced {
                order_id,
                customer: Some(customer),
                lines,
                ..
            } => {
                let skus = lines.into_iter().map(|line| line.sku).collect();
                self.open_orders.insert(order_id, (customer, skus));
            }
            OrderEvent::FlashSaleOrderPlaced {
                order_id,
                customer,
                line,
                ..
            } => {
                self.open_orders
                    .insert(order_id, (customer, vec![line.sku]));
            }
            OrderEvent::OrderPaid { order_id, .. } => {
                let Some((user_id, skus)) = self.open_orders.remove(&order_id) else {
                    return;
                };
                for sku in skus {
                    self.model.apply(
                        Input::Interaction {
                            user_id: user_id.clone(),
                            sku,
                            feedback: Feedback::Purchased,
                        },
                        at,
                    );
                }
            }
            OrderEvent::OrderRejected { order_id, .. }
            | OrderEvent::OrderCancelled { order_id, .. }
            | OrderEvent::OrderPaymentFailed { order_id, .. }
            | OrderEvent::OrderPaymentTimedOut { order_id } => {
                self.open_orders.remove(&order_id);
            }
            _ => {}
        }
    }

    /// Fold a batch's stock changes in, telling the model of every SKU whose being in
    /// stock anywhere flipped.
    fn take_stock(
        &mut self,
        changes: HashMap<(String, String), projections::availability::Change>,
        at: DateTime<Utc>,
    ) {
        let mut touched: Vec<String> = Vec::new();
        for ((sku, warehouse_id), change) in changes {
            let levels = self
                .stock
                .entry(sku.clone())
                .or_default()
                .entry(warehouse_id)
                .or_default();
            *levels = change.applied_to(*levels);
            touched.push(sku);
        }
        touched.sort();
        touched.dedup();
        for sku in touched {
            let in_stock = self.in_stock(&sku);
            let known = self.model.catalog().get(&sku).map(|item| item.in_stock);
            if known.is_some_and(|was| was != in_stock) {
                self.model.apply(Input::Stock { sku, in_stock }, at);
            }
        }
    }

    fn in_stock(&self, sku: &str) -> bool {
        self.stock
            .get(sku)
            .is_some_and(|warehouses| warehouses.values().any(|(on_hand, held)| on_hand > held))
    }
}
