//! One `commerce serve` process: the data directory lock, the event log, the command
//! service, the projections, and the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::Router;
use commands::{AppClock, CommandService, Database, EventStore, ManualClock};
use projections::availability::Availability;
use projections::{Projector, ReadDb};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::datadir::DataDirLock;
use crate::problem::problems_for_bare_errors;
use crate::routes::{admin, availability, ops, stock, warehouses, AppState};
use crate::telemetry;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Which clock commands read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockKind {
    System,
    /// Stands still until `POST /v1/admin/clock/advance` (development and tests).
    Manual,
}

/// Everything a process needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub clock: ClockKind,
}

/// The opened back end: log, command service, projections.
pub struct Backend {
    pub commands: Arc<CommandService>,
    pub availability: Arc<Projector<Availability>>,
}

/// Open the database and everything built on it (no HTTP, no background tasks).
pub async fn open_backend(config: &ServerConfig) -> anyhow::Result<Backend> {
    let db = Database::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let store = EventStore::open(db.clone()).await?;
    let clock = match config.clock {
        ClockKind::System => AppClock::System,
        ClockKind::Manual => AppClock::Manual(Arc::new(ManualClock::new(chrono::Utc::now()))),
    };
    let commands = Arc::new(CommandService::new(store, clock));
    let read_db = match db {
        Database::Sqlite { writer, reader } => ReadDb::Sqlite { writer, reader },
        Database::Postgres(pool) => ReadDb::Postgres(pool),
    };
    let availability = Projector::open(read_db, Availability).await?;
    Ok(Backend {
        commands,
        availability,
    })
}

/// The HTTP application over a back end.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/v1/warehouses", post(warehouses::register))
        .route("/v1/stock/{sku}/{warehouse_id}/receipts", post(stock::receive))
        .route("/v1/stock/{sku}/{warehouse_id}/sales", post(stock::sell))
        .route("/v1/stock/{sku}/{warehouse_id}/adjustments", post(stock::adjust))
        .route("/v1/stock/{sku}/{warehouse_id}/holds", post(stock::hold))
        .route(
            "/v1/stock/{sku}/{warehouse_id}/holds/{hold_id}/release",
            post(stock::release),
        )
        .route("/v1/availability/{sku}", get(availability::by_sku))
        .route(
            "/v1/availability/{sku}/{warehouse_id}",
            get(availability::by_sku_and_warehouse),
        )
        .route("/v1/admin/projections/{name}", get(admin::projection))
        .route("/v1/admin/projections/{name}/rebuild", post(admin::rebuild))
        .route("/v1/admin/clock/advance", post(admin::advance_clock))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(problems_for_bare_errors))
        .layer(CatchPanicLayer::new())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serve until Ctrl-C or SIGTERM.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let lock = DataDirLock::acquire(&config.data_dir)?;
    let backend = open_backend(&config).await?;
    let metrics = telemetry::metrics();
    commands::expiry::prime(&backend.commands).await?;
    commands::expiry::spawn_sweeper(backend.commands.clone());
    backend.availability.catch_up().await?;
    backend
        .availability
        .spawn_live(backend.commands.store().committed());

    let state = AppState {
        commands: backend.commands.clone(),
        availability: backend.availability.clone(),
        metrics,
        actor: Arc::from("development"),
        in_flight: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    lock.write_server_info(address)?;
    tracing::warn!(
        "development mode: the API is open to anyone who can reach {address}; no credentials are checked"
    );
    tracing::info!(
        %address,
        database = backend.commands.store().database().backend_name(),
        data_dir = %config.data_dir.display(),
        clock = ?config.clock,
        "commerce is serving"
    );
    // Tests and scripts read this line to learn the port when started on port 0.
    println!("listening on http://{address}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    drop(lock);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
