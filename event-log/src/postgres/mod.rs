//! The event log on PostgreSQL.
//!
//! Appends take `pg_advisory_xact_lock(LOG_LOCK)` first, so identity values are
//! handed out in commit order and a reader following `position` never skips an event
//! that commits later with a smaller position.

mod append;
mod listener;

use std::sync::Arc;

use event_schemas::Envelope;
use sqlx::postgres::PgPool;
use sqlx::Row;
use tokio::sync::watch;

use crate::backend::{AppendResults, BeforeCommit, LogBackend};
use crate::source::{envelope, LogError};
use crate::store::Heard;
use crate::types::{AppendBatch, StoreError};

/// The log on PostgreSQL.
#[derive(Debug)]
pub(crate) struct PostgresLog {
    pub(crate) pool: PgPool,
}

/// Advisory lock key serialising appends to the log ("commerce" in ASCII, as i64).
const LOG_LOCK: i64 = 0x636f_6d6d_6572_6365;
/// Advisory lock key serialising migrations of several starting processes.
const MIGRATION_LOCK: i64 = LOG_LOCK + 1;
/// The channel on which every append announces its last position.
pub const COMMIT_CHANNEL: &str = "commerce_events";

const MIGRATIONS: &[&str] = &[
    // The postgres-es layout, unchanged, so postgres-es can load these streams.
    // Keys compare byte-wise (COLLATE "C"): a locale's collation costs every index
    // insert and lookup a strcoll, and nothing sorts these names for people. Tables
    // made before keep their collation.
    "CREATE TABLE IF NOT EXISTS events (
        aggregate_type text COLLATE \"C\" NOT NULL,
        aggregate_id text COLLATE \"C\" NOT NULL,
        sequence bigint CHECK (sequence >= 0) NOT NULL,
        event_type text NOT NULL,
        event_version text NOT NULL,
        payload json NOT NULL,
        metadata json NOT NULL,
        PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS position bigint GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS event_id uuid NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS occurred_at timestamptz NOT NULL DEFAULT now()",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_position ON events (position)",
    // Readers of one aggregate type (the order process, live availability, the API
    // key table) read "after position P, of type T": without this they scan every
    // event of the type each time, which grows with the log.
    "CREATE INDEX IF NOT EXISTS events_type_position ON events (aggregate_type, position)",
    "CREATE TABLE IF NOT EXISTS snapshots (
        aggregate_type text COLLATE \"C\" NOT NULL,
        aggregate_id text COLLATE \"C\" NOT NULL,
        last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
        current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
        payload json NOT NULL,
        timestamp timestamp with time zone DEFAULT (CURRENT_TIMESTAMP),
        PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    "CREATE TABLE IF NOT EXISTS processed_commands (
        scope text COLLATE \"C\" NOT NULL,
        key text COLLATE \"C\" NOT NULL,
        request_hash text NOT NULL,
        answer json NOT NULL,
        position bigint NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key))",
    "CREATE TABLE IF NOT EXISTS process_checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL)",
    // The append's part under the log's lock, in one round trip: take the lock,
    // insert every row (identity values in row order, so in commit order), announce
    // the last position. The lock is then held only until the commit that follows,
    // never across a client round trip in between. Rows already taken by another
    // writer are skipped (ON CONFLICT DO NOTHING); the caller then takes back the
    // rest of such a batch and announces the position itself.
    "CREATE OR REPLACE FUNCTION commerce_append(
        lock_key bigint, channel text, instance text,
        t text[], i text[], s bigint[], et text[], ev text[], p text[], m text[],
        eid uuid[], oa timestamptz[])
     RETURNS TABLE (landed_type text, landed_id text, landed_sequence bigint, landed_position bigint)
     LANGUAGE plpgsql AS $$
     DECLARE
        types text[]; ids text[]; sequences bigint[]; positions bigint[];
     BEGIN
        PERFORM pg_advisory_xact_lock(lock_key);
        WITH inserted AS (
            INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                payload, metadata, event_id, occurred_at)
            SELECT u.t, u.i, u.s, u.et, u.ev, u.p::json, u.m::json, u.eid, u.oa
            FROM unnest(t, i, s, et, ev, p, m, eid, oa)
                 WITH ORDINALITY AS u(t, i, s, et, ev, p, m, eid, oa, ord)
            ORDER BY u.ord
            ON CONFLICT DO NOTHING
            RETURNING events.aggregate_type, events.aggregate_id, events.sequence, events.position)
        SELECT array_agg(x.aggregate_type), array_agg(x.aggregate_id), array_agg(x.sequence),
               array_agg(x.position)
        INTO types, ids, sequences, positions
        FROM inserted x;
        -- Announced here only when every row landed; otherwise the caller takes
        -- back the short batches and announces what is left.
        IF cardinality(positions) = cardinality(t) THEN
            PERFORM pg_notify(channel,
                (SELECT max(q) FROM unnest(positions) q)::text || ':' || instance);
        END IF;
        IF positions IS NOT NULL THEN
            RETURN QUERY SELECT * FROM unnest(types, ids, sequences, positions);
        END IF;
     END $$",
];

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    for statement in MIGRATIONS {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait::async_trait]
impl LogBackend for PostgresLog {
    async fn migrate(&self) -> Result<(), StoreError> {
        migrate(&self.pool).await
    }

    async fn append(
        &self,
        batches: &[AppendBatch],
        before_commit: BeforeCommit<'_>,
        instance: u64,
    ) -> Result<AppendResults, StoreError> {
        append::append(&self.pool, batches, before_commit, instance).await
    }

    fn commits_are_all_ours(&self) -> bool {
        false
    }

    async fn follow_commits(
        &self,
        head: watch::Sender<i64>,
        heard: Arc<Heard>,
    ) -> Result<(), StoreError> {
        listener::spawn_commit_listener(self.pool.clone(), head, heard).await
    }

    async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        last_sequence: i64,
        payload: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The payload column is `json`: the text needs the cast.
        sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4::json) ON CONFLICT DO NOTHING",
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
            .execute(&self.pool)
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
                    event_version, occurred_at, metadata::text, payload::text
             FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| envelope(row, row.get(1), row.get(7)))
            .collect()
    }
}
