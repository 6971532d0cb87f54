//! The warehouses' rates are read through the upcaster: a `WarehouseRegistered`
//! stored at 1.0 (rates under `ships_to`) reads like one written today (2.0).

use event_schemas::{GeoPoint, Money, ShippingRate, WarehouseEvent};
use projections::warehouses::{self, WarehouseRates};

use crate::on_both_backends;
use crate::support::Backend;

on_both_backends!(stored_v1_and_v2_registrations_read_alike);

fn rate(region: &str, days: u32) -> ShippingRate {
    let eur = |amount| Money {
        amount,
        currency: "EUR".into(),
    };
    ShippingRate {
        region: region.into(),
        cost_per_item: eur(50),
        cost_per_shipment: eur(495),
        days,
    }
}

async fn stored_v1_and_v2_registrations_read_alike(log: &mut Backend) {
    // The row an older build wrote.
    log.append(
        "warehouse",
        "ams",
        "WarehouseRegistered",
        "1.0",
        serde_json::json!({"WarehouseRegistered": {
            "warehouse_id": "ams", "name": "Amsterdam", "region": "nl",
            "location": {"lat": 52.37, "lon": 4.89},
            "ships_to": [serde_json::to_value(rate("nl", 1)).unwrap()]
        }}),
    )
    .await;
    // One written today.
    let today = WarehouseEvent::WarehouseRegistered {
        warehouse_id: "rtm".into(),
        name: "Rotterdam".into(),
        region: "nl".into(),
        location: GeoPoint {
            lat: 51.92,
            lon: 4.48,
        },
        ships_to: vec![rate("be", 2)],
    };
    log.append_event("warehouse", "rtm", &today).await;

    assert_eq!(
        warehouses::all(&log.read).await.unwrap(),
        vec![
            WarehouseRates {
                warehouse_id: "ams".into(),
                ships_to: vec![rate("nl", 1)],
            },
            WarehouseRates {
                warehouse_id: "rtm".into(),
                ships_to: vec![rate("be", 2)],
            },
        ]
    );
}
