//! The append on PostgreSQL: one call of `commerce_append_units` (migrations in the module
//! above), which refuses batches that lack their predecessor, takes the log's lock,
//! inserts every row, takes back short batches (with the rest of their units),
//! records the idempotency keys and announces the commit. Called outside a transaction it is one round trip, and the
//! lock is held for the call and its commit only.

use std::collections::HashSet;

use sqlx::postgres::PgPool;

use super::{HeldConnections, COMMIT_CHANNEL, LOG_LOCK};
use crate::backend::{Appended, BeforeCommit};
use crate::types::{AppendBatch, Conflict, Predecessors, StoreError, Units};

pub(super) async fn append(
    pool: &PgPool,
    held: &HeldConnections,
    batches: &[AppendBatch],
    units: Option<&Units>,
    predecessors: Predecessors,
    before_commit: Option<BeforeCommit<'_>>,
    instance: u64,
) -> Result<Appended, StoreError> {
    let call = Call::new(batches, predecessors);
    // Without units, each batch is its own.
    let (unit_of_batch, linked) = match units {
        Some(units) => (units.of_batch().to_vec(), units.any_linked()),
        None => ((1..=batches.len() as i32).collect(), false),
    };
    let query = sqlx::query_scalar::<_, Vec<Option<i64>>>(
        "SELECT commerce_append_units(
             $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
    )
    .bind(LOG_LOCK)
    .bind(COMMIT_CHANNEL)
    .bind(format!("{instance:x}"))
    .bind(&call.batch_types)
    .bind(&call.batch_ids)
    .bind(&call.expected)
    .bind(&call.counts)
    .bind(&call.check_predecessor)
    .bind(call.repeats)
    .bind(&unit_of_batch)
    .bind(linked)
    .bind(&call.event_batch)
    .bind(&call.types)
    .bind(&call.ids)
    .bind(&call.sequences)
    .bind(&call.event_types)
    .bind(&call.versions)
    .bind(&call.payloads)
    .bind(&call.metadata)
    .bind(&call.event_ids)
    .bind(&call.times)
    .bind(&call.receipt_batch)
    .bind(&call.receipt_event)
    .bind(&call.scopes)
    .bind(&call.keys)
    .bind(&call.hashes)
    .bind(&call.answers);
    let positions = match before_commit {
        // One statement, its own transaction: one round trip.
        None => {
            let mut connection = held.take().await?;
            let positions = query.fetch_one(&mut connection).await?;
            held.give_back(connection);
            positions
        }
        // Held open before the commit, as a slow writer would.
        Some(before_commit) => {
            let mut tx = pool.begin().await?;
            let positions = query.fetch_one(&mut *tx).await?;
            before_commit.await;
            tx.commit().await?;
            positions
        }
    };
    // The position the append followed, then each event's.
    let (after, positions) = match positions.split_first() {
        Some((Some(after), positions)) if positions.len() == call.types.len() => {
            (*after, positions)
        }
        _ => {
            return Err(StoreError::Commit(format!(
                "the append answered {} values for {} events",
                positions.len(),
                call.types.len()
            )))
        }
    };
    let mut results = Vec::with_capacity(batches.len());
    let mut next = 0;
    for batch in batches {
        let range = next..next + batch.events.len();
        next = range.end;
        // The call keeps or takes back a batch whole.
        let kept: Option<Vec<i64>> = positions[range].iter().copied().collect();
        results.push(kept.ok_or(Conflict));
    }
    Ok(Appended { after, results })
}

/// The arguments of one `commerce_append_units` call: per batch, per event (batch by batch,
/// in order) and per receipt. Indexes into arrays are 1-based, as in SQL.
struct Call<'a> {
    batch_types: Vec<&'a str>,
    batch_ids: Vec<&'a str>,
    expected: Vec<i64>,
    counts: Vec<i32>,
    check_predecessor: Vec<bool>,
    repeats: bool,
    event_batch: Vec<i32>,
    types: Vec<&'a str>,
    ids: Vec<&'a str>,
    sequences: Vec<i64>,
    event_types: Vec<&'a str>,
    versions: Vec<&'a str>,
    payloads: Vec<&'a str>,
    metadata: Vec<String>,
    event_ids: Vec<uuid::Uuid>,
    times: Vec<chrono::DateTime<chrono::Utc>>,
    receipt_batch: Vec<i32>,
    receipt_event: Vec<i32>,
    scopes: Vec<&'a str>,
    keys: Vec<&'a str>,
    hashes: Vec<&'a str>,
    answers: Vec<String>,
}

impl<'a> Call<'a> {
    fn new(batches: &'a [AppendBatch], predecessors: Predecessors) -> Self {
        let rows = batches.iter().map(|b| b.events.len()).sum();
        let mut call = Call {
            batch_types: Vec::with_capacity(batches.len()),
            batch_ids: Vec::with_capacity(batches.len()),
            expected: Vec::with_capacity(batches.len()),
            counts: Vec::with_capacity(batches.len()),
            check_predecessor: Vec::with_capacity(batches.len()),
            repeats: false,
            event_batch: Vec::with_capacity(rows),
            types: Vec::with_capacity(rows),
            ids: Vec::with_capacity(rows),
            sequences: Vec::with_capacity(rows),
            event_types: Vec::with_capacity(rows),
            versions: Vec::with_capacity(rows),
            payloads: Vec::with_capacity(rows),
            metadata: Vec::with_capacity(rows),
            event_ids: Vec::with_capacity(rows),
            times: Vec::with_capacity(rows),
            receipt_batch: Vec::new(),
            receipt_event: Vec::new(),
            scopes: Vec::new(),
            keys: Vec::new(),
            hashes: Vec::new(),
            answers: Vec::new(),
        };
        let mut aggregates = HashSet::with_capacity(batches.len());
        for (index, batch) in batches.iter().enumerate() {
            let number = index as i32 + 1;
            let first_event = call.types.len() as i32 + 1;
            let first_of_aggregate =
                aggregates.insert((batch.aggregate_type.as_str(), batch.aggregate_id.as_str()));
            call.repeats |= !first_of_aggregate;
            call.batch_types.push(&batch.aggregate_type);
            call.batch_ids.push(&batch.aggregate_id);
            call.expected.push(batch.expected_sequence);
            call.counts.push(batch.events.len() as i32);
            // A later batch of the same aggregate follows the first one in this call
            // and is checked after the insert, only when something was taken back.
            call.check_predecessor.push(
                predecessors == Predecessors::Checked
                    && first_of_aggregate
                    && batch.expected_sequence > 0
                    && !batch.events.is_empty(),
            );
            for (offset, event) in batch.events.iter().enumerate() {
                call.event_batch.push(number);
                call.types.push(&batch.aggregate_type);
                call.ids.push(&batch.aggregate_id);
                call.sequences
                    .push(batch.expected_sequence + 1 + offset as i64);
                call.event_types.push(&event.event_type);
                call.versions.push(&event.event_version);
                call.payloads.push(&event.payload);
                call.metadata
                    .push(serde_json::to_string(&event.metadata).expect("metadata serialises"));
                call.event_ids.push(event.event_id);
                call.times.push(event.occurred_at);
            }
            for receipt in &batch.receipts {
                call.receipt_batch.push(number);
                call.receipt_event
                    .push(first_event + receipt.last_event as i32);
                call.scopes.push(&receipt.scope);
                call.keys.push(&receipt.key);
                call.hashes.push(&receipt.request_hash);
                call.answers.push(receipt.answer.to_string());
            }
        }
        call
    }
}
