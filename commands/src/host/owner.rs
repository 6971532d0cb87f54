//! The owner of one live aggregate: its loop, catching up from the log, snapshots.
//!
//! The owner pipelines: while batch N commits, it drains the queue and decides batch
//! N+1 on the state N will leave (jobs that arrive later, until N lands, join N+1).
//! When N commits, that state becomes its state and N+1 goes to the committer at
//! once; when N fails, N+1's decisions are dropped and it is decided again on the
//! state as committed. A refusal among N+1's first jobs that holds on the committed
//! state too is answered at once: it is true whatever N's fate.

use super::batch::Decided;
use super::companion::Companion;
use super::*;
use crate::committer::CommitResult;

/// The one task that owns a live aggregate.
pub(super) struct Owner<A: Hosted> {
    pub(super) id: String,
    pub(super) generation: u64,
    pub(super) shared: Arc<HostContext>,
    pub(super) owners: OwnerMap<A>,
    pub(super) changes: Arc<ChangeFeed>,
    /// The state as committed.
    pub(super) state: A,
    pub(super) sequence: i64,
    /// The state holds every event of the aggregate up to this log position (`None`:
    /// not known, so an answer that writes nothing reads the log first).
    pub(super) synced: Option<i64>,
    /// The state may lag the log (never loaded, or an append's outcome is unknown).
    pub(super) stale: bool,
    /// Whether a snapshot is being written, and what the last one cost.
    pub(super) snapshotting: Arc<SnapshotPacing>,
    pub(super) last_snapshot: Option<std::time::Instant>,
    /// What its commands create beside their own events.
    pub(super) companion: Option<Arc<dyn Companion<A>>>,
}

/// A decided batch whose events are with the committer.
pub(super) struct InFlight<A: Hosted> {
    jobs: Vec<Job<A>>,
    decided: Decided<A>,
    /// Decide-commit rounds these jobs have had.
    attempt: usize,
    result: oneshot::Receiver<CommitResult>,
}

/// What became of a batch in flight.
enum Landed<A: Hosted> {
    /// Committed: the state moved on and every job is answered.
    Committed,
    /// Nothing is known to be written, and every job got the failure.
    Failed,
    /// Another process wrote first: these jobs (those it did not carry out already)
    /// are to be decided again, after `attempt` rounds.
    Conflict(Vec<Job<A>>, usize),
}

/// What starting a decided batch came to.
enum Launch<A: Hosted> {
    InFlight(Box<InFlight<A>>),
    /// Every job is answered (nothing to write, or the committer is gone).
    Answered,
    /// The log had moved on under a batch that writes nothing: decide it again.
    Again(Vec<Job<A>>),
}

/// What woke an owner with a batch in flight.
enum Wake<A: Hosted> {
    Landed(Result<CommitResult, oneshot::error::RecvError>),
    Queued(Option<Queued<A>>),
}

impl<A: Hosted> Owner<A> {
    /// The owner of aggregate `id`, its state not loaded yet (`stale`: the log may
    /// hold events of it, so the first command reads them).
    pub(super) fn new(
        id: &str,
        generation: u64,
        shared: Arc<HostContext>,
        owners: OwnerMap<A>,
        changes: Arc<ChangeFeed>,
        stale: bool,
        companion: Option<Arc<dyn Companion<A>>>,
    ) -> Self {
        Self {
            id: id.to_string(),
            generation,
            shared,
            owners,
            changes,
            state: A::default(),
            sequence: 0,
            synced: None,
            stale,
            snapshotting: Default::default(),
            last_snapshot: None,
            companion,
        }
    }

