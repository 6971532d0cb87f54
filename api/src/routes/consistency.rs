//! `min_position` on routes that read nothing of the log: refused with a 400 that
//! says so, instead of being ignored (a caller would think its write was seen) or
//! refused as an unknown field (which reads as a typo).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::table::Route;
use crate::problem::Problem;

/// The path patterns whose GET reads nothing of the log.
#[derive(Debug, Default)]
pub struct WithoutReadModel(HashSet<&'static str>);

impl WithoutReadModel {
    pub fn of(routes: &[Route]) -> Self {
        Self(
            routes
                .iter()
                .filter(|route| !route.reads_log && route.method == Method::GET)
                .map(|route| route.path)
                .collect(),
        )
    }
}

pub async fn refuse_min_position(
    State(routes): State<Arc<WithoutReadModel>>,
    request: Request,
    next: Next,
) -> Response {
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    let without = reading
        && request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|path| routes.0.contains(path.as_str()));
    let asks = request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("min_position"))
    });
    if without && asks {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "no_read_model",
            "this route reads no projection of the log, so min_position does not apply to it",
        )
        .into_response();
    }
    next.run(request).await
}
