//! The log's tail in memory answers readers exactly as the database would, on both
//! databases: the same records in the same order, cut at the same limit, with a
//! position reached that never claims a record it did not hand over.

use event_log::{AppendBatch, Database, EventSource};

use crate::on_both_backends;
use crate::support::{Backend, Env};

on_both_backends!(the_tail_answers_readers_as_the_database_does);

fn batch(aggregate_type: &str, id: &str, expected_sequence: i64, count: i64) -> AppendBatch {
    AppendBatch {
        aggregate_type: aggregate_type.into(),
        aggregate_id: id.into(),
        expected_sequence,
        events: (1..=count).map(crate::snapshots::event).collect(),
        receipts: Vec::new(),
    }
}

/// The positions of the records `db` holds after `after`, of `kind` if given.
async fn from_database(db: &Database, after: i64, kind: Option<&str>, limit: i64) -> Vec<i64> {
    let records = match kind {
        Some(kind) => db.read_type_after(kind, after, limit).await.unwrap(),
        None => db.read_after(after, limit).await.unwrap(),
    };
    records.iter().map(|r| r.position).collect()
}

async fn the_tail_answers_readers_as_the_database_does(backend: Backend) {
    let env = Env::new(backend).await;
    // What was committed before the store opened is read from the database.
    let (earlier, earlier_store) = env.open_log().await;
    earlier_store
        .append(&[batch("memo", "m-0", 0, 3)])
        .await
        .unwrap();
    drop(earlier_store);
    crate::upcasting::close(earlier).await;
    let (db, store) = env.open_log().await;
    let started_at = store.last_committed();
    let mut reached = store.follow_tail();
    let tail = db.tail().expect("an open store keeps a tail").clone();
    assert!(
        tail.read(0, None, 100).is_none(),
        "older records are not in memory"
    );

    // Two kinds of records in several commits, one of them many aggregates at once
    for round in 0..4 {
        store
            .append(&[
                batch("memo", &format!("m-{}", round + 1), 0, 2),
                batch("note", &format!("n-{round}"), 0, 3),
            ])
            .await
            .unwrap();
    }
    let head = store.last_committed();
    reached.wait_for(|p| *p >= head).await.unwrap();

    for (after, kind, limit) in [
        (started_at, None, 100),
        (started_at, Some("note"), 100),
        (started_at, Some("memo"), 3),
        (started_at + 4, Some("note"), 2),
        (head - 1, None, 100),
        (head, Some("memo"), 100),
    ] {
        let recent = tail
            .read(after, kind, limit)
            .expect("the tail holds what followed its start");
        let positions: Vec<i64> = recent.records.iter().map(|r| r.position).collect();
        assert_eq!(positions, from_database(&db, after, kind, limit).await);
        assert_eq!(recent.full, positions.len() as i64 == limit);
        // Cut at the limit it reaches its last record; else the head.
        let expected_reach = if recent.full {
            positions[positions.len() - 1]
        } else {
            head
        };
        assert_eq!(recent.reached, expected_reach, "after {after}, {kind:?}");
        // Readers get the same from `read_recent`.
        let via_database = db.read_recent(after, kind, limit).await.unwrap();
        assert_eq!(via_database.reached, recent.reached);
    }

    // What is older than the tail comes from the database, with the same answer.
    let recent = db.read_recent(0, Some("memo"), 100).await.unwrap();
    let positions: Vec<i64> = recent.records.iter().map(|r| r.position).collect();
    assert_eq!(positions, from_database(&db, 0, Some("memo"), 100).await);
    assert_eq!(positions.len(), 3 + 4 * 2);
    assert_eq!(recent.reached, head);
    assert_eq!(
        recent.records[0].payload.replace(' ', ""),
        r#"{"Noted":{"n":1}}"#
    );
    crate::upcasting::close(db).await;
}
