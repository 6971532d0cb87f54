//! `POST /v1/warehouses`: register a warehouse.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::RegisterWarehouse;
use event_schemas::{GeoPoint, Money, ShippingRate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{Body, Problem};

/// An amount in integer minor units and an ISO 4217 currency.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[schema(minimum = 0, maximum = 999_999_999_999.0, example = 1299)]
    pub amount: i64,
    #[schema(
        min_length = 3,
        max_length = 3,
        pattern = r"^[A-Z]{3}$",
        example = "EUR"
    )]
    pub currency: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    #[schema(minimum = -90, maximum = 90, example = 52.37)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180, example = 4.89)]
    pub lon: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRateBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "nl"
    )]
    pub region: String,
    pub cost_per_item: MoneyBody,
    pub cost_per_shipment: MoneyBody,
    #[schema(minimum = 0, maximum = 365, example = 1)]
    pub days: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWarehouseBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "ams-1"
    )]
    pub warehouse_id: String,
    #[schema(min_length = 1, max_length = 200, example = "Amsterdam West")]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "nl"
    )]
    pub region: String,
    pub location: LocationBody,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub ships_to: Vec<ShippingRateBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseRegistered {
    pub warehouse_id: String,
    /// Log position of the registration; pass it as `min_position` to read it back.
    pub position: i64,
    /// False when the same registration had already been made.
    pub created: bool,
}

impl From<MoneyBody> for Money {
    fn from(body: MoneyBody) -> Self {
        Money {
            amount: body.amount,
            currency: body.currency,
        }
    }
}

impl From<&Money> for MoneyBody {
    fn from(money: &Money) -> Self {
        MoneyBody {
            amount: money.amount,
            currency: money.currency.clone(),
        }
    }
}

impl From<ShippingRate> for ShippingRateBody {
    fn from(rate: ShippingRate) -> Self {
        ShippingRateBody {
            region: rate.region,
            cost_per_item: MoneyBody::from(&rate.cost_per_item),
            cost_per_shipment: MoneyBody::from(&rate.cost_per_shipment),
            days: rate.days,
        }
    }
}

impl From<RegisterWarehouseBody> for RegisterWarehouse {
    fn from(body: RegisterWarehouseBody) -> Self {
        RegisterWarehouse {
            warehouse_id: body.warehouse_id,
            name: body.name,
            region: body.region,
            location: GeoPoint {
                lat: body.location.lat,
                lon: body.location.lon,
            },
            ships_to: body
                .ships_to
                .into_iter()
                .map(|rate| ShippingRate {
                    region: rate.region,
                    cost_per_item: rate.cost_per_item.into(),
                    cost_per_shipment: rate.cost_per_shipment.into(),
                    days: rate.days,
                })
                .collect(),
        }
    }
}

/// Register a warehouse (repeating the same registration is harmless).
#[utoipa::path(post, path = "/v1/warehouses", tag = "commands",
    request_body = RegisterWarehouseBody,
    responses(
        (status = 201, description = "Registered", body = WarehouseRegistered),
        (status = 200, description = "Already registered with these details", body = WarehouseRegistered),
        (status = 409, description = "Registered with other details", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<RegisterWarehouseBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<WarehouseRegistered>)>, Problem> {
    let command = RegisterWarehouse::from(body);
    let warehouse_id = command.warehouse_id.clone();
    let metadata = state.metadata(&headers, &principal);
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "register_warehouse",
        &command,
        |keyed| {
            state
                .commands
                .register_warehouse_keyed(command.clone(), &metadata, keyed)
        },
    )
    .await?;
    let (position, created, replayed) = match executed {
        Executed::Fresh(outcome) => (outcome.position, outcome.events > 0, false),
        Executed::Replayed(receipt) => {
            let (events, ()) = stored_answer(&receipt)?;
            (receipt.position, events > 0, true)
        }
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let answer = WarehouseRegistered {
        warehouse_id,
        position,
        created,
    };
    Ok(MaybeReplayed((status, Json(answer)), replayed))
}
