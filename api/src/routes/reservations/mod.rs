//! `/v1/reservations`: hold several lines for a buyer, all or nothing, then confirm
//! (sell) or release them. Holds run out at the reservation's end by themselves.

use crate::routes::metered_read;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use commands::reservations::{ReservationAnswer, ReserveRequest};
use domain::reservation::status_name;
use domain::validate::Validator;
use domain::{FieldError, Reservation, ReservationStatus};
use event_schemas::{Destination, ReservationLine};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::long_poll::{self, Look, Statuses, WaitParams};
use super::{metered, AppState, Limits};
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{optional_json, Body, PathParams, Problem, QueryParams};

mod bodies;

pub use bodies::*;

/// How long a reservation holds when the request does not say.
pub const DEFAULT_TTL_SECONDS: u32 = 15 * 60;
/// The longest a reservation may hold unless configured otherwise.
pub const MAX_TTL_SECONDS: u32 = 24 * 60 * 60;

fn buyer_of(principal: &Principal) -> Option<String> {
    match principal {
        Principal::Buyer { subject } => Some(subject.clone()),
        _ => None,
    }
}

/// A buyer sees only their own reservations; others are not there for them.
fn visible(reservation: &Reservation, principal: &Principal) -> Result<(), Problem> {
    principal.must_see(reservation.buyer.as_deref(), "reservation")
}

/// Reservations a process made (an order's, a late payment's) are the process's
/// alone: through these routes they are not there for anyone. An order's is read at
/// `GET /v1/orders/{id}/reservation`.
fn client_owned(id: &str) -> Result<(), Problem> {
    if domain::ids::is_derived(id) {
        return Err(Problem::not_found("there is no such reservation"));
    }
    Ok(())
}

/// Who may sell a reservation's units without a payment: the shop's backend (a key
/// with `orders:write`) for the reservations it made itself, and the operator. A
/// buyer's units are sold by paying for an order, never by confirming.
fn may_confirm(reservation: &Reservation, principal: &Principal) -> Result<(), Problem> {
    match principal {
        Principal::Development | Principal::Master => Ok(()),
        Principal::Key { .. }
            if reservation.created_by.as_deref() == Some(principal.actor().as_str()) =>
        {
            Ok(())
        }
        Principal::Key { .. } => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not_your_reservation",
            "a key may confirm only the reservations it made",
        )),
        Principal::Buyer { .. } | Principal::Host { .. } => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "buyers_cannot_confirm",
            "a buyer's units are sold when its order is paid; a reservation is confirmed by the shop's backend",
        )),
    }
}

/// Hold every line, or none (409 with what each short line had available).
#[utoipa::path(post, path = "/v1/reservations", tag = "commands",
    request_body = ReserveBody,
    responses(
        (status = 201, body = ReservationBody),
        (status = 200, description = "The same request again", body = ReservationBody),
        (status = 409, description = "Some line could not be held: `lines` says what was available", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reserve(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(request): Body<ReserveBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<ReservationBody>)>, Problem> {
    // What identifies the request for its Idempotency-Key: the request as sent.
    let fingerprint = serde_json::to_value(&request).unwrap_or_default();
    let buyer = buyer_of(&principal).map(|buyer| (buyer, state.limits.buyer));
    let now = state.commands.clock().now();
    let mut reserve = request.into_request(&state.limits, buyer, now)?;
    if reserve.reservation_id.is_empty() {
        reserve.reservation_id = idempotency::generated_id(&principal, &headers, "reservation")?;
    }
    let metadata = state.metadata(&headers, &principal);
    // Placing the lines runs inside the keyed command, so a retry with the same key
    // gets the first answer even when the stock has moved since.
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "reserve",
        &fingerprint,
        |keyed| async {
            let planner = state.planner.as_ref();
            state
                .commands
                .reserve_request(reserve.clone(), planner, &metadata, keyed)
                .await
        },
    )
    .await?;
    let replayed = matches!(executed, Executed::Replayed(_));
    let (answer, explanation) = match executed {
        Executed::Fresh(answer) => answer,
        Executed::Replayed(receipt) => (replayed_answer(&receipt)?, None),
    };
    let id = answer.reservation.reservation_id.clone();
    let reservation = &answer.reservation;
    if reservation.status == ReservationStatus::Failed {
        let shortages = serde_json::to_value(&reservation.shortages).unwrap_or_default();
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "insufficient_stock",
            "some lines could not be held; nothing is held",
        )
        .with("reservation_id", id)
        .with("lines", shortages)
        .with("position", answer.position));
    }
    let status = if answer.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut answer_body = body(&answer, now);
    answer_body.explanation = explanation;
    Ok(MaybeReplayed((status, Json(answer_body)), replayed))
}

/// A reservation as it stands; with `wait_for_status`, answers once it reaches one
/// of them, a final status, or `timeout_ms` (the order process holds and releases an
/// order's reservation after the request that caused it).
#[utoipa::path(get, path = "/v1/reservations/{id}", tag = "queries",
    params(("id" = String, Path), WaitParams),
    responses((status = 200, body = ReservationBody), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(id): PathParams<String>,
    QueryParams(wait): QueryParams<WaitParams>,
) -> Result<Json<ReservationBody>, Problem> {
    client_owned(&id)?;
    let reservation = look_until_status(&state, &wait, &id, || async {
        let answer = state.commands.reservation(&id).await?;
        visible(&answer.reservation, &principal)
            .map_err(|_| commands::CommandError::Refused(unknown_reservation()))?;
        Ok(answer)
    })
    .await?;
    Ok(Json(reservation))
}

