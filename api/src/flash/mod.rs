//! `/v1/flash-sales`: schedule a sale, buy from it (admitted, queued or refused), follow
//! a queue ticket, read the sale's figures, cancel it.

pub mod challenge;

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use commands::{CommandError, CommandService};
use domain::FlashSaleView;
use domain::{FlashSaleStatus, ScheduleFlashSale};
use event_schemas::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::problem::{Body, PathParams, Problem, QueryParams};
use crate::routes::orders::customer;
use crate::routes::warehouses::MoneyBody;
use crate::routes::{metered, metered_result, AppState, Consistency};
use admission::{Admission, Admitted, TicketView};

/// How often running sales are looked at (to close them when their window ends).
const TICK: Duration = Duration::from_secs(1);

/// The flash-sale side of the application state.
#[derive(Clone)]
pub struct FlashState {
    pub admission: Admission,
    /// What a buyer must solve before a purchase is looked at.
    pub challenge: Arc<dyn challenge::EntryChallenge>,
    /// Sales that may still need closing.
    pub running: Arc<Mutex<BTreeSet<String>>>,
    /// Sales known to exist, so purchases of made-up ids never reach admission (and
    /// never leave queues behind).
    known: Arc<Mutex<HashSet<String>>>,
}

impl FlashState {
    pub fn new(admission: Admission, challenge: Arc<dyn challenge::EntryChallenge>) -> Self {
        Self {
            admission,
            challenge,
            running: Default::default(),
            known: Default::default(),
        }
    }

    /// Whether the sale exists: from memory, or asked of the sale once.
    async fn ensure_known(&self, sale_id: &str, service: &CommandService) -> Result<(), Problem> {
        if self.known.lock().expect("known lock").contains(sale_id) {
            return Ok(());
        }
        service.flash_sale_state(sale_id).await?;
        self.known
            .lock()
            .expect("known lock")
            .insert(sale_id.to_string());
        Ok(())
    }

    /// Close sales whose window has passed, every second, in the background; learns
    /// of sales scheduled before this process started from the log.
    pub fn spawn_ticker(&self, service: Arc<CommandService>) {
        let running = self.running.clone();
        tokio::spawn(async move {
            if let Ok(records) = service
                .store()
                .read_type_after(event_schemas::flash_sale::FLASH_SALE_AGGREGATE, 0, i64::MAX)
                .await
            {
                let mut running = running.lock().expect("running lock");
                for record in records {
                    if let Ok(event_schemas::FlashSaleEvent::FlashSaleScheduled {
                        sale_id, ..
                    }) = record.parse_as()
                    {
                        running.insert(sale_id);
                    }
                }
            }
            loop {
                tokio::time::sleep(TICK).await;
                let sales: Vec<String> = running
                    .lock()
                    .expect("running lock")
                    .iter()
                    .cloned()
                    .collect();
                for sale_id in sales {
                    match service.tick_flash_sale(&sale_id).await {
                        Ok(view) if finished(&view) => {
                            running.lock().expect("running lock").remove(&sale_id);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(%sale_id, error = %e, "ticking a flash sale failed")
                        }
                    }
                }
            }
        });
    }
}

fn finished(view: &FlashSaleView) -> bool {
    matches!(
        view.status,
        FlashSaleStatus::Ended | FlashSaleStatus::Cancelled
    ) && view.held == 0
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "drop-1"
    )]
    pub sale_id: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub sku: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub warehouse_id: String,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub units: u64,
    pub price: MoneyBody,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Default 1.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub per_user_limit: Option<u64>,
    /// Default 300.
    #[schema(minimum = 1, maximum = 86_400)]
    pub payment_window_seconds: Option<u64>,
}

/// A sale's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct SaleAnswer {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    /// scheduled (before its window), open (purchases taken now), ended or cancelled.
    pub status: String,
    /// Whether purchases are taken now (status `open`).
    pub open: bool,
    pub units: u64,
    pub held: u64,
    pub sold: u64,
    pub remaining: u64,
    pub queue_length: usize,
    /// Purchases admitted per second.
    pub admission_rate: u32,
    #[schema(value_type = Option<Object>)]
    pub price: Option<Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_user_limit: u64,
    pub payment_window_seconds: u64,
    pub position: i64,
}

