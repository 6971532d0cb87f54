//! The routes: command API, query API, admin and operations.

pub mod activity;
pub mod admin;
pub mod availability;
pub mod consistency;
pub mod delivery;
pub mod docs;
pub mod keys;
pub mod listings;
pub mod long_poll;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod product_search;
pub mod products;
pub mod recommendations;
pub mod replenishment;
pub mod reservations;
pub mod stays;
pub mod stock;
pub mod table;
pub mod warehouses;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use commands::{CommandError, CommandService};
use event_schemas::Metadata;
use projections::availability::Availability;
use projections::Projector;
use serde::Deserialize;
use tokio::sync::watch;
use utoipa::IntoParams;

use crate::problem::Problem;
use crate::telemetry::observe_command;

/// How long a query waits for its projection to reach `min_position`.
pub const MIN_POSITION_WAIT: Duration = Duration::from_secs(2);

/// What every handler can reach. Every extractor and middleware takes a clone of
/// it, so it is one `Arc` (cloning its parts cost a few dozen reference counts per
/// request).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
    pub commands: Arc<CommandService>,
    /// The availability read model's SQL copy (rebuilds, its checkpoint).
    pub availability: Arc<Projector<Availability>>,
    /// Availability in this process's memory: what the availability routes answer.
    pub live_availability: Arc<projections::availability::LiveAvailability>,
    pub open_holds: Arc<Projector<projections::open_holds::OpenHolds>>,
    pub listings: Arc<Projector<projections::listings::Listings>>,
    pub search: product_search::SearchState,
    /// The recommendation model in this process's memory.
    pub recommendations: Arc<::recommendations::Recommender>,
    /// Delivery pricing: the model in this process's memory and the quote secrets.
    pub delivery: delivery::DeliveryState,
    /// Stays: the model in this process's memory, the search recorder, the hold.
    pub stays: stays::StaysState,
    pub flash: crate::flash::FlashState,
    pub limits: Limits,
    /// Every projection that can be rebuilt, by name.
    pub projections: Arc<Vec<Arc<dyn projections::ProjectionHandle>>>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Credentials: settings, the key table, limits.
    pub auth: Arc<crate::auth::Auth>,
    /// Idempotency keys of requests in flight in this process.
    pub in_flight: Arc<crate::idempotency::InFlight>,
    /// Timeouts and caps on requests in flight and long polls.
    pub load: Arc<crate::limits::LoadGuard>,
    /// The order process's planner (a parked event's retry plans with it too).
    pub planner: Arc<dyn commands::orders::Planner>,
    /// This node's role, and its relay's or copy's state.
    pub node: crate::node::NodeState,
    /// The console's live stream: its clients and their cap.
    pub console: Arc<crate::console::stream::StreamState>,
}

/// Limits an operator may set.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a reservation may hold, in seconds.
    pub max_ttl_seconds: u32,
    /// Most warehouses one order or reservation may ship from.
    pub max_shipments: usize,
    /// What a buyer's own reservations may hold.
    pub buyer: domain::BuyerLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ttl_seconds: reservations::MAX_TTL_SECONDS,
            max_shipments: domain::allocation::DEFAULT_MAX_SHIPMENTS,
            buyer: domain::BuyerLimits::default(),
        }
    }
}

/// `?min_position=N`: answer only once the read model reflects position N.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Consistency {
    /// Wait (up to 2 s) until the answer reflects at least this log position.
    #[param(minimum = 0, example = 42)]
    pub min_position: Option<i64>,
}

