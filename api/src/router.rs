//! The HTTP application over a back end: every route of the table that exists in
//! this configuration, behind authentication, load limits, body limits, problem+json
//! for bare errors, panic catching, tracing and request ids.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use commands::AppClock;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{authorize, Environment};
use crate::problem::problems_for_bare_errors;
use crate::routes::consistency::{refuse_min_position, WithoutReadModel};
use crate::routes::table::{self, Requirements};
use crate::routes::AppState;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The HTTP application over a back end: every route of the table
/// ([`crate::routes::table`]) that exists in this configuration.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let routes = table::routes();
    let gate = (state.auth.clone(), Arc::new(Requirements::of(&routes)));
    let without_read_model = Arc::new(WithoutReadModel::of(&routes));
    let load = state.load.clone();
    let development = state.auth.environment == Environment::Development;
    let manual_clock = matches!(state.commands.clock(), AppClock::Manual(_));
    let role = state.node.role;
    let mut router = Router::new();
    for route in routes {
        if !route.only.holds(development, manual_clock) {
            continue;
        }
        if role.serves(route.served_by) {
            router = router.route(route.path, route.handler);
        } else {
            // Still authorized first (the gate reads the table), then told where to go.
            let served_by = route.served_by;
            let filter = axum::routing::MethodFilter::try_from(route.method)
                .expect("every route's method is a standard one");
            router = router.route(
                route.path,
                axum::routing::on(
                    filter,
                    move || async move { crate::node::wrong_node(served_by) },
                ),
            );
        }
    }
    // One stack, applied once: each `Router::layer` call boxes every route's service
    // again, and a boxed service is cloned and its future boxed on every request
    // (ten layers were twenty allocations a request). Outermost first.
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(problems_for_bare_errors))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // The limit wraps the body in its own type; the layers inside take axum's.
        .map_request(|request: Request<_>| request.map(axum::body::Body::new))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Inside routing, so it knows the matched route.
        .layer(axum::middleware::from_fn_with_state(gate, authorize))
        // After authentication, so an anonymous caller learns nothing of a route.
        .layer(axum::middleware::from_fn_with_state(
            without_read_model,
            refuse_min_position,
        ))
        // After authentication: long polls are counted per caller.
        .layer(axum::middleware::from_fn_with_state(load, crate::limits::guard));
    router.with_state(state).layer(stack)
}
