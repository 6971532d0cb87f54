//! Running the search projection: the log into a tantivy index in the data directory.
//!
//! * The checkpoint is the payload of each tantivy commit, so index and checkpoint
//!   never disagree. On start the in-memory catalog is folded from the log up to that
//!   checkpoint without touching the index, and from there on documents are written.
//! * Documents change only for SKUs a batch made dirty, once per batch, however many
//!   events touched them.
//! * Commits are batched (one costs about 100 ms here): a change is committed at most
//!   [`COMMIT_INTERVAL`] after it was applied, and at once when a query waits for a
//!   position already applied. The reader reloads by hand after each commit, and the
//!   searcher is published together with the position it reflects.
//! * A rebuild fills a fresh generation directory beside the live one and swaps it in
//!   once caught up; queries keep using the old searcher until then.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use event_log::{Database, EventSource, LogError, LogRecord};
use projections::runtime::ProjectionError;
use projections::runtime::Rebuilds;
use projections::{RebuildStatus, WaitError};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Term;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher};
use tokio::sync::watch;

use crate::catalog::{Catalog, Signals};
use crate::schema::{self, Fields};

mod generation;
use generation::Generation;

/// Name of the projection (admin routes, `commerce rebuild search`).
pub const NAME: &str = "search";
/// Longest a change waits for its commit at steady load.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// Events read per batch.
const BATCH: i64 = 10_000;
/// Memory the index writer may use before it flushes a segment.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;
/// A safety net for a lost wake-up.
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// The file naming the generation queries read.
const ACTIVE_FILE: &str = "active";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Index(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl From<SearchError> for ProjectionError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Log(e) => ProjectionError::Log(e),
            SearchError::Database(e) => ProjectionError::Database(e),
            other => ProjectionError::Task(other.to_string()),
        }
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for SearchError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        SearchError::Index(e.into())
    }
}

/// What a query reads: one searcher and the position it reflects.
#[derive(Clone)]
pub struct View {
    pub searcher: Searcher,
    pub position: i64,
    pub fields: Fields,
    pub signals: Arc<RwLock<Signals>>,
}

