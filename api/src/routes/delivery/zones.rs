//! What the pricing model shows: a zone now and its next two hours, a city's
//! forecast, and courier moves that would cover the next hour best (`read`).

use ::delivery::outlook::{self, ForecastStep};
use ::delivery::{CellIndex, Zones};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::delivery::RebalancingRules;
use domain::validate::Validator;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{await_pricing, AppState};
use crate::problem::{PathParams, Problem, QueryParams};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ZoneParams {
    /// Wait (up to 2 s) until the pricing model reflects this log position.
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastStepBody {
    /// The 15-minute step's start.
    pub from: DateTime<Utc>,
    /// Deliveries expected in it.
    pub demand: f64,
    /// The range that holds 90% of actual values.
    pub low: f64,
    pub high: f64,
}

fn steps(forecast: Option<Vec<ForecastStep>>) -> Option<Vec<ForecastStepBody>> {
    forecast.map(|steps| {
        steps
            .into_iter()
            .map(|s| ForecastStepBody {
                from: s.from,
                demand: s.demand,
                low: s.low,
                high: s.high,
            })
            .collect()
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneAnswer {
    #[schema(example = "881f1d4d47fffff")]
    pub cell: String,
    /// The city whose policy prices it, if any.
    pub city_id: Option<String>,
    pub lat: f64,
    pub lon: f64,
    /// Orders (and quote requests, at their weight) within the demand window.
    pub demand: f64,
    /// Couriers online in the zone and the ring around it.
    pub supply: u32,
    /// Demand over supply, smoothed.
    pub ratio: f64,
    /// The demand multiplier the zone holds (it moves by a step, after a dwell).
    pub demand_multiplier: f64,
    /// Every multiplier now together, after the caps.
    pub multiplier: f64,
    /// The next two hours in 15-minute steps; null until the zone has a week of
    /// history.
    pub forecast: Option<Vec<ForecastStepBody>>,
    pub position: i64,
}

/// One zone now: demand, supply, ratio, multiplier, and the next two hours.
#[utoipa::path(get, path = "/v1/delivery/zones/{cell}", tag = "queries",
    params(("cell" = String, Path, description = "The zone: an H3 cell index in hexadecimal"), ZoneParams),
    responses(
        (status = 200, body = ZoneAnswer),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn zone(
    State(state): State<AppState>,
    PathParams(cell): PathParams<String>,
    QueryParams(params): QueryParams<ZoneParams>,
) -> Result<Json<ZoneAnswer>, Problem> {
    let cell = parse_cell(&cell)?;
    await_pricing(&state, params.min_position).await?;
    let now = state.commands.clock().now();
    let (report, position) = state
        .delivery
        .pricing
        .read(|zones| outlook::zone_report(zones, cell, now));
    let centre = Zones::centre(cell);
    Ok(Json(ZoneAnswer {
        cell: cell.to_string(),
        city_id: report.city_id,
        lat: centre.lat,
        lon: centre.lon,
        demand: report.demand,
        supply: report.supply,
        ratio: report.ratio,
        demand_multiplier: report.demand_multiplier,
        multiplier: report.multiplier,
        forecast: steps(report.forecast),
        position,
    }))
}

fn parse_cell(text: &str) -> Result<CellIndex, Problem> {
    let mut v = Validator::new();
    let cell = text.parse::<CellIndex>().ok();
    v.check(
        cell.is_some(),
        "cell",
        "must be an H3 cell index in hexadecimal",
    );
    v.finish().map_err(Problem::from)?;
    Ok(cell.expect("checked"))
}

fn known_city(zones: &Zones, city_id: &str) -> Result<(), Problem> {
    if zones.cities.contains_key(city_id) {
        Ok(())
    } else {
        Err(Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_city",
            format!("city '{city_id}' has no pricing policy"),
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CityForecast {
    pub city_id: String,
    /// The city's zones together, the next two hours; null until a week of history.
    pub forecast: Option<Vec<ForecastStepBody>>,
    pub position: i64,
}

/// A city's demand for the next two hours, from its zones' histories together.
#[utoipa::path(get, path = "/v1/delivery/cities/{city_id}/forecast", tag = "queries",
    params(("city_id" = String, Path, description = "The city"), ZoneParams),
    responses(
        (status = 200, body = CityForecast),
        (status = 404, description = "No such city", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn city_forecast(
    State(state): State<AppState>,
    PathParams(city_id): PathParams<String>,
    QueryParams(params): QueryParams<ZoneParams>,
) -> Result<Json<CityForecast>, Problem> {
    let mut v = Validator::new();
    v.id("city_id", &city_id);
    v.finish().map_err(Problem::from)?;
    await_pricing(&state, params.min_position).await?;
    let now = state.commands.clock().now();
    let pricing = state.delivery.pricing.clone();
    // Every zone of the city is read: CPU work, off the async workers.
    let (forecast, position) = tokio::task::spawn_blocking(move || {
        pricing.read(|zones| {
            known_city(zones, &city_id)?;
            Ok::<_, Problem>((
                city_id.clone(),
                outlook::city_forecast(zones, &city_id, now),
            ))
        })
    })
    .await
    .map_err(|e| Problem::unavailable("forecast_failed", e.to_string()))?;
    let (city_id, forecast) = forecast?;
    Ok(Json(CityForecast {
        city_id,
        forecast: steps(forecast),
        position,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RebalancingParams {
    /// The city whose zones are to be covered.
    pub city: String,
    /// Wait (up to 2 s) until the pricing model reflects this log position.
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoveBody {
    pub from: String,
    pub to: String,
    pub couriers: u32,
    pub km: f64,
    /// The destination's expected demand over supply once the moves are made.
    pub ratio_after: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rebalancing {
    pub city_id: String,
    /// Largest first; none when no move would cover more than its distance costs.
    pub moves: Vec<MoveBody>,
    pub position: i64,
}

/// Courier moves into the city's zones that cover the next hour's forecast demand
/// best, each weighed by its distance; never farther than 15 km.
#[utoipa::path(get, path = "/v1/delivery/rebalancing", tag = "queries",
    params(RebalancingParams),
    responses(
        (status = 200, body = Rebalancing),
        (status = 404, description = "No such city", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rebalancing(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<RebalancingParams>,
) -> Result<Json<Rebalancing>, Problem> {
    let mut v = Validator::new();
    v.id("city", &params.city);
    v.finish().map_err(Problem::from)?;
    await_pricing(&state, params.min_position).await?;
    let now = state.commands.clock().now();
    let pricing = state.delivery.pricing.clone();
    let city_id = params.city;
    let (moves, position) = tokio::task::spawn_blocking(move || {
        pricing.read(|zones| {
            known_city(zones, &city_id)?;
            let moves = outlook::rebalancing(zones, &city_id, now, &RebalancingRules::default());
            Ok::<_, Problem>((city_id.clone(), moves))
        })
    })
    .await
    .map_err(|e| Problem::unavailable("rebalancing_failed", e.to_string()))?;
    let (city_id, moves) = moves?;
    Ok(Json(Rebalancing {
        city_id,
        moves: moves
            .into_iter()
            .map(|m| MoveBody {
                from: m.from,
                to: m.to,
                couriers: m.couriers,
                km: m.km,
                ratio_after: m.ratio_after,
            })
            .collect(),
        position,
    }))
}
