//! Running a SQL projection from the log.
//!
//! A projection keeps its rows per *generation*. `projection_active` names the
//! generation queries read; `projection_checkpoints` holds each generation's position,
//! written in the same transaction as its rows, so data and checkpoint never disagree
//! and an event already applied is skipped. A rebuild fills generation N+1 beside the
//! live one, committing batch by batch, and swaps it in once it has caught up; queries
//! keep reading the old generation until that moment.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use event_log::{on_reader, on_tx, Database, LogError, LogRecord, WriteTx};

mod live_copy;
mod rebuild;

pub use live_copy::{InMemory, LiveCopy};

/// Events read per batch while following the log live.
const LIVE_BATCH: i64 = 1_000;
/// Events read per batch while rebuilding.
const REBUILD_BATCH: i64 = 10_000;
/// How long the live runner waits for a wake-up before looking anyway (a safety net
/// for a lost notification; wake-ups normally come on every commit).
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// Events the live runner may pass over (none of them its model reads) before it
/// writes its checkpoint anyway, so a restart does not read long stretches again.
const CHECKPOINT_AT_LEAST_EVERY: i64 = 10_000;
/// After a round that wrote, the live runner starts the next one no sooner than
/// this after it: under a steady stream of commits, rounds back to back each carried
/// a few events and paid a transaction's statements for them (the booked nights'
/// nine, the most of all the statements of stay bookings). A round after a quiet
/// spell starts at once, so a lone write is reflected as soon as before.
const GATHER: Duration = Duration::from_millis(10);

const RUNTIME_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS projection_checkpoints (
        name TEXT NOT NULL,
        generation BIGINT NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (name, generation))",
    "CREATE TABLE IF NOT EXISTS projection_active (
        name TEXT PRIMARY KEY,
        generation BIGINT NOT NULL)",
];

