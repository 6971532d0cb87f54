//! Payments: the provider's webhook (signed with HMAC-SHA256 of the raw body, as the
//! major providers do) and, in development mode, a sandbox provider that sends
//! signed callbacks for the tour and the tests.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::{FieldError, Order};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::warehouses::MoneyBody;
use super::{observed, AppState};
use crate::auth::{Environment, Principal};
use crate::idempotency::hex;
use crate::problem::{Body, PathParams, Problem};

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "payment-signature";

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

fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_signature) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(bytes) = unhex(hex_signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&bytes).is_ok()
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
    let (outcome, order) = observed(
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
    if succeeded && order.total.as_ref() != Some(&amount) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_mismatch",
            "the amount paid differs from the order's total; the payment is refused and flagged",
        )
        .with(
            "expected",
            serde_json::to_value(&order.total).unwrap_or_default(),
        ));
    }
    Ok((order, outcome.position))
}

/// The payment provider's callback. Needs no credential but a valid
/// `Payment-Signature`; the same `payment_id` again changes nothing.
#[utoipa::path(post, path = "/v1/payments/webhook", tag = "commands",
    request_body = PaymentCallback,
    params(("Payment-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body>")),
    responses(
        (status = 200, body = PaymentAnswer),
        (status = 401, description = "Missing or wrong signature", body = Problem, content_type = "application/problem+json"),
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
    if !verify(secret, &raw, header) {
        metrics::counter!("auth_failures_total", "reason" => "bad_webhook_signature").increment(1);
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the Payment-Signature header is missing or does not match the body",
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
    let (_, order) = observed("read_order", state.commands.order(&order_id)).await?;
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
    let signature = signature(secret, &body);
    debug_assert!(verify(secret, &body, Some(&signature)));
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
