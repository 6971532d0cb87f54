//! `GET /v1/warehouses`, `/v1/products`, `/v1/orders`, `/v1/reservations`,
//! `/v1/flash-sales`: what was created, a page at a time, from the listings
//! projection (never a scan of the log). Pages follow cursors (`after`, from the
//! previous page's `next`); every list takes `min_position`. A buyer lists only its
//! own orders and reservations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use domain::validate::Validator;
use projections::listings::{
    self, flash_sales, orders, page::After, products, reservations, warehouses, ListQuery, Page,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::warehouses::{LocationBody, MoneyBody, ShippingRateBody};
use super::AppState;
use crate::auth::Principal;
use crate::problem::{Problem, QueryParams};

/// `limit`, `after` and `min_position`, which every list takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Wait (up to 2 s) until the list reflects this log position.
    pub min_position: Option<i64>,
}

fn page_query(
    limit: Option<usize>,
    after: Option<&str>,
    errors: &mut Validator,
) -> Result<ListQuery, Problem> {
    let limit = limit.unwrap_or(listings::DEFAULT_LIMIT);
    if !(1..=listings::MAX_LIMIT).contains(&limit) {
        errors.fail(
            "limit",
            format!("must be from 1 to {}", listings::MAX_LIMIT),
        );
    }
    let after = After::parse(after)
        .map_err(|bad| Problem::new(StatusCode::BAD_REQUEST, "invalid_cursor", bad.to_string()))?;
    Ok(ListQuery { limit, after })
}

/// A filter naming one of `allowed`.
fn one_of(
    errors: &mut Validator,
    field: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Option<String> {
    let value = value?;
    if !allowed.contains(&value.as_str()) {
        errors.fail(field, format!("must be one of {}", allowed.join(", ")));
    }
    Some(value)
}

/// A filter naming an id.
fn id(errors: &mut Validator, field: &str, value: Option<String>) -> Option<String> {
    let value = value?;
    errors.id(field, &value);
    Some(value)
}

fn finish(errors: Validator) -> Result<(), Problem> {
    errors.finish().map_err(Problem::from)
}

/// A page as answered: the items, the cursor of the next page, and the position.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
    /// The log position the list reflects.
    pub position: i64,
}

/// `reached` is where this process saw the listings before reading the page. It can be
/// ahead of the stored checkpoint (the runner moves past events no list reads without
/// writing one), and the page reflects it all the same.
fn answer<T, U>(page: Page<T>, reached: i64, item: impl Fn(T) -> U) -> Json<ListPage<U>> {
    Json(ListPage {
        items: page.items.into_iter().map(item).collect(),
        next: page.next,
        position: page.position.max(reached),
    })
}

// ---- warehouses

#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseItem {
    pub warehouse_id: String,
    pub name: String,
    pub region: String,
    pub location: LocationBody,
    /// Where it ships, as registered.
    pub ships_to: Vec<ShippingRateBody>,
    /// Log position of the registration.
    pub registered_position: i64,
}

