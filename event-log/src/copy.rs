//! A copy of another deployment's log, as a query node keeps it: events arrive from
//! a stream (NATS JetStream) already ordered and numbered, and are written with their
//! own positions, ids and times, together with the stream sequence they came at, in
//! one transaction. The copy is never appended to otherwise ([`EventStore::open_copy`]
//! refuses appends), so its positions, and every `min_position` a client holds, mean
//! what they mean on the command side.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::advance;
use crate::{EventStore, StoreError, WriteTx};

/// One event of another log, as a copy takes it: every column, the metadata and
/// payload as the JSON text that arrived (checked to be JSON, not parsed into values:
/// the copy writes text).
#[derive(Debug, Clone, PartialEq)]
pub struct CopiedEvent {
    pub position: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub occurred_at: DateTime<Utc>,
    pub metadata: String,
    pub payload: String,
}

/// Rows in one SQLite `INSERT` of a copy (10 parameters each, well under SQLite's
/// limit of 32,766).
const SQLITE_ROWS_PER_INSERT: usize = 200;

impl EventStore {
    /// The stream sequence and log position of the last message copied from
    /// `stream` (0, 0 for none yet).
    pub async fn copied_through(&self, stream: &str) -> Result<(u64, i64), StoreError> {
        let row: Option<(i64, i64)> = crate::on_reader!(self.database(), pool => {
            sqlx::query_as("SELECT sequence, position FROM stream_copies WHERE stream = $1")
                .bind(stream).fetch_optional(pool).await?
        });
        Ok(row.map_or((0, 0), |(sequence, position)| (sequence as u64, position)))
    }

    /// Write `events` (in position order, each after the copy's last) as the copy of
    /// `stream` through `stream_sequence`, in one transaction, and wake readers.
    /// Events already copied (a redelivery) are left as they are.
    pub async fn copy_in(
        &self,
        stream: &str,
        stream_sequence: u64,
        events: &[CopiedEvent],
    ) -> Result<(), StoreError> {
        let last = events.iter().map(|e| e.position).max();
        let reached = last.unwrap_or(0);
        // A read model's transaction: a commit lost in a crash goes with its stream
        // sequence, and the stream delivers it again.
        let mut tx = self.database().begin_write().await?;
        match &mut tx {
            WriteTx::Sqlite(tx) => {
                // Many rows per statement: each statement is a round trip to the
                // SQLite worker thread.
                for rows in events.chunks(SQLITE_ROWS_PER_INSERT) {
                    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO events (position, aggregate_type, aggregate_id, sequence, event_type,
                                             event_version, payload, metadata, event_id, occurred_at) ",
                    );
                    insert.push_values(rows, |mut row, event| {
                        row.push_bind(event.position)
                            .push_bind(&event.aggregate_type)
                            .push_bind(&event.aggregate_id)
                            .push_bind(event.sequence)
                            .push_bind(&event.event_type)
                            .push_bind(&event.event_version)
                            .push_bind(&event.payload)
                            .push_bind(&event.metadata)
                            .push_bind(event.event_id.to_string())
                            .push_bind(
                                event
                                    .occurred_at
                                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            );
                    });
                    insert.push(" ON CONFLICT DO NOTHING");
                    insert.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                if !events.is_empty() {
                    sqlx::query(
                        "INSERT INTO events (position, event_id, aggregate_type, aggregate_id, sequence,
                                             event_type, event_version, occurred_at, metadata, payload)
                         OVERRIDING SYSTEM VALUE
                         SELECT p, i, a, ai, s, t, v, o, CAST(m AS json), CAST(d AS json)
                         FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::bigint[],
                                     $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[])
                              AS e(p, i, a, ai, s, t, v, o, m, d)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(events.iter().map(|e| e.position).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.aggregate_type.as_str()).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.aggregate_id.as_str()).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.sequence).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.event_version.as_str()).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.metadata.as_str()).collect::<Vec<_>>())
                    .bind(events.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        crate::on_tx!(&mut tx, t => {
            sqlx::query(RECORD_COPIED)
                .bind(stream)
                .bind(stream_sequence as i64)
                .bind(reached)
                .execute(&mut **t)
                .await
                .map(drop)?
        });
        tx.commit().await?;
        if let Some(last) = last {
            advance(&self.head, last);
            self.heard
                .all_heard_through
                .fetch_max(last, Ordering::AcqRel);
            // Copied events were written by other processes as far as aggregates
            // held in memory go: one read before them is read again, not trusted.
            advance(&self.heard.others_head, last);
        }
        Ok(())
    }
}

/// Move the copy's mark to the stream sequence (`$2`) and its position (`$3`)
/// forward, never back: a batch of redeliveries brings no new position.
const RECORD_COPIED: &str =
    "INSERT INTO stream_copies (stream, sequence, position) VALUES ($1, $2, $3)
     ON CONFLICT (stream) DO UPDATE SET sequence = excluded.sequence,
         position = CASE WHEN excluded.position > stream_copies.position
                         THEN excluded.position ELSE stream_copies.position END";
