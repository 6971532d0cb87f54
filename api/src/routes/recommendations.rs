//! `GET /v1/recommendations/{user_id}` and `GET /v1/products/{sku}/similar`: lists
//! from the recommendation model this process keeps in memory.
//!
//! A shopper's list is explained from their history ("similar to Linen apron you
//! viewed"), so it is as private as the history: a buyer's token reads only its own,
//! and a key reads anyone's only with `buyers:act` (403 `not_your_profile`
//! otherwise). Similar items say nothing of anyone and take the `read` scope.

use std::collections::BTreeMap;

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
async fn await_model(state: &AppState, wanted: Option<i64>) -> Result<(), Problem> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    state.known_position(wanted).await?;
    let live = &state.recommendations;
    live.wait_for(wanted, MIN_POSITION_WAIT)
        .await
        .map_err(|stale| super::stale_read(stale, live.position(), wanted))
}

fn list(state: &AppState, request: &Request) -> RecommendationList {
    let (items, position) = ::recommendations::recommend(
        &state.recommendations,
        request,
        state.commands.clock().now(),
    );
    RecommendationList {
        items: items.into_iter().map(item).collect(),
        model_version: ::recommendations::model_version(position),
        position,
    }
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
    Ok(Json(list(&state, &request)))
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
        .read(|followed| followed.model().catalog().get(&sku).is_some());
    if !known {
        return Err(Problem::not_found(format!("no product '{sku}' is listed")));
    }
    Ok(Json(list(&state, &Request::similar_to(&sku, limit))))
}
