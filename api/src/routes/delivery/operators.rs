//! What operators and couriers' apps tell the pricing model: a city's policy and its
//! emergencies, weather, local events (`delivery:write`), and couriers going online,
//! moving and going offline (`couriers:write`). Each answers the position of its
//! event, to read it back with `min_position`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveTime, Utc, Weekday};
use domain::validate::Validator;
use domain::{CityCommand, CityPolicy, CityView};
use event_schemas::delivery::WeatherCondition;
use event_schemas::{DeliveryFeedEvent, DeliveryPolicy, GeoPoint, RushWindow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::warehouses::LocationBody;
use super::AppState;
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{Body, PathParams, Problem};

/// Zones one weather report names at most.
const MAX_WEATHER_CELLS: usize = 1_000;
/// The longest span a weather report or a local event covers.
const MAX_SPAN_DAYS: i64 = 7;
/// The widest a local event reaches, in km.
const MAX_EVENT_RADIUS_KM: f64 = 50.0;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RushWindowBody {
    /// `mon` ... `sun`; none: every day.
    #[serde(default)]
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub days: Vec<String>,
    /// Local time, `HH:MM`.
    #[schema(example = "17:00")]
    pub from: String,
    /// Local time, `HH:MM`, exclusive; before `from`: the window runs past midnight.
    #[schema(example = "19:00")]
    pub until: String,
}

/// A city's delivery pricing (amounts in its currency's minor units).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CityBody {
    #[schema(example = "berlin")]
    pub city_id: String,
    /// IANA time zone: rush hours and days are local.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    pub center: LocationBody,
    /// Zones whose centre is this close to the centre are the city's.
    #[schema(example = 25.0)]
    pub radius_km: f64,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = 199)]
    pub base_fee: u64,
    #[schema(example = 50)]
    pub per_km: u64,
    #[schema(example = 199)]
    pub floor: u64,
    #[schema(example = 1500)]
    pub ceiling: u64,
    /// No combined multiplier is above this (1 to 5).
    #[schema(example = 2.5)]
    pub multiplier_cap: f64,
    /// Orders worth at least this are delivered free.
    #[schema(example = 5000)]
    pub free_delivery_from: Option<u64>,
    #[serde(default)]
    #[schema(max_items = 16)]
    pub rush_hours: Vec<RushWindowBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CityAnswer {
    pub city_id: String,
    /// Whether an emergency is declared there now.
    pub emergency: bool,
    /// False when nothing changed (the same policy again, an emergency already
    /// declared or already ended).
    pub changed: bool,
    pub position: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyBody {
    #[schema(example = "Blizzard warning")]
    pub reason: String,
}

pub(crate) fn parse_days(v: &mut Validator, field: &str, days: &[String]) -> Vec<Weekday> {
    let mut parsed = Vec::new();
    if days.len() > 7 {
        v.fail(field, "lists more than seven days");
        return parsed;
    }
    for (i, day) in days.iter().enumerate() {
        match day.parse::<Weekday>() {
            Ok(day) if !parsed.contains(&day) => parsed.push(day),
            Ok(_) => v.fail(&format!("{field}[{i}]"), "names a day twice"),
            Err(_) => v.fail(
                &format!("{field}[{i}]"),
                "must be mon, tue, wed, thu, fri, sat or sun",
            ),
        }
    }
    parsed
}

pub(crate) fn parse_time(v: &mut Validator, field: &str, text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").unwrap_or_else(|_| {
        v.fail(field, "must be a local time as HH:MM");
        NaiveTime::MIN
    })
}

fn city_policy(body: CityBody) -> Result<CityPolicy, Problem> {
    let mut v = Validator::new();
    if body.rush_hours.len() > domain::city::MAX_RUSH_WINDOWS {
        v.fail("rush_hours", "lists more than 16 windows");
    }
    let rush_hours = body
        .rush_hours
        .iter()
        .take(domain::city::MAX_RUSH_WINDOWS)
        .enumerate()
        .map(|(i, w)| RushWindow {
            days: parse_days(&mut v, &format!("rush_hours[{i}].days"), &w.days),
            from: parse_time(&mut v, &format!("rush_hours[{i}].from"), &w.from),
            until: parse_time(&mut v, &format!("rush_hours[{i}].until"), &w.until),
        })
        .collect();
    v.finish().map_err(Problem::from)?;
    Ok(CityPolicy {
        city_id: body.city_id,
        time_zone: body.time_zone,
        center: GeoPoint {
            lat: body.center.lat,
            lon: body.center.lon,
        },
        radius_km: body.radius_km,
        policy: DeliveryPolicy {
            currency: body.currency,
            base_fee: body.base_fee,
            per_km: body.per_km,
            floor: body.floor,
            ceiling: body.ceiling,
            multiplier_cap: body.multiplier_cap,
            free_delivery_from: body.free_delivery_from,
        },
        rush_hours,
    })
}

