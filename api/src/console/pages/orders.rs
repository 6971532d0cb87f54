//! Orders: the newest orders by status, one order's timeline of events with each
//! step's time, and the events the order process parked, each with a retry button.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use event_schemas::order::ORDER_AGGREGATE;
use maud::html;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{action, check_csrf, field, link, ActionForm};
use crate::console::layout::{self, count, money, time};
use crate::console::session::ConsoleContext;
use crate::problem::{PathParams, Problem, QueryParams};
use crate::routes::AppState;

/// Orders listed, and events shown of one order.
const SHOWN: usize = 50;
/// The statuses the list filters by, as orders name them.
const STATUSES: &[&str] = &[
    "placed",
    "reserved",
    "paid",
    "confirmed",
    "rejected",
    "cancelled",
    "payment_failed",
    "timed_out",
    "refunded",
];

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Only orders in this status.
    pub status: Option<String>,
    /// One order's timeline.
    pub order: Option<String>,
}

/// The orders page.
#[utoipa::path(get, path = "/console/orders", tag = "console", params(OrdersQuery),
    responses((status = 200, description = "The orders page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    QueryParams(query): QueryParams<OrdersQuery>,
) -> Result<Response, Problem> {
    let status = field(&query.status).filter(|s| STATUSES.contains(&s.as_str()));
    let filter = projections::listings::orders::OrderFilter {
        status: status.clone(),
        customer: None,
    };
    let list_query = projections::listings::ListQuery {
        limit: SHOWN,
        after: projections::listings::page::After::Start,
    };
    let orders = projections::listings::orders::list(state.listings.db(), &filter, &list_query)
        .await
        .map_err(|e| Problem::unavailable("storage_unavailable", e.to_string()))?;
    let counts = projections::listings::orders::counts_by_status(state.listings.db())
        .await
        .map_err(|e| Problem::unavailable("storage_unavailable", e.to_string()))?;
    let order = field(&query.order);
    let timeline = match &order {
        Some(id) => state
            .commands
            .store()
            .history(ORDER_AGGREGATE, id, SHOWN as i64)
            .await
            .map_err(Problem::from)?,
        None => Vec::new(),
    };
    // Parked events live with the order process, on nodes that take writes.
    let parked = if state.node.role.takes_writes() {
        Some(
            state
                .commands
                .parked_order_events()
                .await
                .map_err(Problem::from)?,
        )
    } else {
        None
    };
    let body = html! {
        form.search method="get" action="/console/orders" {
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" selected[status.is_none()] { "any" }
                    @for s in STATUSES { option value=(s) selected[status.as_deref() == Some(*s)] { (s) } }
                }
            }
            div {
                label for="order" { "Order id" }
                input #order type="search" name="order" value=[order.as_deref()] maxlength="128";
            }
            button type="submit" { "Show" }
        }
        @if let Some(id) = &order {
            h2 { "Timeline of " (id) }
            @if timeline.is_empty() { p.notice { "No order " strong { (id) } " has been recorded." } } @else {
                @let start = timeline[0].occurred_at;
                ol.timeline { @for e in &timeline { li {
                    strong { (e.event_type) } " at " (time(e.occurred_at))
                    @if e.occurred_at > start {
                        " (+" (format!("{:.3}", (e.occurred_at - start).num_milliseconds() as f64 / 1000.0)) " s)"
                    }
                    span.muted { " · position " (e.position) }
                } } }
            }
        }
        @if !counts.is_empty() {
            h2 { "Orders by status" }
            dl.figures {
                @for (status, n) in &counts {
                    div {
                        dt { a href=(link("/console/orders", "status", status)) { (status) } }
                        dd { (count(*n)) }
                    }
                }
            }
        }
        h2 { "Newest orders" @if let Some(s) = &status { " (" (s) ")" } }
        @if orders.items.is_empty() { p.muted { "No orders." } } @else {
            div.scroll tabindex="0" { table {
                thead { tr { th scope="col" { "Order" } th scope="col" { "Status" } th scope="col" { "Buyer" } th.num scope="col" { "Total" } th scope="col" { "Flash sale" } th.num scope="col" { "Placed at position" } } }
                tbody { @for o in &orders.items { tr {
                    th scope="row" { a href=(link("/console/orders", "order", &o.order_id)) { (o.order_id) } }
                    td { (o.status) }
                    td { (o.customer_id.as_deref().unwrap_or("–")) }
                    td.num { (money(o.total_amount)) " " (o.currency) }
                    td { (o.flash_sale_id.as_deref().unwrap_or("")) }
                    td.num { (o.placed_position) }
                } } }
            } }
        }
        h2 { "Parked process events" }
        @match &parked {
            None => p.muted { "This node does not run the order process." },
            Some(parked) if parked.parked.is_empty() => p.muted { "Nothing parked." },
            Some(parked) => div.scroll tabindex="0" { table {
                thead { tr { th.num scope="col" { "Position" } th scope="col" { "Event" } th scope="col" { "Order" } th scope="col" { "Why" } th scope="col" { span.skip { "Action" } } } }
                tbody { @for p in parked.parked.values() { tr {
                    td.num { (p.position) } td { (p.event_type) } td { (p.aggregate_id) } td { (p.reason) }
                    td { (action(&format!("/console/orders/parked/{}/retry", p.position), "Retry", &context)) }
                } } }
            } },
        }
    };
    Ok(layout::page("Orders", "/console/orders", &context, body))
}

/// Retry a parked event (the console's form), then show the orders page again.
#[utoipa::path(post, path = "/console/orders/parked/{position}/retry", tag = "console",
    params(("position" = i64, Path)),
    request_body(content = ActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done; back to the orders page"),
        (status = 403, description = "The form's CSRF token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It failed again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    Extension(principal): Extension<crate::auth::Principal>,
    headers: axum::http::HeaderMap,
    PathParams(position): PathParams<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Problem> {
    check_csrf(&context, &form)?;
    let _still_parked = crate::routes::admin::retry_parked(
        State(state),
        headers,
        Extension(principal),
        PathParams(position),
    )
    .await?;
    Ok(Redirect::to("/console/orders").into_response())
}
