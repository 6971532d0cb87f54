//! Projections: each one's position and lag, its last or current rebuild with a
//! progress bar, and a button that starts one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;

use super::{action, check_csrf, ActionForm};
use crate::console::session::ConsoleContext;
use crate::console::{layout, live};
use crate::problem::{PathParams, Problem};
use crate::routes::AppState;

/// The projections page.
#[utoipa::path(get, path = "/console/projections", tag = "console",
    responses((status = 200, description = "The projections page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
) -> Response {
    let head = state.commands.store().last_committed();
    let body = html! {
        p { "Log head: " strong data-live="head" { (head) } ". A rebuild replays the log into a fresh copy; queries read the old copy until the new one has caught up." }
        div.scroll tabindex="0" {
            table {
                thead { tr {
                    th scope="col" { "Projection" } th.num scope="col" { "Position" } th.num scope="col" { "Lag" }
                    th scope="col" { "Rebuild" } th scope="col" { "Progress" } th scope="col" { span.skip { "Action" } }
                } }
                tbody {
                    @for p in &live::projection_figures(&state) {
                        @let name = p.name.as_str();
                        tr {
                            th scope="row" { (name) }
                            td.num data-live=(format!("projection.{name}.position")) { (p.position) }
                            td.num data-live=(format!("projection.{name}.lag")) { (p.lag) }
                            td {
                                span data-live=(format!("projection.{name}.rebuild")) { (p.rebuild_state.name()) }
                                @if let Some(error) = &p.rebuild_error { br; span.bad { (error) } }
                            }
                            td {
                                progress max="100" value=(p.rebuild_percent) data-live-progress=(name)
                                    aria-label=(format!("Rebuild of {name}")) { (p.rebuild_percent) "%" }
                                " "
                                span data-live=(format!("projection.{name}.percent")) data-rebuild-percent=(name) { (p.rebuild_percent) "%" }
                            }
                            td { (action(&format!("/console/projections/{name}/rebuild"), "Rebuild", &context)) }
                        }
                    }
                }
            }
        }
    };
    layout::page("Projections", "/console/projections", &context, body)
}

/// Start rebuilding a projection (the console's form), then show the page again.
#[utoipa::path(post, path = "/console/projections/{name}/rebuild", tag = "console",
    params(("name" = String, Path)),
    request_body(content = ActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Started (or already running); back to the projections page"),
        (status = 403, description = "The form's CSRF token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rebuild(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    PathParams(name): PathParams<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Problem> {
    check_csrf(&context, &form)?;
    match crate::routes::admin::rebuild(State(state), PathParams(name)).await {
        Ok(_) => {}
        Err(problem) if problem.status == StatusCode::CONFLICT.as_u16() => {}
        Err(problem) => return Err(problem),
    }
    Ok(Redirect::to("/console/projections").into_response())
}
