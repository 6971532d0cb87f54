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
use crate::console::layout::html_response;
use crate::routes::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    /// An API key with the `admin` scope, or the master key.
    pub key: String,
}

fn form_page(message: Option<&str>, development: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · commerce console" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
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

/// The sign-in form.
#[utoipa::path(get, path = "/console/sign-in", tag = "console",
    responses((status = 200, description = "The sign-in form", content_type = "text/html", body = String,
        example = json!("<!DOCTYPE html>..."))))]
pub async fn form(State(state): State<AppState>) -> Response {
    html_response(form_page(
        None,
        state.auth.environment == Environment::Development,
    ))
}

/// Trade an admin key for a session cookie (HttpOnly, SameSite=Strict, Secure in
/// production), then go to the overview.
#[utoipa::path(post, path = "/console/sign-in", tag = "console",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the cookie is set; to the overview"),
        (status = 401, description = "Not an admin key: the form again, saying so", content_type = "text/html", body = String),
        (status = 429, description = "Too many failed attempts from this address", content_type = "text/html", body = String),
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
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts from this address; try again in a minute.",
        );
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
            if auth.failed(client.0, reason) {
                return refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed attempts from this address; try again in a minute.",
                );
            }
            refused(StatusCode::UNAUTHORIZED, "That key was not accepted: it must be an API key with the admin scope, or the master key.")
        }
    }
}

fn refused(status: StatusCode, message: &str) -> Response {
    let mut response = html_response(form_page(Some(message), false));
    *response.status_mut() = status;
    response
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
