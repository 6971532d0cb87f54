//! The model saved in the data directory with the position it reflects, so a restart
//! reads only the log after it; and the model as a projection that `commerce rebuild
//! recommendations` rebuilds (beside the live one, then saved).
//!
//! A snapshot is taken for the configuration it was made with: one made under other
//! weights or half-lives is not loaded (the model is rebuilt from the log instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use event_log::{Database, EventSource};
use projections::runtime::{LiveCopy, ProjectionError, ProjectionHandle, RebuildStatus};
use serde::{Deserialize, Serialize};

use crate::follower::{Followed, LiveRecommendations};
use crate::Config;

/// Bumped when the saved form changes: an older snapshot is then not loaded.
const FORMAT: u32 = 3;
const FILE: &str = "snapshot.json";

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    /// The configuration the model was made with, as text.
    config: String,
    position: i64,
    followed: Followed,
}

fn fingerprint(config: &Config) -> String {
    format!("{config:?}")
}

/// The model from the snapshot in `dir`, if there is one made with `config` and the
/// log reaches its position (a data directory used with another, fresher database
/// does not), else an empty one; either follows the log from its position.
pub async fn load(db: Database, config: Config, dir: &Path) -> Arc<LiveRecommendations> {
    let head = db.head().await.unwrap_or(0);
    let loaded = std::fs::read(dir.join(FILE))
        .ok()
        .and_then(|bytes| match serde_json::from_slice::<Snapshot>(&bytes) {
            Ok(snapshot) => Some(snapshot),
            Err(error) => {
                tracing::warn!(%error, "the recommendations snapshot does not read; rebuilding from the log");
                None
            }
        })
        .filter(|s| s.format == FORMAT && s.config == fingerprint(&config))
        .filter(|s| {
            let reached = s.position <= head;
            if !reached {
                tracing::warn!(
                    snapshot = s.position,
                    head,
                    "the recommendations snapshot is past the log's head; rebuilding from the log"
                );
            }
            reached
        });
    match loaded {
        Some(mut snapshot) => {
            snapshot.followed.configure(config);
            LiveCopy::new(db, snapshot.followed, snapshot.position)
        }
        None => crate::live(db, config),
    }
}

/// Save the model as it stands in `dir` (written aside, then renamed over the old
/// one, so a crash leaves one whole snapshot); answers the position saved. The model
/// is copied under the read lock and written outside it.
pub async fn save(live: &LiveRecommendations, dir: &Path) -> std::io::Result<i64> {
    let (copy, position) = live.read(|followed| followed.clone());
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let snapshot = Snapshot {
            format: FORMAT,
            config: fingerprint(copy.model().config()),
            position,
            followed: copy,
        };
        std::fs::create_dir_all(&dir)?;
        let aside = dir.join(format!("{FILE}.tmp"));
        let file = std::fs::File::create(&aside)?;
        let mut writer = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut writer, &snapshot)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&aside, dir.join(FILE))?;
        Ok(position)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The recommendation model as a projection: its position, and rebuilds that end
/// with a fresh snapshot.
pub struct RecommendationsHandle {
    pub live: Arc<LiveRecommendations>,
    pub dir: PathBuf,
}

impl RecommendationsHandle {
    async fn rebuild_and_save(&self) -> Result<RebuildStatus, ProjectionError> {
        let status = self.live.rebuild().await?;
        save(&self.live, &self.dir)
            .await
            .map_err(|e| ProjectionError::Task(format!("saving the snapshot: {e}")))?;
        Ok(status)
    }
}

impl ProjectionHandle for RecommendationsHandle {
    fn name(&self) -> &'static str {
        "recommendations"
    }
    fn position(&self) -> i64 {
        self.live.position()
    }
    fn rebuild_status(&self) -> RebuildStatus {
        self.live.rebuild_status()
    }
    fn subscribe_rebuild(&self) -> tokio::sync::watch::Receiver<RebuildStatus> {
        self.live.subscribe_rebuild()
    }
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        // The server's saver writes the rebuilt model at its next round.
        self.live.start_rebuild()
    }
    fn rebuild_now(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>> {
        Box::pin(self.rebuild_and_save())
    }
}

/// How often the server saves the model, when it has moved on.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Save the model every few minutes while it moves on (or was rebuilt), for as long
/// as the process runs.
pub fn spawn_saver(live: Arc<LiveRecommendations>, dir: PathBuf) {
    tokio::spawn(async move {
        let mut saved = (live.position(), live.rebuild_status().generation);
        let mut every = tokio::time::interval(SAVE_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let now = (live.position(), live.rebuild_status().generation);
            if now == saved || live.rebuild_status().state == projections::RebuildState::Running {
                continue;
            }
            match save(&live, &dir).await {
                Ok(_) => saved = now,
                Err(error) => tracing::warn!(%error, "the recommendations snapshot was not saved"),
            }
        }
    });
}
