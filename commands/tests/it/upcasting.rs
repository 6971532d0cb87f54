//! The aggregate host loads events stored at an older version through their
//! upcaster: a `WarehouseRegistered` 1.0 row (rates under `ships_to`) is the
//! warehouse's state as much as one written today (2.0, `shipping_rates`).

use commands::{AppClock, AppendBatch, CommandService, EventStore, NewEvent};
use domain::RegisterWarehouse;
use event_log::Database;
use event_schemas::{GeoPoint, Metadata, Money, ShippingRate};

crate::contract! {
    a_stored_v1_warehouse_registration_loads_in_the_host => check_v1_registration_loads,
}

fn registration(warehouse_id: &str) -> RegisterWarehouse {
    let eur = |amount| Money {
        amount,
        currency: "EUR".into(),
    };
    RegisterWarehouse {
        warehouse_id: warehouse_id.into(),
        name: "Amsterdam".into(),
        region: "nl".into(),
        location: GeoPoint {
            lat: 52.37,
            lon: 4.89,
        },
        ships_to: vec![ShippingRate {
            region: "nl".into(),
            cost_per_item: eur(50),
            cost_per_shipment: eur(495),
            days: 1,
        }],
    }
}

/// The row an older build wrote for `command`: version 1.0, rates under `ships_to`.
fn v1_row(command: &RegisterWarehouse) -> AppendBatch {
    AppendBatch {
        aggregate_type: "warehouse".into(),
        aggregate_id: command.warehouse_id.clone(),
        expected_sequence: 0,
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "WarehouseRegistered".into(),
            event_version: "1.0".into(),
            payload: serde_json::json!({"WarehouseRegistered": {
                "warehouse_id": command.warehouse_id,
                "name": command.name,
                "region": command.region,
                "location": command.location,
                "ships_to": command.ships_to,
            }})
            .to_string(),
            metadata: Metadata::default(),
            occurred_at: chrono::Utc::now(),
        }],
        receipts: Vec::new(),
    }
}

async fn check_v1_registration_loads(store: &EventStore, _: &Database) {
    let ams = registration("ams");
    let results = store.append(&[v1_row(&ams)]).await.unwrap();
    results[0].as_ref().expect("a fresh log");
    let service = CommandService::new(store.clone(), AppClock::System);
    let metadata = Metadata::default();

    // The host loads the 1.0 event with its rates: the same registration is a
    // repeat, other rates a conflict.
    let repeat = service
        .register_warehouse(ams.clone(), &metadata)
        .await
        .unwrap();
    assert_eq!(repeat.events, 0);
    let mut other_rates = ams.clone();
    other_rates.ships_to[0].days = 2;
    assert!(service
        .register_warehouse(other_rates, &metadata)
        .await
        .is_err());

    // What the host writes today is 2.0, and reads back the same.
    let rtm = registration("rtm");
    let fresh = service
        .register_warehouse(rtm.clone(), &metadata)
        .await
        .unwrap();
    assert_eq!(fresh.events, 1);
    let stored = store.load("warehouse", "rtm", 0).await.unwrap();
    assert_eq!(stored[0].event_version, "2.0");
    let payload = stored[0].payload_json().unwrap();
    assert_eq!(
        payload["WarehouseRegistered"]["shipping_rates"],
        serde_json::to_value(&rtm.ships_to).unwrap()
    );
    assert!(payload["WarehouseRegistered"].get("ships_to").is_none());
    let repeat = service.register_warehouse(rtm, &metadata).await.unwrap();
    assert_eq!(repeat.events, 0);
}
