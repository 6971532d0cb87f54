//! One `commerce serve` process: the data directory lock, the event log, the command
//! service, the projections, and the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use admission::Admission;
use admission::SharedAdmission;
use api::auth::{Auth, AuthSettings, Environment};
use api::flash::FlashState;
use api::node::NodeRole;
use api::router::router;
use api::routes::activity::ActivityRecorder;
use api::routes::{product_search, AppState};
use api::telemetry;
use commands::{AppClock, CommandService, Database, EventStore, ManualClock};
use projections::api_keys::ApiKeys;
use projections::availability::{Availability, LiveAvailability};
use projections::listings::Listings;
use projections::open_holds::OpenHolds;
use projections::stay_nights::StayNights;
use projections::{ProjectionHandle, Projector};
use recommendations::snapshot::{self, RecommendationsHandle};
use recommendations::sources::latent::AlsParams;
use recommendations::{LiveRecommendations, Recommender};
use search::projection::SearchHandle;
use search::SearchProjection;

use crate::datadir::DataDirLock;

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
    pub admission: admission::AdmissionSettings,
    /// Redis for admission shared between nodes; `None` keeps it in process.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments (and test runs) never meet.
    pub redis_prefix: String,
    /// Proof-of-work bits a flash-sale buyer must show (0: no challenge).
    pub flash_challenge_bits: u32,
    pub limits: api::routes::Limits,
    /// The recommendations' weights, shares and list shape.
    pub recommendations: recommendations::Config,
    pub delivery: DeliverySettings,
    pub stays: StaysSettings,
    /// The node's role and the NATS server between nodes.
    pub node: crate::config::NodeArgs,
    /// Clients the console's live stream holds at once.
    pub console_stream_clients: usize,
}

/// Delivery pricing: the model's settings and the quote secrets.
#[derive(Debug, Clone, Default)]
pub struct DeliverySettings {
    pub pricing: delivery::PricingConfig,
    /// The first seals, each opens; empty: one made at start.
    pub quote_secrets: Vec<Vec<u8>>,
    /// Reorder points: service level, lead times, review period.
    pub replenishment: delivery::replenishment::ReplenishmentConfig,
    /// Whether this process records reorder suggestions (under the lease).
    pub reorder_suggestions: bool,
}

/// Stays: the model's settings and how long a hold waits for payment.
#[derive(Debug, Clone, Copy)]
pub struct StaysSettings {
    pub model: stays::StaysConfig,
    pub hold_minutes: u32,
}

impl Default for StaysSettings {
    fn default() -> Self {
        Self {
            model: Default::default(),
            hold_minutes: domain::stays::DEFAULT_HOLD_MINUTES,
        }
    }
}

/// Shortest quote secret accepted.
const MIN_QUOTE_SECRET: usize = 32;

impl DeliverySettings {
    /// The secrets to seal and open quotes with: the configured ones, or one made
    /// now from the operating system's randomness.
    fn secrets(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        if let Some(short) = self
            .quote_secrets
            .iter()
            .find(|s| s.len() < MIN_QUOTE_SECRET)
        {
            anyhow::bail!(
                "a quote secret is {} bytes; each needs at least {MIN_QUOTE_SECRET}",
                short.len()
            );
        }
        if !self.quote_secrets.is_empty() {
            return Ok(self.quote_secrets.clone());
        }
        let mut secret = vec![0u8; MIN_QUOTE_SECRET];
        getrandom::fill(&mut secret)
            .map_err(|e| anyhow::anyhow!("no randomness for a quote secret: {e}"))?;
        tracing::info!("no quote secret configured: quotes from this process are honoured by it alone until it stops");
        Ok(vec![secret])
    }
}

/// The opened back end: log, command service, projections.
pub struct Backend {
    pub commands: Arc<CommandService>,
    pub availability: Arc<Projector<Availability>>,
    pub open_holds: Arc<Projector<OpenHolds>>,
    pub listings: Arc<Projector<Listings>>,
    pub api_keys: Arc<ApiKeys>,
    pub search: Arc<SearchProjection>,
    /// The recommendation model, in memory, loaded from its snapshot.
    pub recommendations: Arc<LiveRecommendations>,
    /// Where the recommendation model's snapshot is kept.
    pub recommendations_dir: std::path::PathBuf,
    /// Delivery pricing's model, in memory.
    pub pricing: Arc<delivery::LivePricing>,
    /// Stock's sales and reorder points, in memory.
    pub replenishment: Arc<delivery::replenishment::LiveReplenishment>,
    /// Stays' listings, calendars and searches, in memory.
    pub stays: Arc<stays::LiveStays>,
    /// Booked nights under a primary key, and the double-booking alarm.
    pub stay_nights: Arc<Projector<StayNights>>,
}

