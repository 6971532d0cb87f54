//! The aggregate host: one owner task per live aggregate.
//!
//! The owner keeps the aggregate's state in memory and drains the commands queued
//! for it. For each drained batch it clones the state once, decides every command in
//! order on that copy (a refused command leaves no trace and gets its own answer),
//! hands the events to the group committer, and only when they are committed makes
//! the copy its state and answers. A conflict means another process wrote first: the
//! owner catches up from the log and decides the batch again, so callers notice
//! nothing but latency. Queues are bounded: a full one answers "overloaded" at once.
//! Owners idle for a while are evicted; snapshots make reloading a long stream cheap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use domain::{DomainError, Hosted, Services};
use event_log::{AppendBatch, EventStore, NewEvent, Receipt, Snapshot, StoreError, StoredReceipt};
use event_schemas::Metadata;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::changes::ChangeFeed;
use crate::clock::AppClock;
use crate::committer::GroupCommitter;
use crate::warehouses::KnownWarehouses;

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
    /// The answer must reflect the log at least up to here.
    min_position: i64,
    reply: oneshot::Sender<Answer<A>>,
}

/// The live owners by aggregate id, each with the generation that tells a new owner
/// from an evicted one of the same aggregate.
type OwnerMap<A> = Arc<Mutex<HashMap<String, (u64, mpsc::Sender<Job<A>>)>>>;

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
}

impl<A: Hosted> AggregateHost<A> {
    pub fn new(context: HostContext) -> Self {
        Self {
            shared: Arc::new(context),
            owners: Default::default(),
            changes: Default::default(),
            next_owner: AtomicU64::new(0),
        }
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
        let (reply, answer) = oneshot::channel();
        let mut job = Job {
            command,
            metadata,
            keyed,
            min_position,
            reply,
        };
        loop {
            let sender = self.owner(id, likely_new);
            match sender.try_send(job) {
                Ok(()) => break,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    metrics::counter!("commands_overloaded_total", "aggregate" => A::TYPE)
                        .increment(1);
                    return Err(CommandError::Overloaded);
                }
                // The owner was evicted between lookup and send: start a new one.
                Err(mpsc::error::TrySendError::Closed(returned)) => job = returned,
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Commit("the aggregate's owner stopped".into()).into())
        })
    }

    /// Follow the commits this process makes to aggregate `id`.
    pub fn changes(&self, id: &str) -> tokio::sync::watch::Receiver<i64> {
        self.changes.watch(id)
    }

    /// How many aggregates of this type are live in memory.
    pub fn live_count(&self) -> usize {
        self.owners.lock().expect("owner map poisoned").len()
    }

    fn owner(&self, id: &str, likely_new: bool) -> mpsc::Sender<Job<A>> {
        let mut owners = self.owners.lock().expect("owner map poisoned");
        if let Some((_, sender)) = owners.get(id) {
            if !sender.is_closed() {
                return sender.clone();
            }
        }
        let (sender, queue) = mpsc::channel(QUEUE_PER_AGGREGATE);
        let generation = self.next_owner.fetch_add(1, Ordering::Relaxed);
        owners.insert(id.to_string(), (generation, sender.clone()));
        let owner = Owner::<A> {
            id: id.to_string(),
            generation,
            shared: self.shared.clone(),
            owners: self.owners.clone(),
            changes: self.changes.clone(),
            state: A::default(),
            sequence: 0,
            synced: None,
            stale: !likely_new,
            snapshotting: Default::default(),
            last_snapshot: None,
        };
        tokio::spawn(owner.run(queue));
        sender
    }
}

/// The one task that owns a live aggregate.
struct Owner<A: Hosted> {
    id: String,
    generation: u64,
    shared: Arc<HostContext>,
    owners: OwnerMap<A>,
    changes: Arc<ChangeFeed>,
    state: A,
    sequence: i64,
    /// The state holds every event of the aggregate up to this log position (`None`:
    /// not known, so an answer that writes nothing reads the log first).
    synced: Option<i64>,
    /// The state may lag the log (never loaded, or an append's outcome is unknown).
    stale: bool,
    /// A snapshot is being written.
    snapshotting: Arc<std::sync::atomic::AtomicBool>,
    last_snapshot: Option<std::time::Instant>,
}

