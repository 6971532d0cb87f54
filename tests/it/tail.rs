//! The log's tail in memory answers readers exactly as the database would, on both
//! databases: the same records in the same order, cut at the same limit, with a
//! position reached that never claims a record it did not hand over. The records a
//! process appends reach its tail from the append itself; another process's are
//! read, and the two never leave a record out or keep one twice.

use event_log::{AppendBatch, Database, EventSource, LogRecord};

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

/// A record as a reader sees it.
type Seen = (i64, String, String, String, chrono::DateTime<chrono::Utc>);

fn seen(records: &[LogRecord]) -> Vec<Seen> {
    records
        .iter()
        .map(|r| {
            let r = r.clone();
            (
                r.position,
                r.aggregate_type,
                r.event_version,
                r.payload,
                r.occurred_at,
            )
        })
        .collect()
}

/// The records `db` holds after `after`, of `kind` if given.
async fn from_database(db: &Database, after: i64, kind: Option<&str>, limit: i64) -> Vec<Seen> {
    let records = match kind {
        Some(kind) => db.read_type_after(kind, after, limit).await.unwrap(),
        None => db.read_after(after, limit).await.unwrap(),
    };
    seen(&records)
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
    assert_eq!(
        tail.handed_over(),
        4 * 5,
        "this process's appends reach its tail without being read back"
    );

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
        let records = seen(&recent.records);
        assert_eq!(records, from_database(&db, after, kind, limit).await);
        assert_eq!(recent.full, records.len() as i64 == limit);
        // Cut at the limit it reaches its last record; else the head.
        let expected_reach = if recent.full {
            records[records.len() - 1].0
        } else {
            head
        };
        assert_eq!(recent.reached, expected_reach, "after {after}, {kind:?}");
        // Readers get the same from `read_recent`.
        let via_database = db.read_recent(after, kind, limit).await.unwrap();
        assert_eq!(via_database.reached, recent.reached);
    }

    // A reader that picks its records by a predicate (the SQL projections) gets the
    // same, from memory and, for what is older than the tail, from the database.
    for after in [started_at, 0] {
        let picked = db
            .read_recent_where(after, |r| r.aggregate_type == "note", 1_000)
            .await
            .unwrap();
        assert_eq!(
            seen(&picked.records),
            from_database(&db, after, Some("note"), 1_000).await,
            "after {after}"
        );
        assert_eq!(picked.reached, head);
    }

    // What is older than the tail comes from the database, with the same answer.
    let recent = db.read_recent(0, Some("memo"), 100).await.unwrap();
    let records = seen(&recent.records);
    assert_eq!(records, from_database(&db, 0, Some("memo"), 100).await);
    assert_eq!(records.len(), 3 + 4 * 2);
    assert_eq!(recent.reached, head);
    assert_eq!(
        recent.records[0].payload.replace(' ', ""),
        r#"{"Noted":{"n":1}}"#
    );
    crate::upcasting::close(db).await;
}

/// Two processes append at once, many commits each: the first one's tail, which
/// takes its own appends as they are made and reads the other's, ends up holding
/// exactly what the database holds, record for record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tail_fed_by_its_appends_and_by_reads_holds_every_record_once() {
    let env = Env::new(Backend::Postgres).await;
    let (db, store) = env.open_log().await;
    let (other_db, other) = env.open_log().await;
    let started_at = store.last_committed();
    let mut reached = store.follow_tail();
    let writers: Vec<_> = [("ours", store.clone()), ("theirs", other.clone())]
        .into_iter()
        .flat_map(|(who, store)| {
            (0..4).map(move |writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    for round in 0..25 {
                        let id = format!("{who}-{writer}");
                        let kinds = [("memo", 1 + round % 3), ("note", 1 + round % 2)];
                        let batches: Vec<AppendBatch> = kinds
                            .iter()
                            .map(|(kind, count)| batch(kind, &id, 0, *count))
                            .map(|mut b| {
                                // One stream per kind and writer, growing each round.
                                b.aggregate_id = format!("{}-{round}", b.aggregate_id);
                                b
                            })
                            .collect();
                        store.append(&batches).await.unwrap();
                    }
                })
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let head = other.last_committed().max(store.last_committed());
    reached.wait_for(|p| *p >= head).await.unwrap();
    let tail = db.tail().expect("an open store keeps a tail").clone();
    let recent = tail
        .read(started_at, None, 10_000)
        .expect("the tail holds what followed its start");
    let records = seen(&recent.records);
    let per_writer: usize = (0..25).map(|round| (1 + round % 3) + (1 + round % 2)).sum();
    assert_eq!(
        records.len(),
        8 * per_writer,
        "every record of both processes"
    );
    assert_eq!(records, from_database(&db, started_at, None, 10_000).await);
    crate::upcasting::close(other_db).await;
    crate::upcasting::close(db).await;
}