impl Backend {
    /// Every projection that can be rebuilt, by name.
    pub fn projections(&self) -> Vec<Arc<dyn ProjectionHandle>> {
        vec![
            Arc::new(self.availability.clone()),
            Arc::new(self.open_holds.clone()),
            Arc::new(self.listings.clone()),
            Arc::new(SearchHandle(self.search.clone())),
            Arc::new(RecommendationsHandle {
                live: self.recommendations.clone(),
                dir: self.recommendations_dir.clone(),
            }),
            Arc::new(delivery::LiveHandle {
                name: "delivery",
                live: self.pricing.clone(),
            }),
            Arc::new(delivery::LiveHandle {
                name: "replenishment",
                live: self.replenishment.clone(),
            }),
            Arc::new(delivery::LiveHandle {
                name: "stays",
                live: self.stays.clone(),
            }),
            Arc::new(self.stay_nights.clone()),
        ]
    }
}

/// Open the database and everything built on it (no HTTP, no background tasks).
pub async fn open_backend(config: &ServerConfig) -> anyhow::Result<Backend> {
    let db = Database::connect(config.database_url.as_deref(), &config.data_dir).await?;
    // A query node's database holds a copy of the log, taken from the stream.
    let store = match config.node.role {
        NodeRole::Query => EventStore::open_copy(db.clone()).await?,
        NodeRole::All | NodeRole::Command => EventStore::open(db.clone()).await?,
    };
    let clock = match config.clock {
        ClockKind::System => AppClock::System,
        ClockKind::Manual => AppClock::Manual(Arc::new(ManualClock::new(chrono::Utc::now()))),
    };
    let commands = Arc::new(CommandService::new(store, clock));
    // The read models share the log's connections.
    let read_db = db;
    let availability = Projector::open(read_db.clone(), Availability).await?;
    let open_holds = Projector::open(read_db.clone(), OpenHolds).await?;
    let listings = Projector::open(read_db.clone(), Listings).await?;
    let stay_nights = Projector::open(read_db.clone(), StayNights).await?;
    let stays = stays::live(read_db.clone(), config.stays.model);
    let api_keys = ApiKeys::open(read_db.clone()).await?;
    // Each process keeps its own index, in its own data directory.
    let search = SearchProjection::open(read_db.clone(), config.data_dir.join("search")).await?;
    let recommendations_dir = config.data_dir.join("recommendations");
    let pricing = delivery::live(read_db.clone(), config.delivery.pricing);
    let replenishment = delivery::replenishment::live_replenishment(
        read_db.clone(),
        config.delivery.replenishment.clone(),
    );
    let recommendations = snapshot::load(
        read_db,
        config.recommendations.clone(),
        &recommendations_dir,
    )
    .await;
    Ok(Backend {
        commands,
        availability,
        open_holds,
        listings,
        api_keys,
        search,
        recommendations,
        recommendations_dir,
        pricing,
        replenishment,
        stays,
        stay_nights,
    })
}

/// Take the data directory's lock and open the back end in this process, for the
/// tools that must not share it with a server (`rebuild` offline, `bench`).
pub async fn open_exclusive(
    storage: &crate::config::StorageArgs,
    tool: &str,
) -> anyhow::Result<(DataDirLock, Backend)> {
    let lock = DataDirLock::acquire(&storage.data_dir).map_err(|e| {
        anyhow::anyhow!("{e}; {tool} needs the data directory to itself: stop the server or pass another --data-dir")
    })?;
    let backend = open_backend(&offline_config(storage)).await?;
    Ok((lock, backend))
}

/// The configuration of a tool that opens the back end without serving.
pub fn offline_config(storage: &crate::config::StorageArgs) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().expect("a valid address"),
        data_dir: storage.data_dir.clone(),
        database_url: storage.database_url.clone(),
        clock: ClockKind::System,
        admission: Default::default(),
        redis_url: None,
        redis_prefix: "commerce".into(),
        flash_challenge_bits: 0,
        limits: Default::default(),
        recommendations: Default::default(),
        delivery: Default::default(),
        stays: Default::default(),
        node: crate::config::NodeArgs {
            role: NodeRole::All,
            events: None,
            nats_prefix: "commerce".into(),
            node_name: None,
        },
        console_stream_clients: api::console::stream::DEFAULT_MAX_CLIENTS,
    }
}

