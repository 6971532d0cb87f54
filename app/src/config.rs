//! What `commerce` is started with: where the data lives, how the server serves
//! (listen address, clock, auth, admission, limits), and what a rebuild needs; parsed
//! by clap in the binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::server::{ClockKind, ServerConfig};
use api::auth::{AuthSettings, Environment, JwtVerifier};

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the SQLite database, the lock file and local indexes.
    #[arg(long, env = "COMMERCE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://...); without it the store is SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COMMERCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// `manual` stops time until `POST /v1/admin/clock/advance` (for tests and demos).
    #[arg(long, env = "COMMERCE_CLOCK", value_enum, default_value = "system")]
    pub clock: ClockKind,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Flash-sale purchases admitted per second per sale (the rest queue).
    #[arg(long, env = "COMMERCE_FLASH_ADMISSION_RATE", default_value_t = 1_000)]
    pub flash_admission_rate: u32,
    /// Flash-sale purchase requests one buyer may make a minute.
    #[arg(long, env = "COMMERCE_FLASH_BUYER_LIMIT", default_value_t = 5)]
    pub flash_buyer_limit: u32,
    /// Flash-sale purchase requests one client address may make a minute.
    #[arg(long, env = "COMMERCE_FLASH_ADDRESS_LIMIT", default_value_t = 600)]
    pub flash_address_limit: u32,
    /// Redis URL (redis://...): flash-sale limits, rates and queues shared by every
    /// node and kept across restarts. Without it they live in this process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this deployment writes.
    #[arg(long, env = "COMMERCE_REDIS_PREFIX", default_value = "commerce")]
    pub redis_prefix: String,
    /// Proof-of-work bits a flash-sale buyer must show in a `Flash-Challenge` header
    /// (0, the default, asks for nothing).
    #[arg(long, env = "COMMERCE_FLASH_CHALLENGE_BITS", default_value_t = 0)]
    pub flash_challenge_bits: u32,
    /// The longest a reservation may hold, in seconds (`ttl_seconds` above it is 422).
    #[arg(long, env = "COMMERCE_RESERVATION_MAX_TTL", default_value_t = 86_400,
          value_parser = clap::value_parser!(u32).range(60..=31_536_000))]
    pub reservation_max_ttl: u32,
    /// Most warehouses one order or reservation may be split over.
    #[arg(long, env = "COMMERCE_MAX_SHIPMENTS", default_value_t = 3,
          value_parser = clap::value_parser!(u8).range(1..=10))]
    pub max_shipments: u8,
    /// Most units one buyer may hold at once in reservations made with its token.
    #[arg(long, env = "COMMERCE_BUYER_MAX_UNITS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub buyer_max_units: u64,
    /// The longest `ttl_seconds` a buyer may ask for.
    #[arg(long, env = "COMMERCE_BUYER_MAX_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(i64).range(60..=86_400))]
    pub buyer_max_ttl: i64,
    /// The longest a buyer's reservation may hold from when it was made, extensions
    /// included, in seconds.
    #[arg(long, env = "COMMERCE_BUYER_MAX_LIFE", default_value_t = 3_600,
          value_parser = clap::value_parser!(i64).range(60..=604_800))]
    pub buyer_max_life: i64,
    /// Recommendation knobs as comma-separated name=value pairs: feedback weights
    /// (view_weight, cart_weight, purchase_weight, click_weight), source shares
    /// (collaborative_share, content_share, trending_share, latent_part),
    /// trending_half_life_hours, new_item_half_life_hours, new_item_every,
    /// history_per_user, shrinkage, diversity_lambda, per_category_in_top,
    /// per_shop_in_top.
    #[arg(long, env = "COMMERCE_RECOMMENDATIONS", default_value = "",
          value_parser = recommendations::Config::with_overrides)]
    pub recommendations: recommendations::Config,
    /// Delivery pricing settings as comma-separated name=value pairs: resolution
    /// (H3, 0-15, default 8), window_minutes (demand window, 15), quote_minutes (how
    /// long a quote lasts, 10), dwell_minutes (5), step (0.1), smoothing (0.3),
    /// quote_weight (what a quote request counts as against an order, 1).
    #[arg(long, env = "COMMERCE_DELIVERY", default_value = "",
          value_parser = delivery::PricingConfig::parse)]
    pub delivery: delivery::PricingConfig,
    /// Secrets that seal delivery quotes (comma-separated, each at least 32 bytes):
    /// the first seals, every one opens, so a new secret goes first and the old one
    /// stays listed until its quotes have expired. Nodes that honour each other's
    /// quotes share them. Without one, each process makes its own at start (its
    /// quotes are then honoured by it alone, and not after a restart).
    #[arg(
        long,
        env = "COMMERCE_QUOTE_SECRETS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub quote_secrets: Vec<String>,
    /// Reorder points as comma-separated name=value pairs: service_level (0.95),
    /// lead_time_days (7), review_days (14), and lead_time.<warehouse_id> for a
    /// warehouse whose lead time differs.
    #[arg(long, env = "COMMERCE_REPLENISHMENT", default_value = "",
          value_parser = delivery::replenishment::ReplenishmentConfig::parse)]
    pub replenishment: delivery::replenishment::ReplenishmentConfig,
    /// Record `ReorderSuggested` each time a SKU's available stock in a warehouse
    /// falls to its reorder point (once per crossing; one process per database does
    /// it, under a lease).
    #[arg(long, env = "COMMERCE_REORDER_SUGGESTIONS")]
    pub reorder_suggestions: bool,
    /// Stays settings as comma-separated name=value pairs: the ranking weights
    /// quality (0.25), relevance (0.25), personalisation (0.20), price (0.15),
    /// availability (0.15); price_far_below (fraud screening: a listing under this
    /// share of comparable listings' median price is flagged, 0.4); host_burst (more
    /// listings than this from a new host in a day are flagged, 5).
    #[arg(long, env = "COMMERCE_STAYS", default_value = "",
          value_parser = stays::StaysConfig::parse)]
    pub stays: stays::StaysConfig,
    #[command(flatten)]
    pub node: NodeArgs,
    /// How long a stay's hold waits for payment, in minutes (1 to 1440).
    #[arg(long, env = "COMMERCE_STAY_HOLD_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub stay_hold_minutes: u32,
    /// Clients the console's live stream (`/v1/admin/stream`) holds at once; one
    /// more is answered 503.
    #[arg(long, env = "COMMERCE_CONSOLE_STREAM_CLIENTS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub console_stream_clients: u32,
}

