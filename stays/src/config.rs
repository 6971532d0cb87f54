//! What the stays read model is configured with: the ranking's weights and the
//! fraud screening's thresholds.

use serde::{Deserialize, Serialize};

/// The weight of each ranking component; a hit's score is their weighted sum (each
/// component is in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankingWeights {
    pub quality: f64,
    pub relevance: f64,
    pub personalisation: f64,
    pub price: f64,
    pub availability: f64,
}

impl Default for RankingWeights {
    /// The seed's baseline: quality 0.25, relevance 0.25, personalisation 0.20,
    /// price 0.15, availability 0.15.
    fn default() -> Self {
        Self {
            quality: 0.25,
            relevance: 0.25,
            personalisation: 0.20,
            price: 0.15,
            availability: 0.15,
        }
    }
}

impl RankingWeights {
    /// Parse `quality=0.3,relevance=0.2,...` (names not given keep their default);
    /// every weight must be finite and non-negative, and they must not all be zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut weights = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not name=weight"))?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("the weight of '{name}' is not a number"))?;
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "the weight of '{name}' must be a non-negative number"
                ));
            }
            match name.trim() {
                "quality" => weights.quality = value,
                "relevance" => weights.relevance = value,
                "personalisation" => weights.personalisation = value,
                "price" => weights.price = value,
                "availability" => weights.availability = value,
                other => return Err(format!("no ranking component is called '{other}'")),
            }
        }
        if weights.as_array().iter().all(|w| *w == 0.0) {
            return Err("at least one weight must be above zero".into());
        }
        Ok(weights)
    }

    /// In the order quality, relevance, personalisation, price, availability.
    pub fn as_array(&self) -> [f64; 5] {
        [
            self.quality,
            self.relevance,
            self.personalisation,
            self.price,
            self.availability,
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StaysConfig {
    pub weights: RankingWeights,
    /// A listing priced below this share of comparable listings' median nightly
    /// price is flagged (default 0.4).
    pub price_far_below: f64,
    /// More listings than this created by one new host within a day are flagged.
    pub host_burst: u32,
}

impl Default for StaysConfig {
    fn default() -> Self {
        Self {
            weights: RankingWeights::default(),
            price_far_below: 0.4,
            host_burst: 5,
        }
    }
}

impl StaysConfig {
    /// Parse comma-separated `name=value` pairs: the five ranking weights
    /// (`quality`, `relevance`, `personalisation`, `price`, `availability`),
    /// `price_far_below` (0-1) and `host_burst`. Names not given keep their default.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut config = Self::default();
        let mut weights = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not name=value"))?;
            match name.trim() {
                "price_far_below" => {
                    config.price_far_below = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|v: &f64| (0.0..=1.0).contains(v))
                        .ok_or("price_far_below must be a number from 0 to 1")?
                }
                "host_burst" => {
                    config.host_burst = value
                        .trim()
                        .parse()
                        .map_err(|_| "host_burst must be a whole number")?
                }
                _ => weights.push(part),
            }
        }
        config.weights = RankingWeights::parse(&weights.join(","))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_bad_ones_are_refused() {
        let config = StaysConfig::parse("quality=0.5, price_far_below=0.3,host_burst=9").unwrap();
        assert_eq!(config.weights.quality, 0.5);
        assert_eq!(config.weights.relevance, 0.25);
        assert_eq!(config.price_far_below, 0.3);
        assert_eq!(config.host_burst, 9);
        assert_eq!(StaysConfig::parse("").unwrap(), StaysConfig::default());
        for bad in [
            "speed=1",
            "quality=-1",
            "price_far_below=2",
            "host_burst=x",
            "quality",
        ] {
            assert!(StaysConfig::parse(bad).is_err(), "{bad}");
        }
        assert!(StaysConfig::parse(
            "quality=0,relevance=0,personalisation=0,price=0,availability=0"
        )
        .is_err());
    }
}
