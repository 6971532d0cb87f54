//! The event store contract, run on SQLite and on PostgreSQL alike.

use std::collections::{BTreeMap, HashSet};

use commands::{AppendBatch, Conflict, EventStore, NewEvent, Receipt};
use event_log::{Database, EventSource};
use event_log::{Predecessors, Units};
use event_schemas::{Envelope, Metadata};

use crate::support::{batch, event, event_with, events, wait_committed};

crate::contract! {
    append_to_new_stream => check_append_to_new_stream,
    stale_expected_sequence_conflicts => check_stale_expected_sequence_conflicts,
    conflicting_aggregate_leaves_no_rows => check_conflicting_aggregate_leaves_no_rows,
    batches_of_one_aggregate_in_one_append => check_batches_of_one_aggregate_in_one_append,
    units_land_whole_or_not_at_all => check_units_land_whole_or_not_at_all,
    vouched_predecessors_still_refuse_taken_rows => check_vouched_predecessors_still_refuse_taken_rows,
    log_is_commit_order_with_envelopes_intact => check_log_is_commit_order_with_envelopes_intact,
    empty_appends_are_no_ops => check_empty_appends_are_no_ops,
    reopening_learns_the_head => check_reopening_learns_the_head,
    a_stream_id_with_a_nul_has_no_events => check_a_stream_id_with_a_nul_has_no_events,
    history_is_the_last_events_oldest_first => check_history_is_the_last_events_oldest_first,
}

/// Every event of the log, in position order.
pub async fn read_all(read: &Database) -> Vec<Envelope> {
    read.read_envelopes_after(0, i64::from(i32::MAX))
        .await
        .expect("read the log")
}

/// Append `batches`, every one of which must land: the log's length after.
async fn append_landing(store: &EventStore, read: &Database, batches: &[AppendBatch]) -> usize {
    let results = store.append(batches).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    read_all(read).await.len()
}

fn assert_strictly_increasing(positions: &[i64]) {
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions not strictly increasing: {positions:?}"
    );
}

/// Contract 1: A new stream: positions increase, the stream loads back intact, and the head,
/// `last_committed` and the `committed()` watch all move to the last position.
pub async fn check_append_to_new_stream(store: &EventStore, read: &Database) {
    assert_eq!(store.head_position().await.unwrap(), 0);
    assert_eq!(store.last_committed(), 0);
    let mut committed = store.committed();
    assert_eq!(*committed.borrow_and_update(), 0);

    let first = events("cart-1", 1, 3);
    let results = store
        .append(&[batch("cart-1", 0, first.clone())])
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    let positions = results[0]
        .clone()
        .expect("a new stream takes expected_sequence 0");
    assert_eq!(positions.len(), 3);
    assert!(positions[0] > 0, "positions start above 0: {positions:?}");
    assert_strictly_increasing(&positions);

    let last = *positions.last().unwrap();
    assert_eq!(store.head_position().await.unwrap(), last);
    assert_eq!(store.last_committed(), last);
    wait_committed(&mut committed, last).await;
    assert_eq!(*committed.borrow_and_update(), last);

    let loaded = store.load("test", "cart-1", 0).await.unwrap();
    assert_eq!(
        loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        loaded.iter().map(|e| e.position).collect::<Vec<_>>(),
        positions
    );
    for (stored, written) in loaded.iter().zip(&first) {
        assert_eq!(stored.payload_json().unwrap(), json(written));
    }

    // A second append continues the stream after the first.
    let more = events("cart-1", 4, 2);
    let results = store
        .append(&[batch("cart-1", 3, more.clone())])
        .await
        .unwrap();
    let positions2 = results[0].clone().expect("expected_sequence 3 is current");
    assert_eq!(positions2.len(), 2);
    assert!(positions2[0] > last);
    assert_strictly_increasing(&positions2);
    let last2 = *positions2.last().unwrap();
    assert_eq!(store.head_position().await.unwrap(), last2);
    assert_eq!(store.last_committed(), last2);
    wait_committed(&mut committed, last2).await;

    let tail = store.load("test", "cart-1", 3).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.sequence).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(
        tail.iter().map(|e| e.position).collect::<Vec<_>>(),
        positions2
    );
    assert_eq!(tail[0].payload_json().unwrap(), json(&more[0]));
    assert_eq!(tail[1].payload_json().unwrap(), json(&more[1]));
    assert_eq!(store.load("test", "cart-1", 0).await.unwrap().len(), 5);
    assert!(store.load("test", "cart-1", 5).await.unwrap().is_empty());
    // Streams are keyed by type and id: another type with the same id is another stream.
    assert!(store.load("other", "cart-1", 0).await.unwrap().is_empty());
    assert!(store.load("test", "cart-2", 0).await.unwrap().is_empty());

    assert_eq!(read_all(read).await.len(), 5);
}