/// Run a city command (keyed, when the request sent an `Idempotency-Key`).
async fn city_command(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    name: &'static str,
    command: CityCommand,
) -> Result<MaybeReplayed<(StatusCode, Json<CityAnswer>)>, Problem> {
    let city_id = command.city_id().to_string();
    let metadata = state.metadata(headers, principal);
    let executed = idempotency::run(state, principal, headers, name, &command, |keyed| {
        state
            .commands
            .handle_city(command.clone(), &metadata, keyed)
    })
    .await?;
    let (events, view, position, replayed) = match executed {
        Executed::Fresh((outcome, view)) => (outcome.events, view, outcome.position, false),
        Executed::Replayed(receipt) => {
            let (events, view): (usize, CityView) = stored_answer(&receipt)?;
            (events, view, receipt.position, true)
        }
    };
    let answer = CityAnswer {
        city_id,
        emergency: view.emergency,
        changed: events > 0,
        position,
    };
    Ok(MaybeReplayed((StatusCode::OK, Json(answer)), replayed))
}

/// Set a city's delivery pricing: where it is, its time zone, fees, caps and rush
/// hours. Setting the same policy again changes nothing.
#[utoipa::path(post, path = "/v1/delivery/cities", tag = "commands",
    request_body = CityBody,
    responses(
        (status = 200, body = CityAnswer),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_city(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<CityBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<CityAnswer>)>, Problem> {
    let command = CityCommand::SetPolicy(city_policy(body)?);
    city_command(&state, &principal, &headers, "set_city_policy", command).await
}

/// Declare an emergency in a city: from the answer's position on, every quote there
/// obeys the emergency cap (the 4th-highest multiplier charged on different days in
/// the preceding 60 days). Quotes issued before keep their fee until they expire.
#[utoipa::path(post, path = "/v1/delivery/cities/{city_id}/emergency", tag = "commands",
    params(("city_id" = String, Path, description = "The city")),
    request_body = EmergencyBody,
    responses(
        (status = 200, body = CityAnswer),
        (status = 404, description = "The city has no pricing policy", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn declare_emergency(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(city_id): PathParams<String>,
    Body(body): Body<EmergencyBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<CityAnswer>)>, Problem> {
    let command = CityCommand::DeclareEmergency {
        city_id,
        reason: body.reason,
    };
    city_command(&state, &principal, &headers, "declare_emergency", command).await
}

/// End a city's emergency.
#[utoipa::path(delete, path = "/v1/delivery/cities/{city_id}/emergency", tag = "commands",
    params(("city_id" = String, Path, description = "The city")),
    responses(
        (status = 200, body = CityAnswer),
        (status = 404, description = "The city has no pricing policy", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_emergency(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(city_id): PathParams<String>,
) -> Result<MaybeReplayed<(StatusCode, Json<CityAnswer>)>, Problem> {
    let mut v = Validator::new();
    v.id("city_id", &city_id);
    v.finish().map_err(Problem::from)?;
    let command = CityCommand::EndEmergency { city_id };
    city_command(&state, &principal, &headers, "end_emergency", command).await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    /// Log position of the event; pass it as `min_position` to read it back.
    pub position: i64,
}

/// Record a feed event (keyed, when the request sent an `Idempotency-Key`).
async fn record(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    name: &'static str,
    request: &impl Serialize,
    event: DeliveryFeedEvent,
) -> Result<MaybeReplayed<(StatusCode, Json<Recorded>)>, Problem> {
    let metadata = state.metadata(headers, principal);
    let executed = idempotency::run(state, principal, headers, name, request, |keyed| {
        state.commands.record_delivery_feed(
            event.clone(),
            &metadata,
            keyed,
            serde_json::Value::Null,
        )
    })
    .await?;
    let (position, replayed) = match executed {
        Executed::Fresh(position) => (position, false),
        Executed::Replayed(receipt) => (receipt.position, true),
    };
    Ok(MaybeReplayed(
        (StatusCode::CREATED, Json(Recorded { position })),
        replayed,
    ))
}

/// A courier's state: online (at a point: its zone is what counts) or offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CourierStatus {
    Online,
    Offline,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourierBody {
    pub status: CourierStatus,
    /// Where the courier is, when online.
    pub location: Option<LocationBody>,
}

/// A courier went online, moved to another zone, or went offline. Only the zone is
/// kept (at the configured H3 resolution), never the point: send a report when the
/// courier changes zone, not every GPS fix.
#[utoipa::path(post, path = "/v1/delivery/couriers/{courier_id}", tag = "commands",
    params(("courier_id" = String, Path, description = "The courier")),
    request_body = CourierBody,
    responses(
        (status = 201, body = Recorded),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn courier(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(courier_id): PathParams<String>,
    Body(body): Body<CourierBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<Recorded>)>, Problem> {
    // A retry is the same request even when the model has since seen the courier
    // online (and would record a move).
    let fingerprint = serde_json::json!({"courier_id": courier_id, "request": body});
    let mut v = Validator::new();
    v.id("courier_id", &courier_id);
    match (body.status, body.location) {
        (CourierStatus::Online, Some(at)) => v.geo("location.", at.lat, at.lon),
        (CourierStatus::Online, None) => v.fail("location", "an online courier is somewhere"),
        (CourierStatus::Offline, Some(_)) => {
            v.fail("location", "an offline courier is nowhere: leave it out")
        }
        (CourierStatus::Offline, None) => {}
    }
    v.finish().map_err(Problem::from)?;
    let event = match body.location {
        None => DeliveryFeedEvent::CourierWentOffline { courier_id },
        Some(at) => {
            let point = GeoPoint {
                lat: at.lat,
                lon: at.lon,
            };
            let (cell, online) = state
                .delivery
                .pricing
                .read(|zones| {
                    (
                        zones.cell_of(point),
                        zones.courier_cell(&courier_id).is_some(),
                    )
                })
                .0;
            // The point was checked above; a cell is refused all the same rather
            // than assumed.
            let mut v = Validator::new();
            v.check(cell.is_some(), "location", "is not a point on earth");
            v.finish().map_err(Problem::from)?;
            let cell = cell.map(|c| c.to_string()).unwrap_or_default();
            if online {
                DeliveryFeedEvent::CourierMoved { courier_id, cell }
            } else {
                DeliveryFeedEvent::CourierWentOnline { courier_id, cell }
            }
        }
    };
    record(
        &state,
        &principal,
        &headers,
        "courier_status",
        &fingerprint,
        event,
    )
    .await
}

/// A span of time: from before until, at most a week.
fn span(v: &mut Validator, from: DateTime<Utc>, until: DateTime<Utc>, until_field: &str) {
    v.check(until > from, until_field, "must be after the start");
    v.check(
        until - from <= chrono::Duration::days(MAX_SPAN_DAYS),
        until_field,
        "must be at most seven days after the start",
    );
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherBody {
    #[schema(example = "berlin")]
    pub city_id: String,
    /// The zones it covers (H3 cells); none: the whole city.
    #[serde(default)]
    #[schema(max_items = 1000, example = json!([]))]
    pub cells: Vec<String>,
    #[schema(value_type = String, example = "rain")]
    pub condition: WeatherCondition,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Weather in a city or some of its zones over a span of time (rain or snow raise
/// fees; a later `clear` report over the same span ends that).
#[utoipa::path(post, path = "/v1/delivery/weather", tag = "commands",
    request_body = WeatherBody,
    responses(
        (status = 201, body = Recorded),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn weather(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<WeatherBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<Recorded>)>, Problem> {
    let mut v = Validator::new();
    v.id("city_id", &body.city_id);
    v.check(
        body.cells.len() <= MAX_WEATHER_CELLS,
        "cells",
        "lists more than 1000 zones",
    );
    for (i, cell) in body.cells.iter().take(MAX_WEATHER_CELLS).enumerate() {
        v.check(
            cell.parse::<::delivery::CellIndex>().is_ok(),
            &format!("cells[{i}]"),
            "must be an H3 cell index in hexadecimal",
        );
    }
    span(&mut v, body.from, body.until, "until");
    v.finish().map_err(Problem::from)?;
    let event = DeliveryFeedEvent::WeatherObserved {
        city_id: body.city_id,
        cells: body.cells,
        condition: body.condition,
        from: body.from,
        until: body.until,
    };
    record(
        &state,
        &principal,
        &headers,
        "weather_observed",
        &event.clone(),
        event,
    )
    .await
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalEventBody {
    #[schema(example = "cup-final-2026")]
    pub event_id: String,
    #[schema(example = "Cup final")]
    pub name: String,
    pub location: LocationBody,
    /// How far around it demand rises (at most 50 km).
    #[schema(example = 1.5)]
    pub radius_km: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(example = 74000)]
    pub expected_attendance: u64,
}

/// A local event: within its radius, while it runs, fees carry the local-event
/// multiplier and forecasts expect what past events brought. Scheduling an event id
/// again replaces it.
#[utoipa::path(post, path = "/v1/delivery/local-events", tag = "commands",
    request_body = LocalEventBody,
    responses(
        (status = 201, body = Recorded),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn local_event(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<LocalEventBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<Recorded>)>, Problem> {
    let mut v = Validator::new();
    v.id("event_id", &body.event_id);
    v.text("name", &body.name);
    v.geo("location.", body.location.lat, body.location.lon);
    v.check(
        body.radius_km > 0.0 && body.radius_km <= MAX_EVENT_RADIUS_KM,
        "radius_km",
        "must be above 0 and at most 50",
    );
    v.check(
        body.expected_attendance <= 10_000_000,
        "expected_attendance",
        "must be at most 10000000",
    );
    span(&mut v, body.starts_at, body.ends_at, "ends_at");
    v.finish().map_err(Problem::from)?;
    let event = DeliveryFeedEvent::LocalEventScheduled {
        event_id: body.event_id,
        name: body.name,
        location: GeoPoint {
            lat: body.location.lat,
            lon: body.location.lon,
        },
        radius_km: body.radius_km,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        expected_attendance: body.expected_attendance,
    };
    record(
        &state,
        &principal,
        &headers,
        "local_event_scheduled",
        &event.clone(),
        event,
    )
    .await
}
