//! What the recommendations are tuned by: configuration, not code.

use chrono::Duration;

use crate::history::Feedback;

/// Most items one list may hold, whatever the configuration says.
pub const MAX_LIMIT: usize = 50;

/// Every knob of the model and the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// How much each kind of feedback counts (a purchase says more than a view).
    pub view_weight: f64,
    pub cart_weight: f64,
    pub purchase_weight: f64,
    pub click_weight: f64,
    /// Share of the blended score each source gets.
    pub collaborative_share: f64,
    pub content_share: f64,
    pub trending_share: f64,
    /// Part of the collaborative share the latent-factor model takes once trained.
    pub latent_part: f64,
    /// Trending counts halve in this time.
    pub trending_half_life: Duration,
    /// A new item's boost halves in this time; after four halvings it is no longer
    /// new.
    pub new_item_half_life: Duration,
    /// One place in this many goes to a new item, so new items get seen.
    pub new_item_every: usize,
    /// Interactions kept per shopper (the oldest fall out).
    pub history_per_user: usize,
    /// Shrinkage of item-to-item cosine: pairs seen together by few shoppers count
    /// less than their raw cosine says.
    pub shrinkage: f64,
    /// MMR trade-off between relevance (1.0) and novelty against the list so far.
    pub diversity_lambda: f64,
    /// Most items of one category, and of one shop, in the first ten.
    pub per_category_in_top: usize,
    pub per_shop_in_top: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            view_weight: 1.0,
            cart_weight: 3.0,
            purchase_weight: 5.0,
            click_weight: 1.0,
            collaborative_share: 0.4,
            content_share: 0.3,
            trending_share: 0.3,
            latent_part: 0.5,
            trending_half_life: Duration::hours(24),
            new_item_half_life: Duration::days(3),
            new_item_every: 10,
            history_per_user: 50,
            shrinkage: 5.0,
            diversity_lambda: 0.7,
            per_category_in_top: 3,
            per_shop_in_top: 3,
        }
    }
}

impl Config {
    /// The weight of one piece of feedback.
    pub fn weight(&self, feedback: Feedback) -> f64 {
        match feedback {
            Feedback::Viewed => self.view_weight,
            Feedback::Carted => self.cart_weight,
            Feedback::Purchased => self.purchase_weight,
            Feedback::Clicked => self.click_weight,
        }
    }
}