/// The search projection of one process.
pub struct SearchProjection {
    db: Database,
    root: PathBuf,
    live: tokio::sync::Mutex<Generation>,
    view: RwLock<View>,
    /// Position of the published view.
    position: watch::Sender<i64>,
    /// Highest position a waiting query asked for.
    wanted: watch::Sender<i64>,
    rebuilds: Rebuilds,
    /// How long applied changes wait for a commit when nobody asks for them.
    commit_interval: Duration,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn generation_dir(root: &Path, number: u64) -> PathBuf {
    root.join(format!("gen-{number}"))
}

fn read_active(root: &Path) -> u64 {
    std::fs::read_to_string(root.join(ACTIVE_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

/// Point `active` at `number`, atomically (write then rename).
fn write_active(root: &Path, number: u64) -> std::io::Result<()> {
    let temporary = root.join(format!("{ACTIVE_FILE}.tmp"));
    std::fs::write(&temporary, number.to_string())?;
    std::fs::rename(temporary, root.join(ACTIVE_FILE))
}

impl SearchProjection {
    /// Open the active generation under `root` (creating it if new), fold the log up
    /// to its checkpoint into memory, and remove generations a crashed rebuild left.
    pub async fn open(db: Database, root: PathBuf) -> Result<Arc<Self>, SearchError> {
        Self::open_with_commit_interval(db, root, COMMIT_INTERVAL).await
    }

    /// [`open`](Self::open) with another commit interval (tests use a long one to show
    /// that a waiting query, not the interval, brought a commit about).
    pub async fn open_with_commit_interval(
        db: Database,
        root: PathBuf,
        commit_interval: Duration,
    ) -> Result<Arc<Self>, SearchError> {
        std::fs::create_dir_all(&root)?;
        let number = read_active(&root);
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("gen-") && name != format!("gen-{number}") {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let generation = Generation::load(&db, number, generation_dir(&root, number)).await?;
        write_active(&root, number)?;
        let view = generation.view();
        let position = view.position;
        Ok(Arc::new(Self {
            db,
            root,
            live: tokio::sync::Mutex::new(generation),
            view: RwLock::new(view),
            position: watch::channel(position).0,
            wanted: watch::channel(0).0,
            rebuilds: Rebuilds::at_generation(number as i64),
            commit_interval,
            follower: Mutex::new(None),
        }))
    }

    /// The searcher to query and the position it reflects.
    pub fn view(&self) -> View {
        self.view.read().expect("view lock").clone()
    }

    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// Wait until the published searcher reflects `min_position`, asking for an early
    /// commit meanwhile.
    pub async fn wait_for(&self, min_position: i64, timeout: Duration) -> Result<(), WaitError> {
        if self.position() >= min_position {
            return Ok(());
        }
        self.wanted.send_modify(|w| *w = (*w).max(min_position));
        projections::runtime::wait_for_position(&self.position, min_position, timeout).await
    }

    fn publish(&self, generation: &Generation) {
        let view = generation.view();
        let position = view.position;
        *self.view.write().expect("view lock") = view;
        self.position.send_if_modified(|p| {
            let moved = position > *p;
            *p = (*p).max(position);
            moved
        });
    }

    /// Follow the log: apply what arrives, commit on the policy above.
    pub fn spawn_live(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        // The task holds the projection only while it works, so dropping the last
        // handle closes the index (and frees its writer lock).
        let weak = Arc::downgrade(self);
        let mut wanted = self.wanted.subscribe();
        let task = tokio::spawn(async move {
            loop {
                let Some(projection) = weak.upgrade() else {
                    return;
                };
                let wait_until = match projection.step().await {
                    Ok(Step::More) => continue,
                    Ok(Step::CaughtUp(deadline)) => deadline,
                    Err(e) => {
                        tracing::error!(error = %e, "search projection failed; retrying");
                        drop(projection);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                drop(projection);
                let deadline = wait_until
                    .map(tokio::time::Instant::from_std)
                    .unwrap_or_else(|| tokio::time::Instant::now() + IDLE_RECHECK);
                tokio::select! {
                    changed = committed.changed() => if changed.is_err() { return },
                    changed = wanted.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
        });
        *self.follower.lock().expect("follower lock") = Some(task);
    }

    /// Stop following the log; once the last handle is dropped the index is closed.
    pub async fn stop(&self) {
        let task = self.follower.lock().expect("follower lock").take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        // Wait out a step that was under way.
        drop(self.live.lock().await);
    }

    /// Apply until caught up (or one batch), and commit when due.
    async fn step(&self) -> Result<Step, SearchError> {
        let mut live = self.live.lock().await;
        let recent = self.db.read_recent(live.applied, None, BATCH).await?;
        let (records, full) = (recent.records, recent.full);
        self.apply_or_reload(&mut live, &records).await?;
        if live.commit_due(*self.wanted.borrow(), self.commit_interval) {
            live.commit().await?;
        }
        self.publish(&live);
        if full {
            return Ok(Step::More);
        }
        Ok(Step::CaughtUp(
            live.pending_since.map(|since| since + self.commit_interval),
        ))
    }

    /// Apply records to the live generation. Should writing documents fail half-way
    /// (the catalog already moved on), the generation is loaded again from its last
    /// commit, so catalog and index agree before the batch is tried again.
    async fn apply_or_reload(
        &self,
        live: &mut Generation,
        records: &[LogRecord],
    ) -> Result<(), SearchError> {
        if live.writer.is_none() {
            self.reload(live).await?;
        }
        let applied = live.apply(records, 0);
        if applied.is_err() {
            self.reload(live).await?;
        }
        applied
    }

    async fn reload(&self, live: &mut Generation) -> Result<(), SearchError> {
        // The writer holds the index's lock: let it go before opening again.
        if let Some(writer) = live.writer.take() {
            tokio::task::spawn_blocking(move || drop(writer))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))?;
        }
        *live = Generation::load(&self.db, live.number, live.dir.clone()).await?;
        Ok(())
    }

    /// Apply everything committed so far and commit it (tests, tools, shutdown).
    pub async fn catch_up(&self) -> Result<i64, SearchError> {
        let mut live = self.live.lock().await;
        loop {
            let records = self.db.read_after(live.applied, BATCH).await?;
            let done = (records.len() as i64) < BATCH;
            self.apply_or_reload(&mut live, &records).await?;
            if done {
                break;
            }
        }
        if live.pending_since.is_some() {
            live.commit().await?;
        }
        self.publish(&live);
        Ok(live.committed)
    }

    pub fn rebuild_status(&self) -> RebuildStatus {
        self.rebuilds.status()
    }

    pub fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus> {
        self.rebuilds.subscribe()
    }

    /// Start a rebuild in the background.
    pub fn start_rebuild(self: &Arc<Self>) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        let projection = self.clone();
        tokio::spawn(async move {
            let _ = projection.run_rebuild().await;
        });
        Ok(self.rebuild_status())
    }

    /// Rebuild now and return the final status.
    pub async fn rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        self.run_rebuild().await
    }

    async fn run_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        let result = self.fill_and_swap().await;
        self.rebuilds.finish(&result);
        result.map_err(ProjectionError::from)?;
        Ok(self.rebuild_status())
    }

    async fn fill_and_swap(&self) -> Result<(), SearchError> {
        let number = self.live.lock().await.number + 1;
        let dir = generation_dir(&self.root, number);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let target = self.db.head().await?;
        self.rebuilds.update(|s| {
            s.generation = number as i64;
            s.target = target;
            s.position = 0;
        });
        let (mut fresh, _) = tokio::task::spawn_blocking(move || Generation::open(number, dir))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))??;
        let mut last_commit = Instant::now();
        let mut next = tokio::spawn(read_batch(self.db.clone(), 0));
        loop {
            let records = next.await.map_err(|e| SearchError::Task(e.to_string()))??;
            // A short batch is the head of the log, which is past `target`.
            let done = (records.len() as i64) < BATCH;
            let count = records.len() as u64;
            // Read the next batch while this one is indexed.
            let after = records.last().map(|r| r.position).unwrap_or(fresh.applied);
            next = tokio::spawn(read_batch(self.db.clone(), after));
            fresh.apply(&records, 0)?;
            if last_commit.elapsed() >= Duration::from_secs(1) {
                fresh.commit().await?;
                last_commit = Instant::now();
            }
            let position = fresh.applied;
            self.rebuilds.update(|s| {
                s.position = position;
                s.events_applied += count;
            });
            if done {
                break;
            }
        }
        next.abort();
        // Swap under the live lock, after the last events that arrived meanwhile.
        let mut live = self.live.lock().await;
        loop {
            let records = self.db.read_after(fresh.applied, BATCH).await?;
            let done = (records.len() as i64) < BATCH;
            fresh.apply(&records, 0)?;
            if done {
                break;
            }
        }
        fresh.commit().await?;
        write_active(&self.root, number)?;
        let old = std::mem::replace(&mut *live, fresh);
        self.publish(&live);
        let position = live.committed;
        drop(live);
        self.rebuilds.update(|s| s.position = position);
        let old_dir = old.dir.clone();
        tokio::task::spawn_blocking(move || {
            drop(old);
            std::fs::remove_dir_all(old_dir)
        })
        .await
        .map_err(|e| SearchError::Task(e.to_string()))??;
        Ok(())
    }
}

async fn read_batch(db: Database, after: i64) -> Result<Vec<LogRecord>, LogError> {
    db.read_after(after, BATCH).await
}

enum Step {
    /// A full batch was applied: there is more to read.
    More,
    /// Nothing more to read; a commit is due at the given time, if any change waits.
    CaughtUp(Option<Instant>),
}

/// The projection as the admin routes and `commerce rebuild` handle every projection.
pub struct SearchHandle(pub Arc<SearchProjection>);

impl projections::ProjectionHandle for SearchHandle {
    fn name(&self) -> &'static str {
        NAME
    }
    fn position(&self) -> i64 {
        self.0.position()
    }
    fn rebuild_status(&self) -> RebuildStatus {
        self.0.rebuild_status()
    }
    fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus> {
        self.0.subscribe_rebuild()
    }
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.0.start_rebuild()
    }
    fn rebuild_now(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>> {
        Box::pin(self.0.rebuild())
    }
}
