//! The gap test: many concurrent writers, some of them slow, and a reader that
//! follows the log by position. The reader must see every acknowledged event exactly
//! once, never a position at or below one it has already passed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use commands::{Conflict, EventStore, NewEvent};
use event_log::Database;
use event_schemas::Envelope;
use tokio::sync::watch;
use uuid::Uuid;

use crate::support::{batch, event};

crate::contract! {
    reader_never_skips_or_repeats => check_reader_never_skips_or_repeats,
}

const WRITERS: u64 = 16;
const APPENDS_PER_WRITER: u64 = 50;
/// Aggregates shared by all writers, so that they contend and conflict.
const AGGREGATES: u64 = 12;
/// Every this-many-th append of a writer holds its transaction open for 5–50 ms.
const SLOW_EVERY: u64 = 5;
const PAGE: i64 = 100;
/// A conflict is always someone else's success, so this is only a guard against a
/// store that conflicts for no reason.
const MAX_ATTEMPTS: u32 = 10_000;

/// An event the store acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    event_id: Uuid,
    aggregate_id: String,
    sequence: i64,
    position: i64,
}

#[derive(Debug, Default)]
struct WriterStats {
    acks: Vec<Ack>,
    conflicts: u64,
    slow: u64,
}

/// SplitMix64: a small deterministic generator, one seed per writer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn writer(store: EventStore, writer: u64) -> WriterStats {
    let mut rng = Rng(writer.wrapping_mul(0x1234_5678_9abc_def1) ^ 0xfeed);
    let mut known: HashMap<String, i64> = HashMap::new();
    let mut stats = WriterStats::default();
    for append in 0..APPENDS_PER_WRITER {
        // 1–3 events, over one aggregate or two distinct ones.
        let total = 1 + rng.below(3);
        let first = rng.below(AGGREGATES);
        let mut pending: Vec<(String, Vec<NewEvent>)> = Vec::new();
        let tag = |n: u64| event(&format!("w{writer}/a{append}/e{n}"));
        if total > 1 && rng.below(2) == 0 {
            let second = (first + 1 + rng.below(AGGREGATES - 1)) % AGGREGATES;
            let split = 1 + rng.below(total - 1);
            pending.push((format!("agg-{first}"), (0..split).map(tag).collect()));
            pending.push((format!("agg-{second}"), (split..total).map(tag).collect()));
        } else {
            pending.push((format!("agg-{first}"), (0..total).map(tag).collect()));
        }
        let slow = append % SLOW_EVERY == SLOW_EVERY - 1;

        let mut attempts = 0;
        while !pending.is_empty() {
            attempts += 1;
            assert!(
                attempts <= MAX_ATTEMPTS,
                "writer {writer} never got through"
            );
            let batches: Vec<_> = pending
                .iter()
                .map(|(id, events)| batch(id, *known.get(id).unwrap_or(&0), events.clone()))
                .collect();
            let results = if slow && attempts == 1 {
                stats.slow += 1;
                let hold = Duration::from_millis(5 + rng.below(46));
                store
                    .append_holding(&batches, tokio::time::sleep(hold))
                    .await
            } else {
                store.append(&batches).await
            }
            .expect("append");
            assert_eq!(results.len(), batches.len());

            let mut retry = Vec::new();
            for ((id, events), result) in pending.into_iter().zip(results) {
                let expected = *known.get(&id).unwrap_or(&0);
                match result {
                    Ok(positions) => {
                        assert_eq!(positions.len(), events.len());
                        for (offset, (event, position)) in events.iter().zip(positions).enumerate()
                        {
                            stats.acks.push(Ack {
                                event_id: event.event_id,
                                aggregate_id: id.clone(),
                                sequence: expected + 1 + offset as i64,
                                position,
                            });
                        }
                        known.insert(id, expected + events.len() as i64);
                    }
                    Err(Conflict) => {
                        stats.conflicts += 1;
                        let newer = store.load("test", &id, expected).await.expect("load");
                        assert!(
                            !newer.is_empty(),
                            "conflict on {id} at {expected} but the stream has nothing newer"
                        );
                        known.insert(id.clone(), newer.last().unwrap().sequence);
                        retry.push((id, events));
                    }
                }
            }
            pending = retry;
        }
    }
    stats
}

