//! A query node's copy of the log, kept from the stream: a push consumer of the
//! node's own (ephemeral, nothing acknowledged, flow controlled) delivers the stream
//! in order from the sequence after what the store holds; each batch of messages is
//! written to the node's own store with the stream sequence it reached, in one
//! transaction ([`EventStore::copy_in`]). The store is the only checkpoint: a gap in
//! the delivery (a dropped message, a consumer the server lost) ends the run, and
//! the next one starts a new consumer from the store, so the copy takes each event
//! exactly once whatever fails in between. A message at or below the stored
//! sequence is skipped. The node's read models follow the copy as they would follow
//! the log on a command node.
//!
//! Why push and not pull: on the machine this was measured on, a pull consumer
//! delivered a 500,000-message stream at 64k messages/s and a push consumer at 102k
//! in the same run (`commerce bench relay` prints both baselines).

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::Utc;
use event_log::{CopiedEvent, EventStore};
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use tokio::sync::watch;

use crate::cloudevent;
use crate::{BusError, Naming};

/// Messages written to the copy in one transaction, at most.
const BATCH: usize = 4_000;
/// How long a batch waits for more messages after its first: under a backlog it
/// fills to [`BATCH`] well within this, and when events trickle in it bounds the
/// delay each one adds.
const LINGER: Duration = Duration::from_millis(2);
/// How long a consumer that failed waits before trying again.
const RETRY: Duration = Duration::from_secs(1);
/// The server says it is there this often when it has nothing to deliver; missing
/// two ends the run (the consumer or the connection is gone, as when NATS restarts:
/// the consumer lives in the server's memory), and the next run starts a new one.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What this node's copy has reached, for `/ready` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CopyReport {
    /// The stream sequence copied through.
    pub stream_sequence: u64,
    /// The log position copied through.
    pub position: i64,
    /// Messages in the stream not yet copied (as the last one delivered said).
    pub lag_messages: u64,
    /// How old the last copied event was when it was copied.
    pub lag_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Keep `store` (opened with [`EventStore::open_copy`]) a copy of the stream of
/// `naming`, through a consumer named `consumer_name`, for as long as the process
/// lives.
pub fn spawn_copier(
    store: EventStore,
    client: async_nats::Client,
    naming: Naming,
    consumer_name: String,
) -> watch::Receiver<CopyReport> {
    let (report, reports) = watch::channel(CopyReport::default());
    tokio::spawn(async move {
        let jetstream = jetstream::new(client);
        loop {
            if let Err(error) = copy(&store, &jetstream, &naming, &consumer_name, &report).await {
                tracing::warn!(%error, "copying the stream stopped; it resumes from the copy");
                report.send_modify(|r| r.error = Some(error.to_string()));
            }
            tokio::time::sleep(RETRY).await;
        }
    });
    reports
}

/// Copy the stream of `naming` into `store` until the copy holds log position
/// `position`; answers the events copied. For tools and benchmarks (`commerce bench
/// relay`), with a consumer named `consumer_name` that is deleted after.
pub async fn copy_through(
    store: &EventStore,
    client: async_nats::Client,
    naming: &Naming,
    consumer_name: &str,
    position: i64,
) -> Result<u64, BusError> {
    let jetstream = jetstream::new(client);
    let stream = naming.ensure_stream(&jetstream).await?;
    let (start, mut reached) = store.copied_through(&naming.stream()).await?;
    let (report, _) = watch::channel(CopyReport::default());
    let mut delivery = Delivery::start(&jetstream, &stream, consumer_name, start).await?;
    let writer = Writer::spawn(store.clone(), naming.stream(), start, report);
    let mut copied = start;
    let taking = async {
        while reached < position {
            let taken = delivery.take_batch(copied).await?;
            copied = taken.reached;
            reached = taken.events.last().map_or(reached, |e| e.position);
            writer.write(taken).await?;
        }
        Ok(())
    }
    .await;
    let written = writer.finish(taking).await;
    delivery.stop(&stream).await;
    written?;
    Ok(copied - start)
}

async fn copy(
    store: &EventStore,
    jetstream: &jetstream::Context,
    naming: &Naming,
    consumer_name: &str,
    report: &watch::Sender<CopyReport>,
) -> Result<(), BusError> {
    let stream_name = naming.stream();
    let stream = naming.ensure_stream(jetstream).await?;
    let (mut copied, position) = store.copied_through(&stream_name).await?;
    report.send_modify(|r| {
        r.stream_sequence = copied;
        r.position = position;
    });
    let mut delivery = Delivery::start(jetstream, &stream, consumer_name, copied).await?;
    tracing::info!(stream = %stream_name, consumer = consumer_name, copied, "copying the stream");
    let writer = Writer::spawn(store.clone(), stream_name, copied, report.clone());
    let taking = async {
        loop {
            let taken = delivery.take_batch(copied).await?;
            copied = taken.reached;
            writer.write(taken).await?;
        }
    }
    .await;
    let written = writer.finish(taking).await;
    delivery.stop(&stream).await;
    written
}

/// A batch taken from the stream and parsed, not yet written.
struct Taken {
    /// The events after what the copy holds (redeliveries left out).
    events: Vec<CopiedEvent>,
    /// The stream sequence the batch reaches.
    reached: u64,
    /// Messages the stream holds beyond it, as the server said with it.
    pending: u64,
}

/// The stream delivered to this node, in order, by a push consumer of its own.
struct Delivery {
    messages: consumer::push::Messages,
    consumer_name: String,
    /// The consumer's delivery count of the last message taken: each next one must
    /// be one more, or a message was lost on the way.
    delivered: u64,
}

