//! The event log on PostgreSQL.
//!
//! Appends take `pg_advisory_xact_lock(LOG_LOCK)` first, so identity values are
//! handed out in commit order and a reader following `position` never skips an event
//! that commits later with a smaller position.

mod append;
mod held;
mod listener;

pub(crate) use held::HeldConnections;

use std::sync::Arc;

use event_schemas::Envelope;
use sqlx::postgres::PgPool;
use sqlx::Row;
use tokio::sync::watch;

use crate::backend::{Appended, BeforeCommit, LogBackend};
use crate::source::{envelope, LogError};
use crate::store::Heard;
use crate::types::{AppendBatch, Predecessors, StoreError, Units};

/// The log on PostgreSQL.
#[derive(Debug)]
pub(crate) struct PostgresLog {
    pub(crate) pool: PgPool,
    /// The appends' own connections (no ping after each, as the pool's have).
    appends: HeldConnections,
}

impl PostgresLog {
    pub(crate) fn new(pool: PgPool) -> Self {
        let appends = HeldConnections::new((*pool.connect_options()).clone());
        Self { pool, appends }
    }
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
    // A hot aggregate's snapshot can be tens of megabytes (a flash sale's buyers):
    // PostgreSQL's own compression (pglz) took a tenth of the database's time in a
    // sale's rush, lz4 a fraction of that. Set once; a server built without lz4 (or
    // older than 14) keeps pglz, which only costs time.
    "DO $$ BEGIN
        IF (SELECT attcompression FROM pg_attribute
            WHERE attrelid = 'snapshots'::regclass AND attname = 'payload') <> 'l' THEN
            ALTER TABLE snapshots ALTER COLUMN payload SET COMPRESSION lz4;
        END IF;
     EXCEPTION WHEN OTHERS THEN NULL;
     END $$",
    "CREATE TABLE IF NOT EXISTS processed_commands (
        scope text COLLATE \"C\" NOT NULL,
        key text COLLATE \"C\" NOT NULL,
        request_hash text NOT NULL,
        answer json NOT NULL,
        position bigint NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key))",
    // A query node's copy of the log, taken from a stream: the stream's sequence of
    // the last message copied, written with the events it brought.
    "CREATE TABLE IF NOT EXISTS stream_copies (
        stream text PRIMARY KEY,
        sequence bigint NOT NULL,
        position bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS process_checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL)",
    // The signature before the append became one whole call.
    "DROP FUNCTION IF EXISTS commerce_append(bigint, text, text, text[], text[], bigint[],
        text[], text[], text[], text[], uuid[], timestamptz[])",
    // The whole call before it answered the position it followed; two releases back.
    "DROP FUNCTION IF EXISTS commerce_append(bigint, text, text, text[], text[], bigint[],
        int[], boolean[], boolean, int[], text[], text[], bigint[], text[], text[], text[],
        text[], uuid[], timestamptz[], int[], int[], text[], text[], text[], text[])",
    // The whole append in one statement, so in one round trip and, called outside a
    // transaction, committed with it: the log's lock is held for this call and its
    // commit only, never across a client round trip. In order:
    // * batches whose expected sequence is past their stream's end are refused
    //   (checked before the lock, so the check does not lengthen its hold; `bcheck`
    //   marks the first batch of each aggregate, the others follow it in this call);
    // * the lock, then every row in one INSERT (identity values in row order, so in
    //   commit order); rows another writer took are skipped, and the rest of such a
    //   batch is taken back;
    // * when something was taken back and an aggregate has two batches here, a batch
    //   whose predecessor is gone is taken back too, until none is;
    // * the idempotency receipts of the batches that stayed; a key another process
    //   recorded first takes its batch back, with the keys it had recorded (and the
    //   step above runs again);
    // * the last position that stayed is announced.
    // It answers the last position committed before its rows (read under the lock:
    // this process's tail takes the rows it wrote without reading them back when it
    // holds every record up to there), then, for each event by its place in the
    // call, its position, or NULL when its batch did not stay. What can be done before the lock is (the payloads are
    // parsed as JSON there); under it, when every row lands (nearly always), the
    // positions in row order are the returned ones sorted, as identity values are
    // handed out in row order.
    //
    // `bu` numbers each batch's unit: when one batch of a unit is taken back, so
    // are the others (`linked`: some unit has several batches).
    //
    // `commerce_append_after`, the same without units, is left in place for the
    // nodes of the previous release during a rolling upgrade; the next one drops it.
    "CREATE OR REPLACE FUNCTION commerce_append_units(
        lock_key bigint, channel text, instance text,
        bt text[], bi text[], bs bigint[], bn int[], bcheck boolean[], repeats boolean,
        bu int[], linked boolean,
        eb int[], t text[], i text[], s bigint[], et text[], ev text[], p text[], m text[],
        eid uuid[], oa timestamptz[],
        rb int[], ro int[], rs text[], rk text[], rh text[], ra text[])
     RETURNS bigint[]
     LANGUAGE plpgsql
     -- Its lookups of a few keys must go through the indexes: planned for arrays of
     -- unknown length, a lookup could become a hash join over the whole log (the
     -- checkout bench spent most of the database's time scanning events that way).
     -- The lookups by key are also planned afresh at each call (below).
     SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
     AS $$
     DECLARE
        bad int[];
        more int[];
        pos bigint[];
        payload_json json[] := p::json[];
        metadata_json json[] := m::json[];
        rec_s text[] := '{}';
        rec_k text[] := '{}';
        receipts_recorded boolean := cardinality(rb) = 0;
        last bigint;
        previous bigint;
     BEGIN
        -- Planned afresh each time (EXECUTE): a plan cached while the log was small
        -- looked each key up through the type's index, scanning every event of it.
        -- Not even planned when the writer vouches for every predecessor.
        IF true = ANY (bcheck) THEN
            EXECUTE 'SELECT coalesce(array_agg(b.ord::int), ''{}'')
                     FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS b(t, i, s, c, ord)
                     WHERE b.c AND NOT EXISTS (SELECT 1 FROM events x
                         WHERE x.aggregate_type = b.t AND x.aggregate_id = b.i
                           AND x.sequence = b.s)'
            INTO bad USING bt, bi, bs, bcheck;
        ELSE
            bad := '{}';
        END IF;
        IF linked AND cardinality(bad) > 0 THEN
            SELECT coalesce(array_agg(k), '{}') INTO bad FROM generate_subscripts(bu, 1) k
            WHERE bu[k] IN (SELECT bu[x] FROM unnest(bad) x);
        END IF;

        PERFORM pg_advisory_xact_lock(lock_key);
        SELECT coalesce(max(position), 0) INTO previous FROM events;
        -- A plain INSERT checks each key once, as it goes into the index; ON CONFLICT
        -- looks every key up first, which costs more than the insert itself. So the
        -- plain one is tried first; only when some key is taken already (another
        -- writer got there first) are the rows inserted again, skipping taken keys.
        BEGIN
            WITH inserted AS (
                INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                    event_version, payload, metadata, event_id, occurred_at)
                SELECT u.t, u.i, u.s, u.et, u.ev, u.p, u.m, u.eid, u.oa
                FROM unnest(eb, t, i, s, et, ev, payload_json, metadata_json, eid, oa)
                     WITH ORDINALITY AS u(b, t, i, s, et, ev, p, m, eid, oa, ord)
                WHERE u.b <> ALL (bad)
                ORDER BY u.ord
                RETURNING events.position)
            SELECT array_agg(x.position ORDER BY x.position) INTO pos FROM inserted x;
        EXCEPTION WHEN unique_violation THEN
            WITH inserted AS (
                INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                    event_version, payload, metadata, event_id, occurred_at)
                SELECT u.t, u.i, u.s, u.et, u.ev, u.p, u.m, u.eid, u.oa
                FROM unnest(eb, t, i, s, et, ev, payload_json, metadata_json, eid, oa)
                     WITH ORDINALITY AS u(b, t, i, s, et, ev, p, m, eid, oa, ord)
                WHERE u.b <> ALL (bad)
                ORDER BY u.ord
                ON CONFLICT DO NOTHING
                RETURNING events.position)
            SELECT array_agg(x.position ORDER BY x.position) INTO pos FROM inserted x;
        END;
        IF cardinality(pos) IS NOT DISTINCT FROM cardinality(eb) THEN
            more := '{}';
        ELSE
            -- Some rows were taken by another writer: find each landed row's place.
            -- Of rows with the same key the first one in the call is the one inserted.
            EXECUTE 'WITH landed AS (
                         SELECT DISTINCT ON (x.position) u.ord, x.position
                         FROM events x
                         JOIN unnest($1, $2, $3, $4) WITH ORDINALITY AS u(b, t, i, s, ord)
                           ON x.aggregate_type = u.t AND x.aggregate_id = u.i
                          AND x.sequence = u.s
                         WHERE x.position = ANY ($5) AND u.b <> ALL ($6)
                         ORDER BY x.position, u.ord)
                     SELECT array_agg(l.position ORDER BY k.k)
                     FROM generate_series(1, cardinality($1)) AS k(k)
                     LEFT JOIN landed l ON l.ord = k.k'
            INTO pos USING eb, t, i, s, coalesce(pos, '{}'), bad;
            SELECT coalesce(array_agg(DISTINCT eb[k]), '{}') INTO more
            FROM generate_subscripts(eb, 1) k
            WHERE pos[k] IS NULL AND eb[k] <> ALL (bad);
        END IF;

        LOOP
            IF linked AND cardinality(more) > 0 THEN
                -- The rest of their units go with them.
                SELECT coalesce(array_agg(k), '{}') INTO more FROM generate_subscripts(bu, 1) k
                WHERE bu[k] IN (SELECT bu[x] FROM unnest(more) x) AND k <> ALL (bad);
            END IF;
            IF cardinality(more) > 0 THEN
                DELETE FROM events WHERE position IN (
                    SELECT pos[k] FROM generate_subscripts(eb, 1) k
                    WHERE eb[k] = ANY (more) AND pos[k] IS NOT NULL);
                DELETE FROM processed_commands WHERE (scope, key) IN (
                    SELECT r.s, r.k FROM unnest(rb, rs, rk) AS r(b, s, k)
                    WHERE r.b = ANY (more)
                      AND (r.s, r.k) IN (SELECT * FROM unnest(rec_s, rec_k)));
                bad := bad || more;
                more := '{}';
            END IF;
            -- A batch that followed one taken back goes too, before any key is
            -- recorded (so no key is recorded for a batch that then goes).
            IF repeats AND cardinality(bad) > 0 THEN
                EXECUTE 'SELECT coalesce(array_agg(b.ord::int), ''{}'')
                         FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS b(t, i, s, n, ord)
                         WHERE b.ord <> ALL ($5) AND b.s > 0 AND b.n > 0
                           AND NOT EXISTS (SELECT 1 FROM events x
                               WHERE x.aggregate_type = b.t AND x.aggregate_id = b.i
                                 AND x.sequence = b.s)'
                INTO more USING bt, bi, bs, bn, bad;
                CONTINUE WHEN cardinality(more) > 0;
            END IF;
            EXIT WHEN receipts_recorded;
            receipts_recorded := true;
            WITH recorded AS (
                INSERT INTO processed_commands (scope, key, request_hash, answer, position)
                SELECT r.s, r.k, r.h, r.a::json, pos[r.o]
                FROM unnest(rb, ro, rs, rk, rh, ra) AS r(b, o, s, k, h, a)
                WHERE r.b <> ALL (bad)
                ON CONFLICT DO NOTHING
                RETURNING scope, key)
            SELECT coalesce(array_agg(scope), '{}'), coalesce(array_agg(key), '{}')
            INTO rec_s, rec_k FROM recorded;
            -- A key another process recorded first takes its batch back.
            SELECT coalesce(array_agg(DISTINCT r.b), '{}') INTO more
            FROM unnest(rb, rs, rk) AS r(b, s, k)
            WHERE r.b <> ALL (bad)
              AND (r.s, r.k) NOT IN (SELECT * FROM unnest(rec_s, rec_k));
        END LOOP;

        IF cardinality(bad) > 0 THEN
            SELECT array_agg(CASE WHEN eb[k] = ANY (bad) THEN NULL ELSE pos[k] END ORDER BY k)
            INTO pos FROM generate_subscripts(eb, 1) k;
        END IF;
        SELECT max(x) INTO last FROM unnest(pos) x;
        IF last IS NOT NULL THEN
            PERFORM pg_notify(channel, last::text || ':' || instance);
        END IF;
        RETURN previous || pos;
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
        units: Option<&Units>,
        predecessors: Predecessors,
        before_commit: Option<BeforeCommit<'_>>,
        instance: u64,
    ) -> Result<Appended, StoreError> {
        append::append(
            &self.pool,
            &self.appends,
            batches,
            units,
            predecessors,
            before_commit,
            instance,
        )
        .await
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
