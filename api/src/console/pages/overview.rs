//! Overview: commands/s, latency and refusals over the last minutes, the log head,
//! every projection's and process's lag, and the bus.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::{figure, millis};
use crate::console::session::ConsoleContext;
use crate::console::{chart, layout, live, recent};
use crate::routes::AppState;

/// Seconds the charts cover.
const CHART_SECONDS: usize = 295;
/// Seconds per chart point.
const POINT_SECONDS: usize = 5;
/// Seconds per point of the latency chart (a p99 wants a few hundred commands).
const P99_SECONDS: usize = 10;

/// The overview page.
#[utoipa::path(get, path = "/console", tag = "console",
    responses((status = 200, description = "The overview page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
) -> Response {
    let snapshot = live::snapshot(&state).await;
    let window = recent::window(CHART_SECONDS);
    let totals: Vec<f64> = window.seconds.iter().map(|s| s.total() as f64).collect();
    let refusals: Vec<f64> = window.seconds.iter().map(|s| s.refused as f64).collect();
    let p99s: Vec<f64> = window
        .p99_series(P99_SECONDS)
        .into_iter()
        .map(|p99| p99.unwrap_or(0.0))
        .collect();
    let c = &snapshot.commands;
    let body = html! {
        dl.figures {
            (figure("Log head", Some("head"), snapshot.head))
            (figure("Commands/s (10 s)", Some("commands.per_second"), format!("{:.1}", c.per_second)))
            (figure("p50 ms (1 min)", Some("commands.p50_ms"), millis(c.p50_ms)))
            (figure("p99 ms (1 min)", Some("commands.p99_ms"), millis(c.p99_ms)))
            (figure("Refused/s (1 min)", Some("commands.refused_per_second"), format!("{:.1}", c.refused_per_second)))
        }
        h2 { "Commands per second, last 5 minutes" }
        (chart::line(&chart::grouped(&totals, POINT_SECONDS), "Commands per second", "/s"))
        h2 { "p99 latency (ms) per " (P99_SECONDS) " s, last 5 minutes" }
        (chart::line(&p99s, "p99 latency", "ms"))
        h2 { "Refusals per second, last 5 minutes" }
        (chart::line(&chart::grouped(&refusals, POINT_SECONDS), "Refusals per second", "/s"))
        h2 { "Projections" }
        div.scroll tabindex="0" {
            table {
                thead { tr { th scope="col" { "Projection" } th.num scope="col" { "Position" } th.num scope="col" { "Lag (events)" } th scope="col" { "Rebuild" } } }
                tbody {
                    @for p in &snapshot.projections {
                        tr {
                            th scope="row" { a href="/console/projections" { (p.name) } }
                            td.num data-live=(format!("projection.{}.position", p.name)) { (p.position) }
                            td.num data-live=(format!("projection.{}.lag", p.name)) { (p.lag) }
                            td data-live=(format!("projection.{}.rebuild", p.name)) { (p.rebuild_state.name()) }
                        }
                    }
                }
            }
        }
        @if !snapshot.processes.is_empty() {
            h2 { "Processes" }
            div.scroll tabindex="0" {
                table {
                    thead { tr { th scope="col" { "Process" } th.num scope="col" { "Position" } th.num scope="col" { "Lag (events)" } } }
                    tbody {
                        @for p in &snapshot.processes {
                            tr {
                                th scope="row" { (p.name) }
                                td.num { (p.position) }
                                td.num data-live=(format!("process.{}.lag", p.name)) { (p.lag) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(bus) = &snapshot.bus {
            h2 { "Bus" }
            pre { (serde_json::to_string_pretty(bus).unwrap_or_default()) }
        }
        p.muted { "Node role: " (state.node.role.name())
            ". Figures update every second while JavaScript runs." }
    };
    layout::page("Overview", "/console", &context, body)
}
