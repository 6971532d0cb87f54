//! The OpenAPI 3.1 document, generated from the route annotations.

use utoipa::OpenApi;

use crate::problem::{FieldErrorBody, Problem};
use crate::routes::{admin, availability, ops, stock, warehouses};

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
        ops::health,
        ops::ready,
        ops::metrics,
    ),
    components(schemas(Problem, FieldErrorBody)),
    tags(
        (name = "commands", description = "Writes: each appends events to the log"),
        (name = "queries", description = "Reads from projections of the log"),
        (name = "admin", description = "Rebuilds and the manual clock"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