impl<A: Hosted> Owner<A> {
    async fn run(mut self, mut queue: mpsc::Receiver<Job<A>>) {
        loop {
            let first = match tokio::time::timeout(IDLE_EVICTION, queue.recv()).await {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(_idle) => {
                    self.evict(&mut queue).await;
                    return;
                }
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_COMMANDS_PER_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.process(jobs).await;
            // An aggregate with no events (a lookup of an unknown id) is not worth
            // keeping in memory: lookups of made-up ids must not pile up owners.
            if self.sequence == 0 && !self.stale {
                self.evict(&mut queue).await;
                return;
            }
        }
    }

    /// Leave the owner map, refuse new commands, and finish those already queued.
    async fn evict(&mut self, queue: &mut mpsc::Receiver<Job<A>>) {
        // A new owner may write from now on: answers read the log again.
        self.synced = None;
        {
            let mut owners = self.owners.lock().expect("owner map poisoned");
            if owners
                .get(&self.id)
                .is_some_and(|(g, _)| *g == self.generation)
            {
                owners.remove(&self.id);
            }
        }
        queue.close();
        let mut rest = Vec::new();
        while let Some(job) = queue.recv().await {
            rest.push(job);
        }
        if !rest.is_empty() {
            self.process(rest).await;
        }
    }

    async fn process(&mut self, mut jobs: Vec<Job<A>>) {
        let mut failure = None;
        for _ in 0..MAX_ATTEMPTS {
            if self.stale {
                if let Err(error) = self.catch_up().await.map(drop) {
                    failure = Some(error);
                    break;
                }
            }
            match self.decide_and_commit(&jobs).await {
                Ok(Some(answers)) => {
                    for (job, answer) in jobs.into_iter().zip(answers) {
                        let _ = job.reply.send(answer);
                    }
                    return;
                }
                // Another process wrote first: catch up and decide again, without
                // the keyed commands it turns out to have carried out already.
                Ok(None) => {
                    self.stale = true;
                    match self.answer_done(jobs).await {
                        Ok(rest) => jobs = rest,
                        Err((rest, error)) => {
                            jobs = rest;
                            failure = Some(error);
                            break;
                        }
                    }
                }
                Err(error) => {
                    // The append's outcome is unknown: reload before the next batch.
                    self.stale = true;
                    failure = Some(error);
                    break;
                }
            }
        }
        for job in jobs {
            let error = match &failure {
                Some(error) => CommandError::Store(StoreError::Commit(error.to_string())),
                None => CommandError::Contended,
            };
            let _ = job.reply.send(Err(error));
        }
    }

    /// Answer the jobs whose idempotency key is already recorded; return the rest.
    async fn answer_done(
        &self,
        jobs: Vec<Job<A>>,
    ) -> Result<Vec<Job<A>>, (Vec<Job<A>>, StoreError)> {
        let mut rest = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let Some(keyed) = &job.keyed else {
                rest.push(job);
                continue;
            };
            match self
                .shared
                .store
                .find_receipt(&keyed.scope, &keyed.key)
                .await
            {
                Ok(Some(receipt)) => {
                    let _ = job.reply.send(Err(CommandError::AlreadyDone(receipt)));
                }
                Ok(None) => rest.push(job),
                Err(error) => {
                    rest.push(job);
                    rest.extend(jobs);
                    return Err((rest, error));
                }
            }
        }
        Ok(rest)
    }

    /// Decide every job on one copy of the state and commit the events. `None` on a
    /// conflict (nothing was kept).
    async fn decide_and_commit(
        &mut self,
        jobs: &[Job<A>],
    ) -> Result<Option<Vec<Answer<A>>>, StoreError> {
        // One instant for the whole batch: every command of it is decided at, and
        // its events stamped with, the same time.
        let now = self.shared.clock.now();
        let services = Services::at(now, self.shared.warehouses.clone());
        let mut next = self.state.clone();
        let mut events = Vec::new();
        let mut receipts = Vec::new();
        // Per job: the refusal, or how many events it added and the view after it.
        let mut decided = Vec::with_capacity(jobs.len());
        for job in jobs {
            let outcome = match &job.command {
                Some(command) => decide(&mut next, command, &services).await,
                None => Ok(Vec::new()),
            };
            match outcome {
                Ok(new) => {
                    for event in &new {
                        events.push(encode(event, &job.metadata, now));
                    }
                    let view = match &job.command {
                        Some(command) => next.view_for(command, now),
                        None => next.view(),
                    };
                    if let (Some(keyed), false) = (&job.keyed, new.is_empty()) {
                        receipts.push(keyed.receipt(new.len(), &view, events.len() - 1));
                    }
                    decided.push(Ok((new.len(), view)));
                }
                Err(refusal) => decided.push(Err(refusal)),
            }
        }
        let min_position = jobs.iter().map(|job| job.min_position).max().unwrap_or(0);
        if events.is_empty()
            && !self.shared.store.copy_is_current(self.synced, min_position)
            && self.catch_up().await?
        {
            // Nothing to write, so the answers rest on the state alone, and another
            // process had moved it on: decide again on the fresh state.
            return Ok(None);
        }
        let positions = if events.is_empty() {
            Vec::new()
        } else {
            let count = events.len() as i64;
            let batch = AppendBatch {
                aggregate_type: A::TYPE.to_string(),
                aggregate_id: self.id.clone(),
                expected_sequence: self.sequence,
                events,
                receipts,
            };
            let Ok(positions) = self.shared.committer.commit(batch).await? else {
                return Ok(None);
            };
            let before = self.sequence;
            self.state = next;
            self.sequence += count;
            // The append followed our sequence, so nothing of ours lies before it.
            self.synced = positions.last().copied();
            if let Some(&last) = positions.last() {
                self.changes.changed(&self.id, last);
            }
            if before / A::SNAPSHOT_EVERY != self.sequence / A::SNAPSHOT_EVERY {
                self.snapshot();
            }
            positions
        };
        // A command that recorded nothing is answered with the position its answer
        // was already true at: the latest this process knows.
        let mut answered_until = self.shared.store.last_committed();
        let mut used = 0;
        let answers = decided
            .into_iter()
            .map(|decision| {
                let (count, view) = decision?;
                used += count;
                if count > 0 {
                    answered_until = positions[used - 1];
                }
                let outcome = CommandOutcome {
                    position: if count > 0 {
                        positions[used - 1]
                    } else {
                        answered_until
                    },
                    events: count,
                };
                Ok((outcome, view))
            })
            .collect();
        Ok(Some(answers))
    }

