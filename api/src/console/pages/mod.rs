//! The console's pages, one module each, and what their forms share.

pub mod delivery;
pub mod flash_sales;
pub mod orders;
pub mod overview;
pub mod projections;
pub mod recommendations;
pub mod sign_in;
pub mod stays;
pub mod stock;

use axum::http::StatusCode;
use maud::{html, Markup};
use serde::Deserialize;

use crate::console::session::ConsoleContext;
use crate::problem::Problem;

/// A form that changes something: only its CSRF token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionForm {
    /// The page's CSRF token (not needed with a bearer credential).
    pub csrf: Option<String>,
}

/// Refuse a form whose token is not this session's.
pub fn check_csrf(context: &ConsoleContext, form: &ActionForm) -> Result<(), Problem> {
    if context.accepts(form.csrf.as_deref()) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf_token_invalid",
            "this form's CSRF token is missing or is not this session's; reload the page and try again",
        ))
    }
}

/// A labelled figure; `live` names its key in the stream's snapshots.
pub fn figure(label: &str, live: Option<&str>, value: impl std::fmt::Display) -> Markup {
    html! {
        div {
            dt { (label) }
            @match live {
                Some(key) => dd data-live=(key) { (value) },
                None => dd { (value) },
            }
        }
    }
}

/// Milliseconds to show, or a dash.
pub fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

/// A form to act on something, with the token.
pub fn action(path: &str, label: &str, context: &ConsoleContext) -> Markup {
    html! {
        form.inline method="post" action=(path) {
            input type="hidden" name="csrf" value=(context.token());
            button type="submit" { (label) }
        }
    }
}

/// A link to console page `path` with one query parameter, encoded.
pub fn link(path: &str, name: &str, value: &str) -> String {
    let query = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
    format!("{path}?{query}")
}

/// A bounded text field from a query string: trimmed, at most 128 characters.
pub fn field(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(128).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_encodes_its_value() {
        assert_eq!(
            link("/console/orders", "order", "flash:drop 1&x=2"),
            "/console/orders?order=flash%3Adrop+1%26x%3D2"
        );
    }
}
