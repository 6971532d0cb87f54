//! The message format on the stream: the CloudEvents NATS binding in binary mode.
//! The payload is the event's JSON in the version this build writes (older ones are
//! upcast first), valid against `event-schemas/json`; the envelope travels in
//! headers:
//!
//! | header | value |
//! |---|---|
//! | `Nats-Msg-Id`, `ce-id` | the event id (UUIDv7) |
//! | `ce-specversion` | `1.0` |
//! | `ce-source` | `/commerce/<prefix>` |
//! | `ce-type` | `commerce.<aggregate_type>.<EventType>.v<version>` |
//! | `ce-time` | when it was decided (RFC 3339) |
//! | `ce-subject` | the aggregate id |
//! | `content-type` | `application/json` |
//! | `commerce-position` | its position in the log |
//! | `commerce-sequence` | its sequence within the aggregate |
//! | `commerce-metadata` | correlation, causation, actor, idempotency key (JSON) |

use async_nats::jetstream::message::PublishMessage;
use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use event_log::CopiedEvent;
use event_schemas::Envelope;
use serde::de::IgnoredAny;

use crate::{BusError, Naming};

pub const POSITION: &str = "commerce-position";
pub const SEQUENCE: &str = "commerce-sequence";
pub const METADATA: &str = "commerce-metadata";
const TYPE_PREFIX: &str = "commerce.";

/// The subject and message of one committed event, its payload brought to the
/// version this build writes.
pub fn message(naming: &Naming, mut event: Envelope) -> (String, PublishMessage) {
    let version = event_schemas::current_version(&event.aggregate_type, &event.event_type);
    if event.event_version != version {
        event_schemas::upcast(
            &event.aggregate_type,
            &event.event_version,
            &mut event.payload,
        );
    }
    let id = event.event_id.to_string();
    let mut headers = HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", id.as_str());
    headers.insert("ce-source", naming.source().as_str());
    headers.insert(
        "ce-type",
        format!(
            "{TYPE_PREFIX}{}.{}.v{version}",
            event.aggregate_type, event.event_type
        )
        .as_str(),
    );
    headers.insert(
        "ce-time",
        event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .as_str(),
    );
    headers.insert("ce-subject", event.aggregate_id.as_str());
    headers.insert("content-type", "application/json");
    headers.insert(POSITION, event.position.to_string().as_str());
    headers.insert(SEQUENCE, event.sequence.to_string().as_str());
    headers.insert(
        METADATA,
        serde_json::to_string(&event.metadata)
            .expect("metadata serialises")
            .as_str(),
    );
    let payload = Bytes::from(serde_json::to_vec(&event.payload).expect("a JSON value serialises"));
    let subject = naming.subject(&event.aggregate_type, &event.event_type);
    (
        subject,
        PublishMessage::build().payload(payload).headers(headers),
    )
}

/// The log position a message of the stream carries.
pub fn position(headers: Option<&HeaderMap>, sequence: u64) -> Result<i64, BusError> {
    let malformed = |reason: &str| BusError::Malformed {
        sequence,
        reason: reason.to_string(),
    };
    headers
        .and_then(|h| h.get(POSITION))
        .ok_or_else(|| malformed("no commerce-position header"))?
        .as_str()
        .parse()
        .map_err(|_| malformed("commerce-position is not a number"))
}

/// The committed event a message of the stream (at `sequence`) carries, as a copy
/// of the log takes it: the payload and metadata as the JSON text that arrived
/// (checked to be JSON), at the version it was published in.
pub fn copied(
    headers: Option<&HeaderMap>,
    payload: &[u8],
    sequence: u64,
) -> Result<CopiedEvent, BusError> {
    let malformed = |reason: String| BusError::Malformed { sequence, reason };
    let headers = headers.ok_or_else(|| malformed("no headers".into()))?;
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.as_str())
            .ok_or_else(|| malformed(format!("no {name} header")))
    };
    let is_json = |text: &[u8]| serde_json::from_slice::<IgnoredAny>(text).is_ok();
    let event_type = header("ce-type")?;
    let (aggregate_type, event_type, event_version) = parse_type(event_type)
        .ok_or_else(|| malformed(format!("ce-type '{event_type}' is not ours")))?;
    let occurred_at: DateTime<Utc> = DateTime::parse_from_rfc3339(header("ce-time")?)
        .map_err(|e| malformed(format!("ce-time: {e}")))?
        .with_timezone(&Utc);
    let metadata = header(METADATA)?;
    if !is_json(metadata.as_bytes()) {
        return Err(malformed(format!("{METADATA} is not JSON")));
    }
    let payload = std::str::from_utf8(payload)
        .ok()
        .filter(|text| is_json(text.as_bytes()))
        .ok_or_else(|| malformed("the payload is not JSON".into()))?;
    Ok(CopiedEvent {
        event_id: header("ce-id")?
            .parse()
            .map_err(|e| malformed(format!("ce-id: {e}")))?,
        aggregate_type: aggregate_type.to_string(),
        aggregate_id: header("ce-subject")?.to_string(),
        sequence: header(SEQUENCE)?
            .parse()
            .map_err(|e| malformed(format!("{SEQUENCE}: {e}")))?,
        position: position(Some(headers), sequence)?,
        event_type: event_type.to_string(),
        event_version: event_version.to_string(),
        occurred_at,
        metadata: metadata.to_string(),
        payload: payload.to_string(),
    })
}

