//! Operations: liveness, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::problem::Problem;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `degraded` while an alarm is raised (the process still serves).
    pub status: &'static str,
    /// What is wrong: `stay_double_booking` when the booked-nights projection found
    /// a night recorded for two stays (`GET /v1/admin/stays/double-bookings`).
    pub alarms: Vec<&'static str>,
    pub database: &'static str,
    /// Last committed log position.
    pub head: i64,
    /// Position the availability projection reflects.
    pub availability_position: i64,
    /// `all`, `command` or `query`.
    #[schema(value_type = String)]
    pub role: crate::node::NodeRole,
    /// The relay to NATS (command nodes) or the copy of the log taken from it
    /// (query nodes), when this node has one. Raises `relay_failing` or
    /// `copy_failing` while either is failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<crate::node::BusReadiness>,
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, Problem> {
    let store = state.commands.store();
    let head = store.head_position().await.map_err(Problem::from)?;
    let mut alarms = Vec::new();
    let double_bookings = projections::stay_nights::double_bookings(store.database())
        .await
        .map_err(|e| Problem::unavailable("storage_unavailable", e.to_string()))?;
    metrics::gauge!("stay_double_booked_nights").set(double_bookings.len() as f64);
    if !double_bookings.is_empty() {
        alarms.push("stay_double_booking");
    }
    let (bus, bus_alarms) = state.node.readiness();
    alarms.extend(bus_alarms);
    Ok(Json(Readiness {
        status: if alarms.is_empty() {
            "ready"
        } else {
            "degraded"
        },
        alarms,
        database: store.database().backend_name(),
        head,
        availability_position: state.live_availability.position(),
        role: state.node.role,
        bus,
    }))
}

/// Prometheus metrics: commands by type and outcome, command latency, projection lag.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain",
    body = String, example = json!("commands_total{command=\"receive\",outcome=\"accepted\"} 1\n"))))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let lag = (state.commands.store().last_committed() - state.availability.position()).max(0);
    metrics::gauge!("projection_lag_events", "projection" => "availability").set(lag as f64);
    // What hostile traffic could grow, so an operator sees it stay bounded.
    if let admission::Admission::Local(admission) = &state.flash.admission {
        let sizes = admission.sizes();
        for (kind, size) in [
            ("tickets", sizes.tickets),
            ("buyer_tickets", sizes.buyer_tickets),
            ("buyer_limiter", sizes.buyer_limiter),
            ("address_limiter", sizes.address_limiter),
        ] {
            metrics::gauge!("flash_admission_entries", "kind" => kind).set(size as f64);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "This document", content_type = "application/json",
        body = Object, example = json!({"openapi": "3.1.0", "info": {"title": "commerce"}, "paths": {}}))))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    // The document depends only on the code, the mode and the clock: made once for
    // each (tests run servers of several kinds in one process), served as the same bytes.
    static DOCUMENTS: [std::sync::OnceLock<Vec<u8>>; 4] = [const { std::sync::OnceLock::new() }; 4];
    let development = state.auth.environment == crate::auth::Environment::Development;
    let manual_clock = matches!(state.commands.clock(), commands::AppClock::Manual(_));
    let kind = usize::from(development) * 2 + usize::from(manual_clock);
    let bytes = DOCUMENTS[kind].get_or_init(|| {
        serde_json::to_vec(&crate::openapi::served(development, manual_clock))
            .expect("the document is JSON")
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        bytes.as_slice(),
    )
}
