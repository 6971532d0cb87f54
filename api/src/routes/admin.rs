//! Admin: projection rebuilds and the manual clock.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use commands::AppClock;
use projections::runtime::ProjectionError;
use std::sync::Arc;

use projections::{ProjectionHandle, RebuildStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::problem::{Body, PathParams, Problem};

/// The projections that can be rebuilt.
pub const PROJECTIONS: &[&str] = &[
    "availability",
    "open_holds",
    "listings",
    "search",
    "recommendations",
    "delivery",
    "replenishment",
];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectionState {
    pub name: String,
    /// Position the live copy reflects.
    pub position: i64,
    /// Last committed log position.
    pub head: i64,
    /// The last or current rebuild: `state` (idle, running, done, failed), the
    /// `generation` it fills, the `position` it reached of the `target` (the head when
    /// it started), `events_applied`, `started_at`, `finished_at`, `error`.
    #[schema(value_type = Object)]
    pub rebuild: RebuildStatus,
}

fn find(state: &AppState, name: &str) -> Result<Arc<dyn ProjectionHandle>, Problem> {
    state
        .projections
        .iter()
        .find(|p| p.name() == name)
        .cloned()
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no projection '{name}'; there are: {}",
                PROJECTIONS.join(", ")
            ))
        })
}

fn projection_state(state: &AppState, projection: &dyn ProjectionHandle) -> ProjectionState {
    ProjectionState {
        name: projection.name().to_string(),
        position: projection.position(),
        head: state.commands.store().last_committed(),
        rebuild: projection.rebuild_status(),
    }
}

/// Where a projection stands, and its last or current rebuild.
#[utoipa::path(get, path = "/v1/admin/projections/{name}", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = ProjectionState), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn projection(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<Json<ProjectionState>, Problem> {
    let projection = find(&state, &name)?;
    Ok(Json(projection_state(&state, projection.as_ref())))
}

/// Rebuild a projection from the log into a fresh copy, swapped in when caught up.
/// Queries keep being answered from the old copy meanwhile.
#[utoipa::path(post, path = "/v1/admin/projections/{name}/rebuild", tag = "admin",
    params(("name" = String, Path)),
    responses(
        (status = 202, description = "Rebuild started", body = ProjectionState),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A rebuild is already running", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rebuild(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<(StatusCode, Json<ProjectionState>), Problem> {
    let projection = find(&state, &name)?;
    match projection.start_rebuild() {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            Json(projection_state(&state, projection.as_ref())),
        )),
        Err(ProjectionError::RebuildRunning) => Err(Problem::new(
            StatusCode::CONFLICT,
            "rebuild_running",
            "a rebuild of this projection is already running",
        )),
        Err(other) => Err(Problem::unavailable("rebuild_failed", other.to_string())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Seconds to move the manual clock forward, 0 to 31,536,000 (a year).
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub seconds: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockAdvanced {
    pub now: DateTime<Utc>,
    /// Log position after the holds that ran out were released.
    pub position: i64,
}

/// Move the manual clock forward (only with `--clock manual`) and release what ran out.
#[utoipa::path(post, path = "/v1/admin/clock/advance", tag = "admin",
    request_body = AdvanceClock,
    responses(
        (status = 200, body = ClockAdvanced),
        (status = 409, description = "The server runs on the system clock", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn advance_clock(
    State(state): State<AppState>,
    _headers: HeaderMap,
    Body(body): Body<AdvanceClock>,
) -> Result<Json<ClockAdvanced>, Problem> {
    let AppClock::Manual(clock) = state.commands.clock() else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "system_clock",
            "this server runs on the system clock; start it with --clock manual to advance time",
        ));
    };
    if body.seconds > 31_536_000 {
        return Err(Problem::invalid(vec![domain::FieldError {
            field: "seconds".into(),
            message: "must be from 0 to 31536000".into(),
        }]));
    }
    let Some(now) = clock.advance(chrono::Duration::seconds(body.seconds.into())) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "clock_overflow",
            "the manual clock cannot go that far",
        ));
    };
    // Holds taken by other processes reach the sweep through the open-holds read
    // model: bring it up to date first.
    let head = state.commands.store().last_committed();
    let _ = state
        .open_holds
        .wait_for(head, crate::routes::MIN_POSITION_WAIT)
        .await;
    if let Ok(due) = projections::open_holds::next_expiries(state.open_holds.db()).await {
        commands::expiry::schedule_known(&state.commands, due);
    }
    let position = commands::expiry::sweep(&state.commands)
        .await
        .map_err(Problem::from)?;
    Ok(Json(ClockAdvanced { now, position }))
}

/// One event the order process set aside.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedBody {
    /// The event's log position (what `retry` takes).
    pub position: i64,
    pub event_type: String,
    pub order_id: String,
    /// Why the process could not act on it.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedList {
    pub parked: Vec<ParkedBody>,
}

fn parked_body(parked: &domain::Parked) -> ParkedBody {
    ParkedBody {
        position: parked.position,
        event_type: parked.event_type.clone(),
        order_id: parked.aggregate_id.clone(),
        reason: parked.reason.clone(),
    }
}

/// The order events the order process parked (could not act on for a reason other
/// than the infrastructure), oldest first. Admin only.
#[utoipa::path(get, path = "/v1/admin/processes/order/parked", tag = "admin",
    responses((status = 200, body = ParkedList)))]
pub async fn parked(State(state): State<AppState>) -> Result<Json<ParkedList>, Problem> {
    let parked = state
        .commands
        .parked_order_events()
        .await
        .map_err(Problem::from)?;
    Ok(Json(ParkedList {
        parked: parked.parked.values().map(parked_body).collect(),
    }))
}

/// Act on a parked order event again (after fixing what made it fail): 200 and it
/// is no longer parked, or 409 with the new reason (it stays parked). Admin only.
#[utoipa::path(post, path = "/v1/admin/processes/order/parked/{position}/retry", tag = "admin",
    params(("position" = i64, Path)),
    responses(
        (status = 200, body = ParkedList, description = "Done; what is still parked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It failed again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_parked(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Extension(principal): axum::Extension<crate::auth::Principal>,
    PathParams(position): PathParams<i64>,
) -> Result<Json<ParkedList>, Problem> {
    let metadata = state.metadata(&headers, &principal);
    let outcome = state
        .commands
        .retry_parked_order_event(position, state.planner.as_ref(), &metadata)
        .await
        .map_err(Problem::from)?;
    if let Err(reason) = outcome {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "still_failing",
            format!("the event failed again: {reason}"),
        )
        .with("position", position));
    }
    parked(State(state)).await
}
