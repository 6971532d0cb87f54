//! Snapshots: the cached state of one aggregate, so a long stream loads fast.

use crate::store::parse_payload;
use crate::{EventStore, StoreError};

/// Drops the snapshots older than the one just saved (the same on both backends).
pub(crate) const PRUNE: &str =
    "DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";

/// A cached state of one aggregate as of `last_sequence`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub last_sequence: i64,
    pub payload: serde_json::Value,
}

impl EventStore {
    /// The newest snapshot of an aggregate, if one was taken.
    pub async fn load_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>, StoreError> {
        if !crate::store::can_exist(aggregate_id) {
            return Ok(None);
        }
        const QUERY: &str = "SELECT last_sequence, CAST(payload AS TEXT) FROM snapshots
             WHERE aggregate_type = $1 AND aggregate_id = $2
             ORDER BY last_sequence DESC LIMIT 1";
        let row: Option<(i64, String)> = crate::on_reader!(self.database(), pool => {
            sqlx::query_as(QUERY).bind(aggregate_type).bind(aggregate_id).fetch_optional(pool).await?
        });
        row.map(|(last_sequence, text)| {
            Ok(Snapshot {
                last_sequence,
                payload: parse_payload(&text, -last_sequence)?,
            })
        })
        .transpose()
    }

    /// Keep `snapshot` as the aggregate's newest, dropping older ones. Best effort:
    /// a snapshot is a cache, and the log stays the truth.
    pub async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        let payload = snapshot.payload.to_string();
        self.backend()
            .save_snapshot(
                aggregate_type,
                aggregate_id,
                snapshot.last_sequence,
                &payload,
            )
            .await
    }
}
