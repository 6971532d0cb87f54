//! What admins see and decide about stays (`admin`): listings screening flagged,
//! their moderation, and the double-booking alarm of the booked-nights projection.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use domain::stays::ListingView;
use domain::validate::Validator;
use domain::ListingCommand;
use event_schemas::stays::ModerationDecision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::auth::Principal;
use crate::problem::{Body, PathParams, Problem};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationBody {
    /// approved (shown again) or removed (never shown or bookable again).
    #[schema(example = "approved")]
    pub decision: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModerationAnswer {
    pub listing_id: String,
    #[schema(example = "active")]
    pub status: String,
    pub changed: bool,
    pub position: i64,
}

/// Decide about a flagged listing: approve it (shown in search again) or remove it.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/review", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    request_body = ModerationBody,
    responses(
        (status = 200, body = ModerationAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn moderate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
    Body(body): Body<ModerationBody>,
) -> Result<Json<ModerationAnswer>, Problem> {
    let decision = match body.decision.as_str() {
        "approved" => ModerationDecision::Approved,
        "removed" => ModerationDecision::Removed,
        _ => {
            return Err(Problem::invalid(vec![domain::FieldError {
                field: "decision".into(),
                message: "must be approved or removed".into(),
            }]))
        }
    };
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    v.finish().map_err(Problem::from)?;
    let metadata = state.metadata(&headers, &principal);
    let (outcome, view): (_, ListingView) = state
        .commands
        .handle_listing(
            ListingCommand::Moderate {
                listing_id: listing_id.clone(),
                decision,
            },
            &metadata,
            None,
        )
        .await
        .map_err(Problem::from)?;
    Ok(Json(ModerationAnswer {
        listing_id,
        status: serde_json::to_value(view.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        changed: outcome.events > 0,
        position: outcome.position,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlaggedAnswer {
    /// Listings awaiting a decision, with their signals.
    #[schema(value_type = Vec<Object>)]
    pub listings: Vec<::stays::model::ListingSummary>,
    pub position: i64,
}

/// Listings fraud screening flagged, awaiting an admin's decision.
#[utoipa::path(get, path = "/v1/admin/stays/flagged", tag = "admin",
    responses((status = 200, body = FlaggedAnswer)))]
pub async fn flagged(State(state): State<AppState>) -> Json<FlaggedAnswer> {
    let (listings, position) = state.stays.live.read(|model| model.flagged());
    Json(FlaggedAnswer { listings, position })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoubleBookingsAnswer {
    /// Nights two stays were recorded for: the projection stopped for each listing
    /// named here. Empty: no alarm.
    #[schema(value_type = Vec<Object>)]
    pub double_bookings: Vec<projections::stay_nights::DoubleBooking>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlarmParams {
    /// Wait (up to 2 s) until the booked-nights projection reflects this position.
    pub min_position: Option<i64>,
}

/// The double-booking alarm: nights the booked-nights projection could not give
/// to a second stay (never expected; the listing's aggregate decides every booking).
#[utoipa::path(get, path = "/v1/admin/stays/double-bookings", tag = "admin",
    params(AlarmParams),
    responses((status = 200, body = DoubleBookingsAnswer)))]
pub async fn double_bookings(
    State(state): State<AppState>,
    crate::problem::QueryParams(params): crate::problem::QueryParams<AlarmParams>,
) -> Result<Json<DoubleBookingsAnswer>, Problem> {
    if let Some(wanted) = params.min_position {
        state.known_position(wanted).await?;
        let nights = &state.stays.nights;
        nights
            .wait_for(wanted, super::super::MIN_POSITION_WAIT)
            .await
            .map_err(|stale| super::super::stale_read(stale, nights.position(), wanted))?;
    }
    let found = projections::stay_nights::double_bookings(state.commands.store().database())
        .await
        .map_err(|e| Problem::unavailable("storage_unavailable", e.to_string()))?;
    Ok(Json(DoubleBookingsAnswer {
        double_bookings: found,
    }))
}
