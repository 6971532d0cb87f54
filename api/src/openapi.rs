//! The OpenAPI 3.1 document, generated from the route annotations, completed from the
//! route table: each operation's security, the rules of path parameters
//! ([`parameters`]), the problem answers every route of its kind can give
//! ([`answers`]) and examples where a body has none ([`examples`]).

mod answers;
mod examples;
mod parameters;

use serde_json::Value;
use utoipa::OpenApi;

use crate::problem::{FieldErrorBody, Problem};
use crate::routes::{
    activity, admin, availability, delivery, keys, listings, ops, orders, payments, product_search,
    products, recommendations, replenishment, reservations, stays, stock, warehouses,
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
        replenishment::list,
        admin::projection,
        admin::rebuild,
        admin::advance_clock,
        admin::parked,
        admin::retry_parked,
        ops::health,
        ops::ready,
        ops::metrics,
        ops::openapi,
        crate::routes::docs::page,
        crate::routes::docs::stylesheet,
        crate::routes::docs::bundle,
        crate::routes::docs::initializer,
        payments::webhook,
        payments::sandbox,
        orders::place,
        orders::get,
        orders::cancel,
        orders::dispatch,
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
        recommendations::for_user,
        recommendations::similar,
        recommendations::model,
        recommendations::retrain,
        recommendations::rollback,
        delivery::operators::set_city,
        delivery::operators::declare_emergency,
        delivery::operators::end_emergency,
        delivery::operators::weather,
        delivery::operators::local_event,
        delivery::operators::courier,
        delivery::quotes::quote,
        delivery::zones::zone,
        delivery::zones::city_forecast,
        delivery::zones::rebalancing,
        stays::hosts::create,
        stays::hosts::update,
        stays::hosts::unlist,
        stays::hosts::calendar,
        stays::hosts::auto_pricing,
        stays::hosts::price_suggestions,
        stays::hosts::stays,
        stays::hosts::respond,
        stays::hosts::host_cancel,
        stays::guests::book,
        stays::guests::get,
        stays::guests::cancel,
        stays::guests::review,
        stays::search::search,
        stays::search::listing,
        stays::admin::moderate,
        stays::admin::flagged,
        stays::admin::double_bookings,
        crate::flash::schedule,
        crate::flash::get,
        crate::flash::cancel,
        crate::flash::purchase,
        crate::flash::ticket,
        crate::console::stream::stream,
        crate::console::pages::overview::page,
        crate::console::pages::stock::page,
        crate::console::pages::flash_sales::page,
        crate::console::pages::orders::page,
        crate::console::pages::orders::retry,
        crate::console::pages::projections::page,
        crate::console::pages::projections::rebuild,
        crate::console::pages::recommendations::page,
        crate::console::pages::delivery::page,
        crate::console::pages::stays::page,
        crate::console::pages::sign_in::form,
        crate::console::pages::sign_in::sign_in,
        crate::console::pages::sign_in::sign_out,
        crate::console::assets::stylesheet,
        crate::console::assets::script,
        crate::console::assets::htmx,
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldErrorBody)),
    tags(
        (name = "commands", description = "Writes: each appends events to the log"),
        (name = "queries", description = "Reads from projections of the log"),
        (name = "admin", description = "Rebuilds and the manual clock"),
        (name = "ops", description = "Health, readiness, metrics"),
        (name = "keys", description = "API keys (master key only)"),
        (name = "console", description = "The operator console: HTML pages for staff (an admin key, or the session it signed in)"),
        (name = "stays", description = "Short-term rentals: hosts' listings and calendars, guests' bookings, search"),
    )
)]
pub struct ApiDoc;

/// In production every route but /health and /ready takes `Authorization: Bearer`
/// with the master key, an API key (`ck_...`, scopes as listed per route) or a
/// buyer's JWT (a host's: the same token with the claim `role: "host"`). Development mode asks for nothing.
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

/// The document: each operation's security and common answers taken from the route
/// table (where every route's requirement is declared, once), and an example for
/// every body.
pub fn document() -> Value {
    let mut document = ApiDoc::openapi();
    let routes = crate::routes::table::routes();
    for route in &routes {
        let operation = document
            .paths
            .paths
            .get_mut(route.path)
            .and_then(|item| operation_mut(item, &route.method));
        if let Some(operation) = operation {
            operation.security = Some(security(route.requirement));
        }
    }
    let mut document = serde_json::to_value(&document).expect("the document is JSON");
    parameters::add(&mut document);
    answers::add(&mut document, &routes);
    examples::add(&mut document);
    name_operations(&mut document);
    document
}

/// The document as a server serves it: only the routes that exist on it (the
/// development sandbox and the manual clock are described only where they are).
pub fn served(development: bool, manual_clock: bool) -> Value {
    let mut document = document();
    for route in crate::routes::table::routes() {
        if route.only.holds(development, manual_clock) {
            continue;
        }
        let Some(item) = document["paths"]
            .get_mut(route.path)
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        item.remove(&route.method.as_str().to_ascii_lowercase());
        if !item.keys().any(|key| {
            matches!(
                key.as_str(),
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
            )
        }) {
            document["paths"]
                .as_object_mut()
                .expect("paths is an object")
                .remove(route.path);
        }
    }
    document
}

/// Operation ids named for their resource as well as their handler (`orders_get`,
/// `reservations_get`): utoipa takes the handler's name alone, and OpenAPI wants each
/// id once.
fn name_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        // `/v1/<resource>/...` by the resource; the console's pages by their page.
        let resource = if path.starts_with("/console") {
            path.trim_start_matches('/')
                .split('/')
                .take(2)
                .collect::<Vec<_>>()
                .join("_")
        } else {
            let Some(resource) = path.strip_prefix("/v1/").and_then(|p| p.split('/').next()) else {
                continue;
            };
            resource.to_string()
        };
        let resource = resource.replace('-', "_");
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                if !id.starts_with(&format!("{resource}_")) {
                    operation["operationId"] = Value::String(format!("{resource}_{id}"));
                }
            }
        }
    }
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
        Requirement::Scope(scope) | Requirement::Buyer(scope) | Requirement::Host(scope) => {
            vec![scope]
        }
        Requirement::Master => vec!["master"],
    };
    vec![SecurityRequirement::new("bearer", scopes)]
}

#[cfg(test)]
mod tests;
