//! The append on PostgreSQL: one call of `commerce_append` (the log's advisory lock,
//! one `INSERT ... SELECT unnest(...) ON CONFLICT DO NOTHING RETURNING` for every
//! batch, the commit announcement), short batches taken back in the same
//! transaction, the receipts of their keys, and the commit: two round trips under
//! the lock when nothing conflicts and no key is recorded.

use std::collections::HashMap;

use sqlx::postgres::PgPool;
use sqlx::Row;

use super::{COMMIT_CHANNEL, LOG_LOCK};
use crate::backend::{AppendResults, BeforeCommit};
use crate::types::{AppendBatch, Conflict, StoreError};

pub(super) async fn append(
    pool: &PgPool,
    batches: &[AppendBatch],
    before_commit: BeforeCommit<'_>,
    instance: u64,
) -> Result<AppendResults, StoreError> {
    let mut tx = pool.begin().await?;
    // Before the log's lock, so it does not lengthen the time appends wait for it.
    let lacking = lacking_predecessor(&mut tx, batches).await?;
    let rows = batches.iter().map(|b| b.events.len()).sum();
    let mut types = Vec::with_capacity(rows);
    let mut ids = Vec::with_capacity(rows);
    let mut sequences = Vec::with_capacity(rows);
    let mut event_types = Vec::with_capacity(rows);
    let mut versions = Vec::with_capacity(rows);
    let mut payloads = Vec::with_capacity(rows);
    let mut metadata = Vec::with_capacity(rows);
    let mut event_ids = Vec::with_capacity(rows);
    let mut times = Vec::with_capacity(rows);
    for (index, batch) in batches.iter().enumerate() {
        if lacking.contains(&index) {
            continue;
        }
        for (offset, event) in batch.events.iter().enumerate() {
            types.push(batch.aggregate_type.as_str());
            ids.push(batch.aggregate_id.as_str());
            sequences.push(batch.expected_sequence + 1 + offset as i64);
            event_types.push(event.event_type.as_str());
            versions.push(event.event_version.as_str());
            payloads.push(event.payload.to_string());
            metadata.push(serde_json::to_string(&event.metadata).expect("metadata serialises"));
            event_ids.push(event.event_id);
            times.push(event.occurred_at);
        }
    }

    // The lock, the insert and the announcement in one round trip (commerce_append).
    let inserted = sqlx::query(
        "SELECT landed_type, landed_id, landed_sequence, landed_position
         FROM commerce_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(LOG_LOCK)
    .bind(COMMIT_CHANNEL)
    .bind(format!("{instance:x}"))
    .bind(&types)
    .bind(&ids)
    .bind(&sequences)
    .bind(&event_types)
    .bind(&versions)
    .bind(&payloads)
    .bind(&metadata)
    .bind(&event_ids)
    .bind(&times)
    .fetch_all(&mut *tx)
    .await?;

    let mut positions: HashMap<(String, String, i64), i64> = HashMap::with_capacity(inserted.len());
    for row in inserted {
        positions.insert((row.get(0), row.get(1), row.get(2)), row.get(3));
    }
    let mut results = Vec::with_capacity(batches.len());
    let mut undo = Vec::new();
    for batch in batches {
        let found: Vec<i64> = (0..batch.events.len())
            .filter_map(|offset| {
                let key = (
                    batch.aggregate_type.clone(),
                    batch.aggregate_id.clone(),
                    batch.expected_sequence + 1 + offset as i64,
                );
                positions.remove(&key)
            })
            .collect();
        if found.len() == batch.events.len() {
            results.push(Ok(found));
        } else {
            // Another writer holds some of these sequences: take back what did land.
            undo.extend(found);
            results.push(Err(Conflict));
        }
    }
    if !undo.is_empty() {
        sqlx::query("DELETE FROM events WHERE position = ANY($1)")
            .bind(&undo)
            .execute(&mut *tx)
            .await?;
    }
    // A batch that follows another batch of the same aggregate in this append was let
    // in on that batch's rows; if those were taken back, so must it be. Rare (the group
    // committer sends one batch per aggregate), so checked only then, until no batch
    // that landed lacks its predecessor.
    let any_conflict = results.iter().any(Result::is_err);
    while any_conflict && repeats_an_aggregate(batches) {
        let mut followed = Vec::new();
        let (mut types, mut ids, mut sequences) = (Vec::new(), Vec::new(), Vec::new());
        for (index, (batch, result)) in batches.iter().zip(&results).enumerate() {
            if result.is_ok() && batch.expected_sequence > 0 && !batch.events.is_empty() {
                followed.push(index);
                types.push(batch.aggregate_type.as_str());
                ids.push(batch.aggregate_id.as_str());
                sequences.push(batch.expected_sequence);
            }
        }
        if followed.is_empty() {
            break;
        }
        let missing: Vec<i64> = sqlx::query_scalar(
            "SELECT u.ord FROM unnest($1::text[], $2::text[], $3::bigint[])
                 WITH ORDINALITY AS u(t, i, s, ord)
             WHERE NOT EXISTS (SELECT 1 FROM events e
                               WHERE e.aggregate_type = u.t AND e.aggregate_id = u.i
                                 AND e.sequence = u.s)",
        )
        .bind(&types)
        .bind(&ids)
        .bind(&sequences)
        .fetch_all(&mut *tx)
        .await?;
        if missing.is_empty() {
            break;
        }
        let mut undo = Vec::new();
        for ord in missing {
            let index = followed[ord as usize - 1];
            if let Ok(positions) = std::mem::replace(&mut results[index], Err(Conflict)) {
                undo.extend(positions);
            }
        }
        sqlx::query("DELETE FROM events WHERE position = ANY($1)")
            .bind(&undo)
            .execute(&mut *tx)
            .await?;
    }
    record_receipts(&mut tx, batches, &mut results).await?;
    // commerce_append announced the commit when every row landed; after a conflict
    // it is announced here, with the last position that stayed.
    if any_conflict {
        let last = results
            .iter()
            .filter_map(|r| r.as_ref().ok().and_then(|p| p.last().copied()))
            .max();
        if let Some(last) = last {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(COMMIT_CHANNEL)
                .bind(format!("{last}:{instance:x}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    before_commit.await;
    tx.commit().await?;
    Ok(results)
}

/// The batches whose expected sequence is past the end of their stream: they would
/// collide with nothing yet leave a gap, so they are refused as conflicts. A batch
/// that follows an earlier batch of the same aggregate in this append is let through
/// here (its predecessor is in the append) and checked after the insert.
async fn lacking_predecessor(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    batches: &[AppendBatch],
) -> Result<std::collections::HashSet<usize>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    let (mut indexes, mut types, mut ids, mut sequences) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (index, batch) in batches.iter().enumerate() {
        let first_of_aggregate =
            seen.insert((batch.aggregate_type.as_str(), batch.aggregate_id.as_str()));
        if first_of_aggregate && batch.expected_sequence > 0 && !batch.events.is_empty() {
            indexes.push(index);
            types.push(batch.aggregate_type.as_str());
            ids.push(batch.aggregate_id.as_str());
            sequences.push(batch.expected_sequence);
        }
    }
    if indexes.is_empty() {
        return Ok(Default::default());
    }
    let missing: Vec<i64> = sqlx::query_scalar(
        "SELECT u.ord FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(t, i, s, ord)
         WHERE NOT EXISTS (SELECT 1 FROM events e
                           WHERE e.aggregate_type = u.t AND e.aggregate_id = u.i AND e.sequence = u.s)",
    )
    .bind(&types)
    .bind(&ids)
    .bind(&sequences)
    .fetch_all(&mut **tx)
    .await?;
    Ok(missing
        .into_iter()
        .map(|ord| indexes[ord as usize - 1])
        .collect())
}

/// Whether two batches of one append are for the same aggregate.
fn repeats_an_aggregate(batches: &[AppendBatch]) -> bool {
    let mut seen = std::collections::HashSet::new();
    !batches
        .iter()
        .all(|b| seen.insert((b.aggregate_type.as_str(), b.aggregate_id.as_str())))
}

/// Record the idempotency keys of the batches that landed. A key another process
/// recorded first turns its batch into a conflict: its events and keys are taken back.
async fn record_receipts(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    batches: &[AppendBatch],
    results: &mut [Result<Vec<i64>, Conflict>],
) -> Result<(), StoreError> {
    let (mut scopes, mut keys, mut hashes, mut answers, mut positions, mut owners) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (index, (batch, result)) in batches.iter().zip(results.iter()).enumerate() {
        let Ok(landed) = result else { continue };
        for receipt in &batch.receipts {
            scopes.push(receipt.scope.as_str());
            keys.push(receipt.key.as_str());
            hashes.push(receipt.request_hash.as_str());
            answers.push(receipt.answer.to_string());
            positions.push(landed[receipt.last_event]);
            owners.push(index);
        }
    }
    if scopes.is_empty() {
        return Ok(());
    }
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO processed_commands (scope, key, request_hash, answer, position)
         SELECT s, k, h, a::json, p FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
              AS u(s, k, h, a, p)
         ON CONFLICT DO NOTHING
         RETURNING scope, key",
    )
    .bind(&scopes)
    .bind(&keys)
    .bind(&hashes)
    .bind(&answers)
    .bind(&positions)
    .fetch_all(&mut **tx)
    .await?;
    if recorded.len() == scopes.len() {
        return Ok(());
    }
    let recorded: std::collections::HashSet<(String, String)> = recorded.into_iter().collect();
    let mut refused: Vec<usize> = (0..scopes.len())
        .filter(|&i| !recorded.contains(&(scopes[i].to_string(), keys[i].to_string())))
        .map(|i| owners[i])
        .collect();
    refused.dedup();
    let (mut undo_events, mut undo_scopes, mut undo_keys) = (Vec::new(), Vec::new(), Vec::new());
    for index in refused {
        if let Ok(landed) = std::mem::replace(&mut results[index], Err(Conflict)) {
            undo_events.extend(landed);
        }
        for receipt in &batches[index].receipts {
            if recorded.contains(&(receipt.scope.clone(), receipt.key.clone())) {
                undo_scopes.push(receipt.scope.as_str());
                undo_keys.push(receipt.key.as_str());
            }
        }
    }
    sqlx::query("DELETE FROM events WHERE position = ANY($1)")
        .bind(&undo_events)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM processed_commands WHERE (scope, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))")
        .bind(&undo_scopes)
        .bind(&undo_keys)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