    /// The owner's loop. Most of its life an owner waits for a command (an order
    /// waits for its payment for minutes), and its task's size is that of the largest
    /// step of this loop: so every step that does work runs in a box of its own,
    /// allocated while it runs, and a waiting owner costs its own fields and little
    /// more, not the kilobytes of a decide-commit round's futures (store reads, the
    /// committer).
    pub(super) async fn run(mut self, mut queue: mpsc::Receiver<Queued<A>>) {
        let mut flight: Option<Box<InFlight<A>>> = None;
        loop {
            let Some(mut current) = flight.take() else {
                let first = match tokio::time::timeout(IDLE_EVICTION, queue.recv()).await {
                    Ok(Some(job)) => job,
                    Ok(None) => return,
                    Err(_idle) => {
                        Box::pin(self.evict(&mut queue)).await;
                        return;
                    }
                };
                let jobs = drain(*first, &mut queue);
                flight = Box::pin(self.launch(jobs, None, 1)).await;
                // An aggregate with no events (a lookup of an unknown id) is not worth
                // keeping in memory: lookups of made-up ids must not pile up owners.
                if flight.is_none() && self.sequence == 0 && !self.stale {
                    Box::pin(self.evict(&mut queue)).await;
                    return;
                }
                continue;
            };
            let wake = tokio::select! {
                biased;
                result = &mut current.result => Wake::Landed(result),
                job = queue.recv() => Wake::Queued(job),
            };
            flight = match wake {
                Wake::Landed(result) => Box::pin(self.land_and_retry(current, result)).await,
                Wake::Queued(Some(first)) => {
                    let (jobs, ahead, result) =
                        Box::pin(self.gather_ahead(&mut current, first, &mut queue)).await;
                    match Box::pin(self.land(current, result)).await {
                        Landed::Committed => Box::pin(self.launch(jobs, Some(ahead), 1)).await,
                        Landed::Failed => Box::pin(self.launch(jobs, None, 1)).await,
                        Landed::Conflict(mut retry, attempt) => {
                            retry.extend(jobs);
                            Box::pin(self.launch(retry, None, attempt + 1)).await
                        }
                    }
                }
                // Every handle is gone: finish what is in flight and stop.
                Wake::Queued(None) => {
                    Box::pin(self.finish(Some(current))).await;
                    return;
                }
            };
        }
    }

