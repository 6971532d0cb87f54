//! The owner of one live aggregate: its loop (drain the queue, decide a batch on one
//! copy, commit, answer), catching up from the log, and snapshots.

use super::*;

/// The one task that owns a live aggregate.
pub(super) struct Owner<A: Hosted> {
    pub(super) id: String,
    pub(super) generation: u64,
    pub(super) shared: Arc<HostContext>,
    pub(super) owners: OwnerMap<A>,
    pub(super) changes: Arc<ChangeFeed>,
    pub(super) state: A,
    pub(super) sequence: i64,
    /// The state holds every event of the aggregate up to this log position (`None`:
    /// not known, so an answer that writes nothing reads the log first).
    pub(super) synced: Option<i64>,
    /// The state may lag the log (never loaded, or an append's outcome is unknown).
    pub(super) stale: bool,
    /// A snapshot is being written.
    pub(super) snapshotting: Arc<std::sync::atomic::AtomicBool>,
    pub(super) last_snapshot: Option<std::time::Instant>,
}

impl<A: Hosted> Owner<A> {
    pub(super) async fn run(mut self, mut queue: mpsc::Receiver<Job<A>>) {
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
pub(super) async fn decide<A: Hosted>(
    state: &mut A,
    command: &A::Command,
    services: &Services,
) -> Result<Vec<A::Event>, DomainError> {
    let sink = EventSink::default();
    state.handle(command.clone(), services, &sink).await?;
    Ok(sink.collect().await)
}