/// Follow the log from the start until `done` names a position and it is reached.
async fn reader(
    read: Database,
    mut committed: watch::Receiver<i64>,
    mut done: watch::Receiver<Option<i64>>,
) -> (Vec<Envelope>, u64) {
    let mut seen: Vec<Envelope> = Vec::new();
    let mut last = 0;
    let mut reads = 0;
    loop {
        // Mark the wake-up as seen before reading, so a commit after the read wakes us.
        committed.borrow_and_update();
        let target = *done.borrow_and_update();
        let page = read
            .read_envelopes_after(last, PAGE)
            .await
            .expect("read the log");
        reads += 1;
        let full = page.len() as i64 == PAGE;
        for envelope in page {
            assert!(
                envelope.position > last,
                "the reader saw position {} after {last}",
                envelope.position
            );
            last = envelope.position;
            seen.push(envelope);
        }
        if full {
            continue;
        }
        if let Some(target) = target {
            if last >= target {
                return (seen, reads);
            }
        }
        // A short timeout only saves a lost wake-up from costing the test; the
        // outcome does not depend on it.
        tokio::select! {
            _ = committed.changed() => {}
            _ = done.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// Contract 5: Concurrent writers, some slow; a reader following `read_after` never skips or
/// repeats, and per aggregate the sequences are 1..n.
pub async fn check_reader_never_skips_or_repeats(store: &EventStore, read: &Database) {
    let (done_tx, done_rx) = watch::channel(None);
    let follower = tokio::spawn(reader(read.clone(), store.committed(), done_rx));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(store.clone(), w)))
        .collect();
    let mut acks = Vec::new();
    let mut conflicts = 0;
    let mut slow = 0;
    for handle in writers {
        let stats = handle.await.expect("writer panicked");
        acks.extend(stats.acks);
        conflicts += stats.conflicts;
        slow += stats.slow;
    }
    let head = store.head_position().await.unwrap();
    done_tx.send_replace(Some(head));
    let (seen, reads) = follower.await.expect("reader panicked");
    eprintln!(
        "{}: {} events acknowledged in {} appends ({slow} slow), {conflicts} conflicts retried; \
         the reader read {} events in {reads} reads",
        store.database().backend_name(),
        acks.len(),
        WRITERS * APPENDS_PER_WRITER,
        seen.len()
    );

    // Nothing extra, nothing repeated, nothing skipped.
    let by_id: HashMap<Uuid, &Ack> = acks.iter().map(|a| (a.event_id, a)).collect();
    assert_eq!(by_id.len(), acks.len(), "an event was acknowledged twice");
    let seen_ids: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(seen_ids.len(), seen.len(), "the reader saw an event twice");
    let missed: Vec<_> = acks
        .iter()
        .filter(|a| !seen_ids.contains(&a.event_id))
        .collect();
    assert!(
        missed.is_empty(),
        "the reader skipped {} acknowledged events, e.g. {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
    let extra: Vec<_> = seen
        .iter()
        .filter(|e| !by_id.contains_key(&e.event_id))
        .collect();
    assert!(
        extra.is_empty(),
        "the reader saw {} events never acknowledged, e.g. {:?}",
        extra.len(),
        &extra[..extra.len().min(5)]
    );

    // What the reader saw is what the writers were told.
    for envelope in &seen {
        let ack = by_id[&envelope.event_id];
        assert_eq!(envelope.position, ack.position);
        assert_eq!(envelope.aggregate_id, ack.aggregate_id);
        assert_eq!(envelope.sequence, ack.sequence);
    }

    // Per aggregate, in position order, the sequences are 1..n with no gaps.
    let mut streams: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for envelope in &seen {
        streams
            .entry(envelope.aggregate_id.as_str())
            .or_default()
            .push(envelope.sequence);
    }
    for (id, sequences) in &streams {
        let expected: Vec<i64> = (1..=sequences.len() as i64).collect();
        assert_eq!(sequences, &expected, "sequences of {id} in position order");
        let loaded = store.load("test", id, 0).await.unwrap();
        assert_eq!(
            loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            expected
        );
    }

    assert_eq!(store.last_committed(), head);
    assert_eq!(seen.last().map(|e| e.position), Some(head));
}
