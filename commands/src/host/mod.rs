//! The aggregate host: one owner task per live aggregate.
//!
//! The owner keeps the aggregate's state in memory and drains the commands queued
//! for it. For each drained batch it clones the state once, decides every command in
//! order on that copy (a refused command leaves no trace and gets its own answer),
//! hands the events to the group committer, and only when they are committed makes
//! the copy its state and answers. While one batch commits, the next is decided on
//! the state the first will leave (see `owner`). A conflict means another process
//! wrote first: the owner catches up from the log and decides the batch again, so
//! callers notice nothing but latency. Queues are bounded: a full one answers
//! "overloaded" at once. Owners idle for a while are evicted; snapshots make
//! reloading a long stream cheap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use domain::{DomainError, Hosted, Services};
use event_log::{AppendBatch, EventStore, NewEvent, Receipt, StoreError, StoredReceipt};
use event_schemas::Metadata;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::changes::ChangeFeed;
use crate::clock::AppClock;
use crate::committer::GroupCommitter;
use crate::warehouses::KnownWarehouses;

mod batch;
mod companion;
mod create;
#[cfg(test)]
mod create_tests;
mod owner;
#[cfg(test)]
mod pipeline_tests;

pub use companion::{Companion, Creates};
use owner::Owner;

/// Commands waiting for one aggregate before new ones are refused as overloaded.
const QUEUE_PER_AGGREGATE: usize = 4_096;
/// Most commands one owner decides into one batch.
const MAX_COMMANDS_PER_BATCH: usize = 1_024;
/// An owner with nothing to do for this long is evicted.
const IDLE_EVICTION: Duration = Duration::from_secs(60);
/// Decide-commit rounds a batch gets before giving up on a contended aggregate.
const MAX_ATTEMPTS: usize = 32;
/// The shortest time between two snapshots of one aggregate.
const SNAPSHOT_MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What an accepted command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Position of the command's last event; for a command that changed nothing, a
    /// log position at which its answer was already true.
    pub position: i64,
    /// How many events it recorded (0 when it repeated what was already true).
    pub events: usize,
    /// How many events the aggregate it created beside its own got (see
    /// [`Companion`]); the position above is then the last of those.
    pub linked_events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error("too many commands are waiting for this aggregate; try again shortly")]
    Overloaded,
    #[error("the aggregate kept changing under this command; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A command with this idempotency key was already carried out (perhaps by
    /// another process): here is what it answered.
    #[error("a command with this idempotency key was already carried out")]
    AlreadyDone(StoredReceipt),
}

/// An idempotency key a command comes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

impl KeyedRequest {
    /// The receipt recording this key with a command that added `events` events (the
    /// last of them at index `last_event` of its batch) and answered `view`.
    pub fn receipt<V: serde::Serialize>(
        &self,
        events: usize,
        view: &V,
        last_event: usize,
    ) -> Receipt {
        Receipt {
            scope: self.scope.clone(),
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            answer: receipt_answer(events, view),
            last_event,
        }
    }
}

type Answer<A> = Result<(CommandOutcome, <A as Hosted>::View), CommandError>;

struct Job<A: Hosted> {
    /// `None` reads the state: nothing is decided, the view is answered.
    command: Option<A::Command>,
    metadata: Metadata,
    keyed: Option<KeyedRequest>,
    /// An idempotency key recorded with the aggregate the command creates (see
    /// [`Companion`]), answering that aggregate's view; none if it creates nothing.
    /// (Boxed: rare, and a job waits in a queue slot sized for every field.)
    companion_key: Option<Box<KeyedRequest>>,
    /// The answer must reflect the log at least up to here.
    min_position: i64,
    reply: oneshot::Sender<Answer<A>>,
}

impl<A: Hosted> Job<A> {
    /// A job, and where its answer will come.
    fn new(
        command: Option<A::Command>,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
        min_position: i64,
    ) -> (Self, oneshot::Receiver<Answer<A>>) {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            command,
            metadata,
            keyed,
            companion_key: None,
            min_position,
            reply,
        };
        (job, answer)
    }
}