impl Delivery {
    /// A new consumer named `consumer_name` (any left by an earlier run of this node,
    /// or by an earlier version's durable pull consumer of that name, is deleted
    /// first) delivering the stream from the sequence after `copied`.
    async fn start(
        jetstream: &jetstream::Context,
        stream: &jetstream::stream::Stream,
        consumer_name: &str,
        copied: u64,
    ) -> Result<Self, BusError> {
        let _ = stream.delete_consumer(consumer_name).await;
        let deliver_policy = match copied {
            0 => consumer::DeliverPolicy::All,
            copied => consumer::DeliverPolicy::ByStartSequence {
                start_sequence: copied + 1,
            },
        };
        let consumer = stream
            .create_consumer(consumer::push::Config {
                deliver_subject: jetstream.client().new_inbox(),
                name: Some(consumer_name.to_string()),
                deliver_policy,
                ack_policy: consumer::AckPolicy::None,
                max_deliver: 1,
                flow_control: true,
                idle_heartbeat: HEARTBEAT,
                // The server forgets it once this node has gone for that long.
                inactive_threshold: Duration::from_secs(60),
                memory_storage: true,
                ..Default::default()
            })
            .await
            .map_err(BusError::nats)?;
        let messages = consumer.messages().await.map_err(BusError::nats)?;
        Ok(Self {
            messages,
            consumer_name: consumer_name.to_string(),
            delivered: 0,
        })
    }

    /// Take the next messages (waiting for the first, then for more up to [`BATCH`]
    /// or [`LINGER`]) after stream sequence `copied`, and parse them.
    async fn take_batch(&mut self, copied: u64) -> Result<Taken, BusError> {
        let mut batch = Vec::with_capacity(BATCH);
        match self.messages.next().await {
            Some(message) => batch.push(message.map_err(BusError::nats)?),
            None => return Err(BusError::Nats("the consumer's messages ended".into())),
        }
        let until = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            let next = match self.messages.next().now_or_never() {
                Some(next) => next,
                None => match tokio::time::timeout_at(until, self.messages.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            match next {
                Some(message) => batch.push(message.map_err(BusError::nats)?),
                None => break,
            }
        }
        let mut events = Vec::with_capacity(batch.len());
        let mut reached = copied;
        let mut pending = 0;
        for message in &batch {
            let info = message.info().map_err(BusError::nats)?;
            if info.consumer_sequence != self.delivered + 1 {
                return Err(BusError::Nats(format!(
                    "message {} of the consumer came after {}: a message was lost on the way",
                    info.consumer_sequence, self.delivered
                )));
            }
            self.delivered = info.consumer_sequence;
            let sequence = info.stream_sequence;
            pending = info.pending;
            if sequence <= reached {
                continue; // already in the copy
            }
            events.push(cloudevent::copied(
                message.headers.as_ref(),
                &message.payload,
                sequence,
            )?);
            reached = sequence;
        }
        Ok(Taken {
            events,
            reached,
            pending,
        })
    }

    /// Stop the delivery and delete the consumer (the server would forget it after a
    /// while anyway).
    async fn stop(self, stream: &jetstream::stream::Stream) {
        drop(self.messages);
        let _ = stream.delete_consumer(&self.consumer_name).await;
    }
}

/// Writes taken batches to the copy in order, on a task of its own, so the next
/// batch is taken and parsed while one is written.
struct Writer {
    queue: tokio::sync::mpsc::Sender<Taken>,
    done: tokio::task::JoinHandle<Result<(), BusError>>,
}

impl Writer {
    /// A writer of the copy of `stream_name`, which holds the stream through
    /// sequence `copied`.
    fn spawn(
        store: EventStore,
        stream_name: String,
        mut copied: u64,
        report: watch::Sender<CopyReport>,
    ) -> Self {
        // One batch waits while one is written.
        let (queue, mut taken) = tokio::sync::mpsc::channel::<Taken>(1);
        let done = tokio::spawn(async move {
            while let Some(batch) = taken.recv().await {
                if batch.reached > copied {
                    store
                        .copy_in(&stream_name, batch.reached, &batch.events)
                        .await?;
                    copied = batch.reached;
                }
                let lag_seconds = batch.events.last().map_or(0.0, |e| {
                    (Utc::now() - e.occurred_at).num_milliseconds().max(0) as f64 / 1000.0
                });
                report.send_modify(|r| {
                    r.stream_sequence = batch.reached;
                    if let Some(event) = batch.events.last() {
                        r.position = event.position;
                    }
                    r.lag_seconds = lag_seconds;
                    r.lag_messages = batch.pending;
                    r.error = None;
                });
                metrics::gauge!("copy_lag_messages").set(batch.pending as f64);
                metrics::counter!("copy_events_total").increment(batch.events.len() as u64);
            }
            Ok(())
        });
        Self { queue, done }
    }

    /// Queue a batch; fails with the writer's error once it has failed.
    async fn write(&self, batch: Taken) -> Result<(), BusError> {
        if self.queue.send(batch).await.is_err() {
            return Err(BusError::Nats("the copy's writer stopped".into()));
        }
        Ok(())
    }

    /// Let the writer write what is queued and stop; the taking's outcome, or the
    /// writer's error when it failed first.
    async fn finish(self, taking: Result<(), BusError>) -> Result<(), BusError> {
        drop(self.queue);
        let written = self
            .done
            .await
            .unwrap_or_else(|e| Err(BusError::Nats(format!("the copy's writer failed: {e}"))));
        written.and(taking)
    }
}
