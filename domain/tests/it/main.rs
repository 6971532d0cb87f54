//! The domain crate's tests, as one integration test binary.
//!
//! - `allocation`: the multi-warehouse allocation policy, one given/when/then per
//!   rule, and random small cases against a brute force.
//! - `stock_rules`: one given/when/then per rule of the Stock aggregate, through the
//!   cqrs-es test framework.
//! - `warehouse_rules`: the same for the Warehouse aggregate.
//! - `order_process_rules`: the order process's policy (event + order + time → step
//!   and order commands).
//! - `order_rules`, `reservation_rules`, `buyer_holds_rules`: the same for Order,
//!   Reservation, BuyerHolds and ParkedEvents.
//! - `city_rules`: a city's delivery pricing policy and its emergencies.
//! - `delivery_planning_rules`: courier rebalancing and reorder points.
//! - `delivery_pricing_rules`: delivery fees' guard rails as properties (monotone in
//!   demand, caps never exceeded, the emergency cap's 60-day rule, hysteresis).
//! - `stays_rules`: one given/when/then per rule of the Listing aggregate (stays:
//!   listings, moderation, booking, overlaps, confirmation, refunds, reviews, pricing).
//! - `stays_time_zones`: the Listing aggregate across time zones, daylight-saving
//!   changes, New Year and a hold ending at the listing's local midnight.
//! - `stock_properties`: random command sequences on one stock, checked against a
//!   reference model and the stock's invariants after every step.

mod support;

mod allocation;
mod api_key_rules;
mod buyer_holds_rules;
mod city_rules;
mod delivery_planning_rules;
mod delivery_pricing_rules;
mod delivery_quote_rules;
mod flash_sale_rules;
mod forecast_accuracy_rules;
mod order_process_rules;
mod order_rules;
mod product_rules;
mod reorder_rules;
mod reservation_rules;
mod stays_rules;
mod stays_time_zones;
mod stock_properties;
mod stock_rules;
mod warehouse_rules;
