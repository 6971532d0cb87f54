//! `GET /docs`: the API reference, Swagger UI over `/openapi.json`. Its files are
//! vendored (api/assets/swagger-ui, from `swagger-ui-dist` 5.35.0) and built into the
//! binary, so the page needs nothing from any other host.

use axum::http::header;
use axum::response::IntoResponse;

/// The assets change only with the binary: a day in caches is harmless.
const ASSET_CACHE: &str = "public, max-age=86400";
/// Swagger UI sets inline styles and shows inline images; scripts only from here.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";

/// The API reference: a page that renders this server's OpenAPI document.
#[utoipa::path(get, path = "/docs", tag = "ops",
    responses((status = 200, description = "The Swagger UI page", content_type = "text/html",
        body = String, example = json!("<!DOCTYPE html>..."))))]
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        ],
        include_str!("../../assets/swagger-ui/index.html"),
    )
}

/// Swagger UI's style sheet.
#[utoipa::path(get, path = "/docs/swagger-ui.css", tag = "ops",
    responses((status = 200, content_type = "text/css", body = String, example = json!(".swagger-ui{...}"))))]
pub async fn stylesheet() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/swagger-ui/swagger-ui.css"),
    )
}

/// Swagger UI's script.
#[utoipa::path(get, path = "/docs/swagger-ui-bundle.js", tag = "ops",
    responses((status = 200, content_type = "text/javascript", body = String, example = json!("!function(){...}"))))]
pub async fn bundle() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    )
}

/// The script that points Swagger UI at `/openapi.json`.
#[utoipa::path(get, path = "/docs/swagger-initializer.js", tag = "ops",
    responses((status = 200, content_type = "text/javascript", body = String, example = json!("window.onload = ..."))))]
pub async fn initializer() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/swagger-ui/swagger-initializer.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, ASSET_CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}
