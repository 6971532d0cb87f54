//! Test events and batches: payloads that name a tag, with every metadata field
//! set, for checks of the store itself.

use chrono::{SubsecRound, Utc};
use event_log::{AppendBatch, NewEvent};
use event_schemas::Metadata;
use uuid::Uuid;

/// Metadata with every field set, distinct per `tag`.
pub fn full_metadata(tag: &str) -> Metadata {
    Metadata {
        correlation_id: Some(format!("corr-{tag}")),
        causation_id: Some(format!("cause-{tag}")),
        actor: Some(format!("actor-{tag}")),
        idempotency_key: Some(format!("idem-{tag}")),
    }
}

/// An event with a payload naming `tag`, stamped now (to the microsecond, which is
/// what both backends keep).
pub fn event(tag: &str) -> NewEvent {
    event_with(tag, full_metadata(tag))
}

pub fn event_with(tag: &str, metadata: Metadata) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestHappened".into(),
        event_version: "1.0".into(),
        payload: serde_json::json!({
            "TestHappened": {
                "tag": tag,
                "n": 42,
                "nested": {"list": [1, 2.5, "three", null, true], "text": "ünïcødé \"quoted\""}
            }
        })
        .to_string(),
        metadata,
        occurred_at: Utc::now().trunc_subsecs(6),
    }
}

/// A batch of test events for stream `aggregate_id` of type `test`.
pub fn batch(aggregate_id: &str, expected_sequence: i64, events: Vec<NewEvent>) -> AppendBatch {
    AppendBatch {
        aggregate_type: "test".into(),
        aggregate_id: aggregate_id.into(),
        expected_sequence,
        events,
        receipts: Vec::new(),
    }
}

/// `count` events tagged `aggregate_id/1`, `aggregate_id/2`, ... from `first`.
pub fn events(aggregate_id: &str, first: i64, count: i64) -> Vec<NewEvent> {
    (first..first + count)
        .map(|n| event(&format!("{aggregate_id}/{n}")))
        .collect()
}