/// An HTTP client that presents `api_key`, if given, on every request.
pub fn client_with_key(api_key: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = api_key {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}").parse()?,
        );
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// Serve until Ctrl-C or SIGTERM.
pub async fn serve(config: ServerConfig, auth: AuthSettings) -> anyhow::Result<()> {
    refuse_unsafe_start(&config, &auth)?;
    let lock = DataDirLock::acquire(&config.data_dir)?;
    let backend = open_backend(&config).await?;
    let role = config.node.role;
    let node = crate::node::start_bus(&config.node, backend.commands.store()).await?;
    let environment = auth.environment;
    let auth = Arc::new(Auth::new(
        auth,
        backend.api_keys.clone(),
        backend.commands.clock().clone(),
    )?);
    // Every reader below takes the log's newest records from one tail in memory,
    // read once per commit, and wakes when the tail has them.
    let committed = backend.commands.store().follow_tail();
    backend.api_keys.spawn_follow(committed.clone());
    let metrics = telemetry::metrics();
    backend.availability.catch_up().await?;
    backend.availability.spawn_live(committed.clone());
    let live_availability = LiveAvailability::load(&backend.availability).await?;
    live_availability.spawn_follow(committed.clone());
    backend.open_holds.catch_up().await?;
    backend.open_holds.spawn_live(committed.clone());
    backend.listings.catch_up().await?;
    backend.listings.spawn_live(committed.clone());
    // Search and recommendations serve reads only: a command node leaves them to
    // the query nodes.
    if role.runs_query_side() {
        backend.search.spawn_live(committed.clone());
        backend.recommendations.catch_up().await?;
        backend.recommendations.spawn_follow(committed.clone());
    }
    backend.pricing.catch_up().await?;
    backend.pricing.spawn_follow(committed.clone());
    backend.replenishment.catch_up().await?;
    backend.replenishment.spawn_follow(committed.clone());
    backend.stays.catch_up().await?;
    backend.stays.spawn_follow(committed.clone());
    backend.stay_nights.catch_up().await?;
    backend.stay_nights.spawn_live(committed);
    let writes = role.takes_writes();
    if writes && config.delivery.reorder_suggestions {
        crate::reorder::spawn_reorder_process(
            backend.commands.clone(),
            backend.replenishment.clone(),
        );
    }
    if writes {
        crate::auto_pricing::spawn_auto_pricing(backend.commands.clone(), backend.stays.clone());
    }
    let recommender = Recommender::new(backend.recommendations.clone(), AlsParams::default());
    if role.runs_query_side() {
        snapshot::spawn_saver(
            backend.recommendations.clone(),
            backend.recommendations_dir.clone(),
        );
        recommender.spawn_schedule(RETRAIN_EVERY);
    }
    let planner: Arc<dyn commands::orders::Planner> = Arc::new(api::allocation::ReadSidePlanner {
        commands: backend.commands.clone(),
        availability: live_availability.clone(),
        max_shipments: config.limits.max_shipments,
    });
    // The processes that act on the log write: command and single nodes run them.
    if writes {
        spawn_expiry(&backend);
        commands::order_process::spawn_order_process(backend.commands.clone(), planner.clone());
        commands::stay_refunds::spawn_stay_refunds(backend.commands.clone());
    }

    let state = AppState::new(api::routes::AppParts {
        console: Arc::new(api::console::stream::StreamState::new(
            config.console_stream_clients,
        )),
        commands: backend.commands.clone(),
        availability: backend.availability.clone(),
        live_availability,
        open_holds: backend.open_holds.clone(),
        listings: backend.listings.clone(),
        flash: {
            let admission = match &config.redis_url {
                Some(url) => Admission::Shared(
                    SharedAdmission::connect(
                        url,
                        &config.redis_prefix,
                        config.admission,
                        backend.commands.clone(),
                    )
                    .await?,
                ),
                None => Admission::local(config.admission, backend.commands.clock().clone()),
            };
            let challenge: Arc<dyn api::flash::challenge::EntryChallenge> =
                match config.flash_challenge_bits {
                    0 => Arc::new(api::flash::challenge::Open),
                    bits => Arc::new(api::flash::challenge::ProofOfWork { bits }),
                };
            let flash = FlashState::new(admission, challenge);
            if writes {
                flash.spawn_ticker(backend.commands.clone());
            }
            flash
        },
        limits: config.limits,
        search: product_search::SearchState {
            projection: backend.search.clone(),
            recorder: ActivityRecorder::spawn_if(writes, &backend.commands),
        },
        recommendations: recommender,
        delivery: api::routes::delivery::DeliveryState {
            pricing: backend.pricing.clone(),
            secrets: Arc::new(config.delivery.secrets()?),
            quote_counter: match writes {
                true => api::routes::delivery::QuoteCounter::spawn(backend.commands.clone()),
                false => Default::default(),
            },
            replenishment: backend.replenishment.clone(),
        },
        stays: api::routes::stays::StaysState {
            live: backend.stays.clone(),
            recorder: api::routes::activity::BackgroundRecorder::spawn_if(
                writes,
                &backend.commands,
            ),
            hold_minutes: config.stays.hold_minutes,
            nights: backend.stay_nights.clone(),
        },
        projections: Arc::new(backend.projections()),
        metrics,
        auth,
        in_flight: Default::default(),
        load: api::limits::LoadGuard::new(Default::default()),
        planner,
        node,
    });
    raise_open_file_limit();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    lock.write_server_info(address)?;
    match environment {
        Environment::Development => tracing::warn!(
            "DEVELOPMENT MODE: the API is open to anyone who can reach {address}; no credentials are checked. \
             Use --env production with a master key for anything else."
        ),
        Environment::Production => tracing::info!("production mode: every route but /health and /ready needs a credential"),
    }
    tracing::info!(
        %address,
        database = backend.commands.store().database().backend_name(),
        data_dir = %config.data_dir.display(),
        clock = ?config.clock,
        role = ?role,
        "commerce is serving"
    );
    // Tests and scripts read this line to learn the port when started on port 0.
    println!("listening on http://{address}");
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = stopping.clone();
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        signalled.notify_one();
    });
    // Requests in flight get a grace period to finish; a connection that stays busy
    // past it (a slow client, a stuck request) does not keep the process alive.
    let grace = async {
        stopping.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server => served?,
        () = grace => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "connections were still open after the grace period; closing them"
        ),
    }
    // The next start reads only the log after this.
    if let Err(error) = snapshot::save(&backend.recommendations, &backend.recommendations_dir).await
    {
        tracing::warn!(%error, "the recommendations snapshot was not saved");
    }
    drop(lock);
    Ok(())
}

