//! `GET /v1/search` and `GET /v1/search/suggest`: the search projection's queries.
//! Each search is recorded as SearchPerformed in the background, never on its path.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use domain::FieldError;
use event_schemas::ActivityEvent;
use search::query::{Facets, Hit, MAX_LIMIT};
use search::suggest::{suggest, Suggestion, MAX_SUGGESTIONS};
use search::{
    too_many_words, Geo, SearchProjection, SearchRequest, SearchResults, Sort, MAX_QUERY_WORDS,
    PERSONAL_TOP,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::activity::ActivityRecorder;
use super::{AppState, MIN_POSITION_WAIT};
use crate::auth::{profile_owner, Principal};
use crate::problem::{Problem, QueryParams};

/// Longest query text accepted, in characters.
const MAX_QUERY: usize = 200;
/// Deepest page reachable with `offset`.
const MAX_OFFSET: usize = 10_000;
/// Widest search radius: half the earth's circumference.
const MAX_RADIUS_KM: f64 = 20_040.0;

/// The search side of the application state.
#[derive(Clone)]
pub struct SearchState {
    pub projection: Arc<SearchProjection>,
    pub recorder: ActivityRecorder,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find, at most 10 (and 200 characters); empty browses everything.
    pub q: Option<String>,
    /// A category path; includes its sub-categories.
    pub category: Option<String>,
    /// Lowest price, in minor units, inclusive.
    pub price_min: Option<u64>,
    /// Highest price, in minor units, inclusive.
    pub price_max: Option<u64>,
    /// Comma-separated materials; a product made of any of them matches.
    pub materials: Option<String>,
    pub shop_id: Option<String>,
    /// `true`: only products some warehouse has available.
    pub in_stock: Option<bool>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// With `lat` and `lon`: only shops within this distance (haversine, inclusive).
    pub radius_km: Option<f64>,
    /// relevance (default), price_asc, price_desc, newest, distance (needs lat/lon).
    #[param(value_type = Option<String>)]
    pub sort: Option<Sort>,
    /// 1 to 100, default 20.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Personalise for this shopper: needs a key with `buyers:act` (or the master key);
    /// a buyer's token may name only its own buyer, and is personalised as that buyer
    /// without it. Anyone else naming a shopper is refused (403 `not_your_profile`).
    pub user_id: Option<String>,
    /// Wait (up to 2 s) until the searcher reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    pub total: u64,
    /// Products with `score`, `distance_km` (with lat/lon) and `highlight`.
    #[schema(value_type = Vec<Object>)]
    pub hits: Vec<Hit>,
    /// Counts over all filtered hits: `category` (sub-categories of the filter),
    /// `materials`, `shop`, `price` ranges.
    #[schema(value_type = Object)]
    pub facets: Facets,
    /// Did-you-mean corrections, when there are few hits.
    pub suggestions: Vec<String>,
    pub limit: usize,
    pub offset: usize,
    /// Log position of the searcher that answered.
    pub position: i64,
}

fn field_error(field: &str, message: String) -> FieldError {
    FieldError {
        field: field.into(),
        message,
    }
}

/// A validated search, and the shopper it is personalised for.
struct Validated {
    request: SearchRequest,
    user_id: Option<String>,
}

fn validate(params: SearchParams, principal: &Principal) -> Result<Validated, Problem> {
    // Who may read the profile is settled before what is asked of it.
    let user_id = profile_owner(principal, params.user_id.filter(|u| !u.is_empty()))?;
    let mut errors = Vec::new();
    let mut error = |field: &str, message: String| {
        errors.push(field_error(field, message));
    };
    let q = params.q.unwrap_or_default();
    // Text reaches the log (SearchPerformed) and the index: no control characters.
    for (field, value) in [
        ("q", Some(q.as_str())),
        ("category", params.category.as_deref()),
        ("shop_id", params.shop_id.as_deref()),
        ("materials", params.materials.as_deref()),
        ("user_id", user_id.as_deref()),
    ] {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            error(field, "must not hold control characters".into());
        }
    }
    if q.chars().count() > MAX_QUERY {
        error("q", format!("at most {MAX_QUERY} characters"));
    } else if too_many_words(&q) {
        error("q", format!("at most {MAX_QUERY_WORDS} words"));
    }
    let limit = params.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        error("limit", format!("from 1 to {MAX_LIMIT}"));
    }
    let offset = params.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        error("offset", format!("at most {MAX_OFFSET}"));
    }
    if let (Some(min), Some(max)) = (params.price_min, params.price_max) {
        if min > max {
            error("price_min", "price_min is above price_max".into());
        }
    }
    let category = params
        .category
        .map(|c| c.trim_matches('/').to_string())
        .filter(|c| !c.is_empty());
    if category.as_ref().is_some_and(|c| c.len() > 200) {
        error("category", "at most 200 characters".into());
    }
    let geo = match (params.lat, params.lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                error("lat", "from -90 to 90".into());
            }
            if !(-180.0..=180.0).contains(&lon) {
                error("lon", "from -180 to 180".into());
            }
            Some(Geo {
                lat,
                lon,
                radius_km: params.radius_km,
            })
        }
        (None, None) => None,
        _ => {
            error("lat", "lat and lon go together".into());
            None
        }
    };
    if let Some(radius) = params.radius_km {
        if geo.is_none() {
            error("radius_km", "radius_km needs lat and lon".into());
        }
        if !(radius > 0.0 && radius <= MAX_RADIUS_KM) {
            error("radius_km", format!("above 0, at most {MAX_RADIUS_KM}"));
        }
    }
    let sort = params.sort.unwrap_or_default();
    if sort == Sort::Distance && geo.is_none() {
        error("sort", "sorting by distance needs lat and lon".into());
    }
    let materials: Vec<String> = params
        .materials
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if materials.len() > 20 {
        error("materials", "at most 20 materials".into());
    }
    if user_id.as_ref().is_some_and(|u| u.len() > 200) {
        error("user_id", "at most 200 characters".into());
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let request = SearchRequest {
        q,
        category,
        price_min: params.price_min,
        price_max: params.price_max,
        materials,
        shop_id: params.shop_id.filter(|s| !s.is_empty()),
        in_stock: params.in_stock.unwrap_or(false),
        geo,
        sort,
        limit,
        offset,
        ..SearchRequest::default()
    };
    Ok(Validated { request, user_id })
}

