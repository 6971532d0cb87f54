//! Snapshots: the cached state of one aggregate, so a long stream loads fast.

use crate::store::parse_payload;
use crate::{EventStore, StoreError, StoredEvent};

/// Drops the snapshots older than the one just saved (the same on both backends).
pub(crate) const PRUNE: &str =
    "DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";

/// A cached state of one aggregate as of `last_sequence`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub last_sequence: i64,
    pub payload: serde_json::Value,
}

/// An aggregate as loaded cold: its newest snapshot, and its events after it.
pub(crate) type Loaded = (Option<Snapshot>, Vec<StoredEvent>);

/// The rows a cold load reads, in order: (kind, sequence, position, event version,
/// payload), kind 0 a snapshot (its sequence is `last_sequence`), kind 1 an event.
pub(crate) type LoadedRows = Vec<(i32, i64, i64, String, String)>;

/// The snapshot (the newest, should an older one not be pruned yet) and the events.
pub(crate) fn fold_loaded(rows: LoadedRows) -> Result<Loaded, StoreError> {
    let mut snapshot: Option<(i64, String)> = None;
    let mut events = Vec::new();
    for (kind, sequence, position, event_version, payload) in rows {
        if kind == 0 {
            if snapshot.as_ref().is_none_or(|(last, _)| sequence > *last) {
                snapshot = Some((sequence, payload));
            }
        } else {
            events.push(StoredEvent {
                sequence,
                position,
                payload,
                event_version,
            });
        }
    }
    let snapshot = snapshot
        .map(|(last_sequence, text)| {
            Ok::<_, StoreError>(Snapshot {
                last_sequence,
                payload: parse_payload(&text, -last_sequence)?,
            })
        })
        .transpose()?;
    Ok((snapshot, events))
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

    /// The newest snapshot of an aggregate and the events after it, in one round
    /// trip (what an owner loading a cold aggregate needs; loading is most of what
    /// a command on one costs), on PostgreSQL shared with the loads waiting beside
    /// it (see [`crate::loads`]). Without a snapshot, every event.
    pub async fn load_latest(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<(Option<Snapshot>, Vec<StoredEvent>), StoreError> {
        if !crate::store::can_exist(aggregate_id) {
            return Ok((None, Vec::new()));
        }
        if let Some(loader) = self.loader() {
            return loader.load(aggregate_type, aggregate_id).await;
        }
        // Rows of kind 0 are snapshots (their sequence is `last_sequence`), of kind 1
        // events after the newest snapshot.
        const QUERY: &str = "SELECT 0 AS kind, last_sequence AS sequence, 0 AS position,
                    '' AS event_version, CAST(payload AS TEXT) AS payload
             FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2
             UNION ALL
             SELECT 1, sequence, position, event_version, CAST(payload AS TEXT)
             FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
               AND sequence > COALESCE((SELECT MAX(last_sequence) FROM snapshots
                                        WHERE aggregate_type = $1 AND aggregate_id = $2), 0)
             ORDER BY kind, sequence";
        let rows: LoadedRows = crate::on_reader!(self.database(), pool => {
            sqlx::query_as(QUERY).bind(aggregate_type).bind(aggregate_id).fetch_all(pool).await?
        });
        fold_loaded(rows)
    }

    /// Keep `payload`, the aggregate's state as JSON text after event `last_sequence`,
    /// as its newest snapshot, dropping older ones. Best effort: a snapshot is a
    /// cache, and the log stays the truth. Text, not a `Value`: a large state (a
    /// flash sale's buyers) serialises straight to text several times faster than
    /// through a tree of values.
    pub async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        last_sequence: i64,
        payload: &str,
    ) -> Result<(), StoreError> {
        self.backend()
            .save_snapshot(aggregate_type, aggregate_id, last_sequence, payload)
            .await
    }
}
