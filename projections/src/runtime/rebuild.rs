//! Rebuilding a projection: fill generation N+1 beside the live one, reading the
//! next batch while the current one is written, swap it in once caught up, and
//! drop the old generation.

use std::sync::Arc;
use std::time::Instant;

use event_log::{on_reader, on_tx, EventSource, LogError, LogRecord};
use tokio::sync::watch;

use super::*;

impl<M: SqlModel> Projector<M> {
    pub fn rebuild_status(&self) -> RebuildStatus {
        self.rebuilds.status()
    }

    pub fn subscribe_rebuild(&self) -> watch::Receiver<RebuildStatus> {
        self.rebuilds.subscribe()
    }

    /// Start a rebuild in the background; its progress is in [`rebuild_status`](Self::rebuild_status).
    pub fn start_rebuild(self: &Arc<Self>) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        let status = self.rebuild_status();
        let projector = self.clone();
        tokio::spawn(async move {
            let _ = projector.run_rebuild().await;
        });
        Ok(status)
    }

    /// Rebuild now, in this task; returns the final status.
    pub async fn rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.rebuilds.claim()?;
        self.run_rebuild().await
    }

    async fn run_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        let result = self.fill_and_swap().await;
        self.rebuilds.finish(&result);
        if let Err(error) = &result {
            tracing::error!(projection = M::NAME, %error, "rebuild failed");
        }
        result.map(|()| self.rebuild_status())
    }

    async fn fill_and_swap(&self) -> Result<(), ProjectionError> {
        let generation = self.new_generation().await?;
        let target = self.db.head().await?;
        self.rebuilds.update(|s| {
            s.generation = generation;
            s.target = target;
        });
        tracing::info!(projection = M::NAME, generation, target, "rebuild started");
        let mut position = 0;
        // Read the next batch while the current one is applied: the read and the
        // write then overlap instead of taking turns.
        let mut next = self.read_ahead(position);
        loop {
            let records = next
                .await
                .map_err(|e| ProjectionError::Task(e.to_string()))??;
            let last = records.last().map_or(position, |r| r.position);
            next = self.read_ahead(last);
            match self
                .apply_batch(Target::Fresh(generation), records, last)
                .await?
            {
                Step::Applied { count, .. } => {
                    position = last;
                    self.rebuilds.update(|s| {
                        s.position = position;
                        s.events_applied += count as u64;
                    });
                }
                Step::CaughtUp => {
                    next.abort();
                    if let Some(old) = self.try_swap(generation).await? {
                        self.drop_generation(old).await?;
                        let (_, position) = self.active().await?;
                        self.publish(position);
                        tracing::info!(
                            projection = M::NAME,
                            generation,
                            position,
                            "rebuild swapped in"
                        );
                        return Ok(());
                    }
                    // The live copy is ahead of what the rebuild read: keep going.
                    position = self.checkpoint(generation).await?.unwrap_or(position);
                    next = self.read_ahead(position);
                }
                // Only another rebuild drops a generation that is not active.
                Step::Gone => return Err(ProjectionError::Superseded),
            }
        }
    }

    /// Start reading the rebuild batch after `position` in the background.
    fn read_ahead(
        &self,
        position: i64,
    ) -> tokio::task::JoinHandle<Result<Vec<LogRecord>, LogError>> {
        let db = self.db.clone();
        tokio::spawn(async move { db.read_after(position, REBUILD_BATCH).await })
    }

    async fn new_generation(&self) -> Result<i64, ProjectionError> {
        let started = Instant::now();
        let mut tx = self.db.begin_write().await?;
        let generation: i64 = on_tx!(&mut tx, t => {
            let generation: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(generation), 0) + 1 FROM projection_checkpoints WHERE name = $1",
            )
            .bind(M::NAME)
            .fetch_one(&mut **t)
            .await?;
            sqlx::query("INSERT INTO projection_checkpoints (name, generation, position) VALUES ($1, $2, 0)")
                .bind(M::NAME).bind(generation).execute(&mut **t).await?;
            generation
        });
        // A generation left by a rebuild that died half-way is cleared first.
        self.model.drop_generation(&mut tx, generation).await?;
        tx.commit().await?;
        tracing::debug!(elapsed = ?started.elapsed(), generation, "new generation");
        Ok(generation)
    }

    async fn checkpoint(&self, generation: i64) -> Result<Option<i64>, sqlx::Error> {
        on_reader!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1 AND generation = $2")
                .bind(M::NAME).bind(generation).fetch_optional(pool).await
        })
    }

    /// Make `generation` the active one if it is at least as far as the active one.
    /// Returns the generation it replaced.
    async fn try_swap(&self, generation: i64) -> Result<Option<i64>, ProjectionError> {
        let mut tx = self.db.begin_write().await?;
        let lock_sql = lock_checkpoint_sql(&tx);
        let swapped = on_tx!(&mut tx, t => {
            let old: i64 = sqlx::query_scalar("SELECT generation FROM projection_active WHERE name = $1")
                .bind(M::NAME).fetch_one(&mut **t).await?;
            // Lock the live copy's checkpoint: a runner applying a batch to it holds
            // that row until it commits, and its position must be read after that.
            // Read unlocked, the live copy could move past the fresh one just before
            // the swap, and readers already told the newer position would see older
            // data.
            let old_position: i64 = sqlx::query_scalar(lock_sql)
                .bind(M::NAME).bind(old).fetch_one(&mut **t).await?;
            let position: i64 = sqlx::query_scalar(
                "SELECT position FROM projection_checkpoints WHERE name = $1 AND generation = $2",
            )
            .bind(M::NAME).bind(generation).fetch_one(&mut **t).await?;
            if position < old_position {
                None
            } else {
                sqlx::query("UPDATE projection_active SET generation = $2 WHERE name = $1")
                    .bind(M::NAME).bind(generation).execute(&mut **t).await?;
                Some(old)
            }
        });
        tx.commit().await?;
        Ok(swapped)
    }

    async fn drop_generation(&self, generation: i64) -> Result<(), ProjectionError> {
        let mut tx = self.db.begin_write().await?;
        // The checkpoint row goes first: deleting it waits for a runner still applying
        // a batch to this generation (which holds that row from its start), so the
        // two never lock the model's rows in opposite orders (a deadlock on
        // PostgreSQL), and a runner that comes later finds the generation gone.
        on_tx!(&mut tx, t => {
            sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1 AND generation = $2")
                .bind(M::NAME).bind(generation).execute(&mut **t).await?;
        });
        self.model.drop_generation(&mut tx, generation).await?;
        tx.commit().await?;
        Ok(())
    }
}
