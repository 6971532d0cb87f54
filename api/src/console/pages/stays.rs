//! Stays: a listing's calendar for the next eight weeks (free, taken by a stay, or
//! closed, at each night's price) and the listings awaiting moderation.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use chrono::{Datelike, Duration};
use maud::html;
use serde::Deserialize;
use stays::model::NightState;
use utoipa::IntoParams;

use super::field;
use crate::console::layout::{self, money};
use crate::console::session::ConsoleContext;
use crate::problem::{Problem, QueryParams};
use crate::routes::AppState;

/// Weeks of calendar shown.
const WEEKS: u32 = 8;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaysQuery {
    /// The listing whose calendar to show.
    pub listing: Option<String>,
}

/// The stays page.
#[utoipa::path(get, path = "/console/stays", tag = "console", params(StaysQuery),
    responses((status = 200, description = "The stays page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    QueryParams(query): QueryParams<StaysQuery>,
) -> Result<Response, Problem> {
    let listing_id = field(&query.listing);
    let today = state.commands.clock().now().date_naive();
    // From this week's Monday, so the grid's columns are weekdays.
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let ((listing, nights, flagged), position) = state.stays.live.read(|model| {
        let listing = listing_id.as_deref().and_then(|id| model.listing(id));
        let nights = listing_id
            .as_deref()
            .and_then(|id| model.nights(id, monday, WEEKS * 7))
            .unwrap_or_default();
        (listing, nights, model.flagged())
    });
    let body = html! {
        form.search method="get" action="/console/stays" {
            div {
                label for="listing" { "Listing" }
                input #listing type="search" name="listing" value=[listing_id.as_deref()] maxlength="128";
            }
            button type="submit" { "Show calendar" }
        }
        @match (&listing_id, &listing) {
            (None, _) => p.muted { "Name a listing to see its calendar." },
            (Some(id), None) => p.notice { "There is no listing " strong { (id) } "." },
            (Some(_), Some(l)) => {
                h2 { (l.title) " (" (l.id) ")" }
                dl.figures {
                    (super::figure("Status", None, l.status))
                    (super::figure("Host", None, &l.host_id))
                    (super::figure("Nightly price", None, format!("{} {}", money(l.nightly_price as i64), l.currency)))
                    (super::figure("Rating", None, format!("{:.2} ({} reviews)", l.rating, l.review_count)))
                }
                h2 { "Next " (WEEKS) " weeks" }
                p.legend { "Free nights are green, nights taken by a stay red, closed nights grey; each with its price." }
                div.scroll tabindex="0" { table.calendar {
                    caption.skip { "Calendar, one row a week" }
                    thead { tr { @for day in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] { th scope="col" { (day) } } } }
                    tbody { @for week in nights.chunks(7) { tr {
                        @for night in week {
                            @let (class, word) = match night.state {
                                NightState::Free => ("free", "free"),
                                NightState::Taken => ("booked", "taken"),
                                NightState::Closed => ("closed", "closed"),
                            };
                            td class=(class) {
                                (night.date.format("%d %b")) br;
                                (word) br;
                                (money(night.price as i64))
                            }
                        }
                    } } }
                } }
            }
        }
        h2 { "Awaiting moderation" }
        @if flagged.is_empty() { p.muted { "No listing is flagged." } } @else {
            div.scroll tabindex="0" { table {
                thead { tr { th scope="col" { "Listing" } th scope="col" { "Host" } th scope="col" { "Signals" } } }
                tbody { @for l in &flagged { tr {
                    th scope="row" { a href=(super::link("/console/stays", "listing", &l.id)) { (l.title) } }
                    td { (l.host_id) }
                    td { (serde_json::to_string(&l.signals).unwrap_or_default()) }
                } } }
            } }
        }
        p.muted { "As of log position " (position) "." }
    };
    Ok(layout::page("Stays", "/console/stays", &context, body))
}
