//! The OpenAPI 3.1 document, generated from the route annotations.

use utoipa::OpenApi;

use crate::problem::{FieldErrorBody, Problem};
use crate::routes::{
    activity, admin, availability, keys, ops, orders, payments, product_search, products,
    reservations, stock, warehouses,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "commerce",
        description = "Event-sourced inventory and order core. Commands answer with the log `position` of their last event; queries take `min_position` to read their own writes. Errors are RFC 9457 problem+json."
    ),
    paths(
        warehouses::register,
        stock::receive,
        stock::sell,
        stock::adjust,
        stock::hold,
        stock::release,
        availability::by_sku,
        availability::by_sku_and_warehouse,
        admin::projection,
        admin::rebuild,
        admin::advance_clock,
        admin::parked,
        admin::retry_parked,
        ops::health,
        ops::ready,
        ops::metrics,
        payments::webhook,
        payments::sandbox,
        orders::place,
        orders::get,
        orders::cancel,
        orders::reservation,
        products::list,
        products::update,
        products::delist,
        products::get,
        reservations::reserve,
        reservations::get,
        reservations::confirm,
        reservations::release,
        reservations::extend,
        keys::create,
        keys::list,
        keys::revoke,
        product_search::search,
        product_search::suggestions,
        activity::record,
        crate::flash::schedule,
        crate::flash::get,
        crate::flash::cancel,
        crate::flash::purchase,
        crate::flash::ticket,
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldErrorBody)),
    tags(
        (name = "commands", description = "Writes: each appends events to the log"),
        (name = "queries", description = "Reads from projections of the log"),
        (name = "admin", description = "Rebuilds and the manual clock"),
        (name = "ops", description = "Health, readiness, metrics"),
        (name = "keys", description = "API keys (master key only)"),
    )
)]
pub struct ApiDoc;

/// In production every route but /health and /ready takes `Authorization: Bearer`
/// with the master key, an API key (`ck_...`, scopes as listed per route) or a
/// buyer's JWT. Development mode asks for nothing.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The master key, an API key (ck_..., with the scopes each route lists), or a buyer JWT",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
