//! The event log: append batches of many aggregates in one transaction, load one
//! aggregate's events, and wake readers on every commit.
//!
//! Both backends keep the postgres-es / sqlite-es `events` and `snapshots` layout,
//! with our `position` (commit order), `event_id` and `occurred_at` besides.

mod postgres;
mod sqlite;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use event_schemas::Metadata;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;
use uuid::Uuid;

/// Run `$body` with `$pool` bound to the pool that serves reads, on either backend.
/// Both take `$1`-style parameters, so the SQL is written once.
#[macro_export]
macro_rules! on_read_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Database::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Database::Postgres($pool) => $body,
        }
    };
}

/// One event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
}

/// The events of one aggregate, to follow `expected_sequence` (0 for a new stream).
#[derive(Debug, Clone, Default)]
pub struct AppendBatch {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub expected_sequence: i64,
    pub events: Vec<NewEvent>,
    /// Commands of this batch that carry an idempotency key: recorded in the same
    /// transaction as the events, so a key is taken exactly when its events land.
    pub receipts: Vec<Receipt>,
}

/// The record that a keyed command was carried out, and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Whose key it is (the credential), so keys of different clients never meet.
    pub scope: String,
    pub key: String,
    /// Fingerprint of the request, to tell a retry from a different request.
    pub request_hash: String,
    /// The command's answer, less its position.
    pub answer: serde_json::Value,
    /// Index in the batch's events of the command's last event, whose position is
    /// the command's position.
    pub last_event: usize,
}

/// A receipt as stored, with the position its command's answer carried.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReceipt {
    pub request_hash: String,
    pub answer: serde_json::Value,
    pub position: i64,
}

/// Another writer got to this aggregate first: nothing of the batch was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the aggregate was changed concurrently")]
pub struct Conflict;

/// One event of an aggregate's stream, as loaded.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub sequence: i64,
    pub position: i64,
    pub payload: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("the append failed: {0}")]
    Commit(String),
}

/// Connections to the database that holds the log, shared with the read side.
#[derive(Debug, Clone)]
pub enum Database {
    /// `writer` has exactly one connection: SQLite has one writer, so commit order
    /// is rowid order. `reader` serves concurrent reads (WAL mode).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

impl Database {
    /// PostgreSQL when `url` is given, else SQLite at `data_dir/commerce.db`.
    pub async fn connect(url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        match url {
            Some(url) if url.starts_with("postgres") => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    // No ping before each use: it doubles the round trips of every
                    // statement. A connection that broke fails its statement instead,
                    // is dropped, and the caller's retry gets another.
                    .test_before_acquire(false)
                    .connect(url)
                    .await?;
                Ok(Database::Postgres(pool))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let options: SqliteConnectOptions = url
                    .parse()
                    .map_err(|e: sqlx::Error| StoreError::Open(e.to_string()))?;
                Self::sqlite(options).await
            }
            Some(other) => Err(StoreError::Open(format!(
                "DATABASE_URL must start with postgres:// or sqlite:, not '{}'",
                other.split(':').next().unwrap_or_default()
            ))),
            None => {
                let options = SqliteConnectOptions::new().filename(data_dir.join("commerce.db"));
                Self::sqlite(options).await
            }
        }
    }

    async fn sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        // FULL synchronous: an acknowledged append survives power loss, not only a crash.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Database::Sqlite { writer, reader })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

/// The event log. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventStore {
    db: Database,
    head: watch::Sender<i64>,
    heard: Arc<Heard>,
}

/// What this process has heard of commits, to tell when an aggregate's copy in
/// memory may lag the log without reading the log.
#[derive(Debug)]
pub(crate) struct Heard {
    /// Tells this process's commit notifications from other processes'.
    pub(crate) instance: u64,
    /// The highest position committed by another process that this one heard of
    /// (or, after a lost connection, the head then: anything may have happened).
    pub(crate) others_head: watch::Sender<i64>,
    /// Every commit up to here has been heard of: notifications arrive in commit
    /// order, which is position order.
    pub(crate) all_heard_through: AtomicI64,
}

impl EventStore {
    /// Open the log: apply migrations, learn the head position, and (on PostgreSQL)
    /// listen for commits of other processes.
    pub async fn open(db: Database) -> Result<Self, StoreError> {
        match &db {
            Database::Sqlite { writer, .. } => sqlite::migrate(writer).await?,
            Database::Postgres(pool) => postgres::migrate(pool).await?,
        }
        let store = Self {
            db,
            head: watch::channel(0).0,
            heard: Arc::new(Heard {
                instance: rand_instance(),
                others_head: watch::channel(0).0,
                all_heard_through: AtomicI64::new(0),
            }),
        };
        let head = store.head_position().await?;
        store.head.send_replace(head);
        store.heard.all_heard_through.store(head, Ordering::Release);
        if let Database::Postgres(pool) = &store.db {
            postgres::spawn_commit_listener(pool.clone(), store.head.clone(), store.heard.clone())
                .await?;
        }
        Ok(store)
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Append the batches of many aggregates in one transaction. Per batch, in order:
    /// the positions of its events, or a conflict (and then none of it was written).
    pub async fn append(
        &self,
        batches: &[AppendBatch],
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        self.append_holding(batches, async {}).await
    }

    /// [`append`](Self::append), awaiting `before_commit` inside the transaction after
    /// the rows are written: lets tests hold a transaction open like a slow writer.
    pub async fn append_holding(
        &self,
        batches: &[AppendBatch],
        before_commit: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        if batches.iter().all(|b| b.events.is_empty()) {
            return Ok(batches.iter().map(|_| Ok(Vec::new())).collect());
        }
        let results = match &self.db {
            Database::Sqlite { writer, .. } => {
                sqlite::append(writer, batches, before_commit).await?
            }
            Database::Postgres(pool) => {
                postgres::append(pool, batches, before_commit, self.heard.instance).await?
            }
        };
        let last = results
            .iter()
            .filter_map(|r| r.as_ref().ok().and_then(|p| p.last().copied()))
            .max();
        if let Some(last) = last {
            advance(&self.head, last);
            if let Database::Sqlite { .. } = &self.db {
                // One process per SQLite database: every commit is ours, heard at once.
                self.heard
                    .all_heard_through
                    .fetch_max(last, Ordering::AcqRel);
            }
        }
        Ok(results)
    }

    /// The events of one aggregate after `after_sequence`, in sequence order.
    pub async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after_sequence: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        match &self.db {
            Database::Sqlite { reader, .. } => {
                sqlite::load(reader, aggregate_type, aggregate_id, after_sequence).await
            }
            Database::Postgres(pool) => {
                postgres::load(pool, aggregate_type, aggregate_id, after_sequence).await
            }
        }
    }

