//! Every route, declared once: its method and path, who may call it, and its handler.
//! The router is built from this table, the authorization middleware reads its
//! requirements from it, and the OpenAPI document takes each operation's security
//! from it — so they cannot drift, and a route that declares no requirement cannot be
//! registered at all.

use std::collections::HashMap;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};

use super::{
    activity, admin, availability, delivery, docs, keys, listings, ops, orders, payments,
    product_search, products, recommendations, replenishment, reservations, stays, stock,
    warehouses, AppState,
};
use crate::auth::Requirement::{self, Buyer, Host, Master, Public, Scope};
use crate::console::pages as console;
use crate::flash;
use crate::node::ServedBy;

/// One route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub requirement: Requirement,
    pub handler: MethodRouter<AppState>,
    /// Only where the operator may reach it: the development sandbox, the manual clock.
    pub only: Only,
    /// Whether the answer is read from the log (a projection or an aggregate), so
    /// that `min_position` means something; a GET that reads nothing of the log
    /// refuses it with 400 `no_read_model` ([`crate::routes::consistency`]).
    pub reads_log: bool,
    /// Which nodes serve it: writes on command nodes, search and recommendations on
    /// query nodes, the rest everywhere ([`crate::node`]).
    pub served_by: ServedBy,
    /// Whether a console session cookie stands for a credential here (the console's
    /// pages and stream); no other route takes one, so none can be driven cross-site.
    pub session: bool,
}

/// Where a route exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    Always,
    InDevelopment,
    OnTheManualClock,
}

impl Only {
    /// Whether a route declared so exists on a server in development mode or not,
    /// on the manual clock or not.
    pub fn holds(self, development: bool, manual_clock: bool) -> bool {
        match self {
            Only::Always => true,
            Only::InDevelopment => development,
            Only::OnTheManualClock => manual_clock,
        }
    }
}

macro_rules! constructor {
    ($name:ident, $method:ident, $route:path) => {
        pub fn $name<H, T>(path: &'static str, requirement: Requirement, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            Route {
                method: Method::$method,
                path,
                requirement,
                handler: $route(handler),
                only: Only::Always,
                reads_log: true,
                served_by: if Method::$method == Method::GET {
                    ServedBy::Any
                } else {
                    ServedBy::CommandSide
                },
                session: false,
            }
        }
    };
}

impl Route {
    constructor!(get, GET, routing::get);
    constructor!(post, POST, routing::post);
    constructor!(patch, PATCH, routing::patch);
    constructor!(put, PUT, routing::put);
    constructor!(delete, DELETE, routing::delete);

    fn only(mut self, only: Only) -> Self {
        self.only = only;
        self
    }

    /// Served from the read models only query nodes (and single nodes) run.
    fn query_side(mut self) -> Self {
        self.served_by = ServedBy::QuerySide;
        self
    }

    /// Served by every node, though not a GET (it acts on the node's own read models).
    fn any_node(mut self) -> Self {
        self.served_by = ServedBy::Any;
        self
    }

    /// A console route: a session cookie stands for a credential, every node serves
    /// it, and `min_position` means nothing to it.
    fn console(mut self) -> Self {
        self.session = true;
        self.served_by = ServedBy::Any;
        self.reads_log = false;
        self
    }

    /// Served by nodes that take writes only (a console form that writes).
    fn command_side(mut self) -> Self {
        self.served_by = ServedBy::CommandSide;
        self
    }