/// A job as it waits in an owner's queue: boxed, since a queue sets aside a block of
/// slots when it is made, and a host makes one per live aggregate (a booking on a
/// listing not yet live makes two).
type Queued<A> = Box<Job<A>>;

/// The live owners by aggregate id, each with the generation that tells a new owner
/// from an evicted one of the same aggregate.
type OwnerMap<A> = Arc<Mutex<HashMap<String, (u64, mpsc::Sender<Queued<A>>)>>>;

/// What every owner of every aggregate type works with.
#[derive(Clone)]
pub struct HostContext {
    pub store: EventStore,
    pub committer: GroupCommitter,
    pub clock: AppClock,
    pub warehouses: Arc<KnownWarehouses>,
}

/// Hosts every live aggregate of type `A` in this process.
pub struct AggregateHost<A: Hosted> {
    shared: Arc<HostContext>,
    owners: OwnerMap<A>,
    changes: Arc<ChangeFeed>,
    next_owner: AtomicU64,
    companion: Option<Arc<dyn Companion<A>>>,
}

impl<A: Hosted> AggregateHost<A> {
    pub fn new(context: HostContext) -> Self {
        Self {
            shared: Arc::new(context),
            owners: Default::default(),
            changes: Default::default(),
            next_owner: AtomicU64::new(0),
            companion: None,
        }
    }

    /// Append what `companion` says a command creates in the same unit as the
    /// command's own events.
    pub fn with_companion(mut self, companion: impl Companion<A>) -> Self {
        self.companion = Some(Arc::new(companion));
        self
    }

