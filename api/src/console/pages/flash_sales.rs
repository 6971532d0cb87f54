//! Flash sales: each of the newest sales' units held, sold and remaining, its queue,
//! admission rate and the estimated wait, updating live while a sale runs.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use crate::console::layout::{self, count};
use crate::console::live;
use crate::console::session::ConsoleContext;
use crate::routes::AppState;

/// The flash-sales page.
#[utoipa::path(get, path = "/console/flash-sales", tag = "console",
    responses((status = 200, description = "The flash-sales page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
) -> Response {
    let sales = live::sale_figures(&state).await;
    let body = html! {
        @if sales.is_empty() {
            p.muted { "No flash sale has been scheduled." }
        } @else {
            p.muted { "The " (live::FLASH_SALES_SHOWN) " newest sales. The estimated wait is the queue's length at the admission rate." }
            div.scroll tabindex="0" { table {
                thead { tr {
                    th scope="col" { "Sale" } th scope="col" { "SKU" } th scope="col" { "Status" }
                    th.num scope="col" { "Units" } th.num scope="col" { "Held" } th.num scope="col" { "Sold" }
                    th.num scope="col" { "Remaining" } th.num scope="col" { "Queue" } th.num scope="col" { "Admitted/s" }
                    th.num scope="col" { "Wait (s)" }
                } }
                tbody { @for figures in &sales {
                    @let s = &figures.sale;
                    @let key = |field: &str| format!("flash.{}.{field}", s.sale_id);
                    tr {
                        th scope="row" { (s.sale_id) }
                        td { a href=(super::link("/console/stock", "sku", &s.sku)) { (s.sku) } }
                        td data-live=(key("status")) { (s.status) }
                        td.num { (count(s.units as i64)) }
                        td.num data-live=(key("held")) { (s.held) }
                        td.num data-live=(key("sold")) { (s.sold) }
                        td.num data-live=(key("remaining")) { (s.remaining) }
                        td.num data-live=(key("queue_length")) { (s.queue_length) }
                        td.num data-live=(key("admission_rate")) { (s.admission_rate) }
                        td.num data-live=(key("estimated_wait_seconds")) { (figures.estimated_wait_seconds) }
                    }
                } }
            } }
        }
    };
    layout::page("Flash sales", "/console/flash-sales", &context, body)
}
