//! The payment webhook's signature, as the best providers sign theirs:
//! `Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, any of
//! several `v1=` values may match (a secret rotation), and `t` must be within five
//! minutes of the server's clock, so a captured callback cannot be replayed later.
//! The servers run on the manual clock: time is moved, never waited for.

use api::routes::payments::{sign, sign_legacy, SIGNATURE_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::advance;
use crate::on_both_backends;
use crate::support::{Answer, Api, Backend, Env, Server};

/// The secret the provider and the server share.
const SECRET: &str = "webhook-tests-the-provider-signs-with-this";
const SIX_MINUTES: i64 = 6 * 60;

on_both_backends!(
    signatures_hold_for_their_body_secret_and_time_only,
    the_legacy_form_is_accepted_only_behind_the_flag
);

/// A development server (no credentials to juggle) with its own webhook secret on
/// the manual clock.
async fn start(env: &Env, extra: &[&str]) -> Server {
    let mut args = vec!["--clock", "manual", "--payment-webhook-secret", SECRET];
    args.extend_from_slice(extra);
    env.start_with(&args).await
}

/// The server's clock in unix seconds, read by advancing it by nothing.
async fn server_now(api: &Api) -> i64 {
    advance(api, 0).await
}

/// Place a one-mug order and wait for its stock to be held; its total.
async fn reserved_order(api: &Api, order_id: &str) -> Value {
    let body = json!({"order_id": order_id, "lines": [{"sku": "MUG-1", "quantity": 1}],
                      "ship_to": {"region": "nl"}});
    api.post("/v1/orders", &body)
        .await
        .expect(StatusCode::CREATED);
    let order = api
        .get(&format!(
            "/v1/orders/{order_id}?wait_for_status=reserved,rejected&timeout_ms=20000"
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(order["status"], "reserved", "{order}");
    order["total"].clone()
}

/// Wait for the order process to settle a paid order (after which it writes no more).
async fn confirmed(api: &Api, order_id: &str) {
    let order = api
        .get(&format!(
            "/v1/orders/{order_id}?wait_for_status=confirmed,refunded&timeout_ms=20000"
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(order["status"], "confirmed", "{order}");
}

/// The provider's callback: `order_id` paid its `total`.
fn callback(order_id: &str, payment_id: &str, total: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "order_id": order_id, "payment_id": payment_id, "status": "succeeded", "amount": total,
    }))
    .unwrap()
}

async fn deliver(api: &Api, body: &[u8], signature: Option<&str>) -> Answer {
    let mut request = api
        .client
        .post(api.url("/v1/payments/webhook"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    api.send(request).await
}

/// Refused as a bad signature, and nothing written.
async fn refused(api: &Api, body: &[u8], signature: Option<&str>, what: &str) {
    let head = api.head().await;
    let answer = deliver(api, body, signature).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        answer.text
    );
    let problem = answer.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(
        problem["type"], "/problems/bad_signature",
        "{what}: {problem}"
    );
    assert_eq!(
        api.head().await,
        head,
        "{what} was refused yet wrote to the log"
    );
}

/// The `t=` of a `Payment-Signature`.
fn signed_at(signature: &str) -> i64 {
    signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(','))
        .and_then(|(t, _)| t.parse().ok())
        .unwrap_or_else(|| panic!("no t= in {signature}"))
}

async fn signatures_hold_for_their_body_secret_and_time_only(backend: Backend) {
    let env = Env::new(backend).await;
    let server = start(&env, &[]).await;
    crate::shop::open_shop(&server, 5, 1000).await;
    let total = reserved_order(&server, "o-1").await;
    let body = callback("o-1", "pay-1", &total);
    let now = server_now(&server).await;
    let secret = SECRET.as_bytes();

    let other_body = callback("o-1", "pay-1", &json!({"amount": 1, "currency": "EUR"}));
    for (what, signature) in [
        ("no signature", None),
        (
            "another secret",
            Some(sign(b"not-the-providers-secret", now, &body)),
        ),
        ("another body", Some(sign(secret, now, &other_body))),
        (
            "six minutes old",
            Some(sign(secret, now - SIX_MINUTES, &body)),
        ),
        (
            "six minutes ahead",
            Some(sign(secret, now + SIX_MINUTES, &body)),
        ),
        ("the legacy form", Some(sign_legacy(secret, &body))),
        ("a malformed header", Some(format!("t={now},v1=not-hex"))),
    ] {
        refused(&server, &body, signature.as_deref(), what).await;
    }

    // During a rotation the provider signs with the old secret and the new one: one
    // matching v1= is enough.
    let signature = sign(secret, now, &body);
    let (_, v1) = signature.split_once(',').unwrap();
    let rotated = format!(
        "{},{v1}",
        sign(b"the-secret-before-the-rotation", now, &body)
    );
    let paid = deliver(&server, &body, Some(&rotated))
        .await
        .expect(StatusCode::OK);
    assert_eq!(paid["status"], "paid", "{paid}");
    confirmed(&server, "o-1").await;
    // The provider retries within the tolerance: accepted, and nothing changes.
    let head = server.head().await;
    deliver(&server, &body, Some(&signature))
        .await
        .expect(StatusCode::OK);
    assert_eq!(server.head().await, head, "a repeated payment wrote again");

    // Six minutes later by the server's clock the same delivery is a replay.
    let later = advance(&server, SIX_MINUTES).await;
    assert_eq!(later, now + SIX_MINUTES);
    refused(&server, &body, Some(&signature), "a replay six minutes on").await;
    refused(
        &server,
        &body,
        Some(&rotated),
        "a rotated replay six minutes on",
    )
    .await;
    // Signed at the new time, it is fine again.
    deliver(&server, &body, Some(&sign(secret, later, &body)))
        .await
        .expect(StatusCode::OK);

    // The sandbox provider signs at the server's clock (far ahead of the system's
    // now), and what it signed replays until the tolerance runs out.
    let sandbox_total = reserved_order(&server, "o-2").await;
    let sandbox = server
        .post("/v1/payments/sandbox/o-2", &json!({"status": "succeeded"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(sandbox["answer"]["status"], "paid", "{sandbox}");
    assert_eq!(sandbox["callback"]["amount"], sandbox_total, "{sandbox}");
    let sandbox_signature = sandbox["signature"].as_str().unwrap();
    assert_eq!(signed_at(sandbox_signature), later, "{sandbox_signature}");
    confirmed(&server, "o-2").await;
    let sandbox_body = sandbox["body"].as_str().unwrap().as_bytes();
    deliver(&server, sandbox_body, Some(sandbox_signature))
        .await
        .expect(StatusCode::OK);
    advance(&server, 5 * 60 + 1).await;
    refused(
        &server,
        sandbox_body,
        Some(sandbox_signature),
        "the sandbox's signature five minutes and a second on",
    )
    .await;
    assert!(server.stop().await.success());
}

async fn the_legacy_form_is_accepted_only_behind_the_flag(backend: Backend) {
    let env = Env::new(backend).await;
    // Without the flag (the default) the legacy form is refused, even when right.
    let server = start(&env, &[]).await;
    crate::shop::open_shop(&server, 5, 1000).await;
    let total = reserved_order(&server, "o-legacy").await;
    let body = callback("o-legacy", "pay-legacy", &total);
    let legacy = sign_legacy(SECRET.as_bytes(), &body);
    refused(
        &server,
        &body,
        Some(&legacy),
        "the legacy form without the flag",
    )
    .await;
    assert!(server.stop().await.success());

    // With it, the legacy form pays (when right), and the new one still works.
    let server = start(&env, &["--accept-legacy-webhook-signatures"]).await;
    refused(
        &server,
        &body,
        Some(&sign_legacy(b"not-the-providers-secret", &body)),
        "a legacy signature under another secret",
    )
    .await;
    let paid = deliver(&server, &body, Some(&legacy))
        .await
        .expect(StatusCode::OK);
    assert_eq!(paid["status"], "paid", "{paid}");
    confirmed(&server, "o-legacy").await;

    let total = reserved_order(&server, "o-new").await;
    let body = callback("o-new", "pay-new", &total);
    let now = server_now(&server).await;
    refused(
        &server,
        &body,
        Some(&sign(SECRET.as_bytes(), now - SIX_MINUTES, &body)),
        "a stale signature with the legacy flag on",
    )
    .await;
    let paid = deliver(&server, &body, Some(&sign(SECRET.as_bytes(), now, &body)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(paid["status"], "paid", "{paid}");
    confirmed(&server, "o-new").await;
    assert!(server.stop().await.success());
}
