//! [`EventStore`]: append batches of many aggregates in one transaction, load one
//! aggregate's events, and wake readers on every commit.

use std::borrow::Cow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use uuid::Uuid;

use chrono::SubsecRound;

use crate::backend::{AppendResults, Appended, LogBackend};
use crate::loads::Loader;
use crate::source::LogRecord;
use crate::tail::LogTail;
use crate::types::{AppendBatch, Conflict, Predecessors, StoreError, StoredEvent, Units};
use crate::{Database, Pools};

/// The event log. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventStore {
    db: Database,
    backend: Arc<dyn LogBackend>,
    /// Gathers cold loads into shared queries (PostgreSQL).
    loader: Option<Loader>,
    pub(crate) head: watch::Sender<i64>,
    pub(crate) heard: Arc<Heard>,
    /// A query node's copy of another log: it takes events only through
    /// [`copy_in`](Self::copy_in), and refuses appends.
    copy: bool,
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
        Self::open_as(db, false).await
    }

    /// Open a query node's copy of a log kept from a stream: as [`open`](Self::open),
    /// but every append is refused ([`StoreError::Copy`]); events arrive through
    /// [`copy_in`](Self::copy_in).
    pub async fn open_copy(db: Database) -> Result<Self, StoreError> {
        if let Pools::Sqlite { writer, .. } = db.pools() {
            // A copy's transaction is its events with the stream sequence they reached:
            // one lost to a power cut goes as a whole, and the stream delivers it again.
            // So it need not wait for the disk at each commit (WAL keeps it atomic).
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(writer)
                .await?;
        }
        Self::open_as(db, true).await
    }

    /// Whether this is a query node's copy of a log.
    pub fn is_copy(&self) -> bool {
        self.copy
    }

    async fn open_as(db: Database, copy: bool) -> Result<Self, StoreError> {
        let backend = db.log_backend();
        backend.migrate().await?;
        let loader = match db.pools() {
            Pools::Postgres(pool) => Some(Loader::spawn(pool.clone())),
            Pools::Sqlite { .. } => None,
        };
        let store = Self {
            db,
            backend,
            loader,
            copy,
            head: watch::channel(0).0,
            heard: Arc::new(Heard {
                instance: rand_instance(),
                others_head: watch::channel(0).0,
                all_heard_through: AtomicI64::new(0),
            }),
        };
        let head = store.head_position().await?;
        store.head.send_replace(head);
        store.db.keep_tail(LogTail::new(store.committed(), head));
        store.heard.all_heard_through.store(head, Ordering::Release);
        store
            .backend
            .follow_commits(store.head.clone(), store.heard.clone())
            .await?;
        Ok(store)
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn loader(&self) -> Option<&Loader> {
        self.loader.as_ref()
    }

    pub(crate) fn backend(&self) -> &dyn LogBackend {
        &*self.backend
    }

    /// Append the batches of many aggregates in one transaction. Per batch, in order:
    /// the positions of its events, or a conflict (and then none of it was written).
    pub async fn append(
        &self,
        batches: &[AppendBatch],
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        self.append_with(Cow::Borrowed(batches), None, Predecessors::Checked, None)
            .await
    }

    /// [`append`](Self::append), where the batches of each of `units` are kept or
    /// taken back together: each batch of a unit answers its positions, or all of
    /// them a conflict. With [`Predecessors::Committed`] the caller vouches that no
    /// batch is ahead of its stream, and nothing looks that up. The batches are
    /// taken, so the tail keeps their payloads without copying them.
    pub async fn append_units(
        &self,
        batches: Vec<AppendBatch>,
        units: &Units,
        predecessors: Predecessors,
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        assert_eq!(
            units.of_batch().len(),
            batches.len(),
            "a unit for every batch"
        );
        let units = units.any_linked().then_some(units);
        self.append_with(Cow::Owned(batches), units, predecessors, None)
            .await
    }

    /// [`append`](Self::append), awaiting `before_commit` inside the transaction after
    /// the rows are written: lets tests hold a transaction open like a slow writer.
    pub async fn append_holding(
        &self,
        batches: &[AppendBatch],
        before_commit: impl std::future::Future<Output = ()> + Send,
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        self.append_with(
            Cow::Borrowed(batches),
            None,
            Predecessors::Checked,
            Some(Box::pin(before_commit)),
        )
        .await
    }

    async fn append_with(
        &self,
        batches: Cow<'_, [AppendBatch]>,
        units: Option<&Units>,
        predecessors: Predecessors,
        before_commit: Option<crate::backend::BeforeCommit<'_>>,
    ) -> Result<Vec<Result<Vec<i64>, Conflict>>, StoreError> {
        if self.copy {
            return Err(StoreError::Copy);
        }
        if batches.iter().all(|b| b.events.is_empty()) {
            return Ok(batches.iter().map(|_| Ok(Vec::new())).collect());
        }
        let appended = self
            .backend
            .append(
                &batches,
                units,
                predecessors,
                before_commit,
                self.heard.instance,
            )
            .await;
        let Appended { after, results } = match appended {
            Ok(appended) => appended,
            Err(error) => {
                // It may have committed all the same (the answer was lost): the head
                // must not stay behind it, so readers waiting for it wake.
                if let Ok(head) = self.head_position().await {
                    advance(&self.head, head);
                }
                return Err(error);
            }
        };
        // Before the head moves, so the tail need not read back what it is given.
        if let Some(tail) = self.db.tail() {
            let results = &results;
            tail.offer(after, move || written_records(batches, results));
        }
        let last = results
            .iter()
            .filter_map(|r| r.as_ref().ok().and_then(|p| p.last().copied()))
            .max();
        if let Some(last) = last {
            advance(&self.head, last);
            if self.backend.commits_are_all_ours() {
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
        if !can_exist(aggregate_id) {
            return Ok(Vec::new());
        }
        const QUERY: &str =
            "SELECT sequence, position, event_version, CAST(payload AS TEXT) FROM events
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
             ORDER BY sequence";
        let rows: Vec<(i64, i64, String, String)> = crate::on_reader!(&self.db, pool => {
            sqlx::query_as(QUERY)
                .bind(aggregate_type).bind(aggregate_id).bind(after_sequence)
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(sequence, position, event_version, payload)| StoredEvent {
                sequence,
                position,
                payload,
                event_version,
            })
            .collect())
    }

    /// The position of the last committed event (0 for an empty log).
    pub async fn head_position(&self) -> Result<i64, StoreError> {
        Ok(crate::source::head(&self.db).await?)
    }

    /// The last committed position this process knows of, updated on every commit.
    pub fn committed(&self) -> watch::Receiver<i64> {
        self.head.subscribe()
    }

    /// Keep the log's newest records in memory from now on, read once after each
    /// commit for every reader of this process; answers the position up to which
    /// the tail holds every record, for readers to wait on.
    pub fn follow_tail(&self) -> watch::Receiver<i64> {
        let tail = self
            .db
            .tail()
            .expect("an open store keeps its database's tail");
        tail.follow(self.db.clone());
        tail.reached()
    }

    /// What readers of the log wait on: the tail's position once it follows the log
    /// (its records are then in memory), else every commit heard of.
    pub fn readable(&self) -> watch::Receiver<i64> {
        match self.db.tail() {
            Some(tail) if tail.is_following() => tail.reached(),
            _ => self.committed(),
        }
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

/// The records an append wrote, in position order: its batches that stayed, as a
/// read of the log would answer them (times to the microsecond the log keeps).
fn written_records(batches: Cow<'_, [AppendBatch]>, results: &AppendResults) -> Vec<LogRecord> {
    // Batches the store was given (the group committer's) are taken apart, so their
    // payloads move into the records instead of being copied; borrowed ones (`append`:
    // seeding and tests) are copied whole, which only they pay for.
    let mut records: Vec<LogRecord> = Vec::new();
    for (batch, result) in batches.into_owned().into_iter().zip(results) {
        let Ok(positions) = result else { continue };
        for (event, &position) in batch.events.into_iter().zip(positions) {
            records.push(LogRecord {
                position,
                aggregate_type: batch.aggregate_type.clone(),
                event_version: event.event_version,
                payload: event.payload,
                occurred_at: event.occurred_at.trunc_subsecs(6),
            });
        }
    }
    records.sort_unstable_by_key(|record| record.position);
    records
}

/// A number telling this process's commit notifications from other processes'.
fn rand_instance() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}

/// Parse a payload column, naming where it came from when it does not parse.
pub(crate) fn parse_payload(text: &str, position: i64) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("payload at position {position}: {e}")))
}

/// Move the known head forward (never back), waking readers only when it moved.
pub(crate) fn advance(head: &watch::Sender<i64>, position: i64) {
    head.send_if_modified(|current| {
        let advanced = position > *current;
        *current = (*current).max(position);
        advanced
    });
}

/// Whether a stream named `aggregate_id` can exist. Every id is validated before its
/// first event is appended, and none holds a NUL, which PostgreSQL refuses in text:
/// asking for one would read as the store failing rather than as "no such stream".
pub(crate) fn can_exist(aggregate_id: &str) -> bool {
    !aggregate_id.contains('\0')
}
