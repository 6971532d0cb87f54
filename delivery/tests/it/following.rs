//! The model following a real log: events appended through the store show in the
//! model once it caught up.

use delivery::{live, PricingConfig};
use event_schemas::delivery::{CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use event_schemas::{CityEvent, DeliveryFeedEvent, DeliveryPolicy};
use testkit::TestLog;

use crate::support::BERLIN;

#[tokio::test]
async fn the_live_model_catches_up_with_policies_and_couriers() {
    let mut log = TestLog::sqlite().await;
    log.append_event(
        CITY_AGGREGATE,
        "berlin",
        &CityEvent::PricingPolicySet {
            city_id: "berlin".into(),
            time_zone: "Europe/Berlin".into(),
            center: BERLIN,
            radius_km: 25.0,
            policy: DeliveryPolicy {
                currency: "EUR".into(),
                base_fee: 199,
                per_km: 50,
                floor: 199,
                ceiling: 2_000,
                multiplier_cap: 2.0,
                free_delivery_from: None,
            },
            rush_hours: vec![],
        },
    )
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
