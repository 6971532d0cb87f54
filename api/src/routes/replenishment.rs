//! `GET /v1/replenishment?warehouse_id=`: what to reorder in a warehouse, most
//! urgent first, from each SKU's daily sales in the log (`read`; takes
//! `min_position`).

use axum::extract::State;
use axum::Json;
use domain::validate::Validator;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AppState, MIN_POSITION_WAIT};
use crate::problem::{Problem, QueryParams};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplenishmentParams {
    pub warehouse_id: String,
    /// Wait (up to 2 s) until the answer reflects this log position.
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

/// One SKU to reorder.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReorderLine {
    pub sku: String,
    /// On hand less held.
    pub available: i64,
    /// Mean units sold a day (the last 28 whole days at most).
    pub velocity: f64,
    /// z × σ × √(lead time), for the configured service level.
    pub safety_stock: f64,
    /// Velocity × lead time + safety stock: at or under it, reorder.
    pub reorder_point: f64,
    /// Days the available stock lasts at the velocity.
    pub days_of_cover: Option<f64>,
    /// Units to order now: up to the reorder point plus the review period's sales.
    pub suggested_quantity: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replenishment {
    pub warehouse_id: String,
    /// The fewest days of cover first.
    pub items: Vec<ReorderLine>,
    pub position: i64,
}

/// Round to a tenth: a day count, not a measurement to the nanosecond.
pub fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What to reorder in a warehouse now: each SKU that sells and whose available
/// stock is at or under its reorder point, with the quantity to order.
#[utoipa::path(get, path = "/v1/replenishment", tag = "queries",
    params(ReplenishmentParams),
    responses(
        (status = 200, body = Replenishment),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<ReplenishmentParams>,
) -> Result<Json<Replenishment>, Problem> {
    let mut v = Validator::new();
    v.id("warehouse_id", &params.warehouse_id);
    v.finish().map_err(Problem::from)?;
    let live = &state.delivery.replenishment;
    if let Some(wanted) = params.min_position {
        state.known_position(wanted).await?;
        live.wait_for(wanted, MIN_POSITION_WAIT)
            .await
            .map_err(|stale| super::stale_read(stale, live.position(), wanted))?;
    }
    let (due, position) = live.read(|model| model.to_reorder(&params.warehouse_id));
    Ok(Json(Replenishment {
        warehouse_id: params.warehouse_id,
        items: due
            .into_iter()
            .map(|s| ReorderLine {
                sku: s.sku,
                available: s.available,
                velocity: s.advice.velocity,
                safety_stock: s.advice.safety_stock,
                reorder_point: s.advice.reorder_point,
                days_of_cover: s.advice.days_of_cover.map(tenth),
                suggested_quantity: s.advice.suggested_quantity,
            })
            .collect(),
        position,
    }))
}