    /// Leave the owner map, refuse new commands, and finish those already queued.
    async fn evict(&mut self, queue: &mut mpsc::Receiver<Queued<A>>) {
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
            rest.push(*job);
        }
        let flight = self.launch(rest, None, 1).await;
        self.finish(flight).await;
    }

    /// Wait for the batch in flight, and its retries, one after another.
    async fn finish(&mut self, mut flight: Option<Box<InFlight<A>>>) {
        while let Some(mut current) = flight {
            let result = (&mut current.result).await;
            flight = self.land_and_retry(current, result).await;
        }
    }

    /// Start `jobs`: in flight if they write, answered if not. They are decided on
    /// the state as committed (caught up first if it may lag), unless `decided`
    /// already holds their decisions on it (a batch decided ahead).
    async fn launch(
        &mut self,
        mut jobs: Vec<Job<A>>,
        mut decided: Option<Decided<A>>,
        mut attempt: usize,
    ) -> Option<Box<InFlight<A>>> {
        loop {
            if jobs.is_empty() {
                return None;
            }
            if attempt > MAX_ATTEMPTS {
                answer_all(jobs, || CommandError::Contended);
                return None;
            }
            let decided = match decided.take() {
                Some(decided) => decided,
                None => {
                    if self.stale {
                        if let Err(error) = self.catch_up().await {
                            fail_all(jobs, &error);
                            return None;
                        }
                    }
                    let now = self.shared.clock.now();
                    let warehouses = self.shared.warehouses.clone();
                    let companion = self.companion.as_deref();
                    Decided::decide(&self.state, &jobs, now, warehouses, companion).await
                }
            };
            match self.launch_decided(jobs, decided, attempt).await {
                Launch::InFlight(flight) => return Some(flight),
                Launch::Answered => return None,
                Launch::Again(rest) => {
                    jobs = rest;
                    attempt += 1;
                }
            }
        }
    }

    /// Start a batch decided on the state as committed: hand its events to the
    /// committer, or answer it at once when it writes nothing.
    async fn launch_decided(
        &mut self,
        jobs: Vec<Job<A>>,
        mut decided: Decided<A>,
        attempt: usize,
    ) -> Launch<A> {
        if jobs.is_empty() {
            return Launch::Answered;
        }
        if decided.event_count() == 0 {
            // Nothing to write, so the answers rest on the state alone: if another
            // process may have moved it on, read the log and decide again.
            let min_position = jobs.iter().map(|job| job.min_position).max().unwrap_or(0);
            if !self.shared.store.copy_is_current(self.synced, min_position) {
                match self.catch_up().await {
                    Err(error) => {
                        fail_all(jobs, &error);
                        return Launch::Answered;
                    }
                    Ok(true) => {
                        return match answer_done(&self.shared.store, jobs).await {
                            Ok(rest) => Launch::Again(rest),
                            Err((rest, error)) => {
                                fail_all(rest, &error);
                                Launch::Answered
                            }
                        }
                    }
                    Ok(false) => {}
                }
            }
            let answers = decided.answers(&[], self.shared.store.last_committed());
            reply_all(jobs, answers);
            return Launch::Answered;
        }
        let (batch, linked) = decided.take_append(&jobs, &self.id, self.sequence);
        match self.shared.committer.submit(batch, linked).await {
            Ok(result) => Launch::InFlight(Box::new(InFlight {
                jobs,
                decided,
                attempt,
                result,
            })),
            Err(error) => {
                fail_all(jobs, &error);
                Launch::Answered
            }
        }
    }

    /// While the batch in flight commits, decide what queues on the state it will
    /// leave: `first` and what waits with it at once, then whatever else arrives
    /// before the batch lands, each on the state the jobs before it leave, so one
    /// next batch takes every job that came meanwhile. Answers the jobs, their
    /// decisions, and what became of the batch in flight.
    async fn gather_ahead(
        &self,
        current: &mut InFlight<A>,
        first: Queued<A>,
        queue: &mut mpsc::Receiver<Queued<A>>,
    ) -> (
        Vec<Job<A>>,
        Decided<A>,
        Result<CommitResult, oneshot::error::RecvError>,
    ) {
        let first = drain(*first, queue);
        let (mut jobs, mut ahead) = self.decide_ahead(&current.decided.next, first, true).await;
        loop {
            let more = if jobs.len() >= MAX_COMMANDS_PER_BATCH {
                None
            } else {
                tokio::select! {
                    biased;
                    result = &mut current.result => return (jobs, ahead, result),
                    job = queue.recv() => job,
                }
            };
            let Some(job) = more else {
                // Full, or every handle is gone: the rest waits for the next batch.
                let result = (&mut current.result).await;
                return (jobs, ahead, result);
            };
            // A refusal here is answered with the batch: whether it holds if the
            // batch in flight fails depends on the jobs decided before it too.
            let more = drain(*job, queue);
            let (more, decided) = self.decide_ahead(&ahead.next, more, false).await;
            jobs.extend(more);
            ahead.extend(decided);
        }
    }

    /// Decide `jobs` on `leaves`, the state the batch in flight will leave; with
    /// `answer_early`, answering now the refusals that hold on the committed state
    /// too (what they read is true whether or not the batch in flight commits).
    async fn decide_ahead(
        &self,
        leaves: &A,
        jobs: Vec<Job<A>>,
        answer_early: bool,
    ) -> (Vec<Job<A>>, Decided<A>) {
        let now = self.shared.clock.now();
        let warehouses = self.shared.warehouses.clone();
        let companion = self.companion.as_deref();
        let ahead = Decided::decide(leaves, &jobs, now, warehouses.clone(), companion).await;
        if !answer_early || self.stale {
            return (jobs, ahead);
        }
        let store = &self.shared.store;
        let may_answer: Vec<bool> = jobs
            .iter()
            .zip(&ahead.decisions)
            .map(|(job, decision)| {
                decision.is_err() && store.copy_is_current(self.synced, job.min_position)
            })
            .collect();
        if !may_answer.contains(&true) {
            return (jobs, ahead);
        }
        // Only the refusals are compared: nothing is created for them.
        let committed = Decided::decide(&self.state, &jobs, now, warehouses, None).await;
        let answer_now: Vec<bool> = may_answer
            .iter()
            .zip(ahead.decisions.iter().zip(&committed.decisions))
            .map(|(may, pair)| *may && matches!(pair, (Err(a), Err(c)) if a == c))
            .collect();
        ahead.answer_refusals(jobs, &answer_now)
    }

    /// [`land`](Self::land) a batch, and start its jobs again after a conflict.
    async fn land_and_retry(
        &mut self,
        flight: Box<InFlight<A>>,
        result: Result<CommitResult, oneshot::error::RecvError>,
    ) -> Option<Box<InFlight<A>>> {
        match self.land(flight, result).await {
            Landed::Committed | Landed::Failed => None,
            Landed::Conflict(jobs, attempt) => self.launch(jobs, None, attempt + 1).await,
        }
    }

    /// Take in what the committer answered a batch: adopt its state and answer its
    /// jobs when it committed.
    async fn land(
        &mut self,
        flight: Box<InFlight<A>>,
        result: Result<CommitResult, oneshot::error::RecvError>,
    ) -> Landed<A> {
        let InFlight {
            jobs,
            mut decided,
            attempt,
            ..
        } = *flight;
        let result = result
            .unwrap_or_else(|_| Err(StoreError::Commit("the committer dropped the batch".into())));
        match result {
            Ok(Ok(positions)) => {
                let before = self.sequence;
                self.state = std::mem::take(&mut decided.next);
                // Ours first, then those of the aggregates our commands created.
                let ours = &positions[..decided.event_count().min(positions.len())];
                self.sequence += ours.len() as i64;
                // The append followed our sequence, so nothing of ours lies before it.
                self.synced = ours.last().copied();
                if let Some(&last) = ours.last() {
                    self.changes.changed(&self.id, last);
                }
                if before / A::SNAPSHOT_EVERY != self.sequence / A::SNAPSHOT_EVERY {
                    self.snapshot();
                }
                let answers = decided.answers(&positions, self.shared.store.last_committed());
                reply_all(jobs, answers);
                Landed::Committed
            }
            // Another process wrote first: catch up and decide again, without the
            // keyed commands it turns out to have carried out already.
            Ok(Err(_conflict)) => {
                self.stale = true;
                match answer_done(&self.shared.store, jobs).await {
                    Ok(rest) => Landed::Conflict(rest, attempt),
                    Err((rest, error)) => {
                        fail_all(rest, &error);
                        Landed::Failed
                    }
                }
            }
            Err(error) => {
                // The append's outcome is unknown: reload before the next batch.
                self.stale = true;
                fail_all(jobs, &error);
                Landed::Failed
            }
        }
    }

    /// Load what the log holds beyond our state, starting from a snapshot if there
    /// is one and the state was never loaded. Says whether anything was new.
    async fn catch_up(&mut self) -> Result<bool, StoreError> {
        let before = self.sequence;
        let store = &self.shared.store;
        // Every commit up to the known head is visible to the reads below.
        let mut synced = store.last_committed();
        let events = if self.sequence == 0 {
            // Cold: the snapshot and what follows it in one round trip.
            let (snapshot, after) = store.load_latest(A::TYPE, &self.id).await?;
            match snapshot.map(|s| (s.last_sequence, serde_json::from_value::<A>(s.payload))) {
                None => after,
                Some((last_sequence, Ok(state))) => {
                    self.state = state;
                    self.sequence = last_sequence;
                    after
                }
                // An unreadable snapshot (an older shape) is ignored: replay all.
                Some((_, Err(error))) => {
                    tracing::warn!(aggregate = %self.id, %error, "ignoring snapshot");
                    store.load(A::TYPE, &self.id, 0).await?
                }
            }
        } else {
            store.load(A::TYPE, &self.id, self.sequence).await?
        };
        for stored in events {
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
        // time (and the database's, compressing it) on snapshots: at most one every
        // few seconds, and never more than a twentieth of the time.
        let pause = self.snapshotting.pause();
        if self.last_snapshot.is_some_and(|at| at.elapsed() < pause) {
            return;
        }
        if self.snapshotting.writing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.last_snapshot = Some(std::time::Instant::now());
        let state = self.state.clone();
        let last_sequence = self.sequence;
        let store = self.shared.store.clone();
        let id = self.id.clone();
        let pacing = self.snapshotting.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let payload = tokio::task::spawn_blocking(move || serde_json::to_string(&state)).await;
            if let Ok(Ok(payload)) = payload {
                let saved = store.save_snapshot(A::TYPE, &id, last_sequence, &payload);
                if let Err(error) = saved.await {
                    tracing::warn!(aggregate = %id, %error, "snapshot not saved");
                }
            }
            pacing.written(started.elapsed());
        });
    }
}

