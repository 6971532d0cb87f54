//! `/v1/orders`: place an order (priced from the catalog); the order process reserves
//! its stock from the log, and `GET` can wait for that outcome.

use crate::routes::metered_read;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use commands::orders::PlaceOrder;
use domain::delivery::{OrderFacts, QuoteTerms};
use domain::{DomainError, Order};
use event_schemas::Destination;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::long_poll::{self, Look, Statuses, WaitParams};
use super::warehouses::MoneyBody;
use super::{metered, AppState};
use crate::auth::{Environment, Principal};
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{optional_json, Body, PathParams, Problem, QueryParams};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "MUG-1"
    )]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1_000_000, example = 1)]
    pub quantity: u64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "nl"
    )]
    pub region: String,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderBody {
    /// Your id for the order; placing it again with the same lines changes nothing.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub order_id: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<OrderLineBody>,
    pub ship_to: DestinationBody,
    #[serde(default)]
    pub priority: bool,
    /// The buyer, when a shop's backend (a key with `buyers:act`) places the order for
    /// them; a buyer's own token names the buyer itself.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub customer_id: Option<String>,
    /// A `quote_id` from `POST /v1/delivery/quotes`: the order pays its fee, must be
    /// delivered to a point (`ship_to.lat`, `ship_to.lon`) in the quoted zone, in its
    /// currency and (for a buyer's quote) for that buyer, and ships from its pickup
    /// warehouse in one shipment (rejected if that warehouse cannot fill it).
    #[schema(max_length = 4096)]
    pub delivery_quote_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservedLineBody {
    pub sku: String,
    pub warehouse_id: String,
    pub quantity: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBody {
    pub order_id: String,
    /// placed, reserved, rejected, cancelled, paid, confirmed, payment_failed,
    /// timed_out or refunded.
    pub status: String,
    /// What the buyer pays: the goods and, with a delivery quote, its fee (without
    /// one, shipping is not included: the explanation says what the chosen
    /// shipments cost).
    pub total: MoneyBody,
    /// The lines at their prices.
    pub goods_total: MoneyBody,
    /// The quoted delivery the order pays for, if it used a quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryBody>,
    pub customer_id: Option<String>,
    /// Where the stock is held, once reserved.
    pub reserved: Vec<ReservedLineBody>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Why the stock went where it did, or why the order was rejected.
    pub explanation: Option<String>,
    /// Why the payment is being refunded (status `refunded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// The shipments asked of warehouses once the order is confirmed, with their
    /// tracking numbers once they left.
    pub shipments: Vec<ShipmentState>,
    pub position: i64,
}

/// One shipment of a confirmed order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentState {
    pub warehouse_id: String,
    /// Set once the fulfilment service reported the shipment dispatched.
    pub tracking_number: Option<String>,
}

/// A shipment that left its warehouse, as the fulfilment service reports it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "ams"
    )]
    pub warehouse_id: String,
    #[schema(min_length = 1, max_length = 200, example = "PostNL")]
    pub carrier: String,
    #[schema(min_length = 1, max_length = 200, example = "3SABCD0123456789")]
    pub tracking_number: String,
}

/// A delivery charged as its quote promised.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    pub fee: MoneyBody,
    pub pickup_warehouse: String,
    pub dropoff_cell: String,
    /// Every multiplier the fee carried, by kind.
    #[schema(value_type = Object)]
    pub multipliers: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[schema(min_length = 1, max_length = 200)]
    pub reason: Option<String>,
}

fn body(order: &Order, position: i64) -> OrderBody {
    OrderBody {
        order_id: order.order_id.clone(),
        status: order.status.name().to_string(),
        total: MoneyBody::from(&order.total_or_zero()),
        goods_total: MoneyBody::from(&order.goods_or_zero()),
        delivery: order.delivery.as_ref().map(|d| DeliveryBody {
            fee: MoneyBody::from(&d.fee),
            pickup_warehouse: d.pickup_warehouse.clone(),
            dropoff_cell: d.dropoff_cell.clone(),
            multipliers: d
                .multipliers
                .iter()
                .map(|m| (m.kind.clone(), m.value))
                .collect(),
        }),
        customer_id: order.customer.clone(),
        reserved: order
            .reserved
            .iter()
            .map(|l| ReservedLineBody {
                sku: l.sku.clone(),
                warehouse_id: l.warehouse_id.clone(),
                quantity: l.quantity,
            })
            .collect(),
        expires_at: order.expires_at,
        explanation: order
            .rejection
            .clone()
            .or_else(|| order.explanation.clone()),
        refund_reason: order.refund_reason.clone(),
        shipments: order
            .shipments
            .iter()
            .map(|(warehouse_id, tracking_number)| ShipmentState {
                warehouse_id: warehouse_id.clone(),
                tracking_number: tracking_number.clone(),
            })
            .collect(),
        position,
    }
}