/// Personalise `request` with `user_id`'s taste, read from the one profile store: the
/// recommendations' histories.
fn personalise(state: &AppState, request: &mut SearchRequest, user_id: &str) {
    let (taste, _) = state
        .recommendations
        .live
        .read(|followed| followed.model().taste(user_id, PERSONAL_TOP));
    if let Some(taste) = taste {
        request.preferred_categories = taste.categories;
        request.preferred_shops = taste.shops;
    }
}

/// Wait for `min_position`, if asked, or answer 503.
async fn await_position(state: &AppState, wanted: Option<i64>) -> Result<(), Problem> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    state.known_position(wanted).await?;
    let projection = &state.search.projection;
    projection
        .wait_for(wanted, MIN_POSITION_WAIT)
        .await
        .map_err(|stale| super::stale_read(stale, projection.position(), wanted))
}

/// Run a search on the blocking pool (it is CPU work over the index).
pub async fn run(
    projection: &SearchProjection,
    request: SearchRequest,
) -> Result<SearchResults, Problem> {
    let view = projection.view();
    tokio::task::spawn_blocking(move || search::search(&view, &request))
        .await
        .map_err(|e| Problem::unavailable("search_failed", e.to_string()))?
        .map_err(|e| Problem::unavailable("search_failed", e.to_string()))
}