/// Paces one aggregate's snapshots by what they cost.
#[derive(Debug, Default)]
pub(super) struct SnapshotPacing {
    /// A snapshot is being written.
    writing: std::sync::atomic::AtomicBool,
    /// How long the last one took to serialise and save, in microseconds.
    last_cost_micros: AtomicU64,
}

impl SnapshotPacing {
    /// A snapshot costs at most this share of the time.
    const COST_SHARE: u32 = 20;

    /// The least time from one snapshot's start to the next.
    fn pause(&self) -> Duration {
        let cost = Duration::from_micros(self.last_cost_micros.load(Ordering::Relaxed));
        SNAPSHOT_MIN_INTERVAL.max(cost * Self::COST_SHARE)
    }

    fn written(&self, cost: Duration) {
        self.last_cost_micros
            .store(cost.as_micros() as u64, Ordering::Relaxed);
        self.writing.store(false, Ordering::Release);
    }
}

/// Answer the jobs whose idempotency key is already recorded; return the rest.
pub(super) async fn answer_done<A: Hosted>(
    store: &EventStore,
    jobs: Vec<Job<A>>,
) -> Result<Vec<Job<A>>, (Vec<Job<A>>, StoreError)> {
    let mut rest = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        let Some(keyed) = &job.keyed else {
            rest.push(job);
            continue;
        };
        match store.find_receipt(&keyed.scope, &keyed.key).await {
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

/// `first` and whatever else is queued behind it, up to a batch's size.
fn drain<A: Hosted>(first: Job<A>, queue: &mut mpsc::Receiver<Queued<A>>) -> Vec<Job<A>> {
    let mut jobs = vec![first];
    while jobs.len() < MAX_COMMANDS_PER_BATCH {
        match queue.try_recv() {
            Ok(job) => jobs.push(*job),
            Err(_) => break,
        }
    }
    jobs
}

pub(super) fn reply_all<A: Hosted>(jobs: Vec<Job<A>>, answers: Vec<Answer<A>>) {
    for (job, answer) in jobs.into_iter().zip(answers) {
        let _ = job.reply.send(answer);
    }
}

fn answer_all<A: Hosted>(jobs: Vec<Job<A>>, error: impl Fn() -> CommandError) {
    for job in jobs {
        let _ = job.reply.send(Err(error()));
    }
}

/// Answer every job with the store's failure.
pub(super) fn fail_all<A: Hosted>(jobs: Vec<Job<A>>, error: &StoreError) {
    let message = error.to_string();
    answer_all(jobs, || {
        CommandError::Store(StoreError::Commit(message.clone()))
    });
}
