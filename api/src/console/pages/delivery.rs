//! Delivery: the fee map of zones (each H3 cell drawn as its hexagon, coloured by
//! the multiplier a delivery there is charged now), each city's policy state, and
//! the busiest zones' figures.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use crate::console::layout;
use crate::console::session::ConsoleContext;
use crate::routes::AppState;

/// Zones drawn and listed, the busiest first.
const SHOWN: usize = 400;
const MAP_WIDTH: f64 = 600.0;
const MAP_HEIGHT: f64 = 400.0;

/// One zone as the page shows it.
struct ZoneRow {
    cell: String,
    city_id: Option<String>,
    demand: f64,
    supply: u32,
    multiplier: f64,
    /// The hexagon's corners: (longitude × cos latitude, latitude), in degrees.
    corners: Vec<(f64, f64)>,
}

/// The fill of a multiplier: green at 1×, through amber, to red at 2× and above.
fn colour(multiplier: f64) -> &'static str {
    match multiplier {
        m if m < 1.05 => "#2da44e",
        m if m < 1.25 => "#9bb53a",
        m if m < 1.5 => "#d4a72c",
        m if m < 2.0 => "#e16f24",
        _ => "#cf222e",
    }
}

fn map(zones: &[ZoneRow]) -> Markup {
    let corners = zones.iter().flat_map(|z| z.corners.iter());
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in corners {
        min_x = min_x.min(*x);
        max_x = max_x.max(*x);
        min_y = min_y.min(*y);
        max_y = max_y.max(*y);
    }
    // A margin of 10 units on every side.
    let span = ((max_x - min_x) / (MAP_WIDTH - 20.0))
        .max((max_y - min_y) / (MAP_HEIGHT - 20.0))
        .max(1e-9);
    let point = |(x, y): &(f64, f64)| {
        format!(
            "{:.1},{:.1}",
            10.0 + (x - min_x) / span,
            MAP_HEIGHT - 10.0 - (y - min_y) / span
        )
    };
    let label = format!("Fee map of {} zones, coloured by multiplier", zones.len());
    html! {
        svg.map viewBox=(format!("0 0 {MAP_WIDTH} {MAP_HEIGHT}")) role="img" aria-label=(label)
            xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            @for zone in zones {
                polygon points=(zone.corners.iter().map(point).collect::<Vec<_>>().join(" "))
                    fill=(colour(zone.multiplier)) stroke="#ffffff" stroke-width="1" {
                    title { (zone.cell) ": ×" (format!("{:.2}", zone.multiplier)) }
                }
            }
        }
    }
}

/// The delivery page.
#[utoipa::path(get, path = "/console/delivery", tag = "console",
    responses((status = 200, description = "The delivery fee map", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
) -> Response {
    let now = state.commands.clock().now();
    let ((cities, mut zones), position) = state.delivery.pricing.read(|model| {
        let cities: Vec<(String, String, bool)> = model
            .cities
            .values()
            .map(|c| {
                (
                    c.city_id.clone(),
                    c.time_zone.to_string(),
                    c.emergency.is_some(),
                )
            })
            .collect();
        let zones: Vec<ZoneRow> = model
            .zones()
            .map(|(cell, _)| {
                let report = ::delivery::outlook::zone_report(model, cell, now);
                ZoneRow {
                    cell: cell.to_string(),
                    city_id: report.city_id,
                    demand: report.demand,
                    supply: report.supply,
                    multiplier: report.multiplier,
                    // East-west degrees shrink with latitude: scaled, so hexagons
                    // look as they are on the ground.
                    corners: cell
                        .boundary()
                        .iter()
                        .map(|c| (c.lng() * c.lat().to_radians().cos(), c.lat()))
                        .collect(),
                }
            })
            .collect();
        (cities, zones)
    });
    zones.sort_by(|a, b| {
        b.multiplier
            .total_cmp(&a.multiplier)
            .then(b.demand.total_cmp(&a.demand))
    });
    zones.truncate(SHOWN);
    let body = html! {
        p.muted { "As of log position " (position) ". A zone is drawn once the log has told of demand or couriers in it." }
        h2 { "Cities" }
        @if cities.is_empty() { p.muted { "No city has a pricing policy." } } @else {
            ul { @for (city, zone, emergency) in &cities {
                li { strong { (city) } " (" (zone) ")" @if *emergency { " · " span.bad { "emergency" } } }
            } }
        }
        h2 { "Fee map" }
        @if zones.is_empty() { p.muted { "No zone has demand or couriers yet." } } @else {
            (map(&zones))
            p.legend { "Green 1×, yellow to 1.5×, orange to 2×, red above." }
            h2 { "Zones, the dearest first" }
            div.scroll tabindex="0" { table {
                thead { tr { th scope="col" { "Zone" } th scope="col" { "City" } th.num scope="col" { "Demand" } th.num scope="col" { "Couriers" } th.num scope="col" { "Multiplier" } } }
                tbody { @for z in zones.iter().take(50) { tr {
                    th scope="row" { (z.cell) }
                    td { (z.city_id.as_deref().unwrap_or("–")) }
                    td.num { (format!("{:.1}", z.demand)) }
                    td.num { (z.supply) }
                    td.num { "×" (format!("{:.2}", z.multiplier)) }
                } } }
            } }
        }
    };
    layout::page("Delivery", "/console/delivery", &context, body)
}
