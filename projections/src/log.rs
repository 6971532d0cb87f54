//! Reading the global log in position order.

use chrono::{DateTime, Utc};
use event_schemas::{Envelope, Metadata, RecordedEvent};
use sqlx::Row;
use uuid::Uuid;

use crate::db::ReadDb;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
}

/// One committed event as projections read it: only what they need, payload still
/// JSON text, so it is parsed once, straight into the event type.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub position: i64,
    pub aggregate_type: String,
    pub event_version: String,
    pub payload: String,
}

impl LogRecord {
    /// The typed event, when the record is of one of the aggregates this build knows.
    pub fn decode(&self) -> Result<RecordedEvent, LogError> {
        RecordedEvent::parse(&self.aggregate_type, &self.event_version, &self.payload).map_err(
            |e| LogError::Corrupt {
                position: self.position,
                reason: e.to_string(),
            },
        )
    }
}

/// Up to `limit` committed events after `position`, in position order, lean.
pub async fn read_records_after(
    db: &ReadDb,
    position: i64,
    limit: i64,
) -> Result<Vec<LogRecord>, LogError> {
    const QUERY: &str = "SELECT position, aggregate_type, event_version, CAST(payload AS TEXT)
         FROM events WHERE position > $1 ORDER BY position LIMIT $2";
    let rows: Vec<(i64, String, String, String)> = crate::on_reader!(db, pool => {
        sqlx::query_as(QUERY).bind(position).bind(limit).fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(position, aggregate_type, event_version, payload)| LogRecord {
                position,
                aggregate_type,
                event_version,
                payload,
            },
        )
        .collect())
}

/// Up to `limit` committed events after `position`, in position order.
pub async fn read_after(db: &ReadDb, position: i64, limit: i64) -> Result<Vec<Envelope>, LogError> {
    match db {
        ReadDb::Sqlite { reader, .. } => {
            let rows = sqlx::query(
                "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                        event_version, occurred_at, metadata, payload
                 FROM events WHERE position > ? ORDER BY position LIMIT ?",
            )
            .bind(position)
            .bind(limit)
            .fetch_all(reader)
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
        ReadDb::Postgres(pool) => {
            let rows = sqlx::query(
                "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type,
                        event_version, occurred_at, metadata::text, payload::text
                 FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            )
            .bind(position)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| envelope(row, row.get(1), row.get(7)))
                .collect()
        }
    }
}

/// The position of the last committed event (0 for an empty log).
pub async fn head(db: &ReadDb) -> Result<i64, sqlx::Error> {
    let head: Option<i64> = crate::on_reader!(db, pool => {
        sqlx::query_scalar("SELECT MAX(position) FROM events").fetch_one(pool).await?
    });
    Ok(head.unwrap_or(0))
}

/// Build an envelope from a row whose columns 0, 2–6, 8 and 9 read alike on both backends.
fn envelope<R>(row: &R, event_id: Uuid, occurred_at: DateTime<Utc>) -> Result<Envelope, LogError>
where
    R: Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let position: i64 = row.get(0);
    let corrupt = |what: &str, e: serde_json::Error| LogError::Corrupt {
        position,
        reason: format!("{what}: {e}"),
    };
    let metadata: Metadata =
        serde_json::from_str(row.get(8)).map_err(|e| corrupt("metadata", e))?;
    let payload = serde_json::from_str(row.get(9)).map_err(|e| corrupt("payload", e))?;
    Ok(Envelope {
        event_id,
        aggregate_type: row.get::<&str, _>(2).to_string(),
        aggregate_id: row.get::<&str, _>(3).to_string(),
        sequence: row.get(4),
        position,
        event_type: row.get::<&str, _>(5).to_string(),
        event_version: row.get::<&str, _>(6).to_string(),
        occurred_at,
        metadata,
        payload,
    })
}
