//! The relay: every committed event, in log order, published to the deployment's
//! stream. One relay runs per database at a time, under a lease (a PostgreSQL
//! session advisory lock: a crashed holder's connection closes and frees it, and a
//! standby takes it within [`RETRY`]). Every publish carries the stream sequence
//! it expects to follow (`Nats-Expected-Last-Sequence`), so two relays can never
//! interleave, even one paused past losing its lease: the server refuses the stale
//! one's publishes, and it starts over from the stream.
//!
//! Acks are pipelined: a batch of events is published, the next batch read from the
//! log while the acks come in, and the acks are settled before the next publish. The
//! checkpoint is the stream itself: the relay resumes after the position carried by
//! the stream's last message, so a crash between publish and checkpoint neither
//! loses nor repeats an event. Positions may have gaps; nothing assumes they don't.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use chrono::Utc;
use event_log::lease::Lease;
use event_log::EventStore;
use serde::Serialize;
use tokio::sync::watch;

use crate::cloudevent;
use crate::{BusError, Naming};

/// Advisory lock key of the relay's lease ("relay" in ASCII).
const LEASE_KEY: i64 = 0x7265_6c61_7900_0000;
/// How long a standby (or a relay that failed) waits before trying again.
pub const RETRY: Duration = Duration::from_secs(1);
/// Events read from the log, and published before their acks are settled, at once.
const BATCH: i64 = 2_000;
/// How long an idle relay waits for a commit before checking its lease.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// What the relay of this process is doing, for `/ready` and `/metrics`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RelayReport {
    pub state: RelayState,
    /// The last log position published to the stream (as this process knows it).
    pub position: i64,
    /// Log positions committed but not yet published (an upper bound on the events:
    /// positions have gaps).
    pub lag_events: i64,
    /// Age of the oldest event not yet published (0 when caught up).
    pub lag_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    Starting,
    /// Another process holds the lease and relays.
    Standby,
    Relaying,
    /// The last attempt failed (NATS or the database unreachable); it retries.
    Failing,
}

/// Run the relay from `store` to the stream of `naming` on `client` for as long as
/// the process lives; the receiver follows what it does.
pub fn spawn_relay(
    store: EventStore,
    client: async_nats::Client,
    naming: Naming,
) -> watch::Receiver<RelayReport> {
    let (report, reports) = watch::channel(RelayReport {
        state: RelayState::Starting,
        position: 0,
        lag_events: 0,
        lag_seconds: 0.0,
        error: None,
    });
    tokio::spawn(async move {
        let jetstream = context(client);
        loop {
            let outcome = match Lease::take(store.database(), LEASE_KEY).await {
                Ok(Some(lease)) => {
                    relay_while_leased(&store, &jetstream, &naming, lease, &report).await
                }
                Ok(None) => {
                    report.send_modify(|r| {
                        r.state = RelayState::Standby;
                        r.error = None;
                    });
                    Ok(())
                }
                Err(error) => Err(error.into()),
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, "the relay stopped; it starts over from the stream");
                report.send_modify(|r| {
                    r.state = RelayState::Failing;
                    r.error = Some(error.to_string());
                });
            }
            metrics::gauge!("relay_leader").set(0.0);
            tokio::time::sleep(RETRY).await;
        }
    });
    reports
}

/// A JetStream context whose publishes wait for room rather than fail when many
/// acks are outstanding.
pub fn context(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .max_ack_inflight(4 * BATCH as usize)
        .backpressure_on_inflight(true)
        .build(client)
}

/// The stream sequence and log position of the stream's last message (0, 0 when
/// it is empty): where a relay resumes.
pub async fn relayed_through(stream: &mut stream::Stream) -> Result<(u64, i64), BusError> {
    let last = crate::naming::last_sequence(stream).await?;
    if last == 0 {
        return Ok((0, 0));
    }
    let message = stream.get_raw_message(last).await.map_err(BusError::nats)?;
    Ok((last, cloudevent::position(Some(&message.headers), last)?))
}

async fn relay_while_leased(
    store: &EventStore,
    jetstream: &jetstream::Context,
    naming: &Naming,
    mut lease: Lease,
    report: &watch::Sender<RelayReport>,
) -> Result<(), BusError> {
    let mut stream = naming.ensure_stream(jetstream).await?;
    let (mut sequence, mut position) = relayed_through(&mut stream).await?;
    tracing::info!(stream = %naming.stream(), sequence, position, "relaying the log");
    metrics::gauge!("relay_leader").set(1.0);
    let mut commits = store.readable();
    let mut in_flight: Vec<PublishAckFuture> = Vec::new();
    loop {
        lease.check().await?;
        let batch = store
            .database()
            .read_envelopes_after(position, BATCH)
            .await?;
        settle(std::mem::take(&mut in_flight)).await?;
        let lag_seconds = batch.first().map_or(0.0, |oldest| {
            (Utc::now() - oldest.occurred_at).num_milliseconds().max(0) as f64 / 1000.0
        });
        let lag_events = (store.last_committed() - position).max(0);
        metrics::gauge!("relay_lag_events").set(lag_events as f64);
        metrics::gauge!("relay_lag_seconds").set(lag_seconds);
        report.send_replace(RelayReport {
            state: RelayState::Relaying,
            position,
            lag_events,
            lag_seconds,
            error: None,
        });
        if batch.is_empty() {
            let _ = tokio::time::timeout(IDLE_CHECK, commits.changed()).await;
            continue;
        }
        for event in batch {
            let event_position = event.position;
            let (subject, message) = cloudevent::message(naming, event);
            let ack = jetstream
                .send_publish(subject, message.expected_last_sequence(sequence))
                .await
                .map_err(BusError::nats)?;
            in_flight.push(ack);
            sequence += 1;
            position = event_position;
        }
    }
}

/// Wait for every ack of a batch: an error or a message the stream took as a
/// duplicate means the stream is not where this relay thinks, and it starts over.
async fn settle(in_flight: Vec<PublishAckFuture>) -> Result<(), BusError> {
    let published = in_flight.len() as u64;
    for ack in in_flight {
        let ack = ack.await.map_err(BusError::nats)?;
        if ack.duplicate {
            return Err(BusError::Nats(format!(
                "the stream already held the message at sequence {}",
                ack.sequence
            )));
        }
    }
    metrics::counter!("relay_published_total").increment(published);
    Ok(())
}
