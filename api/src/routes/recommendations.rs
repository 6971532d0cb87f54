//! `GET /v1/recommendations/{user_id}` and `GET /v1/products/{sku}/similar`: lists
//! from the recommendation model this process keeps in memory.
//!
//! A shopper's list is explained from their history ("similar to Linen apron you
//! viewed"), so it is as private as the history: a buyer's token reads only its own,
//! and a key reads anyone's only with `buyers:act` (403 `not_your_profile`
//! otherwise). Similar items say nothing of anyone and take the `read` scope.

use std::collections::BTreeMap;

use ::recommendations::training::TrainingError;
use ::recommendations::{Recommendation, Request, Source};
use axum::extract::State;
use axum::{Extension, Json};
use domain::validate::Validator;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AppState, MIN_POSITION_WAIT};
use crate::auth::{profile_owner, Principal};
use crate::problem::{PathParams, Problem, QueryParams};

/// Items in a list when `limit` is not given.
const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<usize>,
    /// Only items under this category path (`home/kitchen`).
    pub category: Option<String>,
    /// The product the shopper is looking at: items like it count most.
    pub context_sku: Option<String>,
    /// Wait (up to 2 s) until the model reflects this log position.
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    /// 1 to 50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<usize>,
    /// Wait (up to 2 s) until the model reflects this log position.
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

/// One recommended product.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedItem {
    #[schema(example = "MUG-2")]
    pub sku: String,
    #[schema(example = "Espresso mug")]
    pub title: String,
    #[schema(example = "home/kitchen/mugs")]
    pub category: String,
    /// The blended score the list was ranked from (before diversity re-ranked it).
    pub score: f64,
    /// Each source's part of the score: `collaborative`, `content`, `trending`, or
    /// `new` for a recently listed item given its place.
    #[schema(value_type = Object, example = json!({"collaborative": 0.31, "content": 0.22, "trending": 0.05}))]
    pub sources: BTreeMap<&'static str, f64>,
    /// Why it is here, naming the item or category behind it.
    #[schema(example = "similar to Stoneware mug you viewed")]
    pub because: String,
}

/// A list, with the model version and log position it was made from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationList {
    pub items: Vec<RecommendedItem>,
    /// The model that made the list: the same version on two nodes gives the same
    /// list. Send it back with a `clicked` activity.
    #[schema(example = "p1024")]
    pub model_version: String,
    /// The log position the model reflects.
    pub position: i64,
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Collaborative => "collaborative",
        Source::Content => "content",
        Source::Trending => "trending",
        Source::New => "new",
        Source::Latent => "latent",
    }
}

fn item(recommendation: Recommendation) -> RecommendedItem {
    RecommendedItem {
        sources: recommendation
            .contributions
            .iter()
            .map(|(source, part)| (source_name(*source), *part))
            .collect(),
        sku: recommendation.sku,
        title: recommendation.title,
        category: recommendation.category,
        score: recommendation.score,
        because: recommendation.because,
    }
}

fn limit(errors: &mut Validator, limit: Option<usize>) -> usize {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=::recommendations::MAX_LIMIT).contains(&limit) {
        errors.fail(
            "limit",
            format!("from 1 to {}", ::recommendations::MAX_LIMIT),
        );
    }
    limit
}

/// Wait until the model reflects `min_position`, or answer 503 (422 past the head).
pub(super) async fn await_model(state: &AppState, wanted: Option<i64>) -> Result<(), Problem> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    state.known_position(wanted).await?;
    let live = &state.recommendations.live;
    live.wait_for(wanted, MIN_POSITION_WAIT)
        .await
        .map_err(|stale| super::stale_read(stale, live.position(), wanted))
}

/// Make the list on the blocking pool: it is CPU work, and the async workers keep
/// answering other requests meanwhile.
pub(crate) async fn list(
    state: &AppState,
    request: Request,
) -> Result<RecommendationList, Problem> {
    let recommender = state.recommendations.clone();
    let now = state.commands.clock().now();
    let list = tokio::task::spawn_blocking(move || recommender.recommend(&request, now))
        .await
        .map_err(|e| Problem::unavailable("recommendations_failed", e.to_string()))?;
    Ok(RecommendationList {
        items: list.items.into_iter().map(item).collect(),
        model_version: list.model_version,
        position: list.position,
    })
}