/// Record that a shipment of a confirmed order left its warehouse: for the
/// fulfilment service (`fulfilment:write`), which learns of shipments to send from
/// `FulfillmentRequested` on the event stream. Reporting the same tracking number
/// again changes nothing; send the event's `ce-id` as `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/orders/{id}/shipments", tag = "commands",
    params(("id" = String, Path)),
    request_body = DispatchBody,
    responses(
        (status = 200, body = OrderBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No shipment from that warehouse was asked for, or it left with another tracking number", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn dispatch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    Body(request): Body<DispatchBody>,
) -> Result<MaybeReplayed<Json<OrderBody>>, Problem> {
    let metadata = state.metadata(&headers, &principal);
    let shipment = commands::orders::Shipment {
        warehouse_id: request.warehouse_id.clone(),
        carrier: request.carrier.clone(),
        tracking_number: request.tracking_number.clone(),
    };
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "dispatch_shipment",
        &(&id, &request),
        |keyed| {
            state
                .commands
                .dispatch_shipment(&id, shipment, &metadata, keyed)
        },
    )
    .await?;
    Ok(match executed {
        Executed::Fresh((outcome, order)) => {
            MaybeReplayed(Json(body(&order, outcome.position)), false)
        }
        Executed::Replayed(receipt) => {
            let (_, order): (usize, Order) = stored_answer(&receipt)?;
            MaybeReplayed(Json(body(&order, receipt.position)), true)
        }
    })
}

/// Who the order is for: the buyer of a buyer token; the named customer when a
/// `buyers:act` key (or development mode) places it for them.
pub(crate) fn customer(
    state: &AppState,
    principal: &Principal,
    named: Option<String>,
) -> Result<Option<String>, Problem> {
    match principal {
        Principal::Buyer { subject } => match named {
            Some(other) if other != *subject => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a buyer may place orders only for themselves",
            )),
            _ => Ok(Some(subject.clone())),
        },
        Principal::Key { scopes, .. }
            if named.is_some() && !scopes.iter().any(|s| s == "buyers:act") =>
        {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "naming the customer needs the 'buyers:act' scope",
            ))
        }
        _ if state.auth.environment == Environment::Development
            || matches!(principal, Principal::Key { .. } | Principal::Master) =>
        {
            Ok(named)
        }
        _ => Ok(None),
    }
}

/// A buyer sees only their own orders.
fn visible(order: &Order, principal: &Principal) -> Result<(), Problem> {
    principal.must_see(order.customer.as_deref(), "order")
}

