//! The OpenAPI 3.1 document, generated from the route annotations.

use utoipa::OpenApi;

use crate::problem::{FieldErrorBody, Problem};
use crate::routes::{
    activity, admin, availability, keys, listings, ops, orders, payments, product_search, products,
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
        listings::list_warehouses,
        listings::list_products,
        listings::list_orders,
        listings::list_reservations,
        listings::list_flash_sales,
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
        ops::openapi,
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

/// The document, each operation's security taken from the route table (where every
/// route's requirement is declared, once).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for route in crate::routes::table::routes() {
        let operation = document
            .paths
            .paths
            .get_mut(route.path)
            .and_then(|item| operation_mut(item, &route.method));
        if let Some(operation) = operation {
            operation.security = Some(security(route.requirement));
        }
    }
    document
}

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &axum::http::Method,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    use axum::http::Method;
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        Method::PUT => item.put.as_mut(),
        _ => None,
    }
}

/// A requirement as OpenAPI security: the bearer scheme with the scope asked for
/// (`master` for the master key), or none for public routes.
fn security(
    requirement: crate::auth::Requirement,
) -> Vec<utoipa::openapi::security::SecurityRequirement> {
    use crate::auth::Requirement;
    use utoipa::openapi::security::SecurityRequirement;
    let scopes: Vec<&str> = match requirement {
        Requirement::Public => return vec![],
        Requirement::Authenticated => vec![],
        Requirement::Scope(scope) | Requirement::Buyer(scope) => vec![scope],
        Requirement::Master => vec!["master"],
    };
    vec![SecurityRequirement::new("bearer", scopes)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_the_security_of_the_table() {
        let document = document();
        for route in crate::routes::table::routes() {
            let mut item = document
                .paths
                .paths
                .get(route.path)
                .cloned()
                .unwrap_or_else(|| panic!("{} is not in the document", route.path));
            let operation = operation_mut(&mut item, &route.method)
                .unwrap_or_else(|| panic!("{} {} is not documented", route.method, route.path));
            // Compared as JSON: the security types have no Debug.
            assert_eq!(
                serde_json::to_value(&operation.security).unwrap(),
                serde_json::to_value(Some(security(route.requirement))).unwrap(),
                "{} {}",
                route.method,
                route.path
            );
        }
    }
}