    /// The answer reads nothing of the log (health, metrics, keys, admission state).
    fn without_read_model(mut self) -> Self {
        self.reads_log = false;
        self
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    vec![
        // Operations.
        Route::get("/health", Public, ops::health).without_read_model(),
        Route::get("/ready", Public, ops::ready).without_read_model(),
        Route::get("/metrics", Scope("admin"), ops::metrics).without_read_model(),
        // The API's description and its reference page: public, as they describe the
        // API and hold none of its data (a browser loading /docs sends no key).
        Route::get("/openapi.json", Public, ops::openapi).without_read_model(),
        Route::get("/docs", Public, docs::page).without_read_model(),
        Route::get("/docs/swagger-ui.css", Public, docs::stylesheet).without_read_model(),
        Route::get("/docs/swagger-ui-bundle.js", Public, docs::bundle).without_read_model(),
        Route::get("/docs/swagger-initializer.js", Public, docs::initializer).without_read_model(),
        // The operator console: admins, by key or by the session their key signed in.
        Route::get("/console", Scope("admin"), console::overview::page).console(),
        Route::get("/console/stock", Scope("admin"), console::stock::page).console(),
        Route::get(
            "/console/flash-sales",
            Scope("admin"),
            console::flash_sales::page,
        )
        .console(),
        Route::get("/console/orders", Scope("admin"), console::orders::page).console(),
        Route::post(
            "/console/orders/parked/{position}/retry",
            Scope("admin"),
            console::orders::retry,
        )
        .console()
        .command_side(),
        Route::get(
            "/console/projections",
            Scope("admin"),
            console::projections::page,
        )
        .console(),
        Route::post(
            "/console/projections/{name}/rebuild",
            Scope("admin"),
            console::projections::rebuild,
        )
        .console(),
        Route::get(
            "/console/recommendations",
            Scope("admin"),
            console::recommendations::page,
        )
        .console(),
        Route::get("/console/delivery", Scope("admin"), console::delivery::page).console(),
        Route::get("/console/stays", Scope("admin"), console::stays::page).console(),
        Route::get(
            "/v1/admin/stream",
            Scope("admin"),
            crate::console::stream::stream,
        )
        .console(),
        // Signing in is open (it is how a key is presented); the files hold no data.
        Route::get("/console/sign-in", Public, console::sign_in::form).console(),
        Route::post("/console/sign-in", Public, console::sign_in::sign_in).console(),
        Route::post("/console/sign-out", Public, console::sign_in::sign_out).console(),
        Route::get(
            "/console/assets/console.css",
            Public,
            crate::console::assets::stylesheet,
        )
        .console(),
        Route::get(
            "/console/assets/console.js",
            Public,
            crate::console::assets::script,
        )
        .console(),
        Route::get(
            "/console/assets/htmx.min.js",
            Public,
            crate::console::assets::htmx,
        )
        .console(),
        // Keys: the master key only.
        Route::post("/v1/keys", Master, keys::create),
        Route::get("/v1/keys", Master, keys::list).without_read_model(),
        Route::delete("/v1/keys/{id}", Master, keys::revoke),
        // Warehouses and stock.
        Route::post("/v1/warehouses", Scope("stock:write"), warehouses::register),
        Route::get("/v1/warehouses", Scope("read"), listings::list_warehouses),
        Route::post(
            "/v1/stock/{sku}/{warehouse_id}/receipts",
            Scope("stock:write"),
            stock::receive,
        ),
        Route::post(
            "/v1/stock/{sku}/{warehouse_id}/sales",
            Scope("stock:write"),
            stock::sell,
        ),
        Route::post(
            "/v1/stock/{sku}/{warehouse_id}/adjustments",
            Scope("stock:write"),
            stock::adjust,
        ),
        Route::post(
            "/v1/stock/{sku}/{warehouse_id}/holds",
            Scope("stock:write"),
            stock::hold,
        ),
        Route::post(
            "/v1/stock/{sku}/{warehouse_id}/holds/{hold_id}/release",
            Scope("stock:write"),
            stock::release,
        ),
        Route::get(
            "/v1/availability/{sku}",
            Scope("read"),
            availability::by_sku,
        ),
        Route::get("/v1/replenishment", Scope("read"), replenishment::list),
        Route::get(
            "/v1/availability/{sku}/{warehouse_id}",
            Scope("read"),
            availability::by_sku_and_warehouse,
        ),
        // The catalog and search: shoppers search with their own token.
        Route::post("/v1/products", Scope("catalog:write"), products::list),
        Route::get("/v1/products", Scope("read"), listings::list_products),
        Route::get("/v1/products/{sku}", Scope("read"), products::get),
        Route::patch(
            "/v1/products/{sku}",
            Scope("catalog:write"),
            products::update,
        ),
        Route::delete(
            "/v1/products/{sku}",
            Scope("catalog:write"),
            products::delist,
        ),
        Route::get("/v1/search", Buyer("read"), product_search::search).query_side(),
        Route::get(
            "/v1/search/suggest",
            Buyer("read"),
            product_search::suggestions,
        )
        .query_side(),
        Route::post("/v1/activity", Buyer("activity:write"), activity::record),
        // Recommendations: a buyer reads its own list, a `buyers:act` key anyone's
        // (checked by the handler, as the path names the shopper).
        Route::get(
            "/v1/recommendations/{user_id}",
            Buyer("read"),
            recommendations::for_user,
        )
        .query_side(),
        Route::get(
            "/v1/products/{sku}/similar",
            Scope("read"),
            recommendations::similar,
        )
        .query_side(),
        // Delivery pricing: operators set cities, emergencies, weather and local
        // events; couriers' apps report their zone; buyers and shops quote.
        Route::post(
            "/v1/delivery/cities",
            Scope("delivery:write"),
            delivery::operators::set_city,
        ),
        Route::post(
            "/v1/delivery/cities/{city_id}/emergency",
            Scope("delivery:write"),
            delivery::operators::declare_emergency,
        ),
        Route::delete(
            "/v1/delivery/cities/{city_id}/emergency",
            Scope("delivery:write"),
            delivery::operators::end_emergency,
        ),
        Route::post(
            "/v1/delivery/weather",
            Scope("delivery:write"),
            delivery::operators::weather,
        ),
        Route::post(
            "/v1/delivery/local-events",
            Scope("delivery:write"),
            delivery::operators::local_event,
        ),
        Route::post(
            "/v1/delivery/couriers/{courier_id}",
            Scope("couriers:write"),
            delivery::operators::courier,
        ),
        Route::post(
            "/v1/delivery/quotes",
            Buyer("read"),
            delivery::quotes::quote,
        ),
        Route::get(
            "/v1/delivery/zones/{cell}",
            Scope("read"),
            delivery::zones::zone,
        ),
        Route::get(
            "/v1/delivery/cities/{city_id}/forecast",
            Scope("read"),
            delivery::zones::city_forecast,
        ),
        Route::get(
            "/v1/delivery/rebalancing",
            Scope("read"),
            delivery::zones::rebalancing,
        ),
        // Stays: hosts (their own token, or a key acting for them), guests (their own
        // token, or a key booking for them), everyone who reads, admins.
        Route::post("/v1/stays", Host("stays:write"), stays::hosts::create),
        Route::get("/v1/stays/search", Buyer("read"), stays::search::search),
        Route::get(
            "/v1/stays/{listing_id}",
            Buyer("read"),
            stays::search::listing,
        ),
        Route::put(
            "/v1/stays/{listing_id}",
            Host("stays:write"),
            stays::hosts::update,
        ),
        Route::delete(
            "/v1/stays/{listing_id}",
            Host("stays:write"),
            stays::hosts::unlist,
        ),
        Route::post(
            "/v1/stays/{listing_id}/calendar",
            Host("stays:write"),
            stays::hosts::calendar,
        ),
        Route::post(
            "/v1/stays/{listing_id}/auto-pricing",
            Host("stays:write"),
            stays::hosts::auto_pricing,
        ),
        Route::get(
            "/v1/stays/{listing_id}/price-suggestions",
            Host("stays:write"),
            stays::hosts::price_suggestions,
        ),
        Route::post(
            "/v1/stays/{listing_id}/bookings",
            Buyer("stays:book"),
            stays::guests::book,
        ),
        Route::get(
            "/v1/stays/{listing_id}/bookings",
            Host("stays:write"),
            stays::hosts::stays,
        ),
        Route::get(
            "/v1/stays/{listing_id}/bookings/{stay_id}",
            Buyer("stays:book"),
            stays::guests::get,
        ),
        Route::post(
            "/v1/stays/{listing_id}/bookings/{stay_id}/cancellation",
            Buyer("stays:book"),
            stays::guests::cancel,
        ),
        Route::post(
            "/v1/stays/{listing_id}/bookings/{stay_id}/review",
            Buyer("stays:book"),
            stays::guests::review,
        ),
        Route::post(
            "/v1/stays/{listing_id}/bookings/{stay_id}/response",
            Host("stays:write"),
            stays::hosts::respond,
        ),
        Route::post(
            "/v1/stays/{listing_id}/bookings/{stay_id}/host-cancellation",
            Host("stays:write"),
            stays::hosts::host_cancel,
        ),
        Route::post(
            "/v1/stays/{listing_id}/review",
            Scope("admin"),
            stays::admin::moderate,
        ),
        Route::get(
            "/v1/admin/stays/flagged",
            Scope("admin"),
            stays::admin::flagged,
        ),
        Route::get(
            "/v1/admin/stays/double-bookings",
            Scope("admin"),
            stays::admin::double_bookings,
        ),
        // Reservations and orders: a buyer for itself, or the shop's backend.
        Route::post(
            "/v1/reservations",
            Buyer("orders:write"),
            reservations::reserve,
        ),
        Route::get(
            "/v1/reservations",
            Buyer("orders:write"),
            listings::list_reservations,
        ),
        Route::get(
            "/v1/reservations/{id}",
            Buyer("orders:write"),
            reservations::get,
        ),
        Route::post(
            "/v1/reservations/{id}/confirm",
            Buyer("orders:write"),
            reservations::confirm,
        ),
        Route::post(
            "/v1/reservations/{id}/release",
            Buyer("orders:write"),
            reservations::release,
        ),
        Route::post(
            "/v1/reservations/{id}/extend",
            Buyer("orders:write"),
            reservations::extend,
        ),
        Route::post("/v1/orders", Buyer("orders:write"), orders::place),
        Route::get("/v1/orders", Buyer("orders:write"), listings::list_orders),
        Route::get("/v1/orders/{id}", Buyer("orders:write"), orders::get),
        // The fulfilment service reports shipments that left.
        Route::post(
            "/v1/orders/{id}/shipments",
            Scope("fulfilment:write"),
            orders::dispatch,
        ),
        Route::post(
            "/v1/orders/{id}/cancel",
            Buyer("orders:write"),
            orders::cancel,
        ),
        Route::get(
            "/v1/orders/{id}/reservation",
            Buyer("orders:write"),
            orders::reservation,
        ),
        // Payments: the provider's signature is its credential.
        Route::post("/v1/payments/webhook", Public, payments::webhook),
        Route::post(
            "/v1/payments/sandbox/{order_id}",
            Scope("admin"),
            payments::sandbox,
        )
        .only(Only::InDevelopment),
        // Flash sales.
        Route::post("/v1/flash-sales", Scope("sales:write"), flash::schedule),
        Route::get("/v1/flash-sales", Buyer("read"), listings::list_flash_sales),
        Route::get("/v1/flash-sales/{sale_id}", Buyer("read"), flash::get),
        Route::post(
            "/v1/flash-sales/{sale_id}/cancel",
            Scope("sales:write"),
            flash::cancel,
        ),
        Route::post(
            "/v1/flash-sales/{sale_id}/purchase",
            Buyer("orders:write"),
            flash::purchase,
        ),
        Route::get(
            "/v1/flash-sales/{sale_id}/queue/{ticket}",
            Buyer("orders:write"),
            flash::ticket,
        )
        .without_read_model(),
        // Administration.
        Route::get(
            "/v1/admin/projections/{name}",
            Scope("admin"),
            admin::projection,
        )
        .without_read_model(),
        Route::post(
            "/v1/admin/projections/{name}/rebuild",
            Scope("admin"),
            admin::rebuild,
        )
        .any_node(),
        Route::post(
            "/v1/admin/clock/advance",
            Scope("admin"),
            admin::advance_clock,
        )
        .only(Only::OnTheManualClock),
        Route::get(
            "/v1/admin/recommendations",
            Scope("admin"),
            recommendations::model,
        )
        .query_side()
        .without_read_model(),
        Route::post(
            "/v1/admin/recommendations/retrain",
            Scope("admin"),
            recommendations::retrain,
        )
        .query_side(),
        Route::post(
            "/v1/admin/recommendations/rollback",
            Scope("admin"),
            recommendations::rollback,
        )
        .query_side(),
        Route::get(
            "/v1/admin/processes/order/parked",
            Scope("admin"),
            admin::parked,
        )
        .without_read_model(),
        Route::post(
            "/v1/admin/processes/order/parked/{position}/retry",
            Scope("admin"),
            admin::retry_parked,
        ),
    ]
}

/// What each registered route asks of its caller, by method and path pattern.
#[derive(Debug, Default)]
pub struct Requirements {
    by_route: HashMap<(Method, &'static str), Requirement>,
    paths: std::collections::HashSet<&'static str>,
    /// Routes a console session cookie may call.
    sessions: std::collections::HashSet<(Method, &'static str)>,
}

impl Requirements {
    pub fn of(routes: &[Route]) -> Self {
        Requirements {
            by_route: routes
                .iter()
                .map(|route| ((route.method.clone(), route.path), route.requirement))
                .collect(),
            paths: routes.iter().map(|route| route.path).collect(),
            sessions: routes
                .iter()
                .filter(|route| route.session)
                .map(|route| (route.method.clone(), route.path))
                .collect(),
        }
    }

    /// Whether a console session cookie stands for a credential on `route`.
    pub fn takes_session(&self, method: &Method, route: Option<&str>) -> bool {
        let method = declared(method);
        route.is_some_and(|route| self.sessions.contains(&(method.clone(), route)))
    }

    /// What a request to `route` (its matched pattern) asks for. An unknown route,
    /// or a method the path does not take (405), asks for a credential, so an
    /// anonymous caller cannot tell which routes exist; a matched path that declared
    /// nothing at all (impossible when the router is built from the table) asks for
    /// the master key.
    pub fn of_request(&self, method: &Method, route: Option<&str>) -> Requirement {
        let Some(route) = route else {
            return Requirement::Authenticated;
        };
        let method = declared(method);
        match self.by_route.get(&(method.clone(), route)) {
            Some(requirement) => *requirement,
            None if self.paths.contains(route) => Requirement::Authenticated,
            None => Requirement::Master,
        }
    }
}

/// The method a request is declared under: HEAD is answered by the GET handler, so
/// it asks what GET asks.
fn declared(method: &Method) -> &Method {
    if method == Method::HEAD {
        &Method::GET
    } else {
        method
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Requirement::Authenticated;

    fn requirement(method: Method, route: &str) -> Requirement {
        Requirements::of(&routes()).of_request(&method, Some(route))
    }

    #[test]
    fn each_route_asks_what_the_table_says() {
        assert_eq!(requirement(Method::GET, "/health"), Public);
        assert_eq!(
            requirement(Method::POST, "/v1/warehouses"),
            Scope("stock:write")
        );
        assert_eq!(
            requirement(Method::HEAD, "/v1/availability/{sku}"),
            Scope("read")
        );
        assert_eq!(requirement(Method::POST, "/v1/keys"), Master);
        assert_eq!(requirement(Method::GET, "/openapi.json"), Public);
        assert_eq!(requirement(Method::GET, "/docs"), Public);
        assert_eq!(
            Requirements::of(&routes()).of_request(&Method::GET, None),
            Authenticated
        );
    }

    #[test]
    fn a_method_a_path_does_not_take_asks_for_a_credential_and_an_undeclared_path_for_the_master_key(
    ) {
        assert_eq!(requirement(Method::PUT, "/v1/orders/{id}"), Authenticated);
        assert_eq!(requirement(Method::GET, "/v1/undeclared"), Master);
    }

    #[test]
    fn every_route_is_declared_once() {
        let routes = routes();
        let mut seen = std::collections::HashSet::new();
        for route in &routes {
            assert!(
                seen.insert((route.method.clone(), route.path)),
                "{} {} is declared twice",
                route.method,
                route.path
            );
        }
    }
}
