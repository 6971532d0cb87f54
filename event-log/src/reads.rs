//! Reads beside the append path: receipts of idempotency keys, the events of one
//! aggregate type in log order (what process managers follow), and process
//! checkpoints.

use crate::source::{EventSource, LogRecord};
use crate::store::{can_exist, parse_payload};
use crate::{EventStore, StoreError, StoredReceipt};

/// One event of an aggregate's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub sequence: i64,
    pub position: i64,
    pub event_type: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// Records a process's checkpoint (the same on both backends).
pub(crate) const UPSERT_CHECKPOINT: &str =
    "INSERT INTO process_checkpoints (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position";

impl EventStore {
    /// The receipt of the command with idempotency key `key` of `scope`, if it ran.
    pub async fn find_receipt(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<StoredReceipt>, StoreError> {
        const QUERY: &str =
            "SELECT request_hash, CAST(answer AS TEXT), position FROM processed_commands
             WHERE scope = $1 AND key = $2";
        let row: Option<(String, String, i64)> = crate::on_reader!(self.database(), pool => {
            sqlx::query_as(QUERY).bind(scope).bind(key).fetch_optional(pool).await?
        });
        row.map(|(request_hash, answer, position)| {
            Ok(StoredReceipt {
                request_hash,
                answer: parse_payload(&answer, position)?,
                position,
            })
        })
        .transpose()
    }
}

impl EventStore {
    /// Up to `limit` events of `aggregate_type` after `position`, in position order:
    /// what process managers follow. Decode each with [`LogRecord::decode_as`].
    pub async fn read_type_after(
        &self,
        aggregate_type: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>, StoreError> {
        Ok(self
            .database()
            .read_type_after(aggregate_type, position, limit)
            .await?)
    }

    /// The last `limit` events of one aggregate, oldest first: its history as an
    /// operator reads it (type, when, where in the log).
    pub async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        // An id no stream can have (a NUL, which PostgreSQL's text refuses) has none.
        if !can_exist(aggregate_id) {
            return Ok(Vec::new());
        }
        const QUERY: &str = "SELECT sequence, position, event_type, occurred_at FROM events
             WHERE aggregate_type = $1 AND aggregate_id = $2
             ORDER BY sequence DESC LIMIT $3";
        let rows: Vec<(i64, i64, String, chrono::DateTime<chrono::Utc>)> = crate::on_reader!(self.database(), pool => {
            sqlx::query_as(QUERY).bind(aggregate_type).bind(aggregate_id).bind(limit)
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .rev()
            .map(
                |(sequence, position, event_type, occurred_at)| HistoryEntry {
                    sequence,
                    position,
                    event_type,
                    occurred_at,
                },
            )
            .collect())
    }

    /// Where process `name` has got to in the log (0 when it never ran).
    pub async fn process_checkpoint(&self, name: &str) -> Result<i64, StoreError> {
        const QUERY: &str = "SELECT position FROM process_checkpoints WHERE name = $1";
        let position: Option<i64> = crate::on_reader!(self.database(), pool => {
            sqlx::query_scalar(QUERY).bind(name).fetch_optional(pool).await?
        });
        Ok(position.unwrap_or(0))
    }

    /// Record that process `name` has handled everything up to `position`.
    pub async fn save_process_checkpoint(
        &self,
        name: &str,
        position: i64,
    ) -> Result<(), StoreError> {
        self.backend().save_process_checkpoint(name, position).await
    }
}
