//! One batch of commands decided on a copy of an aggregate's state: what each
//! command decided, the state they leave, and the events and receipts to append,
//! with the new aggregates the commands create beside them.

use cqrs_es::Aggregate;

use super::companion::Companion;
use super::*;

/// One job's decision: its events and the view after it, or its refusal.
pub(super) type Decision<A> =
    Result<(Vec<<A as Aggregate>::Event>, <A as Hosted>::View), DomainError>;

/// A batch decided in order on one copy of the state, not yet committed.
pub(super) struct Decided<A: Hosted> {
    /// The state once every accepted command of the batch is applied.
    pub(super) next: A,
    /// Per job, in order.
    pub(super) decisions: Vec<Decision<A>>,
    /// The accepted jobs' events in order, encoded as they are decided: a batch
    /// decided ahead is encoded while the one before it commits, not after it lands.
    encoded: Vec<NewEvent>,
    /// Per job, the new aggregate it creates, appended in the same unit.
    linked: Vec<Linked>,
}

/// The new aggregate a job creates: its batch until it is handed to the committer,
/// and how many events it holds (for the answers, after).
struct Linked {
    batch: Option<AppendBatch>,
    events: usize,
}

impl<A: Hosted> Decided<A> {
    /// Decide every job in order on a copy of `state` at `now`: a refused command
    /// leaves no trace on the copy.
    pub(super) async fn decide(
        state: &A,
        jobs: &[Job<A>],
        now: chrono::DateTime<chrono::Utc>,
        warehouses: Arc<KnownWarehouses>,
        companion: Option<&dyn Companion<A>>,
    ) -> Self {
        let services = Services::at(now, warehouses);
        let mut next = state.clone();
        let mut decisions = Vec::with_capacity(jobs.len());
        let mut encoded = Vec::with_capacity(jobs.len());
        let mut linked = Vec::with_capacity(jobs.len());
        for job in jobs {
            let decision = match &job.command {
                Some(command) => decide(&mut next, command, &services)
                    .await
                    .map(|events| (events, next.view_for(command, now))),
                None => Ok((Vec::new(), next.view())),
            };
            // Two steps: the view is not `Sync`, so no borrow of it may live
            // across the await.
            let creating = match (&decision, &job.command, companion) {
                (Ok((events, view)), Some(command), Some(companion)) if !events.is_empty() => {
                    let keyed = job.companion_key.as_deref();
                    companion.created(command, view, &services, &job.metadata, keyed, now)
                }
                _ => None,
            };
            let created = match creating {
                Some(creating) => creating.await,
                None => None,
            };
            if let Ok((events, _)) = &decision {
                encoded.extend(events.iter().map(|e| encode(e, &job.metadata, now)));
            }
            decisions.push(decision);
            linked.push(Linked {
                events: created.as_ref().map_or(0, |batch| batch.events.len()),
                batch: created,
            });
        }
        Self {
            next,
            decisions,
            encoded,
            linked,
        }
    }

    /// Take in `later`, decided on the state this batch leaves: one batch of both.
    pub(super) fn extend(&mut self, later: Self) {
        self.next = later.next;
        self.decisions.extend(later.decisions);
        self.encoded.extend(later.encoded);
        self.linked.extend(later.linked);
    }

    /// How many events the batch records.
    pub(super) fn event_count(&self) -> usize {
        self.decisions
            .iter()
            .map(|d| d.as_ref().map_or(0, |(events, _)| events.len()))
            .sum()
    }

    /// Answer now, with their refusal, the jobs `answer_now` marks, and leave them
    /// out: a refusal changed nothing, so the other jobs' decisions stand.
    pub(super) fn answer_refusals(
        self,
        jobs: Vec<Job<A>>,
        answer_now: &[bool],
    ) -> (Vec<Job<A>>, Self) {
        let Self {
            next,
            decisions,
            encoded,
            linked,
        } = self;
        let mut kept_jobs = Vec::with_capacity(jobs.len());
        let mut kept = Vec::with_capacity(jobs.len());
        let mut kept_linked = Vec::with_capacity(jobs.len());
        for (((job, decision), created), answer) in
            jobs.into_iter().zip(decisions).zip(linked).zip(answer_now)
        {
            match decision {
                Err(refusal) if *answer => {
                    let _ = job.reply.send(Err(CommandError::Refused(refusal)));
                }
                decision => {
                    kept_jobs.push(job);
                    kept.push(decision);
                    kept_linked.push(created);
                }
            }
        }
        (
            kept_jobs,
            Self {
                next,
                decisions: kept,
                // A refused job encoded nothing.
                encoded,
                linked: kept_linked,
            },
        )
    }

    /// The batch to append after `expected_sequence`: every event, encoded with its
    /// job's metadata, and a receipt for each keyed job that recorded something;
    /// then the batches of the aggregates the jobs create, linked to it.
    ///
    /// The encoded events and the created aggregates' batches are moved out: a
    /// batch is handed to the committer once (a retry decides afresh).
    pub(super) fn take_append(
        &mut self,
        jobs: &[Job<A>],
        aggregate_id: &str,
        expected_sequence: i64,
    ) -> (AppendBatch, Vec<AppendBatch>) {
        let mut receipts = Vec::new();
        let mut recorded = 0;
        for (job, decision) in jobs.iter().zip(&self.decisions) {
            let Ok((new, view)) = decision else { continue };
            recorded += new.len();
            if let (Some(keyed), false) = (&job.keyed, new.is_empty()) {
                receipts.push(keyed.receipt(new.len(), view, recorded - 1));
            }
        }
        let batch = AppendBatch {
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: aggregate_id.to_string(),
            expected_sequence,
            events: std::mem::take(&mut self.encoded),
            receipts,
        };
        let linked = self.linked.iter_mut().filter_map(|l| l.batch.take());
        (batch, linked.collect())
    }

    /// The answers, once the batch's events are at `positions` (then its linked
    /// batches'): a command that recorded nothing is answered with the position its
    /// answer was already true at (the last before it in the batch, else
    /// `answered_until`); one that created an aggregate, with its last position.
    pub(super) fn answers(self, positions: &[i64], mut answered_until: i64) -> Vec<Answer<A>> {
        let (own, mut linked_positions) =
            positions.split_at(self.event_count().min(positions.len()));
        let mut used = 0;
        self.decisions
            .into_iter()
            .zip(self.linked)
            .map(|(decision, created)| {
                let (events, view) = decision?;
                used += events.len();
                if !events.is_empty() {
                    answered_until = own[used - 1];
                }
                let linked_events = created.events;
                let (theirs, rest) =
                    linked_positions.split_at(linked_events.min(linked_positions.len()));
                linked_positions = rest;
                let outcome = CommandOutcome {
                    position: theirs.last().copied().unwrap_or(answered_until),
                    events: events.len(),
                    linked_events,
                };
                Ok((outcome, view))
            })
            .collect()
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