/// Contract 2: A stale `expected_sequence` is a conflict and writes nothing.
pub async fn check_stale_expected_sequence_conflicts(store: &EventStore, read: &Database) {
    let original = events("stock-1", 1, 2);
    let positions = store
        .append(&[batch("stock-1", 0, original.clone())])
        .await
        .unwrap()
        .remove(0)
        .expect("new stream");
    let head = *positions.last().unwrap();
    let mut committed = store.committed();
    committed.borrow_and_update();

    // Stale: the stream is at 2. Each attempt collides with sequences that exist, some
    // of them also carrying events past the current end (which must not land either).
    for (expected, count) in [(0, 1), (0, 2), (0, 5), (1, 1), (1, 3)] {
        let result = store
            .append(&[batch("stock-1", expected, events("stale", 1, count))])
            .await
            .unwrap();
        assert_eq!(
            result,
            vec![Err(Conflict)],
            "expected_sequence {expected} with {count} events on a stream at 2"
        );
    }
    // Ahead of the stream: would leave a gap in the sequences.
    let result = store
        .append(&[batch("stock-1", 5, events("ahead", 1, 1))])
        .await
        .unwrap();
    assert_eq!(
        result,
        vec![Err(Conflict)],
        "expected_sequence 5 on a stream at 2"
    );

    let loaded = store.load("test", "stock-1", 0).await.unwrap();
    assert_eq!(
        loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        loaded.iter().map(|e| e.position).collect::<Vec<_>>(),
        positions
    );
    for (stored, written) in loaded.iter().zip(&original) {
        assert_eq!(stored.payload_json().unwrap(), json(written));
    }
    assert_eq!(store.head_position().await.unwrap(), head);
    assert_eq!(store.last_committed(), head);
    assert!(
        !committed.has_changed().unwrap(),
        "a conflict must not announce a commit"
    );
    let log = read_all(read).await;
    assert_eq!(
        log.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        original.iter().map(|e| e.event_id).collect::<Vec<_>>()
    );

    // The current expected_sequence still appends.
    let next = store
        .append(&[batch("stock-1", 2, events("stock-1", 3, 1))])
        .await
        .unwrap()
        .remove(0)
        .expect("expected_sequence 2 is current");
    assert!(next[0] > head);
}

