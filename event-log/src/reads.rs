//! Reads beside the append path: receipts of idempotency keys, the events of one
//! aggregate type in log order (what process managers follow), and process
//! checkpoints.

use crate::source::{EventSource, LogRecord};
use crate::store::parse_payload;
use crate::{EventStore, StoreError, StoredReceipt};

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
