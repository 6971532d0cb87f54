//! Upcasting: bringing a payload stored at an older event version to the shape this
//! build reads. Every decode of a stored event goes through here
//! ([`RecordedEvent::parse`](crate::RecordedEvent::parse), [`decode_str`],
//! [`decode_value`]), so a new version needs its upcaster in one place only.
//!
//! Shipped changes:
//!
//! * `warehouse` / `WarehouseRegistered` 1.0 → 2.0: `ships_to` renamed
//!   `shipping_rates`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::warehouse::WAREHOUSE_AGGREGATE;

/// Rewrites a payload in place to the next version's shape.
type Upcaster = fn(&mut Value);

/// The upcaster a payload of `aggregate_type` written at `event_version` needs,
/// if any. Cheap: on the hot path of every read, it compares two short strings.
fn upcaster(aggregate_type: &str, event_version: &str) -> Option<Upcaster> {
    match (aggregate_type, event_version) {
        (WAREHOUSE_AGGREGATE, "1.0") => Some(warehouse_v1_to_v2),
        _ => None,
    }
}

/// `WarehouseRegistered` 1.0 → 2.0: the rates move from `ships_to` to
/// `shipping_rates`. A payload that already has the new name is left alone.
fn warehouse_v1_to_v2(payload: &mut Value) {
    let Some(fields) = payload
        .get_mut("WarehouseRegistered")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Some(rates) = fields.remove("ships_to") {
        fields.entry("shipping_rates").or_insert(rates);
    }
}

/// Bring `payload` (of `aggregate_type`, written at `event_version`) to the current
/// shape of its event, in place.
pub fn upcast(aggregate_type: &str, event_version: &str, payload: &mut Value) {
    if let Some(up) = upcaster(aggregate_type, event_version) {
        up(payload);
    }
}

/// The version an event of `aggregate_type` named `event_type` is written with by
/// this build: what [`upcast`] brings an older payload to.
pub fn current_version(aggregate_type: &str, event_type: &str) -> &'static str {
    match (aggregate_type, event_type) {
        (WAREHOUSE_AGGREGATE, "WarehouseRegistered") => {
            crate::warehouse::WAREHOUSE_REGISTERED_VERSION
        }
        _ => crate::CURRENT_EVENT_VERSION,
    }
}

/// Parse a stored payload's JSON text into `E`, upcasting it first when its version
/// is an old one. A current payload is parsed straight from the text.
pub fn decode_str<E: DeserializeOwned>(
    aggregate_type: &str,
    event_version: &str,
    payload: &str,
) -> Result<E, serde_json::Error> {
    match upcaster(aggregate_type, event_version) {
        None => serde_json::from_str(payload),
        Some(up) => {
            let mut value: Value = serde_json::from_str(payload)?;
            up(&mut value);
            E::deserialize(value)
        }
    }
}

/// Parse a stored payload already read as JSON into `E`, upcasting it first when its
/// version is an old one.
pub fn decode_value<E: DeserializeOwned>(
    aggregate_type: &str,
    event_version: &str,
    payload: &Value,
) -> Result<E, serde_json::Error> {
    match upcaster(aggregate_type, event_version) {
        None => E::deserialize(payload),
        Some(up) => {
            let mut value = payload.clone();
            up(&mut value);
            E::deserialize(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WarehouseEvent;

    fn v1() -> Value {
        serde_json::json!({"WarehouseRegistered": {
            "warehouse_id": "ams", "name": "Amsterdam", "region": "nl",
            "location": {"lat": 52.37, "lon": 4.9},
            "ships_to": [{"region": "nl",
                          "cost_per_item": {"amount": 50, "currency": "EUR"},
                          "cost_per_shipment": {"amount": 400, "currency": "EUR"},
                          "days": 1}]
        }})
    }

    #[test]
    fn a_v1_warehouse_registration_reads_as_v2() {
        let from_text: WarehouseEvent =
            decode_str(WAREHOUSE_AGGREGATE, "1.0", &v1().to_string()).unwrap();
        let from_value: WarehouseEvent = decode_value(WAREHOUSE_AGGREGATE, "1.0", &v1()).unwrap();
        assert_eq!(from_text, from_value);
        let WarehouseEvent::WarehouseRegistered { ships_to, .. } = &from_text;
        assert_eq!(ships_to.len(), 1);
        assert_eq!(ships_to[0].days, 1);
        // Written again, it is a 2.0 payload.
        let v2 = serde_json::to_value(&from_text).unwrap();
        assert!(v2["WarehouseRegistered"].get("ships_to").is_none());
        assert_eq!(v2["WarehouseRegistered"]["shipping_rates"][0]["days"], 1);
        assert_eq!(from_text.event_version(), "2.0");
    }

    #[test]
    fn a_v1_payload_is_not_read_as_v2_without_its_upcaster() {
        assert!(
            decode_str::<WarehouseEvent>(WAREHOUSE_AGGREGATE, "2.0", &v1().to_string()).is_err()
        );
    }
}
