//! Given events in the log, when the follower catches up, then the lists show them.

use std::time::Duration;

use chrono::Utc;
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::product::PRODUCT_AGGREGATE;
use event_schemas::stock::STOCK_AGGREGATE;
use event_schemas::{
    ActivityEvent, ActivityKind, Destination, GeoPoint, Money, OrderEvent, PricedLine,
    ProductDetails, ProductEvent, Shop, StockEvent,
};
use recommendations::{Config, LiveRecommendations, Request};
use testkit::TestLog;

const ACTIVITY: &str = event_schemas::activity::ACTIVITY_AGGREGATE;

pub(crate) fn money() -> Money {
    Money {
        amount: 1200,
        currency: "EUR".into(),
    }
}

pub(crate) fn listed(sku: &str, title: &str, category: &str, material: &str) -> ProductEvent {
    ProductEvent::ProductListed {
        sku: sku.into(),
        details: ProductDetails {
            title: title.into(),
            description: String::new(),
            tags: vec![],
            category: category.into(),
            materials: vec![material.into()],
            shop: Shop {
                shop_id: format!("shop-{sku}"),
                name: "A shop".into(),
                location: GeoPoint {
                    lat: 52.0,
                    lon: 4.0,
                },
            },
            price: money(),
            language: "en".into(),
        },
    }
}

pub(crate) fn received(sku: &str) -> StockEvent {
    StockEvent::StockReceived {
        sku: sku.into(),
        warehouse_id: "ams-1".into(),
        quantity: 10,
    }
}

pub(crate) fn viewed(user: &str, sku: &str) -> ActivityEvent {
    ActivityEvent::ActivityRecorded {
        user_id: user.into(),
        kind: ActivityKind::Viewed,
        sku: Some(sku.into()),
        query: None,
        model_version: None,
    }
}

pub(crate) fn ask(live: &LiveRecommendations, user: &str) -> Vec<String> {
    let request = Request {
        user_id: Some(user.into()),
        limit: 10,
        ..Request::default()
    };
    live.read(|followed| followed.model().recommend(&request, Utc::now()))
        .0
        .into_iter()
        .map(|r| r.sku)
        .collect()
}

#[tokio::test]
async fn paid_orders_count_as_purchases_and_only_stocked_items_are_listed() {
    let mut log = TestLog::sqlite().await;
    // Given three stoneware items, two of them in stock
    for (sku, title) in [
        ("MUG", "Stoneware mug"),
        ("BOWL", "Stoneware bowl"),
        ("VASE", "Stoneware vase"),
    ] {
        log.append_event(
            PRODUCT_AGGREGATE,
            sku,
            &listed(sku, title, "home/kitchen", "stoneware"),
        )
        .await;
    }
    for sku in ["MUG", "BOWL"] {
        log.append_event(STOCK_AGGREGATE, &format!("{sku}:ams-1"), &received(sku))
            .await;
    }
    // And an order of a mug by ada, paid
    let placed = OrderEvent::OrderPlaced {
        order_id: "o-1".into(),
        customer: Some("ada".into()),
        lines: vec![PricedLine {
            sku: "MUG".into(),
            quantity: 1,
            unit_price: money(),
        }],
        total: money(),
        ship_to: Destination {
            region: "NL".into(),
            lat: None,
            lon: None,
        },
        priority: false,
    };
    log.append_event(ORDER_AGGREGATE, "o-1", &placed).await;
    let paid = OrderEvent::OrderPaid {
        order_id: "o-1".into(),
        payment_id: "p-1".into(),
        amount: money(),
    };
    let last = log.append_event(ORDER_AGGREGATE, "o-1", &paid).await;

    // When the follower catches up
    let live = recommendations::live(log.read.clone(), Config::default());
    live.catch_up().await.unwrap();
    live.wait_for(last, Duration::from_secs(5)).await.unwrap();

    // Then ada is offered the bowl (like the mug she bought, and in stock), neither
    // the mug she bought nor the vase nobody stocks
    assert_eq!(ask(&live, "ada"), ["BOWL"]);

    // And when the vase arrives and bo views the bowl, both change at once
    log.append_event(STOCK_AGGREGATE, "VASE:ams-1", &received("VASE"))
        .await;
    let last = log
        .append_event(ACTIVITY, "a-1", &viewed("bo", "BOWL"))
        .await;
    live.catch_up().await.unwrap();
    assert!(live.position() >= last);
    let ada = ask(&live, "ada");
    assert!(ada.contains(&"VASE".to_string()) && ada.contains(&"BOWL".to_string()));
    let bo = ask(&live, "bo");
    assert!(!bo.contains(&"BOWL".to_string()), "bo just viewed the bowl");
    assert!(bo.contains(&"MUG".to_string()) && bo.contains(&"VASE".to_string()));
    log.drop_database().await;
}
