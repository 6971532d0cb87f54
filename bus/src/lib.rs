//! The log on NATS JetStream.
//!
//! This crate owns what leaves the process: the [`relay`] that publishes every
//! committed event, in log order, to one stream as a CloudEvent (one relay per
//! database, under a lease, fenced by the stream's expected last sequence), and the
//! [`copier`] with which a query node keeps its own copy of the log from that
//! stream. Both share the [`naming`] of streams and subjects and the message format
//! of [`cloudevent`].
//!
//! The stream is its own checkpoint: the relay resumes after the position carried by
//! the stream's last message, and a query node stores the stream sequence it copied
//! with the events, in one transaction, so a crash anywhere neither loses nor
//! repeats an event.

pub mod cloudevent;
pub mod copier;
pub mod naming;
pub mod relay;

pub use naming::Naming;

/// What can go wrong between the log and the stream.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Store(#[from] event_log::StoreError),
    #[error(transparent)]
    Log(#[from] event_log::LogError),
    #[error("message {sequence} of the stream is not one of ours: {reason}")]
    Malformed { sequence: u64, reason: String },
    #[error("{0}")]
    Config(String),
}

impl BusError {
    pub(crate) fn nats(error: impl std::fmt::Display) -> Self {
        BusError::Nats(error.to_string())
    }
}

/// Connect to NATS at `url` (`nats://host:port`), naming this connection.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, BusError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(BusError::nats)
}