impl AppState {
    /// Event metadata of a request: its id as correlation id, the actor, the key.
    pub fn metadata(&self, headers: &HeaderMap, principal: &crate::auth::Principal) -> Metadata {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && v.len() <= 200)
                .map(str::to_string)
        };
        Metadata {
            correlation_id: header("x-request-id"),
            causation_id: None,
            actor: Some(principal.actor()),
            idempotency_key: header("idempotency-key"),
        }
    }

    /// Wait until the log this process reads has reached `min_position` (a commit of
    /// this process or, as heard, of another), or answer 503. For answers read from
    /// the aggregates themselves, which reflect every commit once it is heard of.
    pub async fn await_committed(&self, min_position: Option<i64>) -> Result<(), Problem> {
        let Some(wanted) = min_position else {
            return Ok(());
        };
        self.known_position(wanted).await?;
        let store = self.commands.store();
        let mut own = store.committed();
        let mut foreign = store.foreign_commits();
        let reached = |own: &watch::Receiver<i64>, foreign: &watch::Receiver<i64>| {
            (*own.borrow()).max(*foreign.borrow())
        };
        let deadline = tokio::time::Instant::now() + MIN_POSITION_WAIT;
        while reached(&own, &foreign) < wanted {
            let changed = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    result = own.changed() => result,
                    result = foreign.changed() => result,
                }
            })
            .await;
            if !matches!(changed, Ok(Ok(()))) {
                let current = reached(&own, &foreign);
                return Err(stale_read(
                    projections::WaitError::Stale { current, wanted },
                    current,
                    wanted,
                ));
            }
        }
        Ok(())
    }

    /// Wait until the listings reflect `min_position`, or answer 503. Returns the
    /// position this process has seen them reach.
    pub async fn await_listings(&self, min_position: Option<i64>) -> Result<i64, Problem> {
        if let Some(wanted) = min_position {
            self.known_position(wanted).await?;
            self.listings
                .wait_for(wanted, MIN_POSITION_WAIT)
                .await
                .map_err(|stale| stale_read(stale, self.listings.position(), wanted))?;
        }
        Ok(self.listings.position())
    }

    /// Wait until availability reflects `min_position`, or answer 503.
    pub async fn await_availability(&self, consistency: &Consistency) -> Result<(), Problem> {
        let Some(wanted) = consistency.min_position else {
            return Ok(());
        };
        self.known_position(wanted).await?;
        self.live_availability
            .wait_for(wanted, MIN_POSITION_WAIT)
            .await
            .map_err(|stale| stale_read(stale, self.live_availability.position(), wanted))
    }
}

impl AppState {
    /// A `min_position` past the log's head was never answered to anyone: it is the
    /// caller's mistake (422), not a read model that is behind (503). The head is
    /// read from the store, so another process's commits count.
    pub async fn known_position(&self, wanted: i64) -> Result<(), Problem> {
        let store = self.commands.store();
        if wanted <= store.last_committed() {
            return Ok(());
        }
        if store.is_copy() {
            // A query node's copy may lag the log it copies, and cannot tell a
            // position not yet copied from one never answered: it waits, then 503.
            return projections::runtime::wait_until_seen(
                store.committed(),
                wanted,
                MIN_POSITION_WAIT,
            )
            .await
            .map_err(|stale| stale_read(stale, store.last_committed(), wanted));
        }
        let head = store.head_position().await.map_err(Problem::from)?;
        if wanted <= head {
            return Ok(());
        }
        Err(Problem::invalid(vec![domain::FieldError {
            field: "min_position".into(),
            message: format!("is past the log's head ({head}): pass a position a command answered"),
        }])
        .with("head", head))
    }
}

/// The 503 of a read model that did not reach `min_position` in time.
pub fn stale_read(stale: projections::WaitError, position: i64, wanted: i64) -> Problem {
    Problem::unavailable("stale_read_model", stale.to_string())
        .with("position", position)
        .with("min_position", wanted)
}

/// Read an aggregate (an order, a reservation, a product), counting the read apart
/// from the commands: `reads_total` and `read_duration_seconds` by what was read.
pub async fn metered_read<T>(
    name: &'static str,
    read: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, Problem> {
    let started = Instant::now();
    let result = read.await;
    let outcome = match &result {
        Ok(_) => "found",
        Err(CommandError::Refused(_)) => "refused",
        Err(_) => "failed",
    };
    crate::telemetry::observe_read(name, outcome, started.elapsed());
    result.map_err(Problem::from)
}

/// Run a command, counting it by type and outcome.
pub async fn metered<T>(
    name: &'static str,
    command: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, Problem> {
    metered_result(name, command).await.map_err(Problem::from)
}

/// [`metered`], keeping the command's own error.
pub async fn metered_result<T>(
    name: &'static str,
    command: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    let started = Instant::now();
    let result = command.await;
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(CommandError::Refused(_)) => "refused",
        Err(CommandError::Contended) => "contended",
        Err(CommandError::Overloaded) => "overloaded",
        Err(CommandError::AlreadyDone(_)) => "replayed",
        Err(CommandError::Store(_)) => "failed",
    };
    observe_command(name, outcome, started.elapsed());
    result
}
