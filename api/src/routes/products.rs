//! `/v1/products`: the catalog. List, update (partially), delist, read.

use crate::routes::metered_read;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::{Product, ProductCommand};
use event_schemas::{GeoPoint, Money, ProductChanges, ProductDetails, Shop};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::warehouses::{LocationBody, MoneyBody};
use super::{metered, AppState, Consistency};
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{Body, PathParams, Problem, QueryParams};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "shop-1"
    )]
    pub shop_id: String,
    #[schema(min_length = 1, max_length = 200, example = "Clay & Co")]
    pub name: String,
    pub location: LocationBody,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "MUG-1"
    )]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200, example = "Stoneware mug")]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 5_000)]
    pub description: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Vec<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[a-z0-9-]+(/[a-z0-9-]+){0,7}$",
        example = "home/kitchen/mugs"
    )]
    pub category: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub materials: Vec<String>,
    pub shop: ShopBody,
    pub price: MoneyBody,
    /// en, de or fr.
    #[schema(pattern = "^(en|de|fr)$", example = "en")]
    pub language: String,
}

/// Fields to change; absent ones stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5_000)]
    pub description: Option<String>,
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[a-z0-9-]+(/[a-z0-9-]+){0,7}$"
    )]
    pub category: Option<String>,
    #[schema(max_items = 50)]
    pub materials: Option<Vec<String>>,
    pub shop: Option<ShopBody>,
    pub price: Option<MoneyBody>,
    #[schema(pattern = "^(en|de|fr)$")]
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductAnswer {
    pub sku: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub category: String,
    pub materials: Vec<String>,
    pub shop: ShopBody,
    pub price: MoneyBody,
    pub language: String,
    pub listed: bool,
    pub position: i64,
}

fn shop(body: ShopBody) -> Shop {
    Shop {
        shop_id: body.shop_id,
        name: body.name,
        location: GeoPoint {
            lat: body.location.lat,
            lon: body.location.lon,
        },
    }
}

fn answer(product: &Product, position: i64) -> Result<ProductAnswer, Problem> {
    let details = product
        .details
        .as_ref()
        .ok_or_else(|| Problem::not_found(format!("no product '{}' is listed", product.sku)))?;
    Ok(ProductAnswer {
        sku: product.sku.clone(),
        title: details.title.clone(),
        description: details.description.clone(),
        tags: details.tags.clone(),
        category: details.category.clone(),
        materials: details.materials.clone(),
        shop: ShopBody {
            shop_id: details.shop.shop_id.clone(),
            name: details.shop.name.clone(),
            location: LocationBody {
                lat: details.shop.location.lat,
                lon: details.shop.location.lon,
            },
        },
        price: MoneyBody::from(&details.price),
        language: details.language.clone(),
        listed: !product.delisted,
        position,
    })
}

/// List a product (listing the same again is harmless).
#[utoipa::path(post, path = "/v1/products", tag = "commands",
    request_body = ProductBody,
    responses(
        (status = 201, body = ProductAnswer),
        (status = 200, description = "Already listed with these details", body = ProductAnswer),
        (status = 409, description = "Listed with other details", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<ProductBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<ProductAnswer>)>, Problem> {
    let command = ProductCommand::List {
        sku: body.sku,
        details: ProductDetails {
            title: body.title,
            description: body.description,
            tags: body.tags,
            category: body.category,
            materials: body.materials,
            shop: shop(body.shop),
            price: body.price.into(),
            language: body.language,
        },
    };
    let metadata = state.metadata(&headers, &principal);
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "list_product",
        &command,
        |keyed| {
            state
                .commands
                .handle_product(command.clone(), &metadata, keyed)
        },
    )
    .await?;
    let (events, product, position, replayed) = match executed {
        Executed::Fresh((outcome, product)) => (outcome.events, product, outcome.position, false),
        Executed::Replayed(receipt) => {
            let (events, product): (usize, Product) = stored_answer(&receipt)?;
            (events, product, receipt.position, true)
        }
    };
    let status = if events > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(MaybeReplayed(
        (status, Json(answer(&product, position)?)),
        replayed,
    ))
}

/// Change some fields of a listed product.
#[utoipa::path(patch, path = "/v1/products/{sku}", tag = "commands",
    params(("sku" = String, Path)),
    request_body = ProductPatch,
    responses(
        (status = 200, body = ProductAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(sku): PathParams<String>,
    Body(patch): Body<ProductPatch>,
) -> Result<Json<ProductAnswer>, Problem> {
    let changes = ProductChanges {
        title: patch.title,
        description: patch.description,
        tags: patch.tags,
        category: patch.category,
        materials: patch.materials,
        shop: patch.shop.map(shop),
        price: patch.price.map(Money::from),
        language: patch.language,
    };
    let metadata = state.metadata(&headers, &principal);
    let command = ProductCommand::Update { sku, changes };
    let (outcome, product) = metered(
        "update_product",
        state.commands.handle_product(command, &metadata, None),
    )
    .await?;
    Ok(Json(answer(&product, outcome.position)?))
}

/// Take a product out of the catalog.
#[utoipa::path(delete, path = "/v1/products/{sku}", tag = "commands",
    params(("sku" = String, Path)),
    responses((status = 200, body = ProductAnswer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delist(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(sku): PathParams<String>,
) -> Result<Json<ProductAnswer>, Problem> {
    let metadata = state.metadata(&headers, &principal);
    let command = ProductCommand::Delist { sku };
    let (outcome, product) = metered(
        "delist_product",
        state.commands.handle_product(command, &metadata, None),
    )
    .await?;
    Ok(Json(answer(&product, outcome.position)?))
}

/// A listed product.
#[utoipa::path(get, path = "/v1/products/{sku}", tag = "queries",
    params(("sku" = String, Path), Consistency),
    responses((status = 200, body = ProductAnswer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(sku): PathParams<String>,
    QueryParams(consistency): QueryParams<Consistency>,
) -> Result<Json<ProductAnswer>, Problem> {
    state.await_committed(consistency.min_position).await?;
    let (outcome, product) = metered_read("product", state.commands.product(&sku)).await?;
    Ok(Json(answer(&product, outcome.position)?))
}
