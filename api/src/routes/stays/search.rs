//! `GET /v1/stays/search` — listings free for every night of a stay, ranked by the
//! weighted sum of quality, relevance, personalisation, price and availability,
//! each hit with its total price and the breakdown of its score — and a listing's
//! page. Each search is recorded in the background with what it showed, so
//! `commerce eval stays` can measure the ranking against the bookings that follow.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::NaiveDate;
use domain::validate::Validator;
use event_schemas::stays::StayQuery;
use event_schemas::StaySearchEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::auth::{profile_owner, Principal};
use crate::problem::{PathParams, Problem, QueryParams};

/// Widest search radius, in km.
const MAX_RADIUS_KM: f64 = 100.0;
/// Deepest page reachable with `offset`.
const MAX_OFFSET: usize = 1_000;
/// Amenities one search may ask for.
const MAX_AMENITIES: usize = 20;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaySearchParams {
    #[param(example = 52.52)]
    pub lat: f64,
    #[param(example = 13.405)]
    pub lon: f64,
    /// Above 0, at most 100; default 25.
    pub radius_km: Option<f64>,
    /// The first night, a local date of each listing.
    #[param(value_type = String, example = "2027-07-01")]
    pub check_in: NaiveDate,
    #[param(value_type = String, example = "2027-07-04")]
    pub check_out: NaiveDate,
    /// Default 1.
    pub guests: Option<u32>,
    /// Highest average nightly price, in minor units.
    pub price_max: Option<u64>,
    /// Comma-separated; a listing must have all of them.
    pub amenities: Option<String>,
    pub property_type: Option<String>,
    /// Words that should appear in the title or description.
    pub q: Option<String>,
    /// Personalise for this guest (see product search for who may name one).
    pub user_id: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Wait (up to 2 s) until the model reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaySearchAnswer {
    /// Name it when booking (`search_id`), so the ranking can be evaluated.
    pub search_id: String,
    /// Listings that passed every filter.
    pub total: usize,
    /// Each with its total price for the stay, its score and every component's
    /// weight, value, contribution and inputs.
    #[schema(value_type = Vec<Object>)]
    pub hits: Vec<::stays::search::Hit>,
    /// The log position the search was ranked at.
    pub position: i64,
}

/// Search stays.
#[utoipa::path(get, path = "/v1/stays/search", tag = "stays",
    params(StaySearchParams),
    responses(
        (status = 200, body = StaySearchAnswer),
        (status = 403, description = "Personalising for another shopper", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryParams(params): QueryParams<StaySearchParams>,
) -> Result<Json<StaySearchAnswer>, Problem> {
    let user_id = profile_owner(&principal, params.user_id.clone())?;
    let radius_km = params.radius_km.unwrap_or(25.0);
    let guests = params.guests.unwrap_or(1);
    let limit = params.limit.unwrap_or(20);
    let offset = params.offset.unwrap_or(0);
    let amenities: Vec<String> = params
        .amenities
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let mut v = Validator::new();
    v.geo("", params.lat, params.lon);
    v.check(
        radius_km > 0.0 && radius_km <= MAX_RADIUS_KM,
        "radius_km",
        "must be above 0 and at most 100",
    );
    v.check(
        params.check_in < params.check_out,
        "check_out",
        "must be after check_in",
    );
    v.check(
        (params.check_out - params.check_in).num_days()
            <= i64::from(domain::stays::MAX_STAY_NIGHTS),
        "check_out",
        "a stay is at most 365 nights",
    );
    // Within the calendars' reach: dates outside it match nothing and, recorded as
    // demand, would only take memory.
    let today = state.commands.clock().now().date_naive();
    v.check(
        params.check_in >= today - chrono::Duration::days(1),
        "check_in",
        "must not lie before yesterday",
    );
    v.check(
        params.check_out <= today + chrono::Duration::days(domain::stays::HORIZON_DAYS + 1),
        "check_out",
        "must lie within the two-year calendar horizon",
    );
    v.check(
        (1..=domain::stays::MAX_CAPACITY).contains(&guests),
        "guests",
        "must be from 1 to 50",
    );
    v.check((1..=100).contains(&limit), "limit", "must be from 1 to 100");
    v.check(offset <= MAX_OFFSET, "offset", "must be at most 1000");
    v.check(
        amenities.len() <= MAX_AMENITIES,
        "amenities",
        "names more than 20 amenities",
    );
    for amenity in &amenities {
        v.id("amenities", amenity);
    }
    if let Some(property_type) = &params.property_type {
        v.id("property_type", property_type);
    }
    if let Some(q) = &params.q {
        v.text("q", q);
    }
    if let Some(user) = &user_id {
        v.id("user_id", user);
    }
    v.finish().map_err(Problem::from)?;
    super::await_stays(&state, params.min_position).await?;
    let query = StayQuery {
        lat: params.lat,
        lon: params.lon,
        radius_km,
        check_in: params.check_in,
        check_out: params.check_out,
        guests,
        price_max: params.price_max,
        amenities,
        property_type: params.property_type,
        text: params.q,
    };
    let request = ::stays::search::SearchRequest {
        query: query.clone(),
        user_id: user_id.clone(),
        limit,
        offset,
        weights: None,
    };
    let (found, position) = state.stays.live.read(|model| model.search(&request));
    let search_id = uuid::Uuid::now_v7().to_string();
    state.stays.recorder.record_in_background(
        StaySearchEvent::StaySearchPerformed {
            search_id: search_id.clone(),
            user_id,
            query,
            shown: found
                .hits
                .iter()
                .map(|hit| hit.listing_id.clone())
                .collect(),
            ranked_at: position,
        },
        principal.actor(),
    );
    Ok(Json(StaySearchAnswer {
        search_id,
        total: found.total,
        hits: found.hits,
        position,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListingParams {
    /// The guest looking (recorded as a view, for personalisation); see product
    /// search for who may name one.
    pub user_id: Option<String>,
    /// Wait (up to 2 s) until the model reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListingPage {
    #[schema(value_type = Object)]
    pub listing: ::stays::model::ListingSummary,
    pub position: i64,
}

/// A listing's page: its details, rating, host response and cancellation rates.
/// Flagged, unlisted and removed listings are not found (but by an admin).
#[utoipa::path(get, path = "/v1/stays/{listing_id}", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ListingParams),
    responses(
        (status = 200, body = ListingPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn listing(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(listing_id): PathParams<String>,
    QueryParams(params): QueryParams<ListingParams>,
) -> Result<Json<ListingPage>, Problem> {
    let user_id = profile_owner(&principal, params.user_id.clone())?;
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    if let Some(user) = &user_id {
        v.id("user_id", user);
    }
    v.finish().map_err(Problem::from)?;
    super::await_stays(&state, params.min_position).await?;
    let (found, position) = state.stays.live.read(|model| model.listing(&listing_id));
    let operator = matches!(principal, Principal::Master | Principal::Development)
        || matches!(&principal, Principal::Key { scopes, .. } if scopes.iter().any(|s| s == "admin"));
    let listing = found
        .filter(|listing| listing.status == "active" || operator)
        .ok_or_else(|| Problem::not_found("there is no such listing"))?;
    if let Some(user_id) = user_id {
        state.stays.recorder.record_in_background(
            StaySearchEvent::ListingViewed {
                user_id,
                listing_id,
            },
            principal.actor(),
        );
    }
    Ok(Json(ListingPage { listing, position }))
}