/// Contract 3: Several aggregates in one append: the conflicting one leaves no rows, the
/// others commit.
pub async fn check_conflicting_aggregate_leaves_no_rows(store: &EventStore, read: &Database) {
    let a_original = events("a", 1, 2);
    let d_original = events("d", 1, 3);
    let setup = store
        .append(&[
            batch("a", 0, a_original.clone()),
            batch("d", 0, d_original.clone()),
        ])
        .await
        .unwrap();
    assert!(setup.iter().all(Result::is_ok), "{setup:?}");
    let setup_head = store.head_position().await.unwrap();

    // `a` is at 2: sequences 1 and 2 collide, 3 would not (on PostgreSQL it is
    // inserted and must be deleted again in the same transaction). `d` is at 3:
    // sequences 2 and 3 collide, 4 and 5 would not.
    let b_events = events("b", 1, 2);
    let a_stale = events("a-stale", 1, 3);
    let c_events = events("c", 1, 1);
    let d_stale = events("d-stale", 2, 4);
    let a_next = events("a", 3, 1);
    let results = store
        .append(&[
            batch("b", 0, b_events.clone()),
            batch("a", 0, a_stale.clone()),
            batch("c", 0, c_events.clone()),
            batch("d", 1, d_stale.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    let b_positions = results[0].clone().expect("b is new");
    assert_eq!(results[1], Err(Conflict));
    let c_positions = results[2].clone().expect("c is new");
    assert_eq!(results[3], Err(Conflict));
    assert_eq!(b_positions.len(), 2);
    assert_eq!(c_positions.len(), 1);
    assert!(b_positions[0] > setup_head);
    assert_strictly_increasing(&[b_positions.clone(), c_positions.clone()].concat());
    let head = *c_positions.last().unwrap();
    assert_eq!(store.head_position().await.unwrap(), head);
    assert_eq!(store.last_committed(), head);

    let a = store.load("test", "a", 0).await.unwrap();
    assert_eq!(a.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(a[0].payload_json().unwrap(), json(&a_original[0]));
    assert_eq!(a[1].payload_json().unwrap(), json(&a_original[1]));
    let d = store.load("test", "d", 0).await.unwrap();
    assert_eq!(d.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3]);
    for (stored, written) in d.iter().zip(&d_original) {
        assert_eq!(stored.payload_json().unwrap(), json(written));
    }
    let b = store.load("test", "b", 0).await.unwrap();
    assert_eq!(
        b.iter().map(|e| e.position).collect::<Vec<_>>(),
        b_positions
    );

    let log = read_all(read).await;
    let ids: HashSet<_> = log.iter().map(|e| e.event_id).collect();
    for rejected in a_stale.iter().chain(&d_stale) {
        assert!(
            !ids.contains(&rejected.event_id),
            "an event of a conflicting batch is in the log"
        );
    }
    assert_eq!(log.len(), 2 + 3 + 2 + 1);

    // Every batch conflicting: nothing commits, nothing is announced.
    let mut committed = store.committed();
    committed.borrow_and_update();
    let results = store
        .append(&[
            batch("a", 1, events("x", 1, 2)),
            batch("b", 0, events("y", 1, 3)),
        ])
        .await
        .unwrap();
    assert_eq!(results, vec![Err(Conflict), Err(Conflict)]);
    assert_eq!(store.head_position().await.unwrap(), head);
    assert_eq!(store.last_committed(), head);
    assert!(!committed.has_changed().unwrap());
    assert_eq!(read_all(read).await.len(), log.len());

    // The undone sequence 3 of `a` is free for the next writer.
    let positions = store
        .append(&[batch("a", 2, a_next.clone())])
        .await
        .unwrap()
        .remove(0)
        .expect("a is at 2");
    assert!(positions[0] > head);
    let a = store.load("test", "a", 2).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].sequence, 3);
    assert_eq!(a[0].payload_json().unwrap(), json(&a_next[0]));
}

/// Several batches of one aggregate in one append are taken in order, each against
/// the stream as the batches before it left it.
pub async fn check_batches_of_one_aggregate_in_one_append(store: &EventStore, read: &Database) {
    // The second follows the first.
    let results = store
        .append(&[
            batch("x", 0, events("x", 1, 2)),
            batch("x", 2, events("x", 3, 1)),
        ])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // The first is stale, the second follows what is stored.
    let results = store
        .append(&[
            batch("x", 0, events("x-stale", 1, 1)),
            batch("x", 3, events("x", 4, 1)),
        ])
        .await
        .unwrap();
    assert_eq!(results[0], Err(Conflict));
    assert!(results[1].is_ok(), "{results:?}");
    // Both claim the same sequences: the first wins.
    let results = store
        .append(&[
            batch("x", 4, events("x", 5, 1)),
            batch("x", 4, events("x-dup", 5, 2)),
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(results[1], Err(Conflict));
    // Ahead of an empty stream, and a batch following that one: neither lands.
    let results = store
        .append(&[
            batch("z", 3, events("z", 4, 1)),
            batch("z", 4, events("z", 5, 2)),
            batch("w", 0, events("w", 1, 1)),
        ])
        .await
        .unwrap();
    assert_eq!(results[0], Err(Conflict));
    assert_eq!(results[1], Err(Conflict));
    assert!(results[2].is_ok(), "{results:?}");

    let x = store.load("test", "x", 0).await.unwrap();
    assert_eq!(
        x.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(store.load("test", "z", 0).await.unwrap().is_empty());
    let log = read_all(read).await;
    assert_eq!(log.len(), 6);
    assert_strictly_increasing(&log.iter().map(|e| e.position).collect::<Vec<_>>());
    assert_eq!(store.head_position().await.unwrap(), log[5].position);
}

/// The batches of one unit land together or not at all, whichever of them is
/// refused and why (rows taken, a predecessor missing, a key recorded already);
/// other units in the same append are untouched.
pub async fn check_units_land_whole_or_not_at_all(store: &EventStore, read: &Database) {
    let keyed = |id: &str, key: &str| AppendBatch {
        receipts: vec![Receipt {
            scope: "client".into(),
            key: key.into(),
            request_hash: "h".into(),
            answer: serde_json::json!({"events": 1}),
            last_event: 0,
        }],
        ..batch(id, 0, events(id, 1, 1))
    };
    let before = append_landing(
        store,
        read,
        &[batch("a", 0, events("a", 1, 2)), keyed("k", "taken")],
    )
    .await;

    let results = store
        .append_units(
            vec![
                // A new stream beside one whose rows are taken: neither lands.
                batch("b", 0, events("b", 1, 2)),
                batch("a", 0, events("a-stale", 1, 1)),
                // A unit that lands whole.
                batch("c", 0, events("c", 1, 1)),
                batch("d", 0, events("d", 1, 2)),
                // A new stream beside one whose predecessor is missing.
                batch("e", 0, events("e", 1, 1)),
                batch("f", 4, events("f", 5, 1)),
                // A batch alone, after and before refused units.
                batch("g", 0, events("g", 1, 1)),
                // A new stream beside one whose key was recorded by another.
                batch("h", 0, events("h", 1, 1)),
                keyed("i", "taken"),
            ],
            &Units::of_sizes([2, 2, 2, 1, 2]),
            Predecessors::Checked,
        )
        .await
        .unwrap();
    let landed: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(
        landed,
        [false, false, true, true, false, false, true, false, false],
        "{results:?}"
    );
    let log = read_all(read).await;
    assert_eq!(log.len(), before + 1 + 2 + 1, "only c, d and g are written");
    for gone in ["b", "e", "f", "h", "i"] {
        assert!(
            store.load("test", gone, 0).await.unwrap().is_empty(),
            "{gone} was taken back with its unit"
        );
    }
    assert_eq!(store.load("test", "a", 0).await.unwrap().len(), 2);
    let head = *results[6].as_ref().unwrap().last().unwrap();
    assert_eq!(store.head_position().await.unwrap(), head);
    assert_strictly_increasing(&log.iter().map(|e| e.position).collect::<Vec<_>>());

    // What was taken back is free for the next writer.
    let again = store
        .append_units(
            vec![
                batch("b", 0, events("b", 1, 1)),
                batch("e", 0, events("e", 1, 1)),
            ],
            &Units::of_sizes([2]),
            Predecessors::Checked,
        )
        .await
        .unwrap();
    assert!(again.iter().all(Result::is_ok), "{again:?}");
}

/// Appends whose writer vouches for every predecessor (the group committer's) skip
/// the lookup of the event each batch follows, and nothing else: a batch that
/// follows its stream lands, a stale one (its rows taken) is refused with the rest
/// of its unit, and units beside it are untouched.
pub async fn check_vouched_predecessors_still_refuse_taken_rows(
    store: &EventStore,
    read: &Database,
) {
    let stale_original = events("v-stale", 1, 3);
    let before = append_landing(
        store,
        read,
        &[
            batch("v-follows", 0, events("v-follows", 1, 2)),
            batch("v-stale", 0, stale_original.clone()),
        ],
    )
    .await;

    let results = store
        .append_units(
            vec![
                batch("v-follows", 2, events("v-follows", 3, 2)),
                // Stale (the stream is at 3), with a new stream in its unit.
                batch("v-stale", 1, events("v-stale-again", 2, 1)),
                batch("v-new", 0, events("v-new", 1, 1)),
                batch("v-alone", 0, events("v-alone", 1, 1)),
            ],
            &Units::of_sizes([1, 2, 1]),
            Predecessors::Committed,
        )
        .await
        .unwrap();
    let landed: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(landed, [true, false, false, true], "{results:?}");
    assert_eq!(read_all(read).await.len(), before + 2 + 1);
    let follows = store.load("test", "v-follows", 0).await.unwrap();
    assert_eq!(
        follows.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let stale = store.load("test", "v-stale", 0).await.unwrap();
    assert_eq!(stale.len(), 3, "the stale batch wrote nothing");
    for (stored, written) in stale.iter().zip(&stale_original) {
        assert_eq!(stored.payload_json().unwrap(), json(written));
    }
    assert!(store.load("test", "v-new", 0).await.unwrap().is_empty());
}

/// What the log must hold for an acknowledged event.
fn expected_envelope(
    aggregate_id: &str,
    sequence: i64,
    position: i64,
    event: &NewEvent,
) -> Envelope {
    Envelope {
        event_id: event.event_id,
        aggregate_type: "test".into(),
        aggregate_id: aggregate_id.into(),
        sequence,
        position,
        event_type: event.event_type.clone(),
        event_version: event.event_version.clone(),
        occurred_at: event.occurred_at,
        metadata: event.metadata.clone(),
        payload: json(event),
    }
}

/// Append `batches` expecting each to commit; return the envelopes the log must hold.
async fn append_all(store: &EventStore, batches: &[AppendBatch]) -> Vec<Envelope> {
    let results = store.append(batches).await.unwrap();
    let mut expected = Vec::new();
    for (batch, result) in batches.iter().zip(results) {
        let positions = result.unwrap_or_else(|_| panic!("{} conflicted", batch.aggregate_id));
        assert_eq!(positions.len(), batch.events.len());
        for (offset, (event, position)) in batch.events.iter().zip(positions).enumerate() {
            let sequence = batch.expected_sequence + 1 + offset as i64;
            expected.push(expected_envelope(
                &batch.aggregate_id,
                sequence,
                position,
                event,
            ));
        }
    }
    expected
}

/// Contract 4: The log in position order holds every committed event once, with its envelope
/// as written, and positions follow commit order.
pub async fn check_log_is_commit_order_with_envelopes_intact(store: &EventStore, read: &Database) {
    let partial = Metadata {
        correlation_id: Some("corr-partial".into()),
        causation_id: None,
        actor: Some("svc:expiry".into()),
        idempotency_key: None,
    };
    let mut typed = event("typed");
    typed.event_type = "StockHeld".into();
    typed.event_version = "2.1".into();
    typed.occurred_at = "2024-02-29T23:59:59.123456Z".parse().unwrap();

    let mut expected = Vec::new();
    expected.extend(
        append_all(
            store,
            &[
                batch("p", 0, events("p", 1, 2)),
                batch("q", 0, vec![event_with("q/1", partial.clone())]),
            ],
        )
        .await,
    );
    expected.extend(
        append_all(
            store,
            &[batch(
                "r",
                0,
                vec![event_with("r/1", Metadata::default()), typed],
            )],
        )
        .await,
    );
    expected.extend(
        append_all(
            store,
            &[
                batch("q", 1, events("q", 2, 3)),
                batch("p", 2, events("p", 3, 1)),
            ],
        )
        .await,
    );
    // A rejected batch between commits leaves no trace in the log.
    let rejected = store
        .append(&[batch("p", 0, events("p-stale", 1, 4))])
        .await
        .unwrap();
    assert_eq!(rejected, vec![Err(Conflict)]);
    expected.extend(append_all(store, &[batch("s", 0, events("s", 1, 1))]).await);

    // Acknowledged one after another, so acknowledgement order is commit order.
    let acknowledged: Vec<i64> = expected.iter().map(|e| e.position).collect();
    assert_strictly_increasing(&acknowledged);

    let log = read_all(read).await;
    assert_eq!(log, expected);

    // Paging through the log in small steps reads the same events.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = read.read_envelopes_after(after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().unwrap().position;
        paged.extend(page);
    }
    assert_eq!(paged, expected);

    // read_after is exclusive of its position.
    let third = expected[2].position;
    let rest = read.read_envelopes_after(third, 100).await.unwrap();
    assert_eq!(rest, expected[3..]);
    let head = store.head_position().await.unwrap();
    assert_eq!(head, expected.last().unwrap().position);
    assert_eq!(read.head().await.unwrap(), head);
    assert_eq!(EventSource::head(store).await.unwrap(), head);
    // The store is the source that hears of commits; the bare database is not.
    assert_eq!(store.commits().map(|c| *c.borrow()), Some(head));
    assert!(read.commits().is_none());
    // The lean records follow the same order as the envelopes.
    let records = read.read_after(0, 100).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.position).collect::<Vec<_>>(),
        expected.iter().map(|e| e.position).collect::<Vec<_>>()
    );
    assert!(read
        .read_envelopes_after(head, 100)
        .await
        .unwrap()
        .is_empty());

    // Per aggregate, the log agrees with load.
    let mut by_aggregate: BTreeMap<&str, Vec<&Envelope>> = BTreeMap::new();
    for envelope in &log {
        by_aggregate
            .entry(envelope.aggregate_id.as_str())
            .or_default()
            .push(envelope);
    }
    for (id, envelopes) in by_aggregate {
        let loaded = store.load("test", id, 0).await.unwrap();
        assert_eq!(loaded.len(), envelopes.len());
        for (stored, envelope) in loaded.iter().zip(envelopes) {
            assert_eq!(stored.sequence, envelope.sequence);
            assert_eq!(stored.position, envelope.position);
            assert_eq!(stored.payload_json().unwrap(), envelope.payload);
        }
    }
}

/// Contract 7: Appending nothing is a no-op: no rows, no head movement, no wake-up.
pub async fn check_empty_appends_are_no_ops(store: &EventStore, read: &Database) {
    let mut committed = store.committed();
    committed.borrow_and_update();

    assert_eq!(store.append(&[]).await.unwrap(), vec![]);
    assert_eq!(
        store.append(&[batch("e", 0, vec![])]).await.unwrap(),
        vec![Ok(vec![])]
    );
    // Even with an expected_sequence the stream does not have: nothing to write.
    assert_eq!(
        store
            .append(&[batch("e", 7, vec![]), batch("f", 0, vec![])])
            .await
            .unwrap(),
        vec![Ok(vec![]), Ok(vec![])]
    );
    assert_eq!(
        store
            .append_holding(&[batch("e", 0, vec![])], async {})
            .await
            .unwrap(),
        vec![Ok(vec![])]
    );
    assert_eq!(store.head_position().await.unwrap(), 0);
    assert_eq!(store.last_committed(), 0);
    assert!(!committed.has_changed().unwrap());
    assert!(read_all(read).await.is_empty());
    assert!(store.load("test", "e", 0).await.unwrap().is_empty());

    // Next to a non-empty batch, an empty one (at its stream's sequence) commits nothing
    // and does not stop the other.
    let results = store
        .append(&[batch("e", 0, vec![]), batch("g", 0, events("g", 1, 1))])
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0], Ok(vec![]));
    let positions = results[1].clone().expect("g is new");
    assert_eq!(positions.len(), 1);
    assert!(store.load("test", "e", 0).await.unwrap().is_empty());
    assert_eq!(read_all(read).await.len(), 1);
    wait_committed(&mut committed, positions[0]).await;

    // An empty append after commits leaves the head where it is.
    committed.borrow_and_update();
    assert_eq!(
        store.append(&[batch("g", 1, vec![])]).await.unwrap(),
        vec![Ok(vec![])]
    );
    assert_eq!(store.head_position().await.unwrap(), positions[0]);
    assert!(!committed.has_changed().unwrap());
}

