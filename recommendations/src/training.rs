//! What a process serves recommendations from: the model following the log, and the
//! latent-factor model trained from it in the background.
//!
//! A latent model is immutable once trained and sits behind an atomic swap
//! (`arc-swap`): a request takes the current one when it starts and finishes on it,
//! so no request waits for or fails during a swap. Training copies the shoppers'
//! recent interactions under the read lock, then runs on one blocking thread (the
//! other core keeps answering). The model it replaces is kept for a rollback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::follower::{model_version, LiveRecommendations};
use crate::sources::latent::{AlsParams, Latent};
use crate::{Recommendation, Request};

/// Where training stands, and which models are in use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainingStatus {
    /// A training is running now.
    pub training: bool,
    /// The latent model in use (`als<position>`), if any (read from it).
    pub version: Option<String>,
    /// The one a rollback would bring back (read from it).
    pub previous_version: Option<String>,
    pub trained_at: Option<DateTime<Utc>>,
    /// How long the last training took.
    pub seconds: Option<f64>,
    /// Interactions the last training learnt from.
    pub interactions: Option<usize>,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainingError {
    #[error("a training is already running")]
    Running,
    #[error("there is no previous model to roll back to")]
    NothingToRollBackTo,
    #[error("training failed: {0}")]
    Failed(String),
}

/// A list, and what it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub items: Vec<Recommendation>,
    /// `p<position>`, and `.als<position>` with a latent model.
    pub model_version: String,
    pub position: i64,
}

/// The recommendations of one process.
pub struct Recommender {
    pub live: Arc<LiveRecommendations>,
    latent: ArcSwapOption<Latent>,
    previous: Mutex<Option<Arc<Latent>>>,
    status: Mutex<TrainingStatus>,
    params: AlsParams,
}

impl Recommender {
    pub fn new(live: Arc<LiveRecommendations>, params: AlsParams) -> Arc<Self> {
        Arc::new(Self {
            live,
            latent: ArcSwapOption::empty(),
            previous: Mutex::new(None),
            status: Mutex::new(TrainingStatus::default()),
            params,
        })
    }

    /// The list for `request` at `now`.
    pub fn recommend(&self, request: &Request, now: DateTime<Utc>) -> List {
        // Taken once: a swap during the request does not change what it uses.
        let latent = self.latent.load_full();
        let (items, position) = self.live.read(|followed| {
            followed
                .model()
                .recommend_with(latent.as_deref(), request, now)
        });
        let model_version = match &latent {
            Some(latent) => format!("{}.{}", model_version(position), latent.version()),
            None => model_version(position),
        };
        List {
            items,
            model_version,
            position,
        }
    }

    /// The last training, and the models in use now (read from them, not stored).
    pub fn status(&self) -> TrainingStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        status.version = self.latent.load().as_ref().map(|l| l.version());
        status.previous_version = self
            .previous
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| l.version());
        status
    }

    fn claim(&self) -> Result<(), TrainingError> {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if status.training {
            return Err(TrainingError::Running);
        }
        status.training = true;
        Ok(())
    }

    /// Train in the background (refused while a training runs).
    pub fn start_training(self: &Arc<Self>) -> Result<TrainingStatus, TrainingError> {
        self.claim()?;
        let recommender = self.clone();
        tokio::spawn(async move {
            if let Err(error) = recommender.run_training().await {
                tracing::error!(%error, "training the recommendations' latent model failed");
            }
        });
        Ok(self.status())
    }

    /// Train now and swap the new model in.
    pub async fn train(&self) -> Result<TrainingStatus, TrainingError> {
        self.claim()?;
        self.run_training().await
    }

    async fn run_training(&self) -> Result<TrainingStatus, TrainingError> {
        let started = Instant::now();
        let (data, position) = self.live.read(|followed| followed.model().training_data());
        let count = data.len();
        let params = self.params;
        let trained = tokio::task::spawn_blocking(move || {
            let mut latent =
                Latent::train(data.iter().map(|(u, i, w)| (u.as_str(), *i, *w)), params);
            latent.trained_to = position;
            latent
        })
        .await
        .map_err(|e| TrainingError::Failed(e.to_string()));
        let result = match trained {
            Ok(latent) => {
                let old = self.latent.swap(Some(Arc::new(latent)));
                if old.is_some() {
                    *self.previous.lock().unwrap_or_else(|e| e.into_inner()) = old;
                }
                Ok(())
            }
            Err(error) => Err(error),
        };
        {
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            status.training = false;
            match &result {
                Ok(()) => {
                    status.trained_at = Some(Utc::now());
                    status.seconds = Some(started.elapsed().as_secs_f64());
                    status.interactions = Some(count);
                    status.error = None;
                }
                Err(error) => status.error = Some(error.to_string()),
            }
        }
        result.map(|()| self.status())
    }

    /// Bring the previous model back (the current one becomes the previous).
    pub fn rollback(&self) -> Result<TrainingStatus, TrainingError> {
        let mut previous = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let Some(earlier) = previous.take() else {
            return Err(TrainingError::NothingToRollBackTo);
        };
        *previous = self.latent.swap(Some(earlier));
        drop(previous);
        Ok(self.status())
    }

    /// Train once the model has caught up, then every `every` while the log moves
    /// (not before any shopper has done anything: there is nothing to learn).
    pub fn spawn_schedule(self: &Arc<Self>, every: Duration) {
        let recommender = self.clone();
        tokio::spawn(async move {
            let mut trained_at = -1;
            loop {
                let (anyone, position) = recommender
                    .live
                    .read(|followed| !followed.model().histories.is_empty());
                if anyone && position != trained_at {
                    match recommender.train().await {
                        Ok(_) => trained_at = position,
                        Err(TrainingError::Running) => {}
                        Err(error) => tracing::warn!(%error, "scheduled training failed"),
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}