/// Full-text product search with filters, facets, sorts, highlights and
/// personalisation.
///
/// `q` has at most 10 words (422 otherwise, before any search). `user_id`
/// personalises for a shopper's profile and is honoured for that buyer's own token, a
/// key with `buyers:act`, the master key or development mode; anyone else naming a
/// shopper gets 403 `not_your_profile`. A buyer's token without `user_id` is
/// personalised as its own buyer, as a buyer's orders are placed as themselves.
#[utoipa::path(get, path = "/v1/search", tag = "queries",
    params(SearchParams),
    responses(
        (status = 200, body = SearchAnswer),
        (status = 400, description = "A parameter does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`user_id` names a shopper this caller may not personalise for", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range, or `q` has more than 10 words", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryParams(params): QueryParams<SearchParams>,
) -> Result<Json<SearchAnswer>, Problem> {
    let min_position = params.min_position;
    let Validated {
        mut request,
        user_id,
    } = validate(params, &principal)?;
    // Only relevance is personalised. The taste must be as fresh as the index: both
    // copies at min_position, waited for together (one wait's bound, not two).
    let personal = user_id.clone().filter(|_| request.sort == Sort::Relevance);
    let profile_ready = async {
        match personal {
            Some(_) => super::recommendations::await_model(&state, min_position).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(await_position(&state, min_position), profile_ready)?;
    if let Some(user_id) = &personal {
        personalise(&state, &mut request, user_id);
    }
    let (limit, offset) = (request.limit, request.offset);
    let query = request.q.clone();
    let results = run(&state.search.projection, request).await?;
    if !query.trim().is_empty() {
        state.search.recorder.record_in_background(
            ActivityEvent::SearchPerformed {
                user_id,
                query,
                hits: results.total,
            },
            principal.actor(),
        );
    }
    Ok(Json(SearchAnswer {
        total: results.total,
        hits: results.hits,
        facets: results.facets,
        suggestions: results.suggestions,
        limit,
        offset,
        position: results.position,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the shopper has typed so far: at most 10 words (and 200 characters).
    pub prefix: String,
    /// 1 to 10, default 10.
    pub limit: Option<usize>,
    /// Wait (up to 2 s) until the suggestions reflect this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestAnswer {
    /// Popular queries first, then product titles.
    #[schema(value_type = Vec<Object>)]
    pub suggestions: Vec<Suggestion>,
    pub position: i64,
}

/// Autocomplete from popular queries and product titles; a prefix of more than 10
/// words is answered 422.
#[utoipa::path(get, path = "/v1/search/suggest", tag = "queries",
    params(SuggestParams),
    responses(
        (status = 200, body = SuggestAnswer),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`prefix` is empty, too long or has more than 10 words", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suggestions(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<SuggestParams>,
) -> Result<Json<SuggestAnswer>, Problem> {
    let limit = params.limit.unwrap_or(MAX_SUGGESTIONS);
    let mut errors = Vec::new();
    if params.prefix.chars().any(char::is_control) {
        errors.push(field_error(
            "prefix",
            "must not hold control characters".into(),
        ));
    } else if params.prefix.trim().is_empty() || params.prefix.chars().count() > MAX_QUERY {
        errors.push(field_error(
            "prefix",
            format!("from 1 to {MAX_QUERY} characters"),
        ));
    } else if too_many_words(&params.prefix) {
        errors.push(field_error(
            "prefix",
            format!("at most {MAX_QUERY_WORDS} words"),
        ));
    }
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        errors.push(field_error("limit", format!("from 1 to {MAX_SUGGESTIONS}")));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    await_position(&state, params.min_position).await?;
    let view = state.search.projection.view();
    let suggestions = {
        let signals = view
            .signals
            .read()
            .map_err(|_| Problem::unavailable("search_failed", "suggestions are unavailable"))?;
        suggest(&signals, &params.prefix, limit)
    };
    Ok(Json(SuggestAnswer {
        suggestions,
        position: view.position,
    }))
}
