//! A cold aggregate loads as its newest snapshot and the events after it, in one
//! round trip, on both databases.

use event_log::{AppendBatch, NewEvent};
use event_schemas::Metadata;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Env};

on_both_backends!(a_cold_aggregate_loads_its_newest_snapshot_and_what_follows);

/// An event whose payload is `{"Noted": {"n": n}}`.
pub(crate) fn event(n: i64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "Noted".into(),
        event_version: "1.0".into(),
        payload: json!({ "Noted": { "n": n } }).to_string(),
        metadata: Metadata::default(),
        occurred_at: chrono::Utc::now(),
    }
}

async fn a_cold_aggregate_loads_its_newest_snapshot_and_what_follows(backend: Backend) {
    let env = Env::new(backend).await;
    let (db, store) = env.open_log().await;
    let batch = AppendBatch {
        aggregate_type: "note".into(),
        aggregate_id: "n-1".into(),
        expected_sequence: 0,
        events: (1..=5).map(event).collect(),
        receipts: Vec::new(),
    };
    store.append(&[batch]).await.unwrap().remove(0).unwrap();

    // Without a snapshot: every event, in order
    let (snapshot, events) = store.load_latest("note", "n-1").await.unwrap();
    assert!(snapshot.is_none());
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert_eq!(
        events[4].payload_json().unwrap(),
        json!({ "Noted": { "n": 5 } })
    );

    // With snapshots at 2 and 3: the newest, and the events after it
    for last_sequence in [2, 3] {
        let payload = json!({ "upto": last_sequence }).to_string();
        store
            .save_snapshot("note", "n-1", last_sequence, &payload)
            .await
            .unwrap();
    }
    let (snapshot, events) = store.load_latest("note", "n-1").await.unwrap();
    let snapshot = snapshot.expect("the snapshot");
    assert_eq!(snapshot.last_sequence, 3);
    assert_eq!(snapshot.payload, json!({ "upto": 3 }));
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [4, 5]);
    assert!(events.iter().all(|e| e.position > 0));

    // Another aggregate's stream and an unknown one stay apart
    let (none, nothing) = store.load_latest("note", "n-2").await.unwrap();
    assert!(none.is_none() && nothing.is_empty());
    crate::upcasting::close(db).await;
}

on_both_backends!(cold_loads_under_way_together_each_get_their_own_aggregate);

/// Many cold loads at once (on PostgreSQL gathered into shared queries): each gets
/// its own aggregate's newest snapshot and events, whatever loads beside it.
async fn cold_loads_under_way_together_each_get_their_own_aggregate(backend: Backend) {
    let env = Env::new(backend).await;
    let (db, store) = env.open_log().await;
    let batches: Vec<AppendBatch> = (1..=40)
        .map(|i| AppendBatch {
            aggregate_type: if i % 2 == 0 { "note" } else { "memo" }.into(),
            aggregate_id: format!("a-{i}"),
            expected_sequence: 0,
            events: (1..=(i % 7 + 1)).map(event).collect(),
            receipts: Vec::new(),
        })
        .collect();
    store.append(&batches).await.unwrap();
    // Every third aggregate has a snapshot at its first event.
    for batch in batches.iter().step_by(3) {
        let payload = json!({ "of": batch.aggregate_id }).to_string();
        store
            .save_snapshot(&batch.aggregate_type, &batch.aggregate_id, 1, &payload)
            .await
            .unwrap();
    }
    // Each aggregate asked for twice, beside unknown ones and the other type's ids.
    let asks: Vec<(String, String)> = batches
        .iter()
        .flat_map(|b| {
            let ask = (b.aggregate_type.clone(), b.aggregate_id.clone());
            [ask.clone(), ask]
        })
        .chain((41..=45).map(|i| ("note".to_string(), format!("a-{i}"))))
        .chain([("memo".to_string(), "a-2".to_string())])
        .collect();
    let loads = asks.iter().map(|(kind, id)| store.load_latest(kind, id));
    let loaded = futures::future::join_all(loads).await;
    for ((kind, id), result) in asks.iter().zip(loaded) {
        let (snapshot, events) = result.unwrap();
        let Some((index, batch)) = batches
            .iter()
            .enumerate()
            .find(|(_, b)| &b.aggregate_type == kind && &b.aggregate_id == id)
        else {
            assert!(snapshot.is_none() && events.is_empty(), "{kind} {id}");
            continue;
        };
        let count = batch.events.len() as i64;
        let snapshotted = index % 3 == 0;
        assert_eq!(
            snapshot.map(|s| s.payload),
            snapshotted.then(|| json!({ "of": id })),
            "{kind} {id}"
        );
        let from = if snapshotted { 2 } else { 1 };
        let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, (from..=count).collect::<Vec<_>>(), "{kind} {id}");
        for event in &events {
            assert_eq!(
                event.payload_json().unwrap(),
                json!({ "Noted": { "n": event.sequence } })
            );
        }
    }
    crate::upcasting::close(db).await;
}
