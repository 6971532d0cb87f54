//! Stock: a SKU's on hand, held and available per warehouse, its open holds with
//! when they run out, its recent events and reorder suggestions.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use event_schemas::stock::{stock_aggregate_id, STOCK_AGGREGATE};
use maud::html;
use serde::Deserialize;
use utoipa::IntoParams;

use super::field;
use crate::console::layout::{self, count, time};
use crate::console::session::ConsoleContext;
use crate::problem::{Problem, QueryParams};
use crate::routes::AppState;

/// Holds and events shown per SKU.
const SHOWN: i64 = 50;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// The SKU to show.
    pub sku: Option<String>,
}

/// The stock page.
#[utoipa::path(get, path = "/console/stock", tag = "console", params(StockQuery),
    responses((status = 200, description = "The stock page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    QueryParams(query): QueryParams<StockQuery>,
) -> Result<Response, Problem> {
    let sku = field(&query.sku);
    let found = match &sku {
        Some(sku) => state.live_availability.query(sku, None).0,
        None => None,
    };
    let holds = match &found {
        Some(view) => projections::open_holds::of_sku(state.open_holds.db(), &view.sku, SHOWN)
            .await
            .map_err(|e| Problem::unavailable("storage_unavailable", e.to_string()))?,
        None => Vec::new(),
    };
    let mut events = Vec::new();
    if let Some(view) = &found {
        for warehouse in &view.warehouses {
            let id = stock_aggregate_id(&view.sku, &warehouse.warehouse_id);
            for entry in state
                .commands
                .store()
                .history(STOCK_AGGREGATE, &id, SHOWN)
                .await
                .map_err(Problem::from)?
            {
                events.push((warehouse.warehouse_id.clone(), entry));
            }
        }
        events.sort_by_key(|(_, e)| std::cmp::Reverse(e.position));
        events.truncate(SHOWN as usize);
    }
    let advice = match &found {
        Some(view) => {
            state
                .delivery
                .replenishment
                .read(|model| {
                    view.warehouses
                        .iter()
                        .filter_map(|w| model.advice(&view.sku, &w.warehouse_id))
                        .collect::<Vec<_>>()
                })
                .0
        }
        None => Vec::new(),
    };
    let body = html! {
        form.search method="get" action="/console/stock" role="search" {
            div {
                label for="sku" { "SKU" }
                input #sku type="search" name="sku" value=[sku.as_deref()] maxlength="128" required;
            }
            button type="submit" { "Show" }
        }
        @match (&sku, &found) {
            (None, _) => p.muted { "Name a SKU to see its stock." },
            (Some(sku), None) => p.notice { "No stock of " strong { (sku) } " has been recorded." },
            (Some(_), Some(view)) => {
                h2 { "Stock of " (view.sku) }
                dl.figures {
                    (super::figure("On hand", None, count(view.on_hand)))
                    (super::figure("Held", None, count(view.held)))
                    (super::figure("Available", None, count(view.available)))
                    (super::figure("As of log position", None, view.position))
                }
                div.scroll tabindex="0" { table {
                    caption.skip { "Stock per warehouse" }
                    thead { tr { th scope="col" { "Warehouse" } th.num scope="col" { "On hand" } th.num scope="col" { "Held" } th.num scope="col" { "Available" } } }
                    tbody { @for w in &view.warehouses { tr {
                        th scope="row" { (w.warehouse_id) }
                        td.num { (count(w.on_hand)) } td.num { (count(w.held)) } td.num { (count(w.available)) }
                    } } }
                } }
                h2 { "Open holds" }
                @if holds.is_empty() { p.muted { "No open holds." } } @else {
                    div.scroll tabindex="0" { table {
                        thead { tr { th scope="col" { "Warehouse" } th scope="col" { "Hold" } th.num scope="col" { "Units" } th scope="col" { "Runs out" } } }
                        tbody { @for h in &holds { tr {
                            td { (h.warehouse_id) } td { (h.hold_id) } td.num { (count(h.quantity)) }
                            td { @match h.expires_at { Some(at) => (time(at)), None => span.muted { "no end" } } }
                        } } }
                    } }
                }
                h2 { "Reorder suggestions" }
                @if advice.is_empty() { p.muted { "No sales recorded yet to advise from." } } @else {
                    div.scroll tabindex="0" { table {
                        thead { tr { th scope="col" { "Warehouse" } th.num scope="col" { "Sold a day" } th.num scope="col" { "Days of cover" } th.num scope="col" { "Reorder point" } th.num scope="col" { "Order now" } } }
                        tbody { @for s in &advice { tr {
                            td { (s.warehouse_id) }
                            td.num { (format!("{:.1}", s.advice.velocity)) }
                            td.num { (s.advice.days_of_cover.map_or("–".to_string(), |d| format!("{d:.1}"))) }
                            td.num { (format!("{:.0}", s.advice.reorder_point)) }
                            td.num { @if s.advice.suggested_quantity > 0 { strong.warn { (count(s.advice.suggested_quantity as i64)) } } @else { "0" } }
                        } } }
                    } }
                }
                h2 { "Recent events" }
                div.scroll tabindex="0" { table {
                    thead { tr { th.num scope="col" { "Position" } th scope="col" { "Warehouse" } th scope="col" { "Event" } th scope="col" { "At" } } }
                    tbody { @for (warehouse, e) in &events { tr {
                        td.num { (e.position) } td { (warehouse) } td { (e.event_type) } td { (time(e.occurred_at)) }
                    } } }
                } }
            }
        }
    };
    Ok(layout::page("Stock", "/console/stock", &context, body))
}
