//! Every model on one split: popularity, ItemKNN, ALS, each of the product's sources
//! alone, and the ensemble without and with diversity.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::als::{Als, AlsParams};
use super::baselines::{ItemKnn, Popularity};
use super::metrics::{figures, Figures, Truth};
use super::split::leave_last_out;
use super::{Interaction, ItemInfo, Ranker};
use crate::catalog::Item;
use crate::history::Feedback;
use crate::sources::latent::Latent;
use crate::{Config, Input, Model, Request};

/// The length of every list.
pub const K: usize = 10;

/// The figures of every model, and what they were computed on.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub interactions: usize,
    pub train_interactions: usize,
    pub test_users: usize,
    pub items: usize,
    /// Model name → figures, in the order they were run.
    pub models: Vec<(String, Figures)>,
}

impl Report {
    pub fn model(&self, name: &str) -> Option<&Figures> {
        self.models.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
}

/// Evaluate every model on the leave-last-out split of `interactions`; `items`
/// gives content (without it the content source has nothing to go on); `config` is
/// the product's model's (each source alone and the variants start from it).
pub fn evaluate(
    interactions: Vec<Interaction>,
    items: &[ItemInfo],
    als: AlsParams,
    config: &Config,
) -> Report {
    let total = interactions.len();
    let split = leave_last_out(interactions);
    let train = &split.train;
    let model = product_model(train, items, config.clone());
    // The product's ensemble with its latent model trained on the same histories.
    let data = model.training_data();
    let latent_model = std::sync::Arc::new(Latent::train(
        data.iter().map(|(u, i, w)| (u.as_str(), *i, *w)),
        als,
    ));

    let mut catalogue: HashSet<&str> = items.iter().map(|i| i.item.as_str()).collect();
    catalogue.extend(train.iter().map(|i| i.item.as_str()));
    let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut touched: HashMap<&str, HashSet<&str>> = HashMap::new();
    for i in train {
        seen.entry(&i.user).or_default().insert(&i.item);
        touched.entry(&i.item).or_default().insert(&i.user);
    }
    let shoppers = seen.len().max(1) as f64;
    let popularity: HashMap<String, f64> = touched
        .iter()
        .map(|(item, users)| (item.to_string(), users.len() as f64 / shoppers))
        .collect();
    let likeness = std::cell::RefCell::new(model.content.scorer());
    let similarity = |a: &str, b: &str| match (model.catalog.id(a), model.catalog.id(b)) {
        (Some(a), Some(b)) => likeness.borrow_mut().similarity(a, b),
        _ => 0.0,
    };
    let truth = Truth {
        catalogue: catalogue.len(),
        popularity: &popularity,
        similarity: &similarity,
    };

    let now = train.iter().map(|i| i.timestamp).fold(0.0, f64::max);
    let variant = |name: &str, config: Config, latent: bool| ModelRanker {
        name: name.to_string(),
        model: Model {
            config,
            ..model.clone()
        },
        latent: latent.then(|| latent_model.clone()),
        now: at(now),
    };
    let shares = |collaborative, content, trending| Config {
        collaborative_share: collaborative,
        content_share: content,
        trending_share: trending,
        ..config.clone()
    };
    let no_diversity = Config {
        diversity_lambda: 1.0,
        long_tail_every: 0,
        per_category_in_top: K,
        per_shop_in_top: K,
        ..config.clone()
    };
    let rankers: Vec<Box<dyn Ranker>> = vec![
        Box::new(Popularity::train(train)),
        Box::new(ItemKnn::train(train)),
        Box::new(Als::train(train, als)),
        Box::new(variant("collaborative", shares(1.0, 0.0, 0.0), false)),
        Box::new(variant("content", shares(0.0, 1.0, 0.0), false)),
        Box::new(variant("trending", shares(0.0, 0.0, 1.0), false)),
        Box::new(variant("ensemble_without_latent", config.clone(), false)),
        Box::new(variant("ensemble_without_diversity", no_diversity, true)),
        Box::new(variant("ensemble", config.clone(), true)),
    ];
    let empty = HashSet::new();
    let models = rankers
        .iter()
        .map(|ranker| {
            let lists: Vec<(Vec<String>, &str)> = split
                .test
                .iter()
                .map(|(user, held_out)| {
                    let seen = seen.get(user.as_str()).unwrap_or(&empty);
                    (ranker.top(user, seen, K), held_out.as_str())
                })
                .collect();
            (ranker.name().to_string(), figures(&lists, &truth))
        })
        .collect();
    Report {
        interactions: total,
        train_interactions: train.len(),
        test_users: split.test.len(),
        items: catalogue.len(),
        models,
    }
}

fn at(seconds: f64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + chrono::Duration::milliseconds((seconds * 1000.0) as i64)
}

/// The product's model after the training interactions: every item listed long ago
/// (so none is new) and in stock.
fn product_model(train: &[Interaction], items: &[ItemInfo], config: Config) -> Model {
    let mut model = Model::new(config, DateTime::UNIX_EPOCH);
    let item = |info: &ItemInfo| Item {
        sku: info.item.clone(),
        title: info.title.clone(),
        category: info.category.clone(),
        shop_id: info.shop.clone(),
        tags: info.tags.clone(),
        materials: info.materials.clone(),
        listed: true,
        in_stock: true,
        rebuyable: false,
        listed_at: DateTime::UNIX_EPOCH,
    };
    for info in items {
        model.apply(Input::Listed(item(info)), DateTime::UNIX_EPOCH);
    }
    for i in train {
        if model.catalog.get(&i.item).is_none() {
            let bare = ItemInfo {
                item: i.item.clone(),
                ..ItemInfo::default()
            };
            model.apply(Input::Listed(item(&bare)), DateTime::UNIX_EPOCH);
        }
        let feedback = if i.rating >= 4.5 {
            Feedback::Purchased
        } else if i.rating >= 2.5 {
            Feedback::Carted
        } else {
            Feedback::Viewed
        };
        model.apply(
            Input::Interaction {
                user_id: i.user.clone(),
                sku: i.item.clone(),
                feedback,
            },
            at(i.timestamp),
        );
    }
    model
}

/// The product's model (one configuration of it) as a ranker.
struct ModelRanker {
    name: String,
    model: Model,
    latent: Option<std::sync::Arc<Latent>>,
    now: DateTime<Utc>,
}

impl Ranker for ModelRanker {
    fn name(&self) -> &str {
        &self.name
    }
    fn top(&self, user: &str, seen: &HashSet<&str>, k: usize) -> Vec<String> {
        // The model forgets all but a shopper's recent items: ask for a few more and
        // drop any the shopper saw long ago.
        let request = Request {
            user_id: Some(user.to_string()),
            limit: (k + 10).min(crate::MAX_LIMIT),
            ..Request::default()
        };
        self.model
            .recommend_with(self.latent.as_deref(), &request, self.now)
            .into_iter()
            .map(|r| r.sku)
            .filter(|sku| !seen.contains(sku.as_str()))
            .take(k)
            .collect()
    }
}