/// The node's place in a deployment: its role, and the NATS server the log goes
/// through between nodes.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// `all` (writes and every read model: a single node), `command` (writes, with
    /// the read models the write side needs; relays the log to `--events`) or
    /// `query` (read models only, from a copy of the log taken from `--events`).
    #[arg(long, env = "COMMERCE_ROLE", value_enum, default_value = "all")]
    pub role: api::node::NodeRole,
    /// NATS with JetStream (nats://host:port): command and single nodes publish
    /// every committed event there; query nodes copy the log from there.
    #[arg(long, env = "COMMERCE_EVENTS")]
    pub events: Option<String>,
    /// Names the stream (`<PREFIX>_EVENTS`) and subjects (`<prefix>.<aggregate>.<event>`),
    /// so several deployments can share a NATS server.
    #[arg(long, env = "COMMERCE_NATS_PREFIX", default_value = "commerce")]
    pub nats_prefix: String,
    /// A query node's name, its own among the deployment's query nodes: names its
    /// consumer on the stream.
    #[arg(long, env = "COMMERCE_NODE_NAME")]
    pub node_name: Option<String>,
}

/// Credentials.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// `development` is open to anyone; `production` needs a credential everywhere
    /// but /health and /ready.
    #[arg(
        long = "env",
        env = "COMMERCE_ENV",
        value_enum,
        default_value = "development"
    )]
    pub environment: Environment,
    /// The master key (at least 16 bytes): manages API keys, may do anything.
    #[arg(long, env = "COMMERCE_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Secret for buyer tokens signed with HS256 (at least 32 bytes).
    #[arg(long, env = "COMMERCE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key for buyer tokens signed with RS256 or ES256.
    #[arg(long, env = "COMMERCE_JWT_PUBLIC_KEY", conflicts_with = "jwt_secret")]
    pub jwt_public_key: Option<PathBuf>,
    /// The `aud` buyer tokens must carry.
    #[arg(long, env = "COMMERCE_JWT_AUDIENCE", default_value = "commerce")]
    pub jwt_audience: String,
    /// The `iss` buyer tokens must carry; without it `iss` is not checked.
    #[arg(long, env = "COMMERCE_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Requests per second one API key may make (0: no limit).
    #[arg(long, env = "COMMERCE_KEY_RATE_LIMIT", default_value_t = 1000)]
    pub key_rate_limit: u32,
    /// Requests per second one buyer (a token's subject) may make (0: no limit).
    #[arg(long, env = "COMMERCE_BUYER_RATE_LIMIT", default_value_t = 10)]
    pub buyer_rate_limit: u32,
    /// Failed authentications per minute one client address may make before it is
    /// refused for a minute.
    #[arg(long, env = "COMMERCE_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub auth_failures_per_minute: u32,
    /// Secret the payment provider signs webhooks with (HMAC-SHA256). Development
    /// mode uses the sandbox provider's when absent.
    #[arg(long, env = "COMMERCE_PAYMENT_WEBHOOK_SECRET", hide_env_values = true)]
    pub payment_webhook_secret: Option<String>,
    /// Proxies in front of the server (comma-separated addresses or CIDR networks):
    /// for requests from them, the client is the right-most address in
    /// `X-Forwarded-For` that is not one of them. Without it, the peer is the client.
    #[arg(long, env = "COMMERCE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: api::client_address::TrustedProxies,
    /// Also accept the legacy `Payment-Signature: sha256=<hex>` webhook signature
    /// (no timestamp, so replayable): for one release, while providers move to
    /// `t=<unix seconds>,v1=<hex>`.
    #[arg(
        long,
        env = "COMMERCE_ACCEPT_LEGACY_WEBHOOK_SIGNATURES",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub accept_legacy_webhook_signatures: bool,
}

