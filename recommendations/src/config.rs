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
    /// One place in this many (the one before the new item's) goes to the best of the
    /// list's candidates that fewer shoppers know than most of them, so the catalogue's
    /// long tail gets seen, not only its best sellers; 0 turns it off.
    pub long_tail_every: usize,
    /// Interactions kept per shopper (the oldest fall out).
    pub history_per_user: usize,
    /// A history item's weight halves for every this many interactions after it:
    /// what a shopper looks at now says more than what they looked at last month.
    pub recency_half_life: usize,
    /// How likely a shopper's next interest lies outside the categories of their
    /// history: trending ranks an item by its share of its category's trend times
    /// the shopper's taste for the category, this much of which is the catalogue's.
    pub other_categories_share: f64,
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
            long_tail_every: 10,
            history_per_user: 50,
            recency_half_life: 10,
            other_categories_share: 0.2,
            shrinkage: 5.0,
            diversity_lambda: 0.8,
            per_category_in_top: 4,
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

impl Config {
    /// The defaults with `overrides` applied: comma-separated `name=value` pairs
    /// naming any knob (`view_weight=2,trending_share=0.2,trending_half_life_hours=12`).
    pub fn with_overrides(overrides: &str) -> Result<Self, String> {
        let mut config = Config::default();
        for pair in overrides
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not name=value"))?;
            let number: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{name}: '{value}' is not a number of at least 0"))?;
            let hours = |h: f64| Duration::seconds((h * 3600.0) as i64);
            let count = |n: f64| (n as usize).max(1);
            // Half-lives up to a century and counts up to 100,000: anything larger
            // is a typo, and would overflow the arithmetic it feeds.
            let (hours_ok, count_ok) = (number > 0.0 && number <= 876_000.0, number <= 100_000.0);
            match name.trim() {
                "view_weight" => config.view_weight = number,
                "cart_weight" => config.cart_weight = number,
                "purchase_weight" => config.purchase_weight = number,
                "click_weight" => config.click_weight = number,
                "collaborative_share" => config.collaborative_share = number,
                "content_share" => config.content_share = number,
                "trending_share" => config.trending_share = number,
                "latent_part" if number <= 1.0 => config.latent_part = number,
                "trending_half_life_hours" if hours_ok => config.trending_half_life = hours(number),
                "new_item_half_life_hours" if hours_ok => config.new_item_half_life = hours(number),
                "new_item_every" if count_ok => config.new_item_every = count(number),
                "long_tail_every" if count_ok => config.long_tail_every = number as usize,
                "history_per_user" if count_ok => config.history_per_user = count(number),
                "recency_half_life" if count_ok => config.recency_half_life = count(number),
                "other_categories_share" if number <= 1.0 => config.other_categories_share = number,
                "shrinkage" => config.shrinkage = number,
                "diversity_lambda" if number <= 1.0 => config.diversity_lambda = number,
                "per_category_in_top" if count_ok => config.per_category_in_top = count(number),
                "per_shop_in_top" if count_ok => config.per_shop_in_top = count(number),
                other => return Err(format!("{other}={value}: no such knob, or out of range")),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_the_knobs_they_name_and_refuse_the_rest() {
        let config =
            Config::with_overrides("view_weight=2, trending_share=0.1,trending_half_life_hours=12")
                .unwrap();
        assert_eq!(config.view_weight, 2.0);
        assert_eq!(config.trending_share, 0.1);
        assert_eq!(config.trending_half_life, Duration::hours(12));
        assert_eq!(config.cart_weight, Config::default().cart_weight);
        assert_eq!(Config::with_overrides("").unwrap(), Config::default());
        for bad in [
            "colour=2",
            "view_weight",
            "view_weight=-1",
            "diversity_lambda=2",
            "view_weight=x",
            "trending_half_life_hours=1e300",
            "new_item_every=1e30",
            "other_categories_share=1.5",
        ] {
            assert!(Config::with_overrides(bad).is_err(), "{bad}");
        }
    }
}