    /// Load what the log holds beyond our state, starting from a snapshot if there
    /// is one and the state was never loaded. Says whether anything was new.
    async fn catch_up(&mut self) -> Result<bool, StoreError> {
        let before = self.sequence;
        let store = &self.shared.store;
        // Every commit up to the known head is visible to the reads below.
        let mut synced = store.last_committed();
        if self.sequence == 0 {
            if let Some(snapshot) = store.load_snapshot(A::TYPE, &self.id).await? {
                match serde_json::from_value::<A>(snapshot.payload) {
                    Ok(state) => {
                        self.state = state;
                        self.sequence = snapshot.last_sequence;
                    }
                    // An unreadable snapshot (an older shape) is ignored: replay all.
                    Err(error) => tracing::warn!(aggregate = %self.id, %error, "ignoring snapshot"),
                }
            }
        }
        for stored in store.load(A::TYPE, &self.id, self.sequence).await? {
            let event: A::Event = stored.decode(A::TYPE)?;
            self.state.apply(event);
            self.sequence = stored.sequence;
            synced = synced.max(stored.position);
        }
        self.stale = false;
        self.synced = Some(synced);
        Ok(self.sequence != before)
    }

    /// Write a snapshot of the current state in the background.
    /// Serialising a large state (a flash sale's buyers) takes a while, so it happens
    /// off the owner's task, and a snapshot still being written makes the next wait.
    fn snapshot(&mut self) {
        // A hot aggregate with a large state (a flash sale's buyers) would spend its
        // time serialising: at most one snapshot every few seconds each.
        if self
            .last_snapshot
            .is_some_and(|at| at.elapsed() < SNAPSHOT_MIN_INTERVAL)
        {
            return;
        }
        if self.snapshotting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.last_snapshot = Some(std::time::Instant::now());
        let state = self.state.clone();
        let last_sequence = self.sequence;
        let store = self.shared.store.clone();
        let id = self.id.clone();
        let snapshotting = self.snapshotting.clone();
        tokio::spawn(async move {
            let payload = tokio::task::spawn_blocking(move || serde_json::to_value(&state)).await;
            if let Ok(Ok(payload)) = payload {
                let snapshot = Snapshot {
                    last_sequence,
                    payload,
                };
                if let Err(error) = store.save_snapshot(A::TYPE, &id, &snapshot).await {
                    tracing::warn!(aggregate = %id, %error, "snapshot not saved");
                }
            }
            snapshotting.store(false, Ordering::Release);
        });
    }
}

/// Decide `command` on `state` through its cqrs-es `handle`: the events it recorded,
/// already applied to `state`, or its refusal (which leaves `state` as it was).
async fn decide<A: Hosted>(
    state: &mut A,
    command: &A::Command,
    services: &Services,
) -> Result<Vec<A::Event>, DomainError> {
    let sink = EventSink::default();
    state.handle(command.clone(), services, &sink).await?;
    Ok(sink.collect().await)
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
        payload: serde_json::to_value(event).expect("events serialise"),
        metadata: metadata.clone(),
        occurred_at: now,
    }
}