    /// The position of the last committed event (0 for an empty log).
    pub async fn head_position(&self) -> Result<i64, StoreError> {
        let head: Option<i64> = on_read_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT MAX(position) FROM events").fetch_one(pool).await?
        });
        Ok(head.unwrap_or(0))
    }

    /// The last committed position this process knows of, updated on every commit.
    pub fn committed(&self) -> watch::Receiver<i64> {
        self.head.subscribe()
    }

    /// The last committed position this process knows of.
    pub fn last_committed(&self) -> i64 {
        *self.head.borrow()
    }

    /// The highest position another process committed, as this process heard of
    /// it: wakes whoever waits for a change that might come from elsewhere.
    pub fn foreign_commits(&self) -> watch::Receiver<i64> {
        self.heard.others_head.subscribe()
    }

    /// Whether a copy of an aggregate that holds every one of its events up to
    /// position `synced` (`None`: never loaded) can answer for `min_position` without
    /// reading the log: no other process committed anything since, that this process
    /// heard of, and every commit up to `min_position` has been heard of. Commits of
    /// this process reach the copy itself (one owner per aggregate), so with one
    /// process this holds always; with several, the log is read whenever another
    /// process wrote anything since.
    pub fn copy_is_current(&self, synced: Option<i64>, min_position: i64) -> bool {
        let Some(synced) = synced else {
            return false;
        };
        *self.heard.others_head.borrow() <= synced
            && (min_position <= synced
                || min_position <= self.heard.all_heard_through.load(Ordering::Acquire))
    }
}

/// A number telling this process's commit notifications from other processes'.
fn rand_instance() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}

/// Parse a payload column, naming where it came from when it does not parse.
fn parse_payload(text: &str, position: i64) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("payload at position {position}: {e}")))
}

/// Move the known head forward (never back), waking readers only when it moved.
fn advance(head: &watch::Sender<i64>, position: i64) {
    head.send_if_modified(|current| {
        let advanced = position > *current;
        *current = (*current).max(position);
        advanced
    });
}

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
        const QUERY: &str = "SELECT last_sequence, CAST(payload AS TEXT) FROM snapshots
             WHERE aggregate_type = $1 AND aggregate_id = $2
             ORDER BY last_sequence DESC LIMIT 1";
        let row: Option<(i64, String)> = on_read_pool!(&self.db, pool => {
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
        const INSERT: &str = "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT DO NOTHING";
        // PostgreSQL's payload column is `json`: the text needs the cast.
        const INSERT_JSON: &str = "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4::json) ON CONFLICT DO NOTHING";
        const PRUNE: &str = "DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";
        let payload = snapshot.payload.to_string();
        match &self.db {
            Database::Sqlite { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(INSERT)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PRUNE)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(INSERT_JSON)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PRUNE)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

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
        let row: Option<(String, String, i64)> = on_read_pool!(&self.db, pool => {
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
    /// Up to `limit` events of `aggregate_type` after `position`, in position order,
    /// as (position, payload JSON text): what process managers follow.
    pub async fn read_type_after(
        &self,
        aggregate_type: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        const QUERY: &str = "SELECT position, CAST(payload AS TEXT) FROM events
             WHERE position > $1 AND aggregate_type = $2 ORDER BY position LIMIT $3";
        Ok(on_read_pool!(&self.db, pool => {
            sqlx::query_as(QUERY).bind(position).bind(aggregate_type).bind(limit).fetch_all(pool).await?
        }))
    }

    /// Where process `name` has got to in the log (0 when it never ran).
    pub async fn process_checkpoint(&self, name: &str) -> Result<i64, StoreError> {
        const QUERY: &str = "SELECT position FROM process_checkpoints WHERE name = $1";
        let position: Option<i64> = on_read_pool!(&self.db, pool => {
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
        const UPSERT: &str = "INSERT INTO process_checkpoints (name, position) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position";
        match &self.db {
            Database::Sqlite { writer, .. } => {
                sqlx::query(UPSERT)
                    .bind(name)
                    .bind(position)
                    .execute(writer)
                    .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query(UPSERT)
                    .bind(name)
                    .bind(position)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}
