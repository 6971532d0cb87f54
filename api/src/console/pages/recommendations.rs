//! Recommendations explained for a shopper: each item with its sources' parts of the
//! score and why it is there, and the latent model in use.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;
use serde::Deserialize;
use utoipa::IntoParams;

use super::field;
use crate::console::layout::{self, time};
use crate::console::session::ConsoleContext;
use crate::problem::{Problem, QueryParams};
use crate::routes::AppState;

/// Items shown.
const SHOWN: usize = 20;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationsQuery {
    /// The shopper; none for what an anonymous visitor is shown.
    pub user: Option<String>,
}

/// The recommendations page.
#[utoipa::path(get, path = "/console/recommendations", tag = "console", params(RecommendationsQuery),
    responses((status = 200, description = "The recommendations page", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn page(
    State(state): State<AppState>,
    Extension(context): Extension<ConsoleContext>,
    QueryParams(query): QueryParams<RecommendationsQuery>,
) -> Result<Response, Problem> {
    let user = field(&query.user);
    let model = crate::routes::recommendations::model(State(state.clone()))
        .await
        .0;
    // Query nodes make lists; a command node has no model to ask.
    let list = if state.node.role.runs_query_side() {
        let request = ::recommendations::Request {
            user_id: user.clone(),
            limit: SHOWN,
            category: None,
            context_sku: None,
            similar_only: false,
        };
        Some(crate::routes::recommendations::list(&state, request).await?)
    } else {
        None
    };
    let body = html! {
        form.search method="get" action="/console/recommendations" {
            div {
                label for="user" { "Shopper" }
                input #user type="search" name="user" value=[user.as_deref()] maxlength="128";
            }
            button type="submit" { "Explain" }
        }
        dl.figures {
            (super::figure("Latent model", None, model.version.as_deref().unwrap_or("none yet")))
            (super::figure("Trained", None, model.trained_at.map_or("never".to_string(), time)))
            (super::figure("Interactions learnt", None, model.interactions.unwrap_or(0)))
            (super::figure("As of log position", None, model.position))
        }
        @match &list {
            None => p.muted { "This node does not run the recommendation model." },
            Some(list) => {
                h2 { @match &user { Some(u) => { "For " (u) }, None => "For an anonymous visitor" } }
                @if list.items.is_empty() { p.muted { "Nothing to recommend yet." } } @else {
                    div.scroll tabindex="0" { table {
                        thead { tr { th.num scope="col" { "#" } th scope="col" { "Item" } th scope="col" { "Category" } th.num scope="col" { "Score" } th scope="col" { "Sources" } th scope="col" { "Because" } } }
                        tbody { @for (i, item) in list.items.iter().enumerate() { tr {
                            td.num { (i + 1) }
                            th scope="row" { (item.title) br; span.muted { (item.sku) } }
                            td { (item.category) }
                            td.num { (format!("{:.3}", item.score)) }
                            td { @for (source, part) in &item.sources { (source) " " (format!("{part:.3}")) br; } }
                            td { (item.because) }
                        } } }
                    } }
                    p.muted { "Model version " (list.model_version) ", log position " (list.position) "." }
                }
            }
        }
    };
    Ok(layout::page(
        "Recommendations",
        "/console/recommendations",
        &context,
        body,
    ))
}