/// Place an order; its stock is reserved from the log right after (wait for it with
/// `GET /v1/orders/{id}?wait_for_status=reserved,rejected`).
#[utoipa::path(post, path = "/v1/orders", tag = "commands",
    request_body = PlaceOrderBody,
    responses(
        (status = 201, body = OrderBody),
        (status = 200, description = "The same order again", body = OrderBody),
        (status = 409, description = "The order id is taken by an order with other details", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or a product is not listed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn place(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(request): Body<PlaceOrderBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<OrderBody>)>, Problem> {
    // Checked before any product is looked up for a price.
    if request.lines.is_empty() || request.lines.len() > domain::reservation::MAX_LINES {
        return Err(Problem::invalid(vec![domain::FieldError {
            field: "lines".into(),
            message: format!("must hold 1 to {} lines", domain::reservation::MAX_LINES),
        }]));
    }
    // What identifies the request for its Idempotency-Key: the request as sent, not
    // the id the server generates for it.
    let fingerprint = serde_json::to_value(&request).unwrap_or_default();
    let customer = customer(&state, &principal, request.customer_id)?;
    let order_id = match request.order_id {
        Some(id) => id,
        None => idempotency::generated_id(&principal, &headers, "order")?,
    };
    let lines: Vec<(String, u64)> = request
        .lines
        .into_iter()
        .map(|l| (l.sku, l.quantity))
        .collect();
    let ship_to = Destination {
        region: request.ship_to.region,
        lat: request.ship_to.lat,
        lon: request.ship_to.lon,
    };
    let metadata = state.metadata(&headers, &principal);
    let placing = PlaceOrder {
        order_id,
        customer,
        lines,
        ship_to,
        priority: request.priority,
        // A buyer's own order holds stock for the payment window: it counts against
        // the buyer's limits, as its reservations do.
        buyer_limits: matches!(principal, Principal::Buyer { .. }).then_some(state.limits.buyer),
        delivery: None,
    };
    let quote_id = request.delivery_quote_id;
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "place_order",
        &fingerprint,
        |keyed| async {
            // Opened here, not before: a keyed retry is answered from its receipt
            // even once the quote has expired.
            let mut placing = placing.clone();
            if let Some(token) = &quote_id {
                placing.delivery = Some(quoted_delivery(&state, &principal, token, &placing)?);
            }
            state.commands.place_order(placing, &metadata, keyed).await
        },
    )
    .await?;
    let replayed = matches!(executed, Executed::Replayed(_));
    let (outcome, order) = match executed {
        Executed::Fresh(answer) => answer,
        Executed::Replayed(receipt) => {
            let (events, order): (usize, Order) = stored_answer(&receipt)?;
            (
                commands::CommandOutcome {
                    position: receipt.position,
                    events,
                    linked_events: 0,
                },
                order,
            )
        }
    };
    let status = if outcome.events > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(MaybeReplayed(
        (status, Json(body(&order, outcome.position))),
        replayed,
    ))
}

/// The delivery an order is charged, from the quote it names: sealed by this
/// service, not expired, for this buyer, and for the zone the order is delivered to.
fn quoted_delivery(
    state: &AppState,
    principal: &Principal,
    token: &str,
    placing: &PlaceOrder,
) -> Result<event_schemas::QuotedDelivery, commands::CommandError> {
    let now = state.commands.clock().now();
    let terms =
        QuoteTerms::open(token, &state.delivery.secrets(), now).map_err(DomainError::from)?;
    let (Some(lat), Some(lon)) = (placing.ship_to.lat, placing.ship_to.lon) else {
        return Err(DomainError::invalid(vec![domain::FieldError {
            field: "ship_to".into(),
            message: "an order with a delivery quote is delivered to a point: give lat and lon"
                .into(),
        }])
        .into());
    };
    // The zone at the quote's own resolution, so quotes survive a change of it.
    let dropoff_cell =
        ::delivery::cell_like(event_schemas::GeoPoint { lat, lon }, &terms.dropoff_cell)
            .unwrap_or_default();
    terms
        .honours(&OrderFacts {
            dropoff_cell: &dropoff_cell,
            currency: None,
            buyer: placing.customer.as_deref(),
            actor: &principal.actor(),
        })
        .map_err(DomainError::from)?;
    Ok(terms.charged())
}

/// An order; with `wait_for_status`, answers once it reaches one of them (or when
/// `timeout_ms` runs out, with the status it has).
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "queries",
    params(("id" = String, Path), WaitParams),
    responses((status = 200, body = OrderBody), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(id): PathParams<String>,
    QueryParams(wait): QueryParams<WaitParams>,
) -> Result<Json<OrderBody>, Problem> {
    let changes = state.commands.order_changes(&id);
    let order = long_poll::until_status(&state, &wait, &STATUSES, changes, || async {
        let (outcome, order) = metered_read("order", state.commands.order(&id)).await?;
        visible(&order, &principal)?;
        Ok(Look {
            status: order.status.name(),
            last: order.is_settled(),
            changes_at: None,
            answer: body(&order, outcome.position),
        })
    })
    .await?;
    Ok(Json(order))
}

/// The reservation the order process made for the order: which units are held for it
/// and until when (404 until the process has got to it). Long-polls like
/// `GET /v1/reservations/{id}`.
#[utoipa::path(get, path = "/v1/orders/{id}/reservation", tag = "queries",
    params(("id" = String, Path), WaitParams),
    responses(
        (status = 200, body = super::reservations::ReservationBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reservation(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(id): PathParams<String>,
    QueryParams(wait): QueryParams<WaitParams>,
) -> Result<Json<super::reservations::ReservationBody>, Problem> {
    let (_, order) = metered_read("order", state.commands.order(&id)).await?;
    visible(&order, &principal)?;
    let reservation_id = domain::ids::order_reservation_id(&id);
    let answer = super::reservations::look_until_status(&state, &wait, &reservation_id, || {
        state.commands.order_reservation(&id)
    })
    .await?;
    Ok(Json(answer))
}

/// Every status an order can be in.
pub(crate) const STATUSES: Statuses = Statuses(&[
    "placed",
    "reserved",
    "rejected",
    "cancelled",
    "paid",
    "confirmed",
    "payment_failed",
    "timed_out",
    "refunded",
]);

/// Cancel an order that is not paid: its stock goes back.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "commands",
    params(("id" = String, Path)),
    request_body(content = CancelBody, description = "Optional"),
    responses(
        (status = 200, body = OrderBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    raw: axum::body::Bytes,
) -> Result<Json<OrderBody>, Problem> {
    let request: CancelBody = optional_json(&raw)?;
    let (_, order) = metered_read("order", state.commands.order(&id)).await?;
    visible(&order, &principal)?;
    let metadata = state.metadata(&headers, &principal);
    let reason = request
        .reason
        .unwrap_or_else(|| "cancelled by the customer".into());
    let (outcome, order) = metered(
        "cancel_order",
        state.commands.cancel_order(&id, &reason, &metadata),
    )
    .await?;
    Ok(Json(body(&order, outcome.position)))
}
