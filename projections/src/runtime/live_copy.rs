//! A read model kept in memory in each process, following the log by itself: how
//! availability and recommendations are served without a database round trip.
//!
//! The copy reads the log after its position (one aggregate type, or all), applies
//! each round of records under its write lock and then publishes the position it
//! reached, so a reader that takes the read lock sees a model that reflects at least
//! the position it reads there. It does not depend on which process writes the SQL
//! rows of the same model: every process's copy sees every commit. `min_position`
//! waits until the copy has reached that position.
//!
//! A rebuild fills a fresh model from the start of the log beside the live one (which
//! keeps serving and following), then pauses the follower, brings the fresh one to
//! the head and swaps it in under the write lock: readers see the old model or the
//! new one, never a gap, and the position never goes back.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use event_log::{Database, EventSource, LogRecord, Recent};
use tokio::sync::watch;

use super::{wait_for_position, ProjectionError, RebuildStatus, Rebuilds, WaitError};

/// Records read per round.
const BATCH: i64 = 10_000;
/// How long the follower waits for a wake-up before looking anyway.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// What a copy in memory keeps and how it takes in the log.
pub trait InMemory: Send + Sync + 'static {
    /// What it is, for the log line when following fails.
    const WHAT: &'static str;
    /// The aggregate type it reads (`None`: every event).
    const AGGREGATE_TYPE: Option<&'static str>;

    /// Take in one round of records, in log order.
    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError>;

    /// An empty model like this one (same settings), to rebuild from the start.
    fn fresh(&self) -> Self
    where
        Self: Sized;
}

/// A model `M` kept in memory, as of `position`.
pub struct LiveCopy<M: InMemory> {
    db: Database,
    model: RwLock<M>,
    /// The position the model reflects; waited on for `min_position`.
    position: watch::Sender<i64>,
    /// Whether a catch-up is running (one at a time: they would race on `position`).
    catching_up: tokio::sync::Mutex<()>,
    rebuilds: Rebuilds,
}

impl<M: InMemory> LiveCopy<M> {
    /// `model` as of `position`, to follow the log in `db` from there.
    pub fn new(db: Database, model: M, position: i64) -> Arc<Self> {
        Arc::new(Self {
            db,
            model: RwLock::new(model),
            position: watch::channel(position).0,
            catching_up: tokio::sync::Mutex::new(()),
            rebuilds: Rebuilds::default(),
        })
    }

    /// The database it follows.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The position the answers reflect.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// Wait (at most `timeout`) until the copy has reached `min_position`.
    pub async fn wait_for(&self, min_position: i64, timeout: Duration) -> Result<(), WaitError> {
        wait_for_position(&self.position, min_position, timeout).await
    }

    /// Read the model: `read`'s answer and a position the model reflects at least.
    pub fn read<R>(&self, read: impl FnOnce(&M) -> R) -> (R, i64) {
        let model = self.model.read().unwrap_or_else(|e| e.into_inner());
        // Writers publish a position only under the write lock, after applying it.
        let position = self.position();
        (read(&model), position)
    }

    /// The records after `from`, and the position applying them reaches (from the
    /// log's tail in memory when it holds them).
    async fn round(&self, from: i64) -> Result<Recent, ProjectionError> {
        Ok(self.db.read_recent(from, M::AGGREGATE_TYPE, BATCH).await?)
    }

    /// Apply every event committed so far.
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        self.apply_until(self.db.heard_head()).await
    }

    /// Apply what the log holds until the copy reaches `target` and the log's tail
    /// has nothing more (a follower passes 0: it takes what the tail has, and is
    /// woken again when the tail moves on).
    async fn apply_until(&self, target: i64) -> Result<(), ProjectionError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            let round = self.round(self.position()).await?;
            {
                let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
                model.apply(&round.records)?;
                self.publish(round.reached);
            }
            if !round.full && round.reached >= target {
                return Ok(());
            }
        }
    }

    /// Publish a position the model has reached (never going back).
    fn publish(&self, reached: i64) {
        self.position.send_if_modified(|position| {
            let advanced = reached > *position;
            *position = (*position).max(reached);
            advanced
        });
    }

    /// Where the last rebuild stands.
    pub fn rebuild_status(&self) -> RebuildStatus {
        self.rebuilds.status()
    }

    pub fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus> {
        self.rebuilds.subscribe()
    }

    /// Rebuild from the start of the log beside the live model, then swap the fresh
    /// one in (see the module's notes). One rebuild at a time.
    pub async fn rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        self.run_rebuild().await
    }

    /// Start a rebuild in the background (refused while one runs).
    pub fn start_rebuild(self: &Arc<Self>) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        let live = self.clone();
        tokio::spawn(async move {
            if let Err(error) = live.run_rebuild().await {
                tracing::error!(%error, "{} failed to rebuild", M::WHAT);
            }
        });
        Ok(self.rebuild_status())
    }

    async fn run_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        let result = self.fill_and_swap().await;
        self.rebuilds.finish(&result);
        result.map(|()| self.rebuild_status())
    }

    async fn fill_and_swap(&self) -> Result<(), ProjectionError> {
        let target = self.db.head().await?;
        self.rebuilds.update(|s| {
            s.generation += 1;
            s.target = target;
        });
        let (mut fresh, _) = self.read(M::fresh);
        let mut position = 0;
        // The bulk, while the live model keeps following.
        loop {
            let round = self.round(position).await?;
            fresh.apply(&round.records)?;
            position = round.reached;
            let applied = round.records.len() as u64;
            self.rebuilds.update(|s| {
                s.position = position;
                s.events_applied += applied;
            });
            if !round.full && position >= target {
                break;
            }
        }
        // The last few events with the follower paused, then the swap.
        let _follower_paused = self.catching_up.lock().await;
        loop {
            let round = self.round(position).await?;
            fresh.apply(&round.records)?;
            position = round.reached;
            if !round.full {
                break;
            }
        }
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        *model = fresh;
        self.publish(position);
        Ok(())
    }

    /// Follow the log for as long as the process runs: after each commit
    /// `committed` announces (and every few seconds anyway), retrying after a failure.
    pub fn spawn_follow(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        let live = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = live.apply_until(0).await {
                    tracing::error!(%error, "{} failed to follow the log; retrying", M::WHAT);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                if *committed.borrow_and_update() > live.position() {
                    continue;
                }
                let _ = tokio::time::timeout(IDLE_RECHECK, committed.changed()).await;
            }
        });
    }
}
