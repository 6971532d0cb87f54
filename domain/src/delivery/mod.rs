//! Delivery pricing and the forecasts' uses, the pure part: what a fee is made of and the guard rails on it.
//! The projection that measures demand and supply per zone, the routes that quote and
//! the orders that honour quotes build on these functions; nothing here reads a clock
//! or a time zone (callers pass the local time and the inputs).
//!
//! * [`accuracy`] — a forecast's errors (MASE, WAPE) beside the naive forecasts,
//!   over a rolling origin: what `commerce eval forecast` reports.
//! * [`forecast`] — demand ahead: the same step of the last weeks, weighted toward
//!   the latest, scaled by how the latest day ran.
//! * [`fee`] — the base fee from distance, the multipliers (weather, demand, rush
//!   hour, local event), then the business rules in a fixed order (global cap,
//!   emergency cap, floor, ceiling, free delivery), each recorded when it binds, and
//!   the sentence a customer reads.
//! * [`emergency`] — the emergency cap: the 4th-highest multiplier charged on
//!   different days in the preceding 60 days.
//! * [`rush_hour`] — rush-hour windows on a city's local wall clock and weekday.
//! * [`rebalancing`] — courier moves between zones that cover the next hour's
//!   forecast best, weighed by distance, never farther than allowed.
//! * [`reorder`] — reorder points for stock from daily sales: safety stock,
//!   suggested quantity, days of cover, once per crossing.
//! * [`hysteresis`] — a multiplier that moves by at most a step and stays at least a
//!   dwell time, so a fee does not flap.
//! * [`quote`] — a quote as a token sealed with an HMAC: its fee and inputs, checked
//!   when an order uses it (expired, forged, another buyer, zone or currency).

pub mod accuracy;
pub mod emergency;
pub mod fee;
pub mod forecast;
pub mod hysteresis;
pub mod quote;
pub mod rebalancing;
pub mod reorder;
pub mod rush_hour;

pub use accuracy::{mase, naive, seasonal_naive, wape, Accuracy, Backtest, Forecaster};
pub use emergency::{emergency_cap, DailyMaxima, EMERGENCY_LOOKBACK_DAYS};
pub use fee::{
    demand_multiplier, price, Binding, Conditions, Multiplier, MultiplierKind, Policy, Priced,
    Rule, Weather,
};
pub use forecast::{EventWindow, Interval, SeasonalAverage};
pub use hysteresis::{Hysteresis, Steady};
pub use quote::{OrderFacts, QuoteProblem, QuoteTerms};
pub use rebalancing::{rebalance, Move, RebalancingRules, ZoneOutlook};
pub use reorder::{advise, crossed, z_score, ReorderAdvice, ReorderRules};
pub use rush_hour::{in_rush_hour, RushWindow};