/// A store opened again on the same database (a restart) starts from the head and
/// continues the streams; opening re-runs the migrations harmlessly.
pub async fn check_reopening_learns_the_head(store: &EventStore, read: &Database) {
    let first = store
        .append(&[batch("h", 0, events("h", 1, 2))])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    let reopened = EventStore::open(store.database().clone()).await.unwrap();
    assert_eq!(reopened.last_committed(), first[1]);
    assert_eq!(*reopened.committed().borrow(), first[1]);
    assert_eq!(reopened.head_position().await.unwrap(), first[1]);
    assert_eq!(reopened.load("test", "h", 0).await.unwrap().len(), 2);

    let second = reopened
        .append(&[batch("h", 2, events("h", 3, 1))])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    assert!(second[0] > first[1]);
    assert_eq!(
        store
            .append(&[batch("h", 2, events("h-late", 3, 1))])
            .await
            .unwrap(),
        vec![Err(Conflict)]
    );
    assert_eq!(read_all(read).await.len(), 3);
}

/// No appended id holds a NUL (ids are validated first): asking for such a stream
/// answers "no events", not a store failure (PostgreSQL refuses a NUL in text).
pub async fn check_a_stream_id_with_a_nul_has_no_events(store: &EventStore, _read: &Database) {
    let kind = batch("cart-1", 0, events("cart-1", 1, 1)).aggregate_type;
    assert!(store.load(&kind, "cart\0-1", 0).await.unwrap().is_empty());
    assert!(store
        .load_snapshot(&kind, "cart\0-1")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .history(&kind, "cart\0-1", 10)
        .await
        .unwrap()
        .is_empty());
}

/// An aggregate's history (what the console's timelines show): its last `limit`
/// events, oldest first, with their types and log positions; no other stream's.
pub async fn check_history_is_the_last_events_oldest_first(store: &EventStore, _read: &Database) {
    let five = events("cart-1", 1, 5);
    let types: Vec<String> = five.iter().map(|e| e.event_type.clone()).collect();
    let positions = store
        .append(&[
            batch("cart-1", 0, five),
            batch("cart-2", 0, events("cart-2", 1, 2)),
        ])
        .await
        .unwrap();
    let kind = batch("cart-1", 0, Vec::new()).aggregate_type;
    let history = store.history(&kind, "cart-1", 3).await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(
        history
            .iter()
            .map(|e| e.event_type.clone())
            .collect::<Vec<_>>(),
        types[2..]
    );
    let cart_1_positions = positions[0].as_ref().unwrap();
    assert_eq!(
        history.iter().map(|e| e.position).collect::<Vec<_>>(),
        cart_1_positions[2..]
    );
    assert!(store.history(&kind, "cart-3", 3).await.unwrap().is_empty());
}

/// A written event's payload as the log gives it back.
fn json(event: &NewEvent) -> serde_json::Value {
    serde_json::from_str(&event.payload).expect("events are JSON")
}
