//! The event log on SQLite: one writer connection, so rowid order is commit order.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_schemas::Envelope;
use sqlx::sqlite::SqlitePool;
use sqlx::Row;
use tokio::sync::watch;
use uuid::Uuid;

use crate::backend::{Appended, BeforeCommit, LogBackend};
use crate::source::{envelope, LogError};
use crate::store::Heard;
use crate::types::{AppendBatch, Conflict, Predecessors, Receipt, StoreError, Units};

/// The log on SQLite. `writer` is the database's one writing connection.
#[derive(Debug)]
pub(crate) struct SqliteLog {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
}

const MIGRATIONS: &[&str] = &[
    // The sqlite-es layout, with `position` as the rowid (AUTOINCREMENT: never
    // reused, so a deleted row leaves a hole rather than a second event at one place).
    "CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        aggregate_type TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        sequence INTEGER NOT NULL CHECK (sequence >= 0),
        event_type TEXT NOT NULL,
        event_version TEXT NOT NULL,
        payload TEXT NOT NULL,
        metadata TEXT NOT NULL,
        -- Defaults let sqlite-es (which names only its own columns) append too.
        event_id TEXT NOT NULL DEFAULT (lower(hex(randomblob(16)))),
        occurred_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (aggregate_type, aggregate_id, sequence))",
    // Readers of one aggregate type read "after position P, of type T".
    "CREATE INDEX IF NOT EXISTS events_type_position ON events (aggregate_type, position)",
    "CREATE TABLE IF NOT EXISTS snapshots (
        aggregate_type TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0),
        current_snapshot INTEGER NOT NULL CHECK (current_snapshot >= 0),
        payload TEXT NOT NULL,
        timestamp TEXT,
        PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    "CREATE TABLE IF NOT EXISTS processed_commands (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        answer TEXT NOT NULL,
        position INTEGER NOT NULL,
        recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (scope, key))",
    // A query node's copy of the log, taken from a stream: the stream's sequence of
    // the last message copied, written with the events it brought.
    "CREATE TABLE IF NOT EXISTS stream_copies (
        stream TEXT PRIMARY KEY,
        sequence INTEGER NOT NULL,
        position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS process_checkpoints (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL)",
];

#[async_trait::async_trait]
impl LogBackend for SqliteLog {
    async fn migrate(&self) -> Result<(), StoreError> {
        migrate(&self.writer).await
    }

    async fn append(
        &self,
        batches: &[AppendBatch],
        units: Option<&Units>,
        // One writer reads each stream's end in its transaction anyway: the check
        // costs nothing here.
        _predecessors: Predecessors,
        before_commit: Option<BeforeCommit<'_>>,
        _instance: u64,
    ) -> Result<Appended, StoreError> {
        append(&self.writer, batches, units, before_commit).await
    }

    fn commits_are_all_ours(&self) -> bool {
        true
    }

