//! The one way to read the log: a source of recorded events in position (commit)
//! order. [`EventSource`] is what readers depend on; the database implements it
//! here, and a reader fed from a bus (NATS JetStream) could implement it too. Waiting
//! for new positions is a `watch` of the last committed one
//! ([`EventSource::commits`]; the [`EventStore`] feeds it from its own appends and
//! other processes' notifications), which such a reader would feed from its
//! subscription.
//!
//! Every payload decodes through `event_schemas`' upcasters
//! ([`LogRecord::decode`], [`LogRecord::decode_as`]), never straight with serde.

use chrono::{DateTime, Utc};
use event_schemas::{Envelope, Metadata, RecordedEvent};
use serde::de::DeserializeOwned;
use sqlx::Row;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{Database, EventStore};

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
}

/// One committed event as readers take it: only what they need, payload still JSON
/// text, so it is parsed once, straight into the event type (upcast first when it
/// was written at an older version).
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub position: i64,
    pub aggregate_type: String,
    pub event_version: String,
    pub payload: String,
    /// When the command that recorded it was decided.
    pub occurred_at: DateTime<Utc>,
}

impl LogRecord {
    /// The typed event, when the record is of one of the aggregates this build knows.
    pub fn decode(&self) -> Result<RecordedEvent, LogError> {
        RecordedEvent::parse(&self.aggregate_type, &self.event_version, &self.payload)
            .map_err(|e| self.corrupt(e))
    }

    /// The event as `E`, the event type of the record's aggregate.
    pub fn decode_as<E: DeserializeOwned>(&self) -> Result<E, LogError> {
        self.parse_as().map_err(|e| self.corrupt(e))
    }

    /// [`decode_as`](Self::decode_as), answering serde's own error.
    pub fn parse_as<E: DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        event_schemas::decode_str(&self.aggregate_type, &self.event_version, &self.payload)
    }

    fn corrupt(&self, error: serde_json::Error) -> LogError {
        LogError::Corrupt {
            position: self.position,
            reason: error.to_string(),
        }
    }
}

/// A source of recorded events in position order.
#[async_trait::async_trait]
pub trait EventSource: Send + Sync {
    /// Up to `limit` events after `position`, in position order.
    async fn read_after(&self, position: i64, limit: i64) -> Result<Vec<LogRecord>, LogError>;

    /// Up to `limit` events of `aggregate_type` after `position`, in position order.
    async fn read_type_after(
        &self,
        aggregate_type: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>, LogError>;

    /// Every event of `aggregate_type`, stream by stream (by aggregate id, then
    /// sequence): for small aggregate types read whole.
    async fn read_type(&self, aggregate_type: &str) -> Result<Vec<LogRecord>, LogError>;

    /// The position of the last committed event (0 for an empty log).
    async fn head(&self) -> Result<i64, LogError>;

    /// The last committed position as this source hears of it, to wait on for new
    /// events; `None` when the source cannot tell (the bare database: its commits
    /// are heard by the [`EventStore`] that opened it).
    fn commits(&self) -> Option<watch::Receiver<i64>> {
        None
    }
}

#[async_trait::async_trait]
impl EventSource for Database {
    async fn read_after(&self, position: i64, limit: i64) -> Result<Vec<LogRecord>, LogError> {
        const QUERY: &str =
            "SELECT position, aggregate_type, event_version, CAST(payload AS TEXT), occurred_at
             FROM events WHERE position > $1 ORDER BY position LIMIT $2";
        let rows: Vec<RecordRow> = crate::on_reader!(self, pool => {
            sqlx::query_as(QUERY).bind(position).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(record).collect())
    }

    async fn read_type_after(
        &self,
        aggregate_type: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>, LogError> {
        const QUERY: &str =
            "SELECT position, aggregate_type, event_version, CAST(payload AS TEXT), occurred_at
             FROM events WHERE position > $1 AND aggregate_type = $2 ORDER BY position LIMIT $3";
        let rows: Vec<RecordRow> = crate::on_reader!(self, pool => {
            sqlx::query_as(QUERY).bind(position).bind(aggregate_type).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(record).collect())
    }

    async fn read_type(&self, aggregate_type: &str) -> Result<Vec<LogRecord>, LogError> {
        const QUERY: &str =
            "SELECT position, aggregate_type, event_version, CAST(payload AS TEXT), occurred_at
             FROM events WHERE aggregate_type = $1 ORDER BY aggregate_id, sequence";
        let rows: Vec<RecordRow> = crate::on_reader!(self, pool => {
            sqlx::query_as(QUERY).bind(aggregate_type).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(record).collect())
    }

    async fn head(&self) -> Result<i64, LogError> {
        Ok(head(self).await?)
    }
}

#[async_trait::async_trait]
impl EventSource for EventStore {
    async fn read_after(&self, position: i64, limit: i64) -> Result<Vec<LogRecord>, LogError> {
        self.database().read_after(position, limit).await
    }

    async fn read_type_after(
        &self,
        aggregate_type: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>, LogError> {
        EventSource::read_type_after(self.database(), aggregate_type, position, limit).await
    }

    async fn read_type(&self, aggregate_type: &str) -> Result<Vec<LogRecord>, LogError> {
        self.database().read_type(aggregate_type).await
    }

    async fn head(&self) -> Result<i64, LogError> {
        self.database().head().await
    }

    fn commits(&self) -> Option<watch::Receiver<i64>> {
        Some(self.committed())
    }
}

impl Database {
    /// Up to `limit` committed events after `position`, in position order, whole:
    /// the envelope with its metadata, as the bus would publish it.
    pub async fn read_envelopes_after(
        &self,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Envelope>, LogError> {
        self.log_backend()
            .read_envelopes_after(position, limit)
            .await
    }
}

/// A record's columns as read.
type RecordRow = (i64, String, String, String, DateTime<Utc>);

fn record((position, aggregate_type, event_version, payload, occurred_at): RecordRow) -> LogRecord {
    LogRecord {
        position,
        aggregate_type,
        event_version,
        payload,
        occurred_at,
    }
}

/// The position of the last committed event (0 for an empty log).
pub(crate) async fn head(db: &Database) -> Result<i64, sqlx::Error> {
    let head: Option<i64> = crate::on_reader!(db, pool => {
        sqlx::query_scalar("SELECT MAX(position) FROM events").fetch_one(pool).await?
    });
    Ok(head.unwrap_or(0))
}

/// Build an envelope from a row of `position, event_id, aggregate_type, aggregate_id,
/// sequence, event_type, event_version, occurred_at, metadata, payload` whose columns
/// 0, 2–6, 8 and 9 read alike on both backends.
pub(crate) fn envelope<R>(
    row: &R,
    event_id: Uuid,
    occurred_at: DateTime<Utc>,
) -> Result<Envelope, LogError>
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
