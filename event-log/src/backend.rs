//! What the two backends do differently, behind one trait: each of SQLite and
//! PostgreSQL implements [`LogBackend`] once ([`crate::sqlite`], [`crate::postgres`]).
//! Reads whose SQL is the same on both (`$1` parameters, `CAST(... AS TEXT)`) are
//! written once beside their callers instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use event_schemas::Envelope;
use tokio::sync::watch;

use crate::source::LogError;
use crate::store::Heard;
use crate::types::{AppendBatch, Conflict, Predecessors, StoreError, Units};

/// Awaited inside the append transaction after the rows are written (tests hold a
/// transaction open with it, like a slow writer).
pub type BeforeCommit<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The outcome of one append: per batch, its positions or a conflict.
pub type AppendResults = Vec<Result<Vec<i64>, Conflict>>;

/// What one append did, and where in the log it landed.
#[derive(Debug)]
pub struct Appended {
    /// The last position committed before this append's rows, read under the log's
    /// lock: every record up to it and this append's are the whole log up to the
    /// append's last position (what lets the tail take them without reading).
    pub after: i64,
    pub results: AppendResults,
}

/// The log on one database backend.
#[async_trait::async_trait]
pub(crate) trait LogBackend: Send + Sync + std::fmt::Debug {
    /// Create or bring up to date the log's tables.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Append the batches of many aggregates in one transaction; `instance` tells
    /// this process's commit notifications from other processes'. With `units`, the
    /// batches of one unit are kept or taken back together (see [`Units`]).
    async fn append(
        &self,
        batches: &[AppendBatch],
        units: Option<&Units>,
        predecessors: Predecessors,
        before_commit: Option<BeforeCommit<'_>>,
        instance: u64,
    ) -> Result<Appended, StoreError>;

    /// Whether every commit to this database is this process's (SQLite: one
    /// process per database), so a commit is heard of the moment it is made.
    fn commits_are_all_ours(&self) -> bool;

    /// Follow other processes' commits, advancing `head` and `heard`, for as long as
    /// the process runs. Does nothing where every commit is ours.
    async fn follow_commits(
        &self,
        head: watch::Sender<i64>,
        heard: Arc<Heard>,
    ) -> Result<(), StoreError>;

    /// Keep a snapshot as the aggregate's newest, dropping older ones.
    async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        last_sequence: i64,
        payload: &str,
    ) -> Result<(), StoreError>;

    /// Record that process `name` has handled everything up to `position`.
    async fn save_process_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError>;

    /// Up to `limit` committed events after `position`, whole (envelope and payload).
    async fn read_envelopes_after(
        &self,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Envelope>, LogError>;
}