/// A read model kept in SQL tables that carry a `generation` column.
pub trait SqlModel: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether the model takes anything from `record`. A batch of records it does not
    /// read costs no transaction: the runner only moves its position on.
    fn reads(&self, record: &LogRecord) -> bool {
        let _ = record;
        true
    }
    /// Statements creating the model's tables; run on every start, so idempotent.
    fn tables(&self) -> &'static [&'static str];
    /// Apply events (in position order, none applied before) to `generation`.
    fn apply(
        &self,
        tx: &mut WriteTx,
        generation: i64,
        events: &[LogRecord],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;
    /// The table holding the model's rows (with a `generation` column).
    const TABLE: &'static str;
    /// Delete every row of `generation`.
    fn drop_generation(
        &self,
        tx: &mut WriteTx,
        generation: i64,
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send {
        async move {
            let sql = format!("DELETE FROM {} WHERE generation = $1", Self::TABLE);
            on_tx!(tx, t => {
                sqlx::query(&sql).bind(generation).execute(&mut **t).await?;
            });
            Ok(())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("event at position {position} does not decode: {reason}")]
    Decode { position: i64, reason: String },
    #[error("a rebuild of this projection is already running")]
    RebuildRunning,
    #[error("another rebuild replaced this one")]
    Superseded,
    #[error("a background task failed: {0}")]
    Task(String),
}

/// Wait (at most `timeout`) until the position `published` holds reaches
/// `min_position`: how every read model answers `min_position`.
pub async fn wait_for_position(
    published: &watch::Sender<i64>,
    min_position: i64,
    timeout: Duration,
) -> Result<(), WaitError> {
    wait_until_seen(published.subscribe(), min_position, timeout).await
}

/// [`wait_for_position`] on a receiver of the position (the log's head, say).
pub async fn wait_until_seen(
    mut position: watch::Receiver<i64>,
    min_position: i64,
    timeout: Duration,
) -> Result<(), WaitError> {
    let reached = tokio::time::timeout(timeout, position.wait_for(|p| *p >= min_position))
        .await
        .is_ok_and(|seen| seen.is_ok());
    match reached {
        true => Ok(()),
        false => Err(WaitError::Stale {
            current: *position.borrow(),
            wanted: min_position,
        }),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WaitError {
    #[error("the projection is at position {current}, not yet at {wanted}")]
    Stale { current: i64, wanted: i64 },
}

/// What a rebuild is doing.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RebuildState {
    #[default]
    Idle,
    Running,
    Done,
    Failed,
}

impl RebuildState {
    /// The state as its JSON names it: idle, running, done or failed.
    pub fn name(self) -> &'static str {
        match self {
            RebuildState::Idle => "idle",
            RebuildState::Running => "running",
            RebuildState::Done => "done",
            RebuildState::Failed => "failed",
        }
    }
}

/// Where a rebuild stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RebuildStatus {
    pub state: RebuildState,
    pub generation: i64,
    /// Position the fresh copy has reached.
    pub position: i64,
    /// Head of the log when the rebuild started.
    pub target: i64,
    pub events_applied: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl RebuildStatus {
    /// Record how a rebuild ended: done, or failed with its error.
    pub fn finish<E: std::fmt::Display>(&mut self, result: &Result<(), E>) {
        self.finished_at = Some(Utc::now());
        match result {
            Ok(()) => self.state = RebuildState::Done,
            Err(error) => {
                self.state = RebuildState::Failed;
                self.error = Some(error.to_string());
            }
        }
    }
}

/// One projection's rebuilds: at most one at a time, and where the last one stands.
/// The status itself says whether one runs, so no flag beside it has to be kept in
/// step (every kind of projection, SQL, in-memory or search index, claims through it).
#[derive(Debug)]
pub struct Rebuilds(watch::Sender<RebuildStatus>);

impl Default for Rebuilds {
    fn default() -> Self {
        Rebuilds::at_generation(0)
    }
}

impl Rebuilds {
    /// No rebuild yet; the copy in use is `generation`.
    pub fn at_generation(generation: i64) -> Self {
        Rebuilds(
            watch::channel(RebuildStatus {
                generation,
                ..Default::default()
            })
            .0,
        )
    }

    /// Mark a rebuild running, its progress reset; refused while one runs.
    pub fn claim(&self) -> Result<(), ProjectionError> {
        let claimed = self.0.send_if_modified(|status| {
            if status.state == RebuildState::Running {
                return false;
            }
            *status = RebuildStatus {
                state: RebuildState::Running,
                generation: status.generation,
                started_at: Some(Utc::now()),
                ..Default::default()
            };
            true
        });
        if claimed {
            Ok(())
        } else {
            Err(ProjectionError::RebuildRunning)
        }
    }

    /// Record progress.
    pub fn update(&self, change: impl FnOnce(&mut RebuildStatus)) {
        self.0.send_modify(change);
    }

    /// Record how the claimed rebuild ended, which lets the next one be claimed.
    pub fn finish<E: std::fmt::Display>(&self, result: &Result<(), E>) {
        self.0.send_modify(|status| status.finish(result));
    }

    pub fn status(&self) -> RebuildStatus {
        self.0.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<RebuildStatus> {
        self.0.subscribe()
    }
}

/// Runs one SQL model: live catch-up, waits for positions, rebuilds.
pub struct Projector<M> {
    db: Database,
    model: M,
    /// The active generation's position as this process last saw it.
    live: watch::Sender<i64>,
    /// Where the live runner stands, so a round reads no checkpoint first.
    cursor: std::sync::Mutex<Option<Cursor>>,
    rebuilds: Rebuilds,
}

/// The generation the live runner applies to, the position it has got to, and the
/// last position it wrote down as the generation's checkpoint.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    generation: i64,
    position: i64,
    written: i64,
}

enum Step {
    /// This many events were applied; the checkpoint is now at `position`.
    Applied {
        count: usize,
        position: i64,
    },
    CaughtUp,
    /// The generation was swapped out and dropped.
    Gone,
}

impl<M: SqlModel> Projector<M> {
    /// Create the tables if needed and make sure an active generation exists.
    pub async fn open(db: Database, model: M) -> Result<Arc<Self>, ProjectionError> {
        let mut tx = db.begin_write().await?;
        for statement in RUNTIME_TABLES.iter().chain(model.tables()) {
            tx.execute(statement).await?;
        }
        on_tx!(&mut tx, t => {
            sqlx::query("INSERT INTO projection_active (name, generation) VALUES ($1, 1) ON CONFLICT DO NOTHING")
                .bind(M::NAME).execute(&mut **t).await?;
            sqlx::query("INSERT INTO projection_checkpoints (name, generation, position) VALUES ($1, 1, 0) ON CONFLICT DO NOTHING")
                .bind(M::NAME).execute(&mut **t).await?;
        });
        tx.commit().await?;
        let projector = Arc::new(Self {
            db,
            model,
            live: watch::channel(0).0,
            cursor: Default::default(),
            rebuilds: Rebuilds::default(),
        });
        let (_, position) = projector.active().await?;
        projector.live.send_replace(position);
        Ok(projector)
    }

    pub fn model(&self) -> &M {
        &self.model
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The position queries currently reflect, as this process last saw it.
    pub fn position(&self) -> i64 {
        *self.live.borrow()
    }

    /// Wait (at most `timeout`) until the projection has reached `min_position`.
    pub async fn wait_for(&self, min_position: i64, timeout: Duration) -> Result<(), WaitError> {
        wait_for_position(&self.live, min_position, timeout).await
    }

    /// Follow the log for as long as the process runs, woken by `committed`.
    pub fn spawn_live(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        let projector = self.clone();
        tokio::spawn(async move {
            loop {
                let started = tokio::time::Instant::now();
                let wrote = match projector.apply_until(0).await {
                    Ok(round) => round.wrote,
                    Err(error) => {
                        tracing::error!(projection = M::NAME, %error, "projection failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let lag = (*committed.borrow() - projector.position()).max(0);
                metrics::gauge!("projection_lag_events", "projection" => M::NAME).set(lag as f64);
                if lag == 0 {
                    let _ = tokio::time::timeout(IDLE_RECHECK, committed.changed()).await;
                }
                if wrote {
                    tokio::time::sleep_until(started + GATHER).await;
                }
            }
        });
    }

    /// Apply everything committed so far to the active generation. Returns its position.
    pub async fn catch_up(&self) -> Result<i64, ProjectionError> {
        Ok(self.apply_until(self.db.heard_head()).await?.position)
    }

    /// Apply what the log holds until the generation reaches `target` and the log's
    /// tail has nothing more (a follower passes 0: it takes what the tail has, and
    /// is woken again when the tail moves on).
    async fn apply_until(&self, target: i64) -> Result<Round, ProjectionError> {
        let known = *self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let mut cursor = match known {
            Some(cursor) => cursor,
            None => self.read_cursor().await?,
        };
        let mut wrote = false;
        loop {
            // Only what the model reads is taken: under a stream of commands most
            // records are for other models, and copying each out of the tail for
            // every projection was about a fifth of the projections' time.
            let recent = self
                .db
                .read_recent_where(cursor.position, |r| self.model.reads(r), LIVE_BATCH)
                .await?;
            let write_anyway = recent.reached - cursor.written >= CHECKPOINT_AT_LEAST_EVERY;
            if recent.records.is_empty() && !write_anyway {
                // Nothing the model reads: its rows already reflect these positions.
                cursor.position = cursor.position.max(recent.reached);
            } else {
                match self
                    .apply_batch(
                        Target::Active(cursor.generation),
                        recent.records,
                        recent.reached,
                    )
                    .await?
                {
                    Step::Applied { position, .. } => {
                        cursor.position = position;
                        cursor.written = position;
                        wrote = true;
                    }
                    Step::CaughtUp => {}
                    // Swapped out by a rebuild: carry on with the active generation.
                    Step::Gone => {
                        cursor = self.read_cursor().await?;
                        continue;
                    }
                }
            }
            // Publish every round, not only on reaching the head: under a steady
            // stream of writes the head is seldom reached, and readers waiting for
            // `min_position` would time out though their write is in.
            *self.cursor.lock().unwrap_or_else(|e| e.into_inner()) = Some(cursor);
            self.publish(cursor.position);
            if !recent.full && cursor.position >= target {
                return Ok(Round {
                    position: cursor.position,
                    wrote,
                });
            }
        }
    }

    /// The active generation and its checkpoint, as the live runner's cursor.
    async fn read_cursor(&self) -> Result<Cursor, ProjectionError> {
        let (generation, position) = self.active().await?;
        Ok(Cursor {
            generation,
            position,
            written: position,
        })
    }

    fn publish(&self, position: i64) {
        self.live.send_if_modified(|current| {
            let advanced = position > *current;
            *current = (*current).max(position);
            advanced
        });
    }

    /// The active generation and its checkpoint.
    async fn active(&self) -> Result<(i64, i64), sqlx::Error> {
        on_reader!(&self.db, pool => {
            sqlx::query_as(
                "SELECT a.generation, c.position FROM projection_active a
                 JOIN projection_checkpoints c ON c.name = a.name AND c.generation = a.generation
                 WHERE a.name = $1",
            )
            .bind(M::NAME)
            .fetch_one(pool)
            .await
        })
    }

    /// Apply `records` (read after the generation's checkpoint as last known, and
    /// every record there is up to `through`) to the target generation, with its
    /// checkpoint, in one transaction. The live runner may pass none, to write its
    /// checkpoint down at `through`.
    async fn apply_batch(
        &self,
        target: Target,
        records: Vec<LogRecord>,
        through: i64,
    ) -> Result<Step, ProjectionError> {
        let last = match (records.last(), target) {
            (Some(last), _) => last.position,
            // The live runner moves its checkpoint on over records its model does
            // not read (it is given only those it does).
            (None, Target::Active(_)) => through,
            (None, Target::Fresh(_)) => return Ok(Step::CaughtUp),
        };
        let through = through.max(last);
        let mut tx = self.db.begin_write().await?;
        let (generation, lock_sql) = match target {
            Target::Active(generation) => (generation, lock_active_checkpoint_sql(&tx)),
            Target::Fresh(generation) => (generation, lock_checkpoint_sql(&tx)),
        };
        let checkpoint: Option<i64> = on_tx!(&mut tx, t => {
            sqlx::query_scalar(lock_sql)
                .bind(M::NAME).bind(generation).fetch_optional(&mut **t).await?
        });
        let Some(checkpoint) = checkpoint else {
            return Ok(Step::Gone);
        };
        // Another runner (another process, or the rebuild) may have got further.
        let fresh = match records.iter().position(|e| e.position > checkpoint) {
            Some(first) => &records[first..],
            None => &[],
        };
        let count = fresh.len();
        if !fresh.is_empty() {
            self.model.apply(&mut tx, generation, fresh).await?;
        }
        on_tx!(&mut tx, t => {
            sqlx::query("UPDATE projection_checkpoints SET position = $3 WHERE name = $1 AND generation = $2")
                .bind(M::NAME).bind(generation).bind(through.max(checkpoint)).execute(&mut **t).await?;
        });
        tx.commit().await?;
        Ok(Step::Applied {
            count,
            position: through.max(checkpoint),
        })
    }
}

/// Where [`Projector::apply_until`] got to.
struct Round {
    position: i64,
    /// Whether it wrote a transaction on the way.
    wrote: bool,
}

/// The generation a batch goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The live runner's: only while it is the active one. A rebuild may swap it
    /// out between the runner's rounds; a batch applied to it after that would be
    /// published as reached though queries read the fresh generation.
    Active(i64),
    /// A rebuild's, not yet swapped in.
    Fresh(i64),
}

/// [`lock_checkpoint_sql`] for a generation that must be the active one: no row
/// when it is not. On PostgreSQL both rows are locked, so a swap under way (which
/// updates the active row) is waited for and then seen.
fn lock_active_checkpoint_sql(tx: &WriteTx) -> &'static str {
    match tx {
        WriteTx::Sqlite(_) => {
            "SELECT c.position FROM projection_checkpoints c
             JOIN projection_active a ON a.name = c.name AND a.generation = c.generation
             WHERE c.name = $1 AND c.generation = $2"
        }
        WriteTx::Postgres(_) => {
            "SELECT c.position FROM projection_checkpoints c
             JOIN projection_active a ON a.name = c.name AND a.generation = c.generation
             WHERE c.name = $1 AND c.generation = $2 FOR UPDATE"
        }
    }
}

/// Read a checkpoint and lock it against other runners until commit. SQLite's
/// IMMEDIATE transaction already holds the database's write lock.
fn lock_checkpoint_sql(tx: &WriteTx) -> &'static str {
    match tx {
        WriteTx::Sqlite(_) => "SELECT position FROM projection_checkpoints WHERE name = $1 AND generation = $2",
        WriteTx::Postgres(_) => {
            "SELECT position FROM projection_checkpoints WHERE name = $1 AND generation = $2 FOR UPDATE"
        }
    }
}

/// A projection as operators see it, whatever its model: where it stands, and its
/// rebuilds. Lets the admin API and the CLI pick a projection by name.
pub trait ProjectionHandle: Send + Sync {
    fn name(&self) -> &'static str;
    fn position(&self) -> i64;
    fn rebuild_status(&self) -> RebuildStatus;
    fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus>;
    /// Start a rebuild in the background.
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError>;
    /// Rebuild now and return the final status.
    fn rebuild_now(&self)
        -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>>;
}

impl<M: SqlModel> ProjectionHandle for Arc<Projector<M>> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn position(&self) -> i64 {
        Projector::position(self)
    }
    fn rebuild_status(&self) -> RebuildStatus {
        Projector::rebuild_status(self)
    }
    fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus> {
        Projector::subscribe_rebuild(self)
    }
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        Projector::start_rebuild(self)
    }
    fn rebuild_now(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>> {
        Box::pin(Projector::rebuild(self))
    }
}
