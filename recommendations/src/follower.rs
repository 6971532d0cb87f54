//! The model kept in memory in each process, following the log: catalog events,
//! stock (in stock anywhere or not), shoppers' activity, and paid orders as
//! purchases. Read-your-writes as for every read model: `min_position` waits until
//! the copy has reached that position.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_log::{Database, LogRecord};
use event_schemas::activity::ACTIVITY_AGGREGATE;
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::product::PRODUCT_AGGREGATE;
use event_schemas::{ActivityEvent, ActivityKind, OrderEvent, ProductEvent, RecordedEvent};
use projections::availability::fold;
use projections::runtime::{InMemory, LiveCopy, ProjectionError};
use serde::{Deserialize, Serialize};

use crate::catalog::Item;
use crate::history::Feedback;
use crate::{Config, Input, Model};

/// The model, and what following the log needs beside it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Followed {
    model: Model,
    /// On hand and held per SKU, per warehouse.
    stock: HashMap<String, HashMap<String, (i64, i64)>>,
    /// Orders placed and not yet paid or ended: their buyer and SKUs.
    open_orders: HashMap<String, (String, Vec<String>)>,
}

impl InMemory for Followed {
    const WHAT: &'static str = "recommendations";
    const AGGREGATE_TYPE: Option<&'static str> = None;

    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError> {
        let stock = fold(records)?;
        for record in records {
            self.take(record)?;
        }
        if let Some(last) = records.last() {
            self.take_stock(stock, last.occurred_at);
        }
        Ok(())
    }

    fn fresh(&self) -> Self {
        Followed::new(self.model.config.clone())
    }
}

/// The recommendation model of this process, following the log, as of its position.
pub type LiveRecommendations = LiveCopy<Followed>;

/// An empty model at position 0, to follow the whole log (`catch_up` or
/// `spawn_follow` bring it to the head).
pub fn live(db: Database, config: Config) -> Arc<LiveRecommendations> {
    LiveCopy::new(db, Followed::new(config), 0)
}

/// The version of the model at `position`: the model is a function of the log up to
/// there, so two nodes at one position answer alike.
pub fn model_version(position: i64) -> String {
    format!("p{position}")
}

impl Followed {
    /// Nothing followed yet.
    pub fn new(config: Config) -> Self {
        Followed {
            model: Model::new(config, DateTime::UNIX_EPOCH),
            stock: HashMap::new(),
            open_orders: HashMap::new(),
        }
    }

    /// Take the configuration of this process (a snapshot does not carry one).
    pub(crate) fn configure(&mut self, config: Config) {
        self.model.config = config;
    }

    /// The model as it stands.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Take in one record (stock events are taken per batch, by `take_stock`).
    fn take(&mut self, record: &LogRecord) -> Result<(), ProjectionError> {
        // Only these aggregates say anything here: the rest are not even parsed.
        if ![PRODUCT_AGGREGATE, ACTIVITY_AGGREGATE, ORDER_AGGREGATE]
            .contains(&record.aggregate_type.as_str())
        {
            return Ok(());
        }
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
                    ActivityKind::Clicked => Feedback::Clicked,
                    ActivityKind::Dismissed => {
                        self.model.apply(Input::Dismissed { user_id, sku }, at);
                        return Ok(());
                    }
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
