//! `POST /v1/activity`: what shoppers did (viewed, carted, purchased, searched,
//! dismissed or clicked a recommendation), and
//! the background recorder that logs each search without slowing it down.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use commands::CommandService;
use domain::validate::Validator;
use event_schemas::{ActivityEvent, ActivityKind, Metadata};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::AppState;
use crate::auth::Principal;
use crate::idempotency::{self, Executed, MaybeReplayed};
use crate::problem::{Body, Problem};

/// Searches waiting to be recorded; past this they are dropped (and counted), so a
/// slow disk never slows searching.
const RECORDER_QUEUE: usize = 10_000;
/// Searches recorded per group commit at most.
const RECORDER_BATCH: usize = 1_000;

/// Events recorded in the background, each as its own one-event stream: what the
/// routes log without waiting (searches, views).
pub trait Browsing: Clone + Send + Sync + 'static {
    /// The aggregate type they are stored under.
    const AGGREGATE: &'static str;
}

impl Browsing for ActivityEvent {
    const AGGREGATE: &'static str = event_schemas::activity::ACTIVITY_AGGREGATE;
}

impl Browsing for event_schemas::StaySearchEvent {
    const AGGREGATE: &'static str = event_schemas::stays::STAY_SEARCH_AGGREGATE;
}

/// Hands events to a task that records them in batches.
#[derive(Clone)]
pub struct BackgroundRecorder<E> {
    /// `None` on a query node, which records nothing (it takes no writes).
    queue: Option<mpsc::Sender<(E, String)>>,
}

/// Shoppers' searches, recorded in the background.
pub type ActivityRecorder = BackgroundRecorder<ActivityEvent>;

impl<E: Browsing + cqrs_es::DomainEvent> BackgroundRecorder<E> {
    pub fn spawn(commands: Arc<CommandService>) -> Self {
        let (queue, mut waiting) = mpsc::channel::<(E, String)>(RECORDER_QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(RECORDER_BATCH);
            while waiting.recv_many(&mut batch, RECORDER_BATCH).await > 0 {
                // One actor per call keeps the metadata right; events of one batch
                // by different callers go in groups.
                batch.sort_by(|a, b| a.1.cmp(&b.1));
                for group in batch.chunk_by(|a, b| a.1 == b.1) {
                    let metadata = Metadata {
                        actor: Some(group[0].1.clone()),
                        ..Default::default()
                    };
                    let events: Vec<E> = group.iter().map(|(event, _)| event.clone()).collect();
                    if let Err(e) = commands
                        .record_each_alone(E::AGGREGATE, &events, &metadata)
                        .await
                    {
                        tracing::warn!(error = %e, what = E::AGGREGATE, "browsing could not be recorded");
                    }
                }
                batch.clear();
            }
        });
        Self { queue: Some(queue) }
    }

    /// A recorder where the node takes writes; else one that records nothing (a
    /// query node's).
    pub fn spawn_if(writes: bool, commands: &Arc<CommandService>) -> Self {
        match writes {
            true => Self::spawn(commands.clone()),
            false => Self { queue: None },
        }
    }

    /// Queue an event; never waits.
    pub fn record_in_background(&self, event: E, actor: String) {
        let Some(queue) = &self.queue else {
            return;
        };
        if queue.try_send((event, actor)).is_err() {
            metrics::counter!("activity_dropped_total", "what" => E::AGGREGATE).increment(1);
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityBody {
    #[schema(example = "user-42")]
    pub user_id: Option<String>,
    /// viewed, carted, purchased, searched, dismissed (hide a recommended item) or
    /// clicked (opened from a list of recommendations).
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "viewed")]
    pub kind: ActivityKind,
    /// The product, for every type but searched.
    pub sku: Option<String>,
    /// The query, for searched.
    pub query: Option<String>,
    /// For clicked: the `model_version` of the list the item was clicked in.
    #[schema(example = "p1024")]
    pub model_version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityRecorded {
    pub user_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: ActivityKind,
    pub position: i64,
}

fn validate(body: ActivityBody, principal: &Principal) -> Result<(String, ActivityEvent), Problem> {
    let mut errors = Validator::new();
    // A buyer records their own activity; a shop's backend names the shopper.
    let user_id = match principal {
        Principal::Buyer { subject } => subject.clone(),
        _ => body.user_id.clone().unwrap_or_default(),
    };
    errors.text("user_id", &user_id);
    match body.kind {
        ActivityKind::Searched => match &body.query {
            Some(q) => errors.text("query", q),
            None => errors.fail("query", "a search names its query, 1 to 200 characters"),
        },
        _ => match &body.sku {
            Some(sku) => errors.id("sku", sku),
            None => errors.fail("sku", "every type but searched names a sku"),
        },
    }
    match (&body.model_version, body.kind) {
        (Some(version), ActivityKind::Clicked) => errors.id("model_version", version),
        (Some(_), _) => errors.fail("model_version", "only a click names a model_version"),
        (None, _) => {}
    }
    errors.finish().map_err(Problem::from)?;
    let (sku, query) = match body.kind {
        ActivityKind::Searched => (None, body.query),
        _ => (body.sku, None),
    };
    Ok((
        user_id.clone(),
        ActivityEvent::ActivityRecorded {
            user_id,
            kind: body.kind,
            sku,
            query,
            model_version: body.model_version,
        },
    ))
}

/// Record what a shopper did; search personalises with it.
#[utoipa::path(post, path = "/v1/activity", tag = "commands",
    request_body = ActivityBody,
    responses(
        (status = 201, body = ActivityRecorded),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<ActivityBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<ActivityRecorded>)>, Problem> {
    let kind = body.kind;
    let (user_id, event) = validate(body, &principal)?;
    let metadata = state.metadata(&headers, &principal);
    let view = serde_json::json!({ "user_id": user_id, "type": kind });
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "record_activity",
        &event,
        |keyed| {
            state
                .commands
                .record_activity_keyed(event.clone(), &metadata, keyed, view.clone())
        },
    )
    .await?;
    let (position, replayed) = match executed {
        Executed::Fresh(position) => (position, false),
        Executed::Replayed(receipt) => (receipt.position, true),
    };
    Ok(MaybeReplayed(
        (
            StatusCode::CREATED,
            Json(ActivityRecorded {
                user_id,
                kind,
                position,
            }),
        ),
        replayed,
    ))
}