/// Registered warehouses, in id order.
#[utoipa::path(get, path = "/v1/warehouses", tag = "queries",
    params(PageParams),
    responses(
        (status = 200, body = ListPage<WarehouseItem>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_warehouses(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<ListPage<WarehouseItem>>, Problem> {
    let mut errors = Validator::new();
    let query = page_query(params.limit, params.after.as_deref(), &mut errors)?;
    finish(errors)?;
    let reached = state.await_listings(params.min_position).await?;
    let page = warehouses::list(state.listings.db(), &query).await?;
    Ok(answer(page, reached, |w| WarehouseItem {
        warehouse_id: w.warehouse_id,
        name: w.name,
        region: w.region,
        location: LocationBody {
            lat: w.location.lat,
            lon: w.location.lon,
        },
        ships_to: w
            .shipping_rates
            .into_iter()
            .map(ShippingRateBody::from)
            .collect(),
        registered_position: w.registered_position,
    }))
}

// ---- products

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductListParams {
    /// A category path: products in it and in every category under it.
    pub category: Option<String>,
    pub shop_id: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Wait (up to 2 s) until the list reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductItem {
    pub sku: String,
    pub title: String,
    pub category: String,
    pub shop_id: String,
    pub price: MoneyBody,
    pub language: String,
    /// Log position of the listing.
    pub listed_position: i64,
}

/// Listed products, in SKU order, by category and shop.
#[utoipa::path(get, path = "/v1/products", tag = "queries",
    params(ProductListParams),
    responses(
        (status = 200, body = ListPage<ProductItem>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<ProductListParams>,
) -> Result<Json<ListPage<ProductItem>>, Problem> {
    let mut errors = Validator::new();
    let query = page_query(params.limit, params.after.as_deref(), &mut errors)?;
    let category = params
        .category
        .map(|c| c.trim_matches('/').to_string())
        .filter(|c| !c.is_empty());
    if let Some(category) = &category {
        errors.text("category", category);
    }
    let filter = products::ProductFilter {
        category,
        shop_id: id(&mut errors, "shop_id", params.shop_id),
    };
    finish(errors)?;
    let reached = state.await_listings(params.min_position).await?;
    let page = products::list(state.listings.db(), &filter, &query).await?;
    Ok(answer(page, reached, |p| ProductItem {
        sku: p.sku,
        title: p.title,
        category: p.category,
        shop_id: p.shop_id,
        price: MoneyBody {
            amount: p.price_amount,
            currency: p.currency,
        },
        language: p.language,
        listed_position: p.listed_position,
    }))
}

// ---- orders

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderListParams {
    /// placed, reserved, rejected, cancelled, paid, confirmed, payment_failed,
    /// timed_out or refunded.
    pub status: Option<String>,
    /// Orders of this buyer (a buyer's own token lists only its own anyway).
    pub customer_id: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Wait (up to 2 s) until the list reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItem {
    pub order_id: String,
    pub customer_id: Option<String>,
    pub status: String,
    /// The lines' total; shipping is not included.
    pub total: MoneyBody,
    /// The flash sale the order came from.
    pub flash_sale_id: Option<String>,
    /// Log position of the event that placed it.
    pub placed_position: i64,
}

/// Whose rows a caller may list: a buyer only its own (naming another is 403).
fn owner_filter(principal: &Principal, named: Option<String>) -> Result<Option<String>, Problem> {
    match principal {
        Principal::Buyer { subject } => match named {
            Some(other) if other != *subject => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a buyer may list only its own",
            )),
            _ => Ok(Some(subject.clone())),
        },
        _ => Ok(named),
    }
}

/// Orders, newest first, by status and buyer.
#[utoipa::path(get, path = "/v1/orders", tag = "queries",
    params(OrderListParams),
    responses(
        (status = 200, body = ListPage<OrderItem>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A buyer naming another buyer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_orders(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryParams(params): QueryParams<OrderListParams>,
) -> Result<Json<ListPage<OrderItem>>, Problem> {
    let mut errors = Validator::new();
    let query = page_query(params.limit, params.after.as_deref(), &mut errors)?;
    let status = one_of(
        &mut errors,
        "status",
        params.status,
        super::orders::STATUSES.0,
    );
    let customer = id(&mut errors, "customer_id", params.customer_id);
    finish(errors)?;
    let filter = orders::OrderFilter {
        status,
        customer: owner_filter(&principal, customer)?,
    };
    let reached = state.await_listings(params.min_position).await?;
    let page = orders::list(state.listings.db(), &filter, &query).await?;
    Ok(answer(page, reached, |o| OrderItem {
        order_id: o.order_id,
        customer_id: o.customer_id,
        status: o.status,
        total: MoneyBody {
            amount: o.total_amount,
            currency: o.currency,
        },
        flash_sale_id: o.flash_sale_id,
        placed_position: o.placed_position,
    }))
}

// ---- reservations

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReservationListParams {
    /// requested, held, expired, failed, confirmed or released.
    pub status: Option<String>,
    /// Reservations of this buyer (a buyer's own token lists only its own anyway).
    pub buyer: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Wait (up to 2 s) until the list reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationItem {
    pub reservation_id: String,
    pub buyer: Option<String>,
    pub status: String,
    pub lines: i64,
    pub units: i64,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Log position of the request.
    pub requested_position: i64,
}

/// Reservations, newest first, by status and buyer.
#[utoipa::path(get, path = "/v1/reservations", tag = "queries",
    params(ReservationListParams),
    responses(
        (status = 200, body = ListPage<ReservationItem>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A buyer naming another buyer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_reservations(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryParams(params): QueryParams<ReservationListParams>,
) -> Result<Json<ListPage<ReservationItem>>, Problem> {
    let mut errors = Validator::new();
    let query = page_query(params.limit, params.after.as_deref(), &mut errors)?;
    let status = one_of(&mut errors, "status", params.status, reservations::STATUSES);
    let buyer = id(&mut errors, "buyer", params.buyer);
    finish(errors)?;
    let filter = reservations::ReservationFilter {
        status,
        buyer: owner_filter(&principal, buyer)?,
    };
    let reached = state.await_listings(params.min_position).await?;
    let now = state.commands.clock().now();
    let page = reservations::list(state.listings.db(), &filter, &query, now).await?;
    Ok(answer(page, reached, |r| ReservationItem {
        reservation_id: r.reservation_id,
        buyer: r.buyer,
        status: r.status,
        lines: r.lines,
        units: r.units,
        expires_at: r.expires_at,
        requested_position: r.requested_position,
    }))
}

// ---- flash sales

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlashSaleListParams {
    /// scheduled, open, ended or cancelled.
    pub status: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Wait (up to 2 s) until the list reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlashSaleItem {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub units: i64,
    pub price: MoneyBody,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// scheduled, open, ended or cancelled.
    pub status: String,
    /// Log position of the event that scheduled it.
    pub scheduled_position: i64,
}

/// Flash sales, newest first, by status.
#[utoipa::path(get, path = "/v1/flash-sales", tag = "queries",
    params(FlashSaleListParams),
    responses(
        (status = 200, body = ListPage<FlashSaleItem>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not yet at min_position", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_flash_sales(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<FlashSaleListParams>,
) -> Result<Json<ListPage<FlashSaleItem>>, Problem> {
    let mut errors = Validator::new();
    let query = page_query(params.limit, params.after.as_deref(), &mut errors)?;
    let status = one_of(&mut errors, "status", params.status, flash_sales::STATUSES);
    finish(errors)?;
    let reached = state.await_listings(params.min_position).await?;
    let now = state.commands.clock().now();
    let page = flash_sales::list(state.listings.db(), status.as_deref(), &query, now).await?;
    Ok(answer(page, reached, |f| FlashSaleItem {
        sale_id: f.sale_id,
        sku: f.sku,
        warehouse_id: f.warehouse_id,
        units: f.units,
        price: MoneyBody {
            amount: f.price_amount,
            currency: f.currency,
        },
        starts_at: f.starts_at,
        ends_at: f.ends_at,
        status: f.status.to_string(),
        scheduled_position: f.scheduled_position,
    }))
}