    async fn follow_commits(
        &self,
        _head: watch::Sender<i64>,
        _heard: Arc<Heard>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        last_sequence: i64,
        payload: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(last_sequence)
        .bind(payload)
        .execute(&mut *tx)
        .await?;
        sqlx::query(crate::snapshots::PRUNE)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(last_sequence)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save_process_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError> {
        sqlx::query(crate::reads::UPSERT_CHECKPOINT)
            .bind(name)
            .bind(position)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn read_envelopes_after(
        &self,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Envelope>, LogError> {
        let rows = sqlx::query(
            "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                    event_version, occurred_at, metadata, payload
             FROM events WHERE position > ? ORDER BY position LIMIT ?",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let position: i64 = row.get(0);
                let corrupt = |reason: String| LogError::Corrupt { position, reason };
                let event_id: &str = row.get(1);
                let occurred_at: &str = row.get(7);
                envelope(
                    row,
                    Uuid::parse_str(event_id).map_err(|e| corrupt(e.to_string()))?,
                    DateTime::parse_from_rfc3339(occurred_at)
                        .map_err(|e| corrupt(e.to_string()))?
                        .with_timezone(&Utc),
                )
            })
            .collect()
    }
}

async fn migrate(writer: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    for statement in MIGRATIONS {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn append(
    writer: &SqlitePool,
    batches: &[AppendBatch],
    units: Option<&Units>,
    before_commit: Option<BeforeCommit<'_>>,
) -> Result<Appended, StoreError> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let after: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(&mut *tx)
        .await?;
    let ranges = match units {
        Some(units) => units.ranges(),
        None => (0..batches.len()).map(|k| k..k + 1).collect(),
    };
    let mut results = Vec::with_capacity(batches.len());
    for range in ranges {
        let unit = &batches[range];
        // A unit of several batches is undone whole when one of them conflicts.
        let linked = unit.len() > 1;
        if linked {
            sqlx::query("SAVEPOINT unit").execute(&mut *tx).await?;
        }
        let mut appended = Vec::with_capacity(unit.len());
        for batch in unit {
            match append_batch(&mut tx, batch).await? {
                Ok(positions) => appended.push(Ok(positions)),
                Err(Conflict) if linked => {
                    sqlx::query("ROLLBACK TO SAVEPOINT unit")
                        .execute(&mut *tx)
                        .await?;
                    appended = unit.iter().map(|_| Err(Conflict)).collect();
                    break;
                }
                Err(Conflict) => appended.push(Err(Conflict)),
            }
        }
        if linked {
            sqlx::query("RELEASE SAVEPOINT unit")
                .execute(&mut *tx)
                .await?;
        }
        results.extend(appended);
    }
    if let Some(before_commit) = before_commit {
        before_commit.await;
    }
    tx.commit().await?;
    Ok(Appended { after, results })
}

/// One batch inside the append's transaction: its positions, or a conflict (nothing
/// written) when its stream has moved past its expected sequence or a key is taken.
async fn append_batch(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    batch: &AppendBatch,
) -> Result<Result<Vec<i64>, Conflict>, StoreError> {
    if batch.events.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let current: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(sequence), 0) FROM events WHERE aggregate_type = ? AND aggregate_id = ?",
    )
    .bind(&batch.aggregate_type)
    .bind(&batch.aggregate_id)
    .fetch_one(&mut **tx)
    .await?;
    if current != batch.expected_sequence || receipts_taken(tx, &batch.receipts).await? {
        return Ok(Err(Conflict));
    }
    let mut positions = Vec::with_capacity(batch.events.len());
    for (offset, event) in batch.events.iter().enumerate() {
        let position: i64 = sqlx::query_scalar(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                 payload, metadata, event_id, occurred_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING position",
        )
        .bind(&batch.aggregate_type)
        .bind(&batch.aggregate_id)
        .bind(batch.expected_sequence + 1 + offset as i64)
        .bind(&event.event_type)
        .bind(&event.event_version)
        .bind(&event.payload)
        .bind(serde_json::to_string(&event.metadata).expect("metadata serialises"))
        .bind(event.event_id.to_string())
        .bind(
            event
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .fetch_one(&mut **tx)
        .await?;
        positions.push(position);
    }
    for receipt in &batch.receipts {
        sqlx::query(
            "INSERT INTO processed_commands (scope, key, request_hash, answer, position) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&receipt.scope)
        .bind(&receipt.key)
        .bind(&receipt.request_hash)
        .bind(receipt.answer.to_string())
        .bind(positions[receipt.last_event])
        .execute(&mut **tx)
        .await?;
    }
    Ok(Ok(positions))
}

/// Whether any of these idempotency keys is already recorded (by another process).
async fn receipts_taken(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    receipts: &[Receipt],
) -> Result<bool, StoreError> {
    for receipt in receipts {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM processed_commands WHERE scope = ? AND key = ?")
                .bind(&receipt.scope)
                .bind(&receipt.key)
                .fetch_optional(&mut **tx)
                .await?;
        if taken.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}
