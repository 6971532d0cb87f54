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

mod database;
mod reads;
mod snapshots;
mod types;

pub use database::Database;
pub use snapshots::Snapshot;
pub use types::{AppendBatch, Conflict, NewEvent, Receipt, StoreError, StoredEvent, StoredReceipt};

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
