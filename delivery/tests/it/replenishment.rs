//! Reorder points from the log: given stock received and sold on chosen days, when
//! folded, then each shelf's velocity, reorder point, days of cover and what to
//! reorder, most urgent first.

use chrono::{DateTime, Duration, TimeZone, Utc};
use delivery::replenishment::{Replenishment, ReplenishmentConfig};
use event_log::LogRecord;
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::StockEvent;
use projections::runtime::InMemory;

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::days(n)
}

struct Stock(Vec<LogRecord>);

impl Stock {
    fn push(&mut self, event: StockEvent, at: DateTime<Utc>) {
        let position = self.0.len() as i64 + 1;
        self.0.push(LogRecord {
            position,
            aggregate_type: STOCK_AGGREGATE.into(),
            event_version: "1.0".into(),
            payload: serde_json::to_string(&event).unwrap(),
            occurred_at: at,
        });
    }

    fn receive(&mut self, sku: &str, warehouse: &str, quantity: u64, at: DateTime<Utc>) {
        self.push(
            StockEvent::StockReceived {
                sku: sku.into(),
                warehouse_id: warehouse.into(),
                quantity,
            },
            at,
        );
    }

    fn sell(&mut self, sku: &str, warehouse: &str, quantity: u64, at: DateTime<Utc>) {
        let order_id = format!("o{}", self.0.len());
        self.push(
            StockEvent::StockSold {
                sku: sku.into(),
                warehouse_id: warehouse.into(),
                quantity,
                order_id: Some(order_id),
                hold_id: None,
            },
            at,
        );
    }

    fn fold(&self, config: ReplenishmentConfig) -> Replenishment {
        let mut model = Replenishment::new(config);
        model.apply(&self.0).unwrap();
        model
    }
}

#[test]
fn steady_sales_give_a_velocity_a_reorder_point_and_days_of_cover() {
    // Given 200 mugs received and 5 sold a day for ten days (150 left)
    let mut stock = Stock(vec![]);
    stock.receive("MUG", "ams", 200, day(0));
    for n in 0..10 {
        stock.sell("MUG", "ams", 5, day(n));
    }
    // When read on day 10 (a day with no sale yet)
    stock.receive("OTHER", "ams", 1, day(10));
    let model = stock.fold(ReplenishmentConfig::default());
    let advice = model.advice("MUG", "ams").unwrap();
    // Then it sells 5 a day, no spread, reorders at 7 days' sales, lasts 30 days
    assert_eq!(advice.available, 150);
    assert!((advice.advice.velocity - 5.0).abs() < 1e-9, "{advice:?}");
    assert!(
        (advice.advice.reorder_point - 35.0).abs() < 1e-9,
        "{advice:?}"
    );
    assert_eq!(advice.advice.days_of_cover, Some(30.0));
    assert!(
        model.to_reorder("ams").is_empty(),
        "well above the reorder point"
    );
}

#[test]
fn what_to_reorder_comes_most_urgent_first_and_a_warehouse_can_wait_longer() {
    // Given two SKUs selling 10 a day with 40 and 20 left
    let mut stock = Stock(vec![]);
    for (sku, received) in [("MUG", 140), ("BOWL", 120)] {
        stock.receive(sku, "ams", received, day(0));
        for n in 0..10 {
            stock.sell(sku, "ams", 10, day(n));
        }
    }
    stock.receive("OTHER", "ams", 1, day(10));
    let model = stock.fold(ReplenishmentConfig::default());
    // Then both are under their reorder point (70), the one with 2 days left first
    let due = model.to_reorder("ams");
    let skus: Vec<&str> = due.iter().map(|s| s.sku.as_str()).collect();
    assert_eq!(skus, ["BOWL", "MUG"]);
    // And the order brings it to the reorder point plus 14 days of sales
    assert_eq!(due[0].advice.suggested_quantity, 70 + 140 - 20);
    assert!(
        model.to_reorder("rtm").is_empty(),
        "another warehouse's list"
    );
    // And with a 2-day lead time at ams, 40 left is enough (reorder point 20)
    let config = ReplenishmentConfig::parse("lead_time.ams=2").unwrap();
    let due = stock.fold(config).to_reorder("ams");
    let skus: Vec<&str> = due.iter().map(|s| s.sku.as_str()).collect();
    assert_eq!(skus, ["BOWL"]);
}

#[test]
fn settings_parse_and_bad_ones_say_why() {
    let config =
        ReplenishmentConfig::parse("service_level=0.99, lead_time_days=3,lead_time.ams=1").unwrap();
    assert_eq!(config.rules.service_level, 0.99);
    assert_eq!(config.rules_for("rtm").lead_time_days, 3.0);
    assert_eq!(config.rules_for("ams").lead_time_days, 1.0);
    assert!(ReplenishmentConfig::parse("service_level=0.2").is_err());
    assert!(ReplenishmentConfig::parse("lead_time.=3").is_err());
    assert!(ReplenishmentConfig::parse("colour=3").is_err());
}