    /// Run one command on aggregate `id` and wait for its answer. With `keyed`, the
    /// command's idempotency key is recorded with its events, atomically.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Answer<A> {
        self.run(id, Some(command), metadata, keyed, false, 0).await
    }

    /// [`execute`](Self::execute) a command that may create an aggregate beside its
    /// own events (see [`Companion`]): `keyed` is recorded with what it creates,
    /// answering that aggregate's view, and not at all if it creates nothing.
    pub async fn execute_creating(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Answer<A> {
        let (mut job, answer) = Job::new(Some(command), metadata, None, 0);
        job.companion_key = keyed.map(Box::new);
        self.send(id, false, job);
        awaited(answer).await
    }

    /// The aggregate's view as it stands (the state of a new aggregate when it has no
    /// events): a read, not a command.
    pub async fn read(&self, id: &str) -> Answer<A> {
        self.run(id, None, Metadata::default(), None, false, 0)
            .await
    }

    /// [`read`](Self::read), reflecting the log at least up to `min_position`.
    pub async fn read_at(&self, id: &str, min_position: i64) -> Answer<A> {
        self.run(id, None, Metadata::default(), None, false, min_position)
            .await
    }

    /// [`execute`](Self::execute) for a command whose answer must reflect the log up
    /// to `min_position` (an event read from the log): a copy that may not have it
    /// yet reads the log first.
    pub async fn execute_at(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
        min_position: i64,
    ) -> Answer<A> {
        self.run(id, Some(command), metadata, None, false, min_position)
            .await
    }

    /// [`execute`](Self::execute) for an aggregate that is most likely new (a fresh
    /// order id): an owner started for it skips loading, since there is nothing to
    /// load. Should the log hold it after all, the append conflicts, the owner loads
    /// it, and the command is decided again: never wrong, only slower.
    pub async fn execute_new(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Answer<A> {
        self.run(id, Some(command), metadata, keyed, true, 0).await
    }

    async fn run(
        &self,
        id: &str,
        command: Option<A::Command>,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
        likely_new: bool,
        min_position: i64,
    ) -> Answer<A> {
        let (job, answer) = Job::new(command, metadata, keyed, min_position);
        self.send(id, likely_new, job);
        awaited(answer).await
    }

    /// Queue `job` with the aggregate's owner, starting one if none is live; a full
    /// queue answers the job "overloaded" at once.
    fn send(&self, id: &str, likely_new: bool, job: Job<A>) {
        let mut job = Box::new(job);
        loop {
            let sender = self.owner(id, likely_new);
            match sender.try_send(job) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(job)) => {
                    metrics::counter!("commands_overloaded_total", "aggregate" => A::TYPE)
                        .increment(1);
                    let _ = job.reply.send(Err(CommandError::Overloaded));
                    return;
                }
                // The owner was evicted between lookup and send: start a new one.
                Err(mpsc::error::TrySendError::Closed(returned)) => job = returned,
            }
        }
    }

    /// Follow the commits this process makes to aggregate `id`.
    pub fn changes(&self, id: &str) -> tokio::sync::watch::Receiver<i64> {
        self.changes.watch(id)
    }

    /// How many aggregates of this type are live in memory.
    pub fn live_count(&self) -> usize {
        self.owners.lock().expect("owner map poisoned").len()
    }

    /// Commands waiting in aggregate `id`'s queue, not yet taken by its owner.
    #[cfg(test)]
    pub(crate) fn queued(&self, id: &str) -> usize {
        let owners = self.owners.lock().expect("owner map poisoned");
        owners
            .get(id)
            .map_or(0, |(_, sender)| sender.max_capacity() - sender.capacity())
    }

    /// Aggregate `id`'s live queue, or else a new one put in its place in the owner
    /// map, for the caller to serve.
    fn queue_for(&self, id: &str) -> Result<mpsc::Sender<Queued<A>>, NewQueue<A>> {
        let mut owners = self.owners.lock().expect("owner map poisoned");
        if let Some((_, sender)) = owners.get(id) {
            if !sender.is_closed() {
                return Ok(sender.clone());
            }
        }
        let (sender, queue) = mpsc::channel(QUEUE_PER_AGGREGATE);
        let generation = self.next_owner.fetch_add(1, Ordering::Relaxed);
        owners.insert(id.to_string(), (generation, sender.clone()));
        Err(NewQueue {
            generation,
            sender,
            queue,
        })
    }

    fn owner(&self, id: &str, likely_new: bool) -> mpsc::Sender<Queued<A>> {
        let NewQueue {
            generation,
            sender,
            queue,
        } = match self.queue_for(id) {
            Ok(live) => return live,
            Err(new) => new,
        };
        let owner = Owner::<A>::new(
            id,
            generation,
            self.shared.clone(),
            self.owners.clone(),
            self.changes.clone(),
            !likely_new,
            self.companion.clone(),
        );
        tokio::spawn(owner.run(queue));
        sender
    }
}

/// A queue just put in an aggregate's place in the owner map, with the generation
/// that tells it from an evicted one.
struct NewQueue<A: Hosted> {
    generation: u64,
    sender: mpsc::Sender<Queued<A>>,
    queue: mpsc::Receiver<Queued<A>>,
}

/// The answer a job's owner sends back.
async fn awaited<T>(answer: oneshot::Receiver<Result<T, CommandError>>) -> Result<T, CommandError> {
    answer
        .await
        .unwrap_or_else(|_| Err(StoreError::Commit("the aggregate's owner stopped".into()).into()))
}

/// What a receipt keeps of a command's answer: how many events it recorded and the
/// view of the state after it. The position is kept beside it.
pub fn receipt_answer<V: serde::Serialize>(events: usize, view: &V) -> serde_json::Value {
    serde_json::json!({ "events": events, "view": view })
}

pub(crate) fn encode<E: cqrs_es::DomainEvent>(
    event: &E,
    metadata: &Metadata,
    now: chrono::DateTime<chrono::Utc>,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_string(event).expect("events serialise"),
        metadata: metadata.clone(),
        occurred_at: now,
    }
}
