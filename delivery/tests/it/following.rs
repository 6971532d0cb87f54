//! The model following a real log: events appended through the store show in the
//! model once it caught up.

use delivery::{live, PricingConfig};
use event_schemas::delivery::{CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use event_schemas::DeliveryFeedEvent;
use testkit::TestLog;

use crate::support::{berlin_policy, BERLIN};

#[tokio::test]
async fn the_live_model_catches_up_with_policies_and_couriers() {
    let mut log = TestLog::sqlite().await;
    log.append_event(CITY_AGGREGATE, "berlin", &berlin_policy(2.0))
        .await;
    let pricing = live(log.read.clone(), PricingConfig::default());
    let cell = pricing.read(|z| z.cell_of(BERLIN).unwrap()).0;
    let position = log
        .append_event(
            DELIVERY_FEED_AGGREGATE,
            "feed-1",
            &DeliveryFeedEvent::CourierWentOnline {
                courier_id: "c1".into(),
                cell: cell.to_string(),
            },
        )
        .await;
    pricing.catch_up().await.unwrap();
    assert!(pricing.position() >= position);
    let (supply, _) = pricing.read(|z| z.supply(cell));
    assert_eq!(supply, 1);
    assert!(pricing.read(|z| z.cities.contains_key("berlin")).0);
    log.drop_database().await;
}
