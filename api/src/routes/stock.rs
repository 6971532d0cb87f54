//! Stock movements of one SKU in one warehouse: receipts, sales, counts, holds.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use domain::{StockAction, StockCommand};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use commands::StockLevels;

use super::AppState;
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{optional_json, Body, PathParams, Problem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// Units received, 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000, example = 25)]
    pub quantity: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleBody {
    /// Units sold, 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000, example = 2)]
    pub quantity: u64,
    /// Sell from this hold rather than from free stock.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub hold_id: Option<String>,
    pub order_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// The counted quantity on hand, 0 to 1,000,000,000.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 23)]
    pub new_quantity: u64,
    #[schema(min_length = 1, max_length = 200, example = "cycle count")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "cart-7f3a"
    )]
    pub hold_id: String,
    #[schema(minimum = 1, maximum = 1_000_000, example = 1)]
    pub quantity: u64,
    /// When the hold lapses by itself (RFC 3339); never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why the hold is let go; `released` when absent.
    #[schema(min_length = 1, max_length = 200)]
    pub reason: Option<String>,
}

/// The answer to every stock command: where its events landed and the levels after.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockCommandAnswer {
    pub sku: String,
    pub warehouse_id: String,
    /// Log position of the command's last event; pass it as `min_position`.
    pub position: i64,
    /// Events recorded (0 when the command repeated what was already true).
    pub events: usize,
    pub on_hand: u64,
    pub held: u64,
    pub available: u64,
}

async fn run(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    sku: String,
    warehouse_id: String,
    action: StockAction,
) -> Result<MaybeReplayed<Json<StockCommandAnswer>>, Problem> {
    let name = action.name();
    let command = StockCommand {
        sku: sku.clone(),
        warehouse_id: warehouse_id.clone(),
        action,
    };
    let metadata = state.metadata(headers, principal);
    let executed = idempotency::run(state, principal, headers, name, &command, |keyed| {
        state
            .commands
            .handle_stock_keyed(command.clone(), &metadata, keyed)
    })
    .await?;
    let (position, events, levels, replayed) = match executed {
        Executed::Fresh((outcome, levels)) => (outcome.position, outcome.events, levels, false),
        Executed::Replayed(receipt) => {
            let (events, levels): (usize, StockLevels) = stored_answer(&receipt)?;
            (receipt.position, events, levels, true)
        }
    };
    let answer = StockCommandAnswer {
        sku,
        warehouse_id,
        position,
        events,
        on_hand: levels.on_hand,
        held: levels.held,
        available: levels.available,
    };
    Ok(MaybeReplayed(Json(answer), replayed))
}

/// Record units received into a warehouse.
#[utoipa::path(post, path = "/v1/stock/{sku}/{warehouse_id}/receipts", tag = "commands",
    params(("sku" = String, Path), ("warehouse_id" = String, Path)),
    request_body = ReceiptBody,
    responses(
        (status = 200, body = StockCommandAnswer),
        (status = 404, description = "Unknown warehouse", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((sku, warehouse_id)): PathParams<(String, String)>,
    Body(body): Body<ReceiptBody>,
) -> Result<MaybeReplayed<Json<StockCommandAnswer>>, Problem> {
    let action = StockAction::Receive {
        quantity: body.quantity,
    };
    run(&state, &principal, &headers, sku, warehouse_id, action).await
}

/// Record a sale, from free stock or from a named hold.
#[utoipa::path(post, path = "/v1/stock/{sku}/{warehouse_id}/sales", tag = "commands",
    params(("sku" = String, Path), ("warehouse_id" = String, Path)),
    request_body = SaleBody,
    responses(
        (status = 200, body = StockCommandAnswer),
        (status = 404, description = "Unknown warehouse or hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough available; says how many are", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sell(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((sku, warehouse_id)): PathParams<(String, String)>,
    Body(body): Body<SaleBody>,
) -> Result<MaybeReplayed<Json<StockCommandAnswer>>, Problem> {
    let action = StockAction::Sell {
        quantity: body.quantity,
        hold_id: body.hold_id,
        order_id: body.order_id,
    };
    run(&state, &principal, &headers, sku, warehouse_id, action).await
}

/// Record a count: the quantity on hand becomes `new_quantity`.
#[utoipa::path(post, path = "/v1/stock/{sku}/{warehouse_id}/adjustments", tag = "commands",
    params(("sku" = String, Path), ("warehouse_id" = String, Path)),
    request_body = AdjustmentBody,
    responses(
        (status = 200, body = StockCommandAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn adjust(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((sku, warehouse_id)): PathParams<(String, String)>,
    Body(body): Body<AdjustmentBody>,
) -> Result<MaybeReplayed<Json<StockCommandAnswer>>, Problem> {
    let action = StockAction::Adjust {
        new_quantity: body.new_quantity,
        reason: body.reason,
    };
    run(&state, &principal, &headers, sku, warehouse_id, action).await
}

/// Hold units under a hold id (holding the same hold again changes nothing).
#[utoipa::path(post, path = "/v1/stock/{sku}/{warehouse_id}/holds", tag = "commands",
    params(("sku" = String, Path), ("warehouse_id" = String, Path)),
    request_body = HoldBody,
    responses(
        (status = 201, description = "Held", body = StockCommandAnswer),
        (status = 200, description = "Already held on these terms", body = StockCommandAnswer),
        (status = 404, description = "Unknown warehouse", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough available, or the hold id holds other terms", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn hold(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((sku, warehouse_id)): PathParams<(String, String)>,
    Body(body): Body<HoldBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<StockCommandAnswer>)>, Problem> {
    let action = StockAction::Hold {
        hold_id: body.hold_id,
        quantity: body.quantity,
        expires_at: body.expires_at,
    };
    let MaybeReplayed(answer, replayed) =
        run(&state, &principal, &headers, sku, warehouse_id, action).await?;
    let status = if answer.events > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(MaybeReplayed((status, answer), replayed))
}

/// Let a hold go; its units become available again.
#[utoipa::path(post, path = "/v1/stock/{sku}/{warehouse_id}/holds/{hold_id}/release", tag = "commands",
    params(("sku" = String, Path), ("warehouse_id" = String, Path), ("hold_id" = String, Path)),
    request_body(content = ReleaseBody, description = "Optional"),
    responses(
        (status = 200, body = StockCommandAnswer),
        (status = 404, description = "No such open hold", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn release(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((sku, warehouse_id, hold_id)): PathParams<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<MaybeReplayed<Json<StockCommandAnswer>>, Problem> {
    let body: ReleaseBody = optional_json(&body)?;
    let reason = body.reason.unwrap_or_else(|| "released".to_string());
    let action = StockAction::ReleaseHold { hold_id, reason };
    run(&state, &principal, &headers, sku, warehouse_id, action).await
}