impl AuthArgs {
    pub fn settings(self) -> anyhow::Result<AuthSettings> {
        let jwt = match (&self.jwt_secret, &self.jwt_public_key) {
            (Some(secret), _) => Some(JwtVerifier::hs256(secret.as_bytes(), &self.jwt_audience)?),
            (None, Some(path)) => {
                let pem = std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("cannot read the JWT public key {}: {e}", path.display())
                })?;
                Some(JwtVerifier::from_public_pem(&pem, &self.jwt_audience)?)
            }
            (None, None) => None,
        };
        let jwt = match (jwt, &self.jwt_issuer) {
            (Some(jwt), Some(issuer)) => Some(jwt.with_issuer(issuer)?),
            (None, Some(_)) => anyhow::bail!(
                "--jwt-issuer (COMMERCE_JWT_ISSUER) checks buyer tokens, but none are accepted: add --jwt-secret or --jwt-public-key"
            ),
            (jwt, None) => jwt,
        };
        Ok(AuthSettings {
            environment: self.environment,
            master_key: self.master_key,
            jwt,
            key_rate_limit: self.key_rate_limit,
            buyer_rate_limit: self.buyer_rate_limit,
            failures_per_minute: self.auth_failures_per_minute,
            payment_webhook_secret: self.payment_webhook_secret,
            trusted_proxies: self.trusted_proxies,
            accept_legacy_webhook_signatures: self.accept_legacy_webhook_signatures,
        })
    }
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projection to rebuild.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(api::routes::admin::PROJECTIONS))]
    pub projection: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Credential for a server in production mode (a key with the `admin` scope, or
    /// the master key).
    #[arg(long, env = "COMMERCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl ServeArgs {
    /// The server's configuration from these arguments.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            listen: self.listen,
            data_dir: self.storage.data_dir.clone(),
            database_url: self.storage.database_url.clone(),
            clock: self.clock,
            admission: admission::AdmissionSettings {
                rate_per_sale: self.flash_admission_rate,
                per_buyer_per_minute: self.flash_buyer_limit,
                per_address_per_minute: self.flash_address_limit,
            },
            redis_url: self.redis_url.clone(),
            redis_prefix: self.redis_prefix.clone(),
            flash_challenge_bits: self.flash_challenge_bits.min(32),
            recommendations: self.recommendations.clone(),
            delivery: crate::server::DeliverySettings {
                pricing: self.delivery,
                quote_secrets: self
                    .quote_secrets
                    .iter()
                    .map(|s| s.as_bytes().to_vec())
                    .collect(),
                replenishment: self.replenishment.clone(),
                reorder_suggestions: self.reorder_suggestions,
            },
            node: self.node.clone(),
            console_stream_clients: self.console_stream_clients as usize,
            stays: crate::server::StaysSettings {
                model: self.stays,
                hold_minutes: self.stay_hold_minutes,
            },
            limits: api::routes::Limits {
                max_ttl_seconds: self.reservation_max_ttl,
                max_shipments: self.max_shipments as usize,
                buyer: domain::BuyerLimits {
                    max_units: self.buyer_max_units,
                    max_ttl_seconds: self.buyer_max_ttl,
                    max_life_seconds: self.buyer_max_life,
                },
            },
        }
    }
}
