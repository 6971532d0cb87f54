//! Signing in and out: an `admin` API key (or the master key) for a session cookie.
//! Wrong keys count as failed authentications of the address, as on every route.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::auth::Environment;
use crate::client_address::ClientAddress;
use crate::console::layout::{head_common, html_response};
use crate::problem::QueryParams;
use crate::routes::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignInQuery {
    /// Why the last attempt failed: `key` (not an admin key) or `blocked` (too many
    /// failed attempts from this address).
    pub error: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    /// An API key with the `admin` scope, or the master key.
    pub key: String,
}

fn form_page(message: Option<&str>, development: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head_common("Sign in")) }
            body {
                main #main .sign-in {
                    h1 { "Sign in to the console" }
                    @if development {
                        p.notice { "This server runs in development mode: nobody signs in. "
                            a href="/console" { "Open the console" } "." }
                    } @else {
                        @if let Some(message) = message { p.error role="alert" { (message) } }
                        form method="post" action="/console/sign-in" {
                            label for="key" { "Admin key" }
                            input #key type="password" name="key" autocomplete="current-password" required maxlength="512";
                            p { button type="submit" { "Sign in" } }
                        }
                        p.muted { "An API key with the admin scope, or the master key. The session lasts "
                            (crate::console::session::SESSION_HOURS) " hours, and ends when the key is revoked." }
                    }
                }
            }
        }
    }
}

/// The sign-in form (saying why the last attempt failed, if it did).
#[utoipa::path(get, path = "/console/sign-in", tag = "console", params(SignInQuery),
    responses((status = 200, description = "The sign-in form", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn form(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<SignInQuery>,
) -> Response {
    let message = match query.error.as_deref() {
        Some("key") => Some(
            "That key was not accepted: it must be an API key with the admin scope, or the master key.",
        ),
        Some("blocked") => {
            Some("Too many failed attempts from this address; try again in a minute.")
        }
        _ => None,
    };
    html_response(form_page(
        message,
        state.auth.environment == Environment::Development,
    ))
}

/// Trade an admin key for a session cookie (HttpOnly, SameSite=Strict, Secure in
/// production), then go to the overview. A refusal goes back to the form, which
/// says why: a browser shows a page, not a status.
#[utoipa::path(post, path = "/console/sign-in", tag = "console",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the cookie is set, on to the overview. Or refused (not an admin key, or too many failed attempts from this address): back to the form with `error`"),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddress>,
    Form(form): Form<SignInForm>,
) -> Response {
    let auth = &state.auth;
    if auth.environment == Environment::Development {
        return Redirect::to("/console").into_response();
    }
    if auth.is_blocked(client.0) {
        return Redirect::to("/console/sign-in?error=blocked").into_response();
    }
    match auth.console_subject(&form.key) {
        Ok(subject) => {
            let cookie = auth.console.issue(&subject, chrono::Utc::now());
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/console".to_string()),
                    (header::SET_COOKIE, auth.console.set_cookie(&cookie)),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response()
        }
        Err(reason) => {
            let why = if auth.failed(client.0, reason) {
                "blocked"
            } else {
                "key"
            };
            Redirect::to(&format!("/console/sign-in?error={why}")).into_response()
        }
    }
}

/// End the session in this browser, then show the sign-in form.
#[utoipa::path(post, path = "/console/sign-out", tag = "console",
    responses((status = 303, description = "Signed out: the cookie is cleared")))]
pub async fn sign_out(State(state): State<AppState>) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/console/sign-in".to_string()),
            (header::SET_COOKIE, state.auth.console.clear_cookie()),
        ],
    )
        .into_response()
}
