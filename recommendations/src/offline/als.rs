//! ALS alone, as a yardstick: each shopper folded in from their training items and
//! every item of the catalogue scored (offline only; the product scores candidates).

use std::collections::{HashMap, HashSet};

pub use crate::sources::latent::AlsParams;
use crate::sources::latent::Latent;

use super::{Interaction, Ranker};

pub struct Als {
    latent: Latent<String>,
    histories: HashMap<String, Vec<(String, f64)>>,
}

impl Als {
    pub fn train(train: &[Interaction], params: AlsParams) -> Self {
        let latent = Latent::train(
            train
                .iter()
                .map(|i| (i.user.as_str(), i.item.clone(), i.rating)),
            params,
        );
        let mut histories: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        for i in train {
            let items = histories.entry(i.user.clone()).or_default();
            match items.iter_mut().find(|(item, _)| *item == i.item) {
                Some((_, weight)) => *weight += i.rating,
                None => items.push((i.item.clone(), i.rating)),
            }
        }
        Self { latent, histories }
    }
}

impl Ranker for Als {
    fn name(&self) -> &str {
        "als"
    }
    fn top(&self, user: &str, seen: &HashSet<&str>, k: usize) -> Vec<String> {
        let Some(vector) = self
            .histories
            .get(user)
            .and_then(|items| self.latent.fold_in(items))
        else {
            return Vec::new();
        };
        let scores = self
            .latent
            .items()
            .filter(|item| !seen.contains(item.as_str()))
            .filter_map(|item| Some((item.as_str(), self.latent.score(&vector, item)?)))
            .collect();
        super::baselines::top_of(scores, k)
    }
}
