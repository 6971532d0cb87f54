//! The console's files, built into the binary: its style sheet and script, and
//! htmx (vendored from the `htmx.org` npm package, 2.0.11, 0BSD; see
//! api/assets/console/htmx.LICENSE). Nothing is fetched from another host.

use axum::http::header;
use axum::response::IntoResponse;

/// The files change only with the binary.
const CACHE: &str = "public, max-age=3600";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

/// The console's style sheet.
#[utoipa::path(get, path = "/console/assets/console.css", tag = "console",
    responses((status = 200, content_type = "text/css", body = String, example = json!("body{...}"))))]
pub async fn stylesheet() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/console/console.css"),
    )
}

/// The console's script: live figures from the stream.
#[utoipa::path(get, path = "/console/assets/console.js", tag = "console",
    responses((status = 200, content_type = "text/javascript", body = String, example = json!("(function(){...})()"))))]
pub async fn script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/console.js"),
    )
}

/// htmx, for links and forms that swap the page without a full load.
#[utoipa::path(get, path = "/console/assets/htmx.min.js", tag = "console",
    responses((status = 200, content_type = "text/javascript", body = String, example = json!("var htmx=..."))))]
pub async fn htmx() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/htmx.min.js"),
    )
}
