//! The frame every console page shares: head, navigation, sign-out, and the
//! headers that keep pages private (no caching, scripts and styles from here only).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::session::ConsoleContext;

/// Scripts, styles and connections from this server only; no inline script.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages, in the navigation's order: (path, name).
pub const PAGES: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/stock", "Stock"),
    ("/console/flash-sales", "Flash sales"),
    ("/console/orders", "Orders"),
    ("/console/projections", "Projections"),
    ("/console/recommendations", "Recommendations"),
    ("/console/delivery", "Delivery"),
    ("/console/stays", "Stays"),
];

/// A whole page: `current` is its path in [`PAGES`].
pub fn page(title: &str, current: &str, context: &ConsoleContext, body: Markup) -> Response {
    html_response(document(title, current, context, body))
}

fn document(title: &str, current: &str, context: &ConsoleContext, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head_common(title))
                // htmx would add an inline <style>, which the policy refuses.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                script src="/console/assets/htmx.min.js" defer {}
                script src="/console/assets/console.js" defer {}
            }
            body hx-boost="true" {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/console" { "commerce console" }
                    nav aria-label="Console pages" {
                        ul {
                            @for (path, name) in PAGES {
                                li {
                                    @if *path == current {
                                        a href=(path) aria-current="page" { (name) }
                                    } @else {
                                        a href=(path) { (name) }
                                    }
                                }
                            }
                        }
                    }
                    @if context.signed_in {
                        form.inline method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(context.token());
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// What every page's head holds: its title, the style sheet, no icon to fetch.
pub fn head_common(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        // No icon to fetch (a browser would ask for /favicon.ico).
        link rel="icon" href="data:,";
        title { (title) " · commerce console" }
        link rel="stylesheet" href="/console/assets/console.css";
    }
}

/// An HTML answer with the console's headers.
pub fn html_response(markup: Markup) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A count with thousands separators.
pub fn count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// An amount in minor units (cents) as major units with two decimals.
pub fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!(
        "{sign}{}.{:02}",
        count(i128::from(minor / 100)),
        minor % 100
    )
}

/// A time as operators read it: UTC, to the second.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands_and_money_shows_its_cents() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(-1234567), "-1,234,567");
        assert_eq!(money(259_800), "2,598.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-1299), "-12.99");
    }

    #[test]
    fn every_page_names_itself_in_the_navigation_and_escapes_what_it_shows() {
        let context = ConsoleContext {
            csrf: Some("t0k3n".into()),
            signed_in: true,
        };
        let html =
            document("<script>", "/console/stock", &context, html! { p { "x" } }).into_string();
        assert!(
            html.contains("<title>&lt;script&gt; · commerce console</title>"),
            "{html}"
        );
        assert!(html.contains(r#"<a href="/console/stock" aria-current="page">Stock</a>"#));
        assert!(html.contains(r#"<input type="hidden" name="csrf" value="t0k3n">"#));
        let anonymous = ConsoleContext {
            csrf: Some("t".into()),
            signed_in: false,
        };
        let html = document("x", "/console", &anonymous, html! {}).into_string();
        assert!(
            !html.contains("Sign out"),
            "nobody to sign out in development mode"
        );
    }
}