async fn answer(
    state: &AppState,
    view: FlashSaleView,
    position: i64,
) -> Result<SaleAnswer, Problem> {
    let now = state.commands.clock().now();
    let queue_length = state
        .flash
        .admission
        .queue_length(&view.sale_id)
        .await
        .map_err(admission_problem)?;
    let labels = [("sale_id", view.sale_id.clone())];
    metrics::gauge!("flash_sale_held_units", &labels).set(view.held as f64);
    metrics::gauge!("flash_sale_sold_units", &labels).set(view.sold as f64);
    metrics::gauge!("flash_sale_remaining_units", &labels).set(view.remaining as f64);
    metrics::gauge!("flash_sale_queue_length", &labels).set(queue_length as f64);
    // The status the sale list shows too: the events and the clock together.
    let ended = match view.status {
        FlashSaleStatus::Cancelled => Some("cancelled"),
        FlashSaleStatus::Ended => Some("ended"),
        FlashSaleStatus::New | FlashSaleStatus::Scheduled => None,
    };
    let status = projections::listings::flash_sales::status_at(
        ended,
        view.starts_at.unwrap_or_default(),
        view.ends_at.unwrap_or_default(),
        now,
    );
    Ok(SaleAnswer {
        open: status == "open",
        status: status.to_string(),
        sale_id: view.sale_id,
        sku: view.sku,
        warehouse_id: view.warehouse_id,
        units: view.units,
        held: view.held,
        sold: view.sold,
        remaining: view.remaining,
        queue_length,
        admission_rate: state.flash.admission.settings().rate_per_sale,
        price: view.price,
        starts_at: view.starts_at,
        ends_at: view.ends_at,
        per_user_limit: view.per_user_limit,
        payment_window_seconds: view.payment_window_seconds,
        position,
    })
}

/// A sale's figures as they stand, without ticking it (what the console shows).
pub async fn figures(state: &AppState, sale_id: &str) -> Result<SaleAnswer, Problem> {
    let (_, view) = state.commands.flash_sale_state(sale_id).await?;
    let position = state.commands.store().last_committed();
    answer(state, view, position).await
}

fn admission_problem(e: admission::AdmissionError) -> Problem {
    tracing::error!(error = %e, "flash-sale admission unavailable");
    Problem::unavailable("admission_unavailable", e.to_string())
}

/// Schedule a flash sale: its units are taken out of the warehouse's available stock
/// (one hold under the sale id) so ordinary orders cannot eat them.
#[utoipa::path(post, path = "/v1/flash-sales", tag = "commands",
    request_body = ScheduleBody,
    responses(
        (status = 201, body = SaleAnswer),
        (status = 200, description = "Scheduled before with the same terms", body = SaleAnswer),
        (status = 409, description = "Not enough available stock (with `available`), or the sale exists with other terms", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn schedule(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<ScheduleBody>,
) -> Result<(StatusCode, Json<SaleAnswer>), Problem> {
    let metadata = state.metadata(&headers, &principal);
    let sale = ScheduleFlashSale {
        sale_id: body.sale_id,
        sku: body.sku,
        warehouse_id: body.warehouse_id,
        units: body.units,
        price: body.price.into(),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        per_user_limit: body.per_user_limit.unwrap_or(1),
        payment_window_seconds: body.payment_window_seconds.unwrap_or(300),
    };
    let sale_id = sale.sale_id.clone();
    let (outcome, view) = metered(
        "schedule_flash_sale",
        state.commands.schedule_flash_sale(sale, &metadata),
    )
    .await?;
    state
        .flash
        .running
        .lock()
        .expect("running lock")
        .insert(sale_id);
    let status = if outcome.events > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer(&state, view, outcome.position).await?)))
}

