//! `GET /v1/availability/...`: stock levels from the availability projection.

use axum::extract::State;
use axum::Json;
use projections::availability::{AvailabilityView, WarehouseAvailability};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, Consistency};
use crate::problem::{PathParams, Problem, QueryParams};

/// One warehouse's stock of a SKU.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseLevels {
    pub warehouse_id: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
    /// Days the available stock lasts at the last weeks' sales (null when it has
    /// not sold).
    pub days_of_cover: Option<f64>,
}

/// A SKU's stock over all warehouses, and the log position the answer reflects.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkuAvailability {
    pub sku: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
    pub warehouses: Vec<WarehouseLevels>,
    pub position: i64,
}

/// One warehouse's stock of a SKU, and the log position the answer reflects.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseSkuAvailability {
    pub sku: String,
    pub warehouse_id: String,
    pub on_hand: i64,
    pub held: i64,
    pub available: i64,
    pub position: i64,
}

fn levels(w: WarehouseAvailability, days_of_cover: Option<f64>) -> WarehouseLevels {
    WarehouseLevels {
        warehouse_id: w.warehouse_id,
        on_hand: w.on_hand,
        held: w.held,
        available: w.available,
        days_of_cover,
    }
}

async fn read(
    state: &AppState,
    sku: &str,
    warehouse_id: Option<&str>,
    consistency: &Consistency,
) -> Result<AvailabilityView, Problem> {
    state.await_availability(consistency).await?;
    let (view, position) = state.live_availability.query(sku, warehouse_id);
    view.ok_or_else(|| {
        let what = match warehouse_id {
            Some(w) => format!("no stock of '{sku}' has been recorded in warehouse '{w}'"),
            None => format!("no stock of '{sku}' has been recorded"),
        };
        Problem::not_found(what).with("position", position)
    })
}

/// Stock of a SKU in every warehouse, with totals.
#[utoipa::path(get, path = "/v1/availability/{sku}", tag = "queries",
    params(("sku" = String, Path), Consistency),
    responses(
        (status = 200, body = SkuAvailability),
        (status = 404, description = "No stock of this SKU was ever recorded", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn by_sku(
    State(state): State<AppState>,
    PathParams(sku): PathParams<String>,
    QueryParams(consistency): QueryParams<Consistency>,
) -> Result<Json<SkuAvailability>, Problem> {
    let view = read(&state, &sku, None, &consistency).await?;
    // Sales-based, so read from the replenishment model (as far as it has followed).
    let covers: Vec<Option<f64>> = state
        .delivery
        .replenishment
        .read(|model| {
            view.warehouses
                .iter()
                .map(|w| {
                    model
                        .advice(&view.sku, &w.warehouse_id)
                        .and_then(|s| s.advice.days_of_cover)
                        .map(super::replenishment::tenth)
                })
                .collect()
        })
        .0;
    Ok(Json(SkuAvailability {
        sku: view.sku,
        on_hand: view.on_hand,
        held: view.held,
        available: view.available,
        warehouses: view
            .warehouses
            .into_iter()
            .zip(covers)
            .map(|(w, cover)| levels(w, cover))
            .collect(),
        position: view.position,
    }))
}

/// Stock of a SKU in one warehouse.
#[utoipa::path(get, path = "/v1/availability/{sku}/{warehouse_id}", tag = "queries",
    params(("sku" = String, Path), ("warehouse_id" = String, Path), Consistency),
    responses(
        (status = 200, body = WarehouseSkuAvailability),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn by_sku_and_warehouse(
    State(state): State<AppState>,
    PathParams((sku, warehouse_id)): PathParams<(String, String)>,
    QueryParams(consistency): QueryParams<Consistency>,
) -> Result<Json<WarehouseSkuAvailability>, Problem> {
    let view = read(&state, &sku, Some(&warehouse_id), &consistency).await?;
    let position = view.position;
    let w = view
        .warehouses
        .into_iter()
        .next()
        .ok_or_else(|| Problem::not_found("no such stock"))?;
    Ok(Json(WarehouseSkuAvailability {
        sku: view.sku,
        warehouse_id: w.warehouse_id,
        on_hand: w.on_hand,
        held: w.held,
        available: w.available,
        position,
    }))
}