/// A shopper's recommendations: collaborative, content and trending candidates
/// blended, diversified (MMR, at most 3 per category and per shop in the first ten),
/// without what they bought, dismissed, or what is delisted or out of stock, each
/// with why it is there. A shopper with no history gets what is trending in the
/// request's context.
///
/// A buyer's token reads only its own list; a key reads anyone's only with
/// `buyers:act` (403 `not_your_profile` otherwise).
#[utoipa::path(get, path = "/v1/recommendations/{user_id}", tag = "queries",
    params(("user_id" = String, Path, description = "The shopper"), ListParams),
    responses(
        (status = 200, body = RecommendationList),
        (status = 403, description = "The caller may not read this shopper's recommendations", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn for_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(user_id): PathParams<String>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<RecommendationList>, Problem> {
    let user_id = profile_owner(&principal, Some(user_id))?.unwrap_or_default();
    let mut errors = Validator::new();
    errors.text("user_id", &user_id);
    let limit = limit(&mut errors, params.limit);
    if let Some(category) = &params.category {
        errors.text("category", category);
    }
    if let Some(sku) = &params.context_sku {
        errors.id("context_sku", sku);
    }
    errors.finish().map_err(Problem::from)?;
    await_model(&state, params.min_position).await?;
    let request = Request {
        user_id: Some(user_id),
        limit,
        category: params
            .category
            .map(|c| c.trim_matches('/').to_string())
            .filter(|c| !c.is_empty()),
        context_sku: params.context_sku,
        similar_only: false,
    };
    Ok(Json(list(&state, request).await?))
}

/// Products like this one, by what they are (category, tags, materials, title) and
/// by who chose them together: for a product page. Only listed, in-stock items.
#[utoipa::path(get, path = "/v1/products/{sku}/similar", tag = "queries",
    params(("sku" = String, Path, description = "The product"), SimilarParams),
    responses(
        (status = 200, body = RecommendationList),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn similar(
    State(state): State<AppState>,
    PathParams(sku): PathParams<String>,
    QueryParams(params): QueryParams<SimilarParams>,
) -> Result<Json<RecommendationList>, Problem> {
    let mut errors = Validator::new();
    errors.id("sku", &sku);
    let limit = limit(&mut errors, params.limit);
    errors.finish().map_err(Problem::from)?;
    await_model(&state, params.min_position).await?;
    let (known, _) = state
        .recommendations
        .live
        .read(|followed| followed.model().catalog().get(&sku).is_some());
    if !known {
        return Err(Problem::not_found(format!("no product '{sku}' is listed")));
    }
    Ok(Json(list(&state, Request::similar_to(&sku, limit)).await?))
}

/// The recommendations' latent model: which is in use, which a rollback brings back,
/// and the last training.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelState {
    /// A training is running now.
    pub training: bool,
    /// The latent model in use (`als<position>`), if one is trained.
    #[schema(example = "als1024")]
    pub version: Option<String>,
    /// The model a rollback brings back.
    pub previous_version: Option<String>,
    pub trained_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the last training took, in seconds.
    pub seconds: Option<f64>,
    /// Interactions the last training learnt from.
    pub interactions: Option<usize>,
    /// Why the last training failed, if it did.
    pub error: Option<String>,
    /// The log position the recommendation model reflects.
    pub position: i64,
}

/// How long a retrain request waits for the training before answering 202.
const RETRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

fn model_state(state: &AppState, status: ::recommendations::TrainingStatus) -> ModelState {
    ModelState {
        training: status.training,
        version: status.version,
        previous_version: status.previous_version,
        trained_at: status.trained_at,
        seconds: status.seconds,
        interactions: status.interactions,
        error: status.error,
        position: state.recommendations.live.position(),
    }
}

fn refusal(error: TrainingError) -> Problem {
    match error {
        TrainingError::Running => Problem::new(
            axum::http::StatusCode::CONFLICT,
            "training_running",
            "a training is already running",
        ),
        TrainingError::NothingToRollBackTo => Problem::new(
            axum::http::StatusCode::CONFLICT,
            "nothing_to_roll_back_to",
            "there is no previous model to roll back to",
        ),
        TrainingError::Failed(reason) => Problem::unavailable("training_failed", reason),
    }
}

/// The latent model in use, the previous one, and the last training.
#[utoipa::path(get, path = "/v1/admin/recommendations", tag = "admin",
    responses((status = 200, body = ModelState)))]
pub async fn model(State(state): State<AppState>) -> Json<ModelState> {
    Json(model_state(&state, state.recommendations.status()))
}

/// Train the latent model on the shoppers' recent interactions now (in the
/// background, on one thread) and swap it in; requests in flight finish on the old
/// one. Answers 200 once trained, or 202 if it takes longer than 20 s.
#[utoipa::path(post, path = "/v1/admin/recommendations/retrain", tag = "admin",
    responses(
        (status = 200, description = "Trained and in use", body = ModelState),
        (status = 202, description = "Still training", body = ModelState),
        (status = 409, description = "A training is already running", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retrain(
    State(state): State<AppState>,
) -> Result<(axum::http::StatusCode, Json<ModelState>), Problem> {
    let recommender = state.recommendations.clone();
    let training = tokio::spawn(async move { recommender.train().await });
    match tokio::time::timeout(RETRAIN_WAIT, training).await {
        Ok(Ok(Ok(status))) => Ok((
            axum::http::StatusCode::OK,
            Json(model_state(&state, status)),
        )),
        Ok(Ok(Err(error))) => Err(refusal(error)),
        Ok(Err(joined)) => Err(Problem::unavailable("training_failed", joined.to_string())),
        Err(_) => Ok((
            axum::http::StatusCode::ACCEPTED,
            Json(model_state(&state, state.recommendations.status())),
        )),
    }
}

/// Bring the previous latent model back (the current one becomes the previous).
#[utoipa::path(post, path = "/v1/admin/recommendations/rollback", tag = "admin",
    responses(
        (status = 200, body = ModelState),
        (status = 409, description = "No previous model", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rollback(State(state): State<AppState>) -> Result<Json<ModelState>, Problem> {
    let status = state.recommendations.rollback().map_err(refusal)?;
    Ok(Json(model_state(&state, status)))
}