fn unknown_reservation() -> domain::DomainError {
    domain::DomainError::new(
        domain::ErrorKind::NotFound,
        domain::Refusal::UnknownReservation,
        "there is no such reservation",
    )
}

/// Every status a reservation can be in.
const STATUSES: Statuses = Statuses(&[
    "requested",
    "held",
    "failed",
    "confirmed",
    "released",
    "expired",
]);

/// Read reservation `id` with `read`, waiting as `wait` asks for one of its statuses.
pub(crate) async fn look_until_status<F, Fut>(
    state: &AppState,
    wait: &WaitParams,
    id: &str,
    read: F,
) -> Result<ReservationBody, Problem>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<ReservationAnswer, commands::CommandError>>,
{
    let changes = state.commands.reservation_changes(id);
    long_poll::until_status(state, wait, &STATUSES, changes, || async {
        let answer = metered_read("reservation", read()).await?;
        let now = state.commands.clock().now();
        let status = answer.reservation.status_at(now);
        // A held reservation turns expired at its end without a commit of its own.
        let changes_at = matches!(
            status,
            ReservationStatus::Held | ReservationStatus::Requested
        )
        .then_some(answer.reservation.expires_at)
        .flatten();
        Ok(Look {
            status: status_name(status),
            last: status.is_final(),
            changes_at,
            answer: body(&answer, now),
        })
    })
    .await
}

/// Sell the held units.
#[utoipa::path(post, path = "/v1/reservations/{id}/confirm", tag = "commands",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReservationBody),
        (status = 409, description = "Not held, or its holds ran out", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Json<ReservationBody>, Problem> {
    client_owned(&id)?;
    let current = metered_read("reservation", state.commands.reservation(&id)).await?;
    visible(&current.reservation, &principal)?;
    may_confirm(&current.reservation, &principal)?;
    let metadata = state.metadata(&headers, &principal);
    let answer = metered(
        "confirm_reservation",
        state.commands.confirm_reservation(&id, &metadata),
    )
    .await?;
    Ok(Json(body(&answer, state.commands.clock().now())))
}

/// The answer a stored receipt of a reservation command holds.
fn replayed_answer(receipt: &commands::StoredReceipt) -> Result<ReservationAnswer, Problem> {
    let (_, reservation): (usize, Reservation) = stored_answer(receipt)?;
    Ok(ReservationAnswer {
        reservation,
        position: receipt.position,
        changed: true,
    })
}

/// Hold longer, for instance while a payment is in flight.
#[utoipa::path(post, path = "/v1/reservations/{id}/extend", tag = "commands",
    params(("id" = String, Path)),
    request_body = ExtendBody,
    responses(
        (status = 200, body = ReservationBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held, or its holds ran out", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn extend(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    Body(request): Body<ExtendBody>,
) -> Result<MaybeReplayed<Json<ReservationBody>>, Problem> {
    let max_ttl = state.limits.max_ttl_seconds;
    if request.ttl_seconds == 0 || request.ttl_seconds > max_ttl {
        return Err(Problem::invalid(vec![FieldError {
            field: "ttl_seconds".into(),
            message: format!("must be from 1 to {max_ttl}"),
        }]));
    }
    client_owned(&id)?;
    let current = metered_read("reservation", state.commands.reservation(&id)).await?;
    visible(&current.reservation, &principal)?;
    let now = state.commands.clock().now();
    let expires_at = now + chrono::Duration::seconds(request.ttl_seconds.into());
    let buyer = buyer_of(&principal);
    let metadata = state.metadata(&headers, &principal);
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "extend_reservation",
        &(&id, request.ttl_seconds),
        |keyed| async {
            match &buyer {
                Some(buyer) => {
                    state
                        .commands
                        .extend_as_buyer(
                            &id,
                            buyer,
                            expires_at,
                            state.limits.buyer,
                            &metadata,
                            keyed,
                        )
                        .await
                }
                None => {
                    state
                        .commands
                        .extend_reservation(&id, expires_at, &metadata, keyed)
                        .await
                }
            }
        },
    )
    .await?;
    let (answer, replayed) = match executed {
        Executed::Fresh(answer) => (answer, false),
        Executed::Replayed(receipt) => (replayed_answer(&receipt)?, true),
    };
    Ok(MaybeReplayed(Json(body(&answer, now)), replayed))
}

/// Let every hold go.
#[utoipa::path(post, path = "/v1/reservations/{id}/release", tag = "commands",
    params(("id" = String, Path)),
    request_body(content = ReleaseBody, description = "Optional"),
    responses(
        (status = 200, body = ReservationBody),
        (status = 409, description = "Already confirmed", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn release(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    raw: axum::body::Bytes,
) -> Result<Json<ReservationBody>, Problem> {
    let request: ReleaseBody = optional_json(&raw)?;
    client_owned(&id)?;
    let current = metered_read("reservation", state.commands.reservation(&id)).await?;
    visible(&current.reservation, &principal)?;
    let metadata = state.metadata(&headers, &principal);
    let reason = request.reason.unwrap_or_else(|| "released".into());
    let answer = metered(
        "release_reservation",
        state.commands.release_reservation(&id, &reason, &metadata),
    )
    .await?;
    Ok(Json(body(&answer, state.commands.clock().now())))
}