/// How often the recommendations' latent model is retrained while the log moves.
const RETRAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How long requests in flight may take to finish once a shutdown is asked for.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Development mode and the manual clock are for one machine: a development server
/// answers anyone without a credential, and a manual clock lets holds never run out.
/// Neither may start where others can reach it, and a master key (a production
/// secret) is a sign of a production set-up started in the wrong mode.
fn refuse_unsafe_start(config: &ServerConfig, auth: &AuthSettings) -> anyhow::Result<()> {
    let loopback = config.listen.ip().is_loopback();
    if auth.environment == Environment::Development {
        if !loopback {
            anyhow::bail!(
                "--env development listens only on a loopback address (it checks no credentials), not on {}; use --env production",
                config.listen
            );
        }
        if auth.master_key.is_some() {
            anyhow::bail!(
                "a master key is configured but --env is development, which ignores it; use --env production"
            );
        }
    }
    if config.clock == ClockKind::Manual && !loopback {
        anyhow::bail!(
            "--clock manual is for development and tests and listens only on a loopback address, not on {}",
            config.listen
        );
    }
    Ok(())
}

/// How often the expiry sweep re-reads the open holds of every process.
const OPEN_HOLDS_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// Expire holds on time: the sweep works from what this process did and, every few
/// seconds, from the open-holds read model (holds of other or crashed processes).
fn spawn_expiry(backend: &Backend) {
    let commands = backend.commands.clone();
    let open_holds = backend.open_holds.clone();
    tokio::spawn(async move {
        loop {
            match projections::open_holds::next_expiries(open_holds.db()).await {
                Ok(due) => commands::expiry::schedule_known(&commands, due),
                Err(error) => tracing::warn!(%error, "reading open holds failed"),
            }
            tokio::time::sleep(OPEN_HOLDS_REFRESH).await;
        }
    });
    commands::expiry::spawn_sweeper(backend.commands.clone());
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

/// Turn transparent huge pages off for this process. The allocator asks for them,
/// and the kernel then zeroes two megabytes at each first touch: in a flash-sale
/// rush that fault path took about a seventh of the process's time, and purchase
/// p99 was 20-40% higher with them (DEPLOYMENT.md). Called before the runtime starts;
/// where the kernel has no such switch, nothing changes.
pub fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Every connection is a file: raise the soft limit on open files to the hard one,
/// so the console's stream clients and long polls are bounded by our own caps, not
/// by the shell's default of 1,024.
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let soft = limit.rlim_cur;
        if soft < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                tracing::debug!(from = soft, to = limit.rlim_max, "open-file limit raised");
            }
        }
    }
}
