//! Limits that wrap every route, so no caller can take the server from everyone
//! else: a timeout and a cap on requests in flight for ordinary requests, a cap per
//! caller (and in all) on long polls, which are held open on purpose; and the
//! refusal of an `Idempotency-Key` on routes that do not honour one (a client must
//! never believe a key protects a retry when it does not).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Principal;
use crate::problem::Problem;
use crate::routes::long_poll::is_long_poll;

/// The POST routes that honour `Idempotency-Key`; every other POST refuses one.
const HONOURS_IDEMPOTENCY_KEY: &[&str] = &[
    "/v1/activity",
    "/v1/keys",
    "/v1/orders",
    "/v1/orders/{id}/shipments",
    "/v1/products",
    "/v1/reservations",
    "/v1/reservations/{id}/extend",
    "/v1/warehouses",
    "/v1/stock/{sku}/{warehouse_id}/receipts",
    "/v1/stock/{sku}/{warehouse_id}/sales",
    "/v1/stock/{sku}/{warehouse_id}/adjustments",
    "/v1/stock/{sku}/{warehouse_id}/holds",
    "/v1/stock/{sku}/{warehouse_id}/holds/{hold_id}/release",
    "/v1/stays",
    "/v1/stays/{listing_id}/calendar",
    "/v1/stays/{listing_id}/auto-pricing",
    "/v1/stays/{listing_id}/bookings",
    "/v1/stays/{listing_id}/bookings/{stay_id}/response",
];

#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    /// Longest an ordinary request may run before it is answered 503.
    pub request_timeout: Duration,
    /// Ordinary requests in flight at once; more are answered 503 at once.
    pub max_in_flight: usize,
    /// Long polls one caller may hold open at once.
    pub long_polls_per_caller: usize,
    /// Long polls open at once, over all callers.
    pub max_long_polls: usize,
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_in_flight: 1_024,
            long_polls_per_caller: 16,
            max_long_polls: 4_096,
        }
    }
}

/// The counters behind the limits, one per process.
pub struct LoadGuard {
    settings: LoadSettings,
    in_flight: Arc<Semaphore>,
    long_polls: Arc<Semaphore>,
    long_polls_by_caller: Mutex<HashMap<String, usize>>,
}

impl LoadGuard {
    pub fn new(settings: LoadSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            long_polls: Arc::new(Semaphore::new(settings.max_long_polls)),
            long_polls_by_caller: Mutex::default(),
        })
    }

    /// A place for one more long poll of `caller`, or `None` when it holds its share
    /// or the server holds as many as it takes.
    fn long_poll_slot(self: &Arc<Self>, caller: Option<String>) -> Option<LongPollSlot> {
        let permit = self.long_polls.clone().try_acquire_owned().ok()?;
        let Some(caller) = caller else {
            return Some(LongPollSlot {
                guard: self.clone(),
                caller: None,
                _permit: permit,
            });
        };
        let mut by_caller = self
            .long_polls_by_caller
            .lock()
            .expect("long poll map poisoned");
        let open = by_caller.entry(caller.clone()).or_default();
        if *open >= self.settings.long_polls_per_caller {
            return None;
        }
        *open += 1;
        Some(LongPollSlot {
            guard: self.clone(),
            caller: Some(caller),
            _permit: permit,
        })
    }
}

/// One open long poll; its caller's count goes down when it ends.
struct LongPollSlot {
    guard: Arc<LoadGuard>,
    caller: Option<String>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for LongPollSlot {
    fn drop(&mut self) {
        let Some(caller) = &self.caller else {
            return;
        };
        let mut by_caller = self
            .guard
            .long_polls_by_caller
            .lock()
            .expect("long poll map poisoned");
        if let Some(open) = by_caller.get_mut(caller) {
            *open -= 1;
            // No entry outlives its caller's last long poll.
            if *open == 0 {
                by_caller.remove(caller);
            }
        }
    }
}

/// The middleware: runs after authentication (it counts long polls per caller).
pub async fn guard(State(guard): State<Arc<LoadGuard>>, request: Request, next: Next) -> Response {
    if let Some(refusal) = refuse_unhonoured_key(&request) {
        return refusal.into_response();
    }
    if is_long_poll(&request) {
        // Development mode has one caller for everyone (on this machine only): there
        // the overall cap is the one that counts.
        let caller = match request.extensions().get::<Principal>() {
            Some(Principal::Development) | None => None,
            Some(principal) => Some(principal.actor()),
        };
        let Some(_slot) = guard.long_poll_slot(caller) else {
            metrics::counter!("requests_refused_total", "reason" => "long_polls").increment(1);
            return Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_long_polls",
                format!(
                    "a caller may hold at most {} requests with wait_for_status open at once",
                    guard.settings.long_polls_per_caller
                ),
            )
            .retry_after(1)
            .into_response();
        };
        // A long poll ends by itself within its own 30 s limit.
        return next.run(request).await;
    }
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        metrics::counter!("requests_refused_total", "reason" => "in_flight").increment(1);
        return Problem::unavailable(
            "overloaded",
            "the server is at its limit of requests in flight; try again shortly",
        )
        .retry_after(1)
        .into_response();
    };
    match tokio::time::timeout(guard.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("requests_refused_total", "reason" => "timeout").increment(1);
            Problem::unavailable(
                "request_timeout",
                "the request took too long and was stopped; what it had done stands (retry with the same Idempotency-Key where the route takes one)",
            )
            .retry_after(1)
            .into_response()
        }
    }
}

fn refuse_unhonoured_key(request: &Request) -> Option<Problem> {
    if request.method() != Method::POST || !request.headers().contains_key("idempotency-key") {
        return None;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)?;
    if HONOURS_IDEMPOTENCY_KEY.contains(&route) {
        return None;
    }
    Some(Problem::new(
        StatusCode::BAD_REQUEST,
        "idempotency_key_not_taken",
        format!(
            "{route} does not take an Idempotency-Key: repeating it is safe by itself (or it is identified by its own id); send it without one"
        ),
    ))
}
