//! Payments: the provider's webhook, signed as the major providers sign theirs
//! (`Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, so a
//! captured callback cannot be replayed once its time has passed) and, in development
//! mode, a sandbox provider that sends signed callbacks for the tour and the tests.

use crate::routes::metered_read;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::{FieldError, Order};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::warehouses::MoneyBody;
use super::{metered, AppState};
use crate::auth::{Environment, Principal};
use crate::idempotency::hex;
use crate::problem::{Body, PathParams, Problem};

/// The header carrying the provider's signature:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>` (see [`sign`]).
pub const SIGNATURE_HEADER: &str = "payment-signature";
/// How far (either way) a signature's `t` may be from the server's clock, in seconds.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 5 * 60;
/// The most `v1=` values one header may carry (one per secret in a rotation).
const MAX_SIGNATURES: usize = 8;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentCallback {
    pub order_id: String,
    pub payment_id: String,
    /// succeeded or failed.
    pub status: String,
    pub amount: MoneyBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentAnswer {
    pub order_id: String,
    /// The order's status after the callback.
    pub status: String,
    pub position: i64,
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length")
}

/// HMAC-SHA256 of `"{timestamp}.{body}"`, the signed payload, as the provider computes it.
fn timestamped_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = mac(secret);
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Payment-Signature` value a provider sends for `body` at `timestamp` (unix
/// seconds): `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
/// During a secret rotation a provider sends one `v1=` per secret; join the values
/// of [`sign`] for each with what follows its `t=...,`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = timestamped_mac(secret, &timestamp, body);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

/// The legacy `sha256=<hex HMAC-SHA256(secret, body)>` form, accepted only with
/// `--accept-legacy-webhook-signatures` (for one release).
pub fn sign_legacy(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Why a webhook's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No header, or not of the form `t=...,v1=...`.
    Malformed,
    /// No `v1=` value is the MAC of this body at this time under the secret.
    Mismatch,
    /// The signature holds, but its `t` is too far from the server's clock.
    OutsideTolerance,
    /// The legacy `sha256=` form, which this server no longer accepts.
    Legacy,
}

impl SignatureError {
    fn reason(self) -> &'static str {
        match self {
            SignatureError::Malformed => "malformed_webhook_signature",
            SignatureError::Mismatch => "bad_webhook_signature",
            SignatureError::OutsideTolerance => "stale_webhook_signature",
            SignatureError::Legacy => "legacy_webhook_signature",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            SignatureError::Malformed => {
                "the Payment-Signature header is missing or not of the form t=<unix seconds>,v1=<hex>"
            }
            SignatureError::Mismatch => "the Payment-Signature header does not match the body",
            SignatureError::OutsideTolerance => {
                "the Payment-Signature timestamp is more than 5 minutes from the server's clock"
            }
            SignatureError::Legacy => {
                "the sha256= Payment-Signature form is no longer accepted; sign t=<unix seconds>,v1=<hex>"
            }
        }
    }
}

