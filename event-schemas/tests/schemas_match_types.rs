//! The checked-in JSON Schemas are exactly what the types generate.

use std::path::PathBuf;

#[test]
fn checked_in_schemas_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut drifted = Vec::new();
    for (file, schema) in event_schemas::schemas::all() {
        let path = dir.join(file);
        let expected = event_schemas::schemas::render(&schema);
        if update {
            std::fs::write(&path, &expected).unwrap();
            continue;
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            drifted.push(file);
        }
    }
    assert!(
        drifted.is_empty(),
        "schemas drifted from the types: {drifted:?}; run `UPDATE_SCHEMAS=1 cargo test -p event-schemas` and commit json/"
    );
}

#[test]
fn an_envelope_round_trips_and_decodes() {
    let event = event_schemas::StockEvent::StockReceived {
        sku: "MUG-1".into(),
        warehouse_id: "ams".into(),
        quantity: 5,
    };
    let envelope = event_schemas::Envelope {
        event_id: uuid::Uuid::now_v7(),
        aggregate_type: "stock".into(),
        aggregate_id: "MUG-1@ams".into(),
        sequence: 1,
        position: 7,
        event_type: event.event_type().into(),
        event_version: event_schemas::CURRENT_EVENT_VERSION.into(),
        occurred_at: chrono::Utc::now(),
        metadata: Default::default(),
        payload: serde_json::to_value(&event).unwrap(),
    };
    let text = serde_json::to_string(&envelope).unwrap();
    let back: event_schemas::Envelope = serde_json::from_str(&text).unwrap();
    assert_eq!(back, envelope);
    assert_eq!(
        back.decode().unwrap(),
        event_schemas::RecordedEvent::Stock(event)
    );
}