/// [`copied`], with the payload and metadata parsed: the event as the log held it,
/// at the version it was published in.
pub fn envelope(
    headers: Option<&HeaderMap>,
    payload: &[u8],
    sequence: u64,
) -> Result<Envelope, BusError> {
    let event = copied(headers, payload, sequence)?;
    let malformed = |reason: String| BusError::Malformed { sequence, reason };
    Ok(Envelope {
        event_id: event.event_id,
        aggregate_type: event.aggregate_type,
        aggregate_id: event.aggregate_id,
        sequence: event.sequence,
        position: event.position,
        event_type: event.event_type,
        event_version: event.event_version,
        occurred_at: event.occurred_at,
        metadata: serde_json::from_str(&event.metadata)
            .map_err(|e| malformed(format!("{METADATA}: {e}")))?,
        payload: serde_json::from_str(&event.payload)
            .map_err(|e| malformed(format!("payload: {e}")))?,
    })
}

/// `commerce.<aggregate_type>.<EventType>.v<version>` into its three parts.
fn parse_type(ce_type: &str) -> Option<(&str, &str, &str)> {
    let rest = ce_type.strip_prefix(TYPE_PREFIX)?;
    let (aggregate_type, rest) = rest.split_once('.')?;
    let (event_type, version) = rest.split_once(".v")?;
    Some((aggregate_type, event_type, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_schemas::Metadata;
    use serde_json::json;

    fn event(
        aggregate_type: &str,
        event_type: &str,
        version: &str,
        payload: serde_json::Value,
    ) -> Envelope {
        Envelope {
            event_id: "0190a1b2-0000-7000-8000-000000000001".parse().unwrap(),
            aggregate_type: aggregate_type.into(),
            aggregate_id: "sku-1:ams".into(),
            sequence: 3,
            position: 41,
            event_type: event_type.into(),
            event_version: version.into(),
            occurred_at: "2026-12-06T10:00:00.123456Z".parse().unwrap(),
            metadata: Metadata {
                correlation_id: Some("req-1".into()),
                actor: Some("key:ops".into()),
                ..Default::default()
            },
            payload,
        }
    }

    fn through_the_stream(naming: &Naming, sent: Envelope) -> (String, Envelope) {
        let (subject, message) = message(naming, sent);
        let outbound = message.outbound_message("s");
        let received = envelope(outbound.headers.as_ref(), &outbound.payload, 7).unwrap();
        (subject, received)
    }

    #[test]
    fn an_event_crosses_the_stream_whole() {
        let naming = Naming::new("commerce").unwrap();
        let sent = event(
            "stock",
            "StockReceived",
            "1.0",
            json!({"StockReceived": {"quantity": 5}}),
        );
        let (subject, received) = through_the_stream(&naming, sent.clone());
        assert_eq!(subject, "commerce.stock.StockReceived");
        assert_eq!(received, sent);
    }

    #[test]
    fn an_old_version_is_published_upcast_in_the_current_one() {
        let naming = Naming::new("commerce").unwrap();
        let sent = event(
            "warehouse",
            "WarehouseRegistered",
            "1.0",
            json!({"WarehouseRegistered": {"warehouse_id": "ams", "ships_to": []}}),
        );
        let (_, message) = message(&naming, sent);
        let outbound = message.outbound_message("s");
        let headers = outbound.headers.as_ref().unwrap();
        assert_eq!(
            headers.get("ce-type").unwrap().as_str(),
            "commerce.warehouse.WarehouseRegistered.v2.0"
        );
        let received = envelope(Some(headers), &outbound.payload, 1).unwrap();
        assert_eq!(received.event_version, "2.0");
        assert_eq!(
            received.payload,
            json!({"WarehouseRegistered": {"warehouse_id": "ams", "shipping_rates": []}})
        );
    }

    #[test]
    fn a_message_that_is_not_ours_is_named_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert("ce-type", "com.other.Thing.v1");
        let error = envelope(Some(&headers), b"{}", 9).unwrap_err();
        assert!(
            matches!(error, BusError::Malformed { sequence: 9, .. }),
            "{error}"
        );
        assert!(envelope(None, b"{}", 9).is_err());
    }
}
