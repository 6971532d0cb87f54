//! `POST /v1/delivery/quotes`: a delivery fee from the pricing model, with every
//! multiplier, the rule that bound it and a sentence for the customer, sealed into a
//! `quote_id` that an order can use until it expires. A read: nothing is written
//! (the request is counted as demand in its zone, recorded once a second).

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use domain::delivery::{Binding, Multiplier};
use domain::validate::Validator;
use event_schemas::GeoPoint;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::warehouses::{LocationBody, MoneyBody};
use super::{await_pricing, AppState};
use crate::auth::Principal;
use crate::problem::{Body, Problem};

/// How far ahead a delivery may be priced.
const FURTHEST_AHEAD: Duration = Duration::hours(24);
/// `at` this far in the past still reads as now (clocks differ a little).
const CLOCK_SLACK: Duration = Duration::minutes(1);

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// Where the goods leave from: a registered warehouse within 1 km of it.
    pub pickup: Option<LocationBody>,
    /// Or the warehouse itself (then `pickup` may be left out).
    #[schema(example = "ber-1")]
    pub warehouse_id: Option<String>,
    pub dropoff: LocationBody,
    /// What the goods are worth, in the city's currency's minor units (free
    /// delivery above the city's threshold).
    #[schema(example = 2500)]
    pub order_value: u64,
    /// The moment to price (now when left out; at most 24 hours ahead).
    pub at: Option<DateTime<Utc>>,
    /// Wait (up to 2 s) until the pricing model reflects this log position.
    #[schema(minimum = 0)]
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MultiplierBody {
    /// `demand`, `weather`, `rush_hour` or `local_event`.
    #[schema(value_type = String, example = "weather")]
    pub kind: domain::delivery::MultiplierKind,
    #[schema(example = 1.3)]
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BindingBody {
    /// `global_cap`, `emergency_cap`, `floor`, `ceiling` or `free_delivery`.
    #[schema(value_type = String, example = "global_cap")]
    pub rule: domain::delivery::Rule,
    /// The multiplier (caps) or the fee (the others) before and after the rule.
    pub before: f64,
    pub after: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteAnswer {
    /// Pass it as `delivery_quote_id` with the order; valid until `expires_at`.
    pub quote_id: String,
    pub fee: MoneyBody,
    /// Base fee plus distance, before any multiplier.
    pub base: u64,
    /// Every multiplier above 1, in a fixed order.
    pub multipliers: Vec<MultiplierBody>,
    /// The multipliers together, before the caps.
    pub combined: f64,
    /// What was charged after the caps.
    pub applied: f64,
    /// The rules that bound the result, in the order they apply.
    pub bindings: Vec<BindingBody>,
    /// What the customer reads.
    #[schema(example = "Rain and high demand near you: 1.3 × 1.4, capped at 1.5")]
    pub explanation: String,
    pub city_id: String,
    /// The zone (H3 cell) of the dropoff: the order must deliver there.
    #[schema(example = "881f1d4d47fffff")]
    pub dropoff_cell: String,
    pub pickup_warehouse: String,
    pub distance_km: f64,
    /// Demand over supply in the dropoff zone, smoothed.
    pub demand_ratio: f64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The log position the price was read at (an emergency declared at or before
    /// it bounds this quote).
    pub position: i64,
}

fn multipliers(all: &[Multiplier]) -> Vec<MultiplierBody> {
    all.iter()
        .map(|m| MultiplierBody {
            kind: m.kind,
            value: m.value,
        })
        .collect()
}

fn bindings(all: &[Binding]) -> Vec<BindingBody> {
    all.iter()
        .map(|b| BindingBody {
            rule: b.rule,
            before: b.before,
            after: b.after,
        })
        .collect()
}

fn request(
    body: &QuoteBody,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<::delivery::QuoteRequest, Problem> {
    let mut v = Validator::new();
    v.geo("dropoff.", body.dropoff.lat, body.dropoff.lon);
    if let Some(pickup) = &body.pickup {
        v.geo("pickup.", pickup.lat, pickup.lon);
    }
    if let Some(id) = &body.warehouse_id {
        v.id("warehouse_id", id);
    }
    v.check(
        body.pickup.is_some() || body.warehouse_id.is_some(),
        "pickup",
        "name the pickup point or the warehouse_id",
    );
    v.check(
        body.order_value < 1_000_000_000_000,
        "order_value",
        "must be below 10^12 minor units",
    );
    let at = body.at.unwrap_or(now);
    v.check(
        at >= now - CLOCK_SLACK && at <= now + FURTHEST_AHEAD,
        "at",
        "must be from now to 24 hours ahead",
    );
    v.finish().map_err(Problem::from)?;
    let pickup = match (&body.warehouse_id, &body.pickup) {
        (Some(id), _) => ::delivery::Pickup::Warehouse(id.clone()),
        (None, Some(p)) => ::delivery::Pickup::Point(GeoPoint {
            lat: p.lat,
            lon: p.lon,
        }),
        (None, None) => unreachable!("checked above"),
    };
    Ok(::delivery::QuoteRequest {
        pickup,
        dropoff: GeoPoint {
            lat: body.dropoff.lat,
            lon: body.dropoff.lon,
        },
        order_value: body.order_value,
        at: at.max(now),
        buyer: match principal {
            Principal::Buyer { subject } => Some(subject.clone()),
            _ => None,
        },
        asked_by: principal.actor(),
    })
}

/// Price a delivery: base fee by distance, then demand, weather, rush hour and local
/// event multipliers, then the global cap, the emergency cap, floor, ceiling and free
/// delivery, in that order; each rule that bound the fee is listed. The `quote_id`
/// carries the fee sealed: an order using it before `expires_at` pays exactly this
/// fee, whatever prices do meanwhile. A buyer's quote serves only that buyer.
#[utoipa::path(post, path = "/v1/delivery/quotes", tag = "queries",
    request_body = QuoteBody,
    responses(
        (status = 200, body = QuoteAnswer),
        (status = 404, description = "The named warehouse is not registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, outside every city, no warehouse at the pickup, or too far", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn quote(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(body): Body<QuoteBody>,
) -> Result<Json<QuoteAnswer>, Problem> {
    let now = state.commands.clock().now();
    let request = request(&body, &principal, now)?;
    await_pricing(&state, body.min_position).await?;
    let (quoted, position) = state
        .delivery
        .pricing
        .read(|zones| ::delivery::quote(zones, &request, 0));
    let quoted = quoted.map_err(|refusal| {
        let status = match refusal {
            ::delivery::QuoteRefusal::UnknownWarehouse(_) => axum::http::StatusCode::NOT_FOUND,
            _ => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        };
        Problem::new(status, refusal.code(), refusal.to_string())
    })?;
    state.delivery.quote_counter.count(quoted.cell);
    let mut terms = quoted.terms;
    terms.priced_at_position = position;
    let secrets = state.delivery.secrets();
    let quote_id = terms.seal(secrets[0]);
    Ok(Json(QuoteAnswer {
        quote_id,
        fee: MoneyBody {
            amount: terms.fee as i64,
            currency: terms.currency.clone(),
        },
        base: terms.base,
        multipliers: multipliers(&terms.multipliers),
        combined: quoted.priced.combined,
        applied: quoted.priced.applied,
        bindings: bindings(&terms.bindings),
        explanation: quoted.priced.explanation,
        city_id: quoted.city_id,
        dropoff_cell: terms.dropoff_cell,
        pickup_warehouse: terms.pickup_warehouse,
        distance_km: quoted.distance_km,
        demand_ratio: quoted.ratio,
        issued_at: terms.issued_at,
        expires_at: terms.expires_at,
        position,
    }))
}