/// Check a `Payment-Signature` header against the raw body at `now` (unix seconds):
/// some `v1=` value must be the MAC of `"{t}.{body}"` (compared in constant time) and
/// `t` within [`SIGNATURE_TOLERANCE_SECONDS`] of `now`. The legacy `sha256=` form
/// passes only when `accept_legacy`.
pub fn verify(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
    now: i64,
    accept_legacy: bool,
) -> Result<(), SignatureError> {
    let header = header.map(str::trim).ok_or(SignatureError::Malformed)?;
    if let Some(legacy) = header.strip_prefix("sha256=") {
        if !accept_legacy {
            return Err(SignatureError::Legacy);
        }
        let bytes = unhex(legacy).ok_or(SignatureError::Malformed)?;
        let mut mac = mac(secret);
        mac.update(body);
        return mac
            .verify_slice(&bytes)
            .map_err(|_| SignatureError::Mismatch);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            "t" => return Err(SignatureError::Malformed),
            "v1" if signatures.len() < MAX_SIGNATURES => {
                signatures.push(unhex(value).ok_or(SignatureError::Malformed)?)
            }
            "v1" => return Err(SignatureError::Malformed),
            // Other schemes (v0, ...) are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if timestamp.is_empty()
        || timestamp.len() > 18
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    let seconds: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = timestamped_mac(secret, timestamp, body);
    // Every value is compared (each in constant time), whichever matches.
    let matched = signatures.iter().fold(false, |matched, signature| {
        expected.clone().verify_slice(signature).is_ok() | matched
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if seconds.abs_diff(now) > SIGNATURE_TOLERANCE_SECONDS as u64 {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(())
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

async fn handle(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    callback: PaymentCallback,
) -> Result<(Order, i64), Problem> {
    let succeeded = match callback.status.as_str() {
        "succeeded" => true,
        "failed" => false,
        _ => {
            return Err(Problem::invalid(vec![FieldError {
                field: "status".into(),
                message: "must be succeeded or failed".into(),
            }]))
        }
    };
    let amount = event_schemas::Money {
        amount: callback.amount.amount,
        currency: callback.amount.currency,
    };
    let metadata = state.metadata(headers, principal);
    let (outcome, order) = metered(
        "record_payment",
        state.commands.record_payment(
            &callback.order_id,
            &callback.payment_id,
            succeeded,
            amount.clone(),
            &metadata,
        ),
    )
    .await?;
    // What the buyer owes: the goods and a quoted delivery's fee.
    let due = order.total.is_some().then(|| order.total_or_zero());
    if succeeded && due.as_ref() != Some(&amount) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_mismatch",
            "the amount paid differs from the order's total; the payment is refused and flagged",
        )
        .with("expected", serde_json::to_value(&due).unwrap_or_default()));
    }
    Ok((order, outcome.position))
}

/// The payment provider's callback. Needs no credential but a valid
/// `Payment-Signature`; the same `payment_id` again changes nothing.
#[utoipa::path(post, path = "/v1/payments/webhook", tag = "commands",
    request_body = PaymentCallback,
    params(("Payment-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{raw body}\">; several v1= during a secret rotation; t within 5 minutes of the server's clock")),
    responses(
        (status = 200, body = PaymentAnswer),
        (status = 401, description = "Missing or wrong signature, or its time more than 5 minutes from the server's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or the amount differs from the order's total", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<PaymentAnswer>, Problem> {
    let Some(secret) = &state.auth.payment_webhook_secret else {
        return Err(Problem::unavailable(
            "webhook_not_configured",
            "no payment webhook secret is configured (--payment-webhook-secret)",
        ));
    };
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let now = state.commands.clock().now().timestamp();
    let accept_legacy = state.auth.accept_legacy_webhook_signatures;
    if let Err(error) = verify(secret, &raw, header, now, accept_legacy) {
        metrics::counter!("auth_failures_total", "reason" => error.reason()).increment(1);
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            error.detail(),
        ));
    }
    let callback: PaymentCallback = crate::problem::json_object(&raw)?;
    let (order, position) = handle(&state, &principal, &headers, callback).await?;
    Ok(Json(PaymentAnswer {
        order_id: order.order_id,
        status: order.status.name().to_string(),
        position,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxPayment {
    /// succeeded or failed.
    pub status: String,
    /// What to pay; the order's total when absent.
    pub amount: Option<MoneyBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxAnswer {
    /// The callback the sandbox signed and delivered to the webhook.
    pub callback: PaymentCallback,
    /// The exact body that was signed (replay it with `signature` to the webhook).
    pub body: String,
    /// The `Payment-Signature` it was sent with: `t=<the server's clock>,v1=<hex>`.
    pub signature: String,
    pub answer: PaymentAnswer,
}

/// Development only: the sandbox payment provider pays (or fails to pay) an order by
/// sending the webhook a signed callback, exactly as a real provider would.
#[utoipa::path(post, path = "/v1/payments/sandbox/{order_id}", tag = "commands",
    params(("order_id" = String, Path)),
    request_body = SandboxPayment,
    responses(
        (status = 200, body = SandboxAnswer),
        (status = 403, description = "Not in development mode", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sandbox(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(order_id): PathParams<String>,
    Body(request): Body<SandboxPayment>,
) -> Result<Json<SandboxAnswer>, Problem> {
    let (Environment::Development, Some(secret)) =
        (state.auth.environment, &state.auth.payment_webhook_secret)
    else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "sandbox_off",
            "the sandbox payment provider exists only in development mode",
        ));
    };
    let (_, order) = metered_read("order", state.commands.order(&order_id)).await?;
    let total = order.total_or_zero();
    let callback = PaymentCallback {
        order_id,
        payment_id: format!("sandbox-{}", uuid::Uuid::now_v7().simple()),
        status: request.status,
        amount: request.amount.unwrap_or(MoneyBody {
            amount: total.amount,
            currency: total.currency,
        }),
    };
    let body = serde_json::to_vec(&callback).expect("callbacks serialise");
    let now = state.commands.clock().now().timestamp();
    let signature = sign(secret, now, &body);
    debug_assert_eq!(verify(secret, &body, Some(&signature), now, false), Ok(()));
    let (order, position) = handle(&state, &principal, &headers, callback.clone()).await?;
    Ok(Json(SandboxAnswer {
        callback,
        body: String::from_utf8(body).expect("JSON is UTF-8"),
        signature,
        answer: PaymentAnswer {
            order_id: order.order_id,
            status: order.status.name().to_string(),
            position,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-the-provider-signs-with-this";
    const BODY: &[u8] = br#"{"order_id":"o-1","payment_id":"p-1","status":"succeeded","amount":{"amount":100,"currency":"EUR"}}"#;
    const NOW: i64 = 1_750_000_000;

    fn check(header: &str, now: i64) -> Result<(), SignatureError> {
        verify(SECRET, BODY, Some(header), now, false)
    }

    #[test]
    fn a_signature_of_the_body_at_its_time_is_accepted_within_five_minutes() {
        let header = sign(SECRET, NOW, BODY);
        assert!(header.starts_with(&format!("t={NOW},v1=")), "{header}");
        assert_eq!(check(&header, NOW), Ok(()));
        assert_eq!(check(&header, NOW + SIGNATURE_TOLERANCE_SECONDS), Ok(()));
        assert_eq!(check(&header, NOW - SIGNATURE_TOLERANCE_SECONDS), Ok(()));
        assert_eq!(check(&format!("  {header} "), NOW), Ok(()));
    }

    #[test]
    fn a_signature_too_far_from_the_clock_is_refused_either_way() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(
            check(&header, NOW + SIGNATURE_TOLERANCE_SECONDS + 1),
            Err(SignatureError::OutsideTolerance),
            "replayed later"
        );
        assert_eq!(
            check(&header, NOW + 6 * 60),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            check(&header, NOW - SIGNATURE_TOLERANCE_SECONDS - 1),
            Err(SignatureError::OutsideTolerance),
            "from the future"
        );
    }

    #[test]
    fn another_secret_body_or_time_does_not_match() {
        assert_eq!(
            check(&sign(b"another-secret", NOW, BODY), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, b"{}", Some(&sign(SECRET, NOW, BODY)), NOW, false),
            Err(SignatureError::Mismatch)
        );
        // The time is signed too: moving it breaks the signature.
        let signed = sign(SECRET, NOW, BODY);
        let moved = signed.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(check(&moved, NOW), Err(SignatureError::Mismatch));
        // A wrong signature from long ago is a mismatch, not stale: only a caller
        // with a valid MAC learns how far off its time is.
        assert_eq!(
            check(&sign(b"another-secret", NOW - 3600, BODY), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_value_may_match_during_a_rotation() {
        let new = sign(SECRET, NOW, BODY);
        let old = sign(b"the-old-secret", NOW, BODY);
        let old_v1 = old.split_once(',').unwrap().1;
        let new_v1 = new.split_once(',').unwrap().1;
        assert_eq!(check(&format!("t={NOW},{old_v1},{new_v1}"), NOW), Ok(()));
        assert_eq!(check(&format!("t={NOW},{new_v1},{old_v1}"), NOW), Ok(()));
        assert_eq!(check(&format!("{new_v1},t={NOW}"), NOW), Ok(()));
        // Schemes we do not know are passed over.
        assert_eq!(check(&format!("t={NOW},v0=abcd,{new_v1}"), NOW), Ok(()));
        assert_eq!(
            check(&format!("t={NOW},{old_v1}"), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let v1 = sign(SECRET, NOW, BODY)
            .split_once(',')
            .unwrap()
            .1
            .to_string();
        assert_eq!(
            verify(SECRET, BODY, None, NOW, false),
            Err(SignatureError::Malformed)
        );
        for header in [
            String::new(),
            "t=".into(),
            format!("t={NOW}"),
            v1.clone(),
            format!("t=-{NOW},{v1}"),
            format!("t=+{NOW},{v1}"),
            format!("t=1e9,{v1}"),
            format!("t={NOW},t={NOW},{v1}"),
            format!("t={NOW},v1=zz"),
            format!("t={NOW},v1=abc"),
            format!("t={NOW};{v1}"),
            format!("t={NOW},{}", [v1.as_str(); MAX_SIGNATURES + 1].join(",")),
        ] {
            assert_eq!(
                check(&header, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn the_legacy_form_passes_only_when_accepted() {
        let legacy = sign_legacy(SECRET, BODY);
        assert!(legacy.starts_with("sha256="));
        assert_eq!(
            verify(SECRET, BODY, Some(&legacy), NOW, false),
            Err(SignatureError::Legacy)
        );
        assert_eq!(verify(SECRET, BODY, Some(&legacy), NOW, true), Ok(()));
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=00ff"), NOW, true),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                SECRET,
                BODY,
                Some(&sign_legacy(b"another-secret", BODY)),
                NOW,
                true
            ),
            Err(SignatureError::Mismatch)
        );
        // The new form still passes with the flag on.
        assert_eq!(
            verify(SECRET, BODY, Some(&sign(SECRET, NOW, BODY)), NOW, true),
            Ok(())
        );
    }
}
