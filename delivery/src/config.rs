//! The pricing model's settings (`serve --delivery name=value,...`).

use chrono::Duration;
use domain::delivery::Hysteresis;
use h3o::Resolution;

/// How zones are drawn, how demand is measured and how long quotes last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricingConfig {
    /// H3 resolution of a zone (8: about 0.74 km²).
    pub resolution: Resolution,
    /// Demand is what arrived within this window before the moment priced.
    pub demand_window: Duration,
    /// How a zone's multiplier follows its demand (smoothing, step, dwell).
    pub hysteresis: Hysteresis,
    /// How long a quote can be used.
    pub quote_ttl: Duration,
    /// What one quote request counts as, against an order's 1.
    pub quote_weight: f64,
    /// A pickup point names the warehouse within this distance.
    pub pickup_radius_km: f64,
    /// Couriers one zone's demand is measured against: its own and this ring around it.
    pub supply_ring: u32,
}

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::Eight,
            demand_window: Duration::minutes(15),
            hysteresis: Hysteresis::default(),
            quote_ttl: Duration::minutes(10),
            // A request for a price is a weaker sign than an order, and anyone may
            // ask (under their rate limit): it moves demand a quarter as much.
            quote_weight: 0.25,
            pickup_radius_km: 1.0,
            supply_ring: 1,
        }
    }
}

impl PricingConfig {
    /// Settings from `name=value` pairs: `resolution` (0–15), `window_minutes`,
    /// `quote_minutes`, `dwell_minutes`, `step`, `smoothing`, `quote_weight`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut config = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not name=value"))?;
            let number: f64 = value
                .parse()
                .map_err(|_| format!("{name}: '{value}' is not a number"))?;
            let minutes = |n: f64| -> Result<Duration, String> {
                if n.is_finite() && n > 0.0 && n <= 7.0 * 24.0 * 60.0 {
                    Ok(Duration::seconds((n * 60.0).round() as i64))
                } else {
                    Err(format!("{name} must be above 0 and at most a week"))
                }
            };
            match name {
                "resolution" => {
                    config.resolution = u8::try_from(number as i64)
                        .ok()
                        .and_then(|r| Resolution::try_from(r).ok())
                        .ok_or("resolution must be 0 to 15")?
                }
                "window_minutes" => config.demand_window = minutes(number)?,
                "quote_minutes" => config.quote_ttl = minutes(number)?,
                "dwell_minutes" => {
                    config.hysteresis.dwell = if number == 0.0 {
                        Duration::zero()
                    } else {
                        minutes(number)?
                    }
                }
                "step" if (0.01..=1.0).contains(&number) => config.hysteresis.step = number,
                "smoothing" if number > 0.0 && number <= 1.0 => {
                    config.hysteresis.smoothing = number
                }
                "quote_weight" if (0.0..=10.0).contains(&number) => config.quote_weight = number,
                "step" | "smoothing" | "quote_weight" => {
                    return Err(format!("{name}: {value} is out of range"))
                }
                _ => return Err(format!("unknown delivery setting '{name}'")),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_bad_ones_say_why() {
        let config =
            PricingConfig::parse("resolution=9, window_minutes=30,dwell_minutes=0").unwrap();
        assert_eq!(config.resolution, Resolution::Nine);
        assert_eq!(config.demand_window, Duration::minutes(30));
        assert_eq!(config.hysteresis.dwell, Duration::zero());
        assert!(PricingConfig::parse("resolution=16").is_err());
        assert!(PricingConfig::parse("colour=7").is_err());
        assert!(PricingConfig::parse("step=0").is_err());
    }
}