/// A sale's units (held, sold, remaining), queue length and admission rate.
#[utoipa::path(get, path = "/v1/flash-sales/{sale_id}", tag = "queries",
    params(("sale_id" = String, Path), Consistency),
    responses((status = 200, body = SaleAnswer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(sale_id): PathParams<String>,
    QueryParams(consistency): QueryParams<Consistency>,
) -> Result<Json<SaleAnswer>, Problem> {
    state.await_committed(consistency.min_position).await?;
    // Looking also closes a sale whose window has passed and returns lapsed holds.
    let view = state.commands.tick_flash_sale(&sale_id).await?;
    let position = state.commands.store().last_committed();
    Ok(Json(answer(&state, view, position).await?))
}

/// Stop the sale: no more purchases; units not held by buyers go back to stock once
/// no buyer holds any.
#[utoipa::path(post, path = "/v1/flash-sales/{sale_id}/cancel", tag = "commands",
    params(("sale_id" = String, Path)),
    responses((status = 200, body = SaleAnswer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(sale_id): PathParams<String>,
) -> Result<Json<SaleAnswer>, Problem> {
    let metadata = state.metadata(&headers, &principal);
    let (outcome, view) = metered(
        "cancel_flash_sale",
        state.commands.cancel_flash_sale(&sale_id, &metadata),
    )
    .await?;
    Ok(Json(answer(&state, view, outcome.position).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: u64,
    /// The buyer, when a `buyers:act` key (or development mode) buys for them.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reserved {
    /// `reserved`.
    pub status: &'static str,
    pub order_id: String,
    pub quantity: u64,
    /// Pay (through the payment webhook) before this, or the units go to the next buyer.
    pub expires_at: DateTime<Utc>,
    pub position: i64,
}

/// Buy from a sale: 201 reserved (an order to pay), 202 queued (a ticket to poll),
/// or a problem: 409 `all_held` / `sold_out`, 403 over the limit, 422 outside the
/// window, 429 too many requests.
#[utoipa::path(post, path = "/v1/flash-sales/{sale_id}/purchase", tag = "commands",
    params(("sale_id" = String, Path)),
    request_body = PurchaseBody,
    responses(
        (status = 201, body = Reserved),
        (status = 202, description = "Queued: poll the ticket", body = Object),
        (status = 404, description = "No such sale", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "A queue-entry challenge must be solved first", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn purchase(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(client): Extension<crate::client_address::ClientAddress>,
    headers: HeaderMap,
    PathParams(sale_id): PathParams<String>,
    Body(body): Body<PurchaseBody>,
) -> Result<Response, Problem> {
    let Some(user_id) = customer(&state, &principal, body.user_id)? else {
        return Err(Problem::invalid(vec![domain::FieldError {
            field: "user_id".into(),
            message: "a purchase needs a buyer: a buyer token, or user_id with a buyers:act key"
                .into(),
        }]));
    };
    if !(1..=1_000).contains(&body.quantity) {
        return Err(Problem::invalid(vec![domain::FieldError {
            field: "quantity".into(),
            message: "must be 1 to 1000".into(),
        }]));
    }
    state.flash.challenge.check(&sale_id, &user_id, &headers)?;
    let limits = state
        .flash
        .admission
        .check_limits(&user_id, Some(client.0))
        .await
        .map_err(admission_problem)?;
    if let Err(wait) = limits {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many purchase requests; slow down",
        )
        .retry_after(wait));
    }
    // After the limits, so made-up sale ids cost a flooding client its own budget.
    state.flash.ensure_known(&sale_id, &state.commands).await?;
    let admitted = state
        .flash
        .admission
        .admit(&sale_id, &user_id, body.quantity, &state.commands)
        .await
        .map_err(admission_problem)?;
    match admitted {
        Admitted::Queued(ticket) => Ok((StatusCode::ACCEPTED, Json(ticket)).into_response()),
        Admitted::Now => {
            let metadata = state.metadata(&headers, &principal);
            let bought = metered_result(
                "purchase_flash_sale",
                state
                    .commands
                    .purchase_flash_sale(&sale_id, &user_id, body.quantity, &metadata),
            )
            .await;
            match bought {
                Ok(purchase) => Ok((
                    StatusCode::CREATED,
                    Json(Reserved {
                        status: "reserved",
                        order_id: purchase.order_id,
                        quantity: purchase.quantity,
                        expires_at: purchase.expires_at,
                        position: purchase.position,
                    }),
                )
                    .into_response()),
                Err(CommandError::Refused(refusal)) => {
                    let retry = refusal.facts.get("retry_after").and_then(|v| v.as_u64());
                    let problem = Problem::from(refusal);
                    Err(match retry {
                        Some(seconds) => problem.retry_after(seconds),
                        None => problem,
                    })
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}

/// Where a queue ticket stands: waiting (position, estimate), admitted (the order),
/// all held, sold out, lapsed, or refused.
#[utoipa::path(get, path = "/v1/flash-sales/{sale_id}/queue/{ticket}", tag = "queries",
    params(("sale_id" = String, Path), ("ticket" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn ticket(
    State(state): State<AppState>,
    PathParams((sale_id, ticket)): PathParams<(String, String)>,
) -> Result<Json<TicketView>, Problem> {
    state
        .flash
        .admission
        .poll(&sale_id, &ticket)
        .await
        .map_err(admission_problem)?
        .map(Json)
        .ok_or_else(|| Problem::not_found("there is no such ticket for this sale"))
}
