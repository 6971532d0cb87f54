//! The model the projection keeps in memory: the catalog, every shopper's history,
//! and each source's counts, updated one input at a time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Item, ItemId};
use crate::config::Config;
use crate::ensemble::{self, Recommendation, Request};
use crate::history::{Feedback, History, Interaction};
use crate::sources::collaborative::CoInteractions;
use crate::sources::content::ContentIndex;
use crate::sources::latent::Latent;
use crate::sources::trending::Trending;

/// What the log tells the model, already read from its events.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Listed, or its details changed: the item as it now stands.
    Listed(Item),
    Delisted {
        sku: String,
    },
    /// Whether any warehouse has it.
    Stock {
        sku: String,
        in_stock: bool,
    },
    Interaction {
        user_id: String,
        sku: String,
        feedback: Feedback,
    },
    /// The shopper does not want to see it again.
    Dismissed {
        user_id: String,
        sku: String,
    },
}

/// Everything the recommendations are computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Not in a snapshot: the configuration of the process that loads it applies.
    #[serde(skip)]
    pub(crate) config: Config,
    pub(crate) catalog: Catalog,
    pub(crate) histories: HashMap<String, History>,
    pub(crate) co: CoInteractions,
    pub(crate) content: ContentIndex,
    pub(crate) trending: Trending,
}

impl Model {
    /// An empty model; `origin` is any instant near the log's first events.
    pub fn new(config: Config, origin: DateTime<Utc>) -> Self {
        let trending = Trending::new(config.trending_half_life, origin);
        Self {
            config,
            catalog: Catalog::default(),
            histories: HashMap::new(),
            co: CoInteractions::default(),
            content: ContentIndex::default(),
            trending,
        }
    }

    /// Every shopper's recent interactions as (shopper, item, weight), in a fixed
    /// order: what the latent model is trained on (copied, so training runs without
    /// holding the model).
    pub fn training_data(&self) -> Vec<(String, ItemId, f64)> {
        let mut data: Vec<(String, ItemId, f64)> = self
            .histories
            .iter()
            .flat_map(|(user, history)| {
                history
                    .recent
                    .iter()
                    .map(move |i| (user.clone(), i.item, i.weight))
            })
            .collect();
        // Seeded training gives the same factors for the same data in the same order.
        data.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        data
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Take in one input that happened at `at`.
    pub fn apply(&mut self, input: Input, at: DateTime<Utc>) {
        match input {
            Input::Listed(mut item) => {
                // A listing update keeps what the stock said.
                if let Some(known) = self.catalog.get(&item.sku) {
                    item.in_stock = known.in_stock;
                    item.listed_at = known.listed_at;
                }
                let terms = item.terms();
                let id = self.catalog.insert(item);
                self.content.set(id, terms);
            }
            Input::Delisted { sku } => {
                if let Some(id) = self.catalog.id(&sku) {
                    self.catalog.update(id, |item| item.listed = false);
                    self.content.remove(id);
                }
            }
            Input::Stock { sku, in_stock } => {
                if let Some(id) = self.catalog.id(&sku) {
                    self.catalog.update(id, |item| item.in_stock = in_stock);
                }
            }
            Input::Interaction {
                user_id,
                sku,
                feedback,
            } => {
                let item = self.catalog.intern(&sku);
                self.interaction(user_id, item, feedback, at);
            }
            Input::Dismissed { user_id, sku } => {
                let item = self.catalog.intern(&sku);
                self.histories
                    .entry(user_id)
                    .or_default()
                    .dismissed
                    .insert(item);
            }
        }
    }

    fn interaction(
        &mut self,
        user_id: String,
        item: ItemId,
        feedback: Feedback,
        at: DateTime<Utc>,
    ) {
        let weight = self.config.weight(feedback);
        let keep = self.config.history_per_user;
        let history = self.histories.entry(user_id).or_default();
        let before = history.items();
        if !before.contains(&item) {
            self.co.add(item, &before);
        }
        history.record(Interaction { item, weight, at }, keep);
        if feedback == Feedback::Purchased {
            history.bought.insert(item);
        }
        let category = self
            .catalog
            .item(item)
            .map_or("", |listed| listed.category.as_str());
        self.trending.add(item, category, weight, at);
    }

    /// The list for `request` at `now`.
    pub fn recommend(&self, request: &Request, now: DateTime<Utc>) -> Vec<Recommendation> {
        ensemble::recommend(self, None, request, now)
    }

    /// The list for `request` at `now`, with a trained latent-factor model.
    pub fn recommend_with(
        &self,
        latent: Option<&Latent<ItemId>>,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Vec<Recommendation> {
        ensemble::recommend(self, latent, request, now)
    }
}
