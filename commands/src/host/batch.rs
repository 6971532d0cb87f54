//! One batch of commands decided on a copy of an aggregate's state: what each
//! command decided, the state they leave, and the events and receipts to append.

use cqrs_es::Aggregate;

use super::*;

/// One job's decision: its events and the view after it, or its refusal.
pub(super) type Decision<A> =
    Result<(Vec<<A as Aggregate>::Event>, <A as Hosted>::View), DomainError>;

/// A batch decided in order on one copy of the state, not yet committed.
pub(super) struct Decided<A: Hosted> {
    /// The state once every accepted command of the batch is applied.
    pub(super) next: A,
    /// The instant the batch was decided at (its events are stamped with it).
    pub(super) now: chrono::DateTime<chrono::Utc>,
    /// Per job, in order.
    pub(super) decisions: Vec<Decision<A>>,
}

impl<A: Hosted> Decided<A> {
    /// Decide every job in order on a copy of `state` at `now`: a refused command
    /// leaves no trace on the copy.
    pub(super) async fn decide(
        state: &A,
        jobs: &[Job<A>],
        now: chrono::DateTime<chrono::Utc>,
        warehouses: Arc<KnownWarehouses>,
    ) -> Self {
        let services = Services::at(now, warehouses);
        let mut next = state.clone();
        let mut decisions = Vec::with_capacity(jobs.len());
        for job in jobs {
            let decision = match &job.command {
                Some(command) => decide(&mut next, command, &services)
                    .await
                    .map(|events| (events, next.view_for(command, now))),
                None => Ok((Vec::new(), next.view())),
            };
            decisions.push(decision);
        }
        Self {
            next,
            now,
            decisions,
        }
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
            now,
            decisions,
        } = self;
        let mut kept_jobs = Vec::with_capacity(jobs.len());
        let mut kept = Vec::with_capacity(jobs.len());
        for ((job, decision), answer) in jobs.into_iter().zip(decisions).zip(answer_now) {
            match decision {
                Err(refusal) if *answer => {
                    let _ = job.reply.send(Err(CommandError::Refused(refusal)));
                }
                decision => {
                    kept_jobs.push(job);
                    kept.push(decision);
                }
            }
        }
        (
            kept_jobs,
            Self {
                next,
                now,
                decisions: kept,
            },
        )
    }

    /// The batch to append after `expected_sequence`: every event, encoded with its
    /// job's metadata, and a receipt for each keyed job that recorded something.
    pub(super) fn to_append(
        &self,
        jobs: &[Job<A>],
        aggregate_id: &str,
        expected_sequence: i64,
    ) -> AppendBatch {
        let mut events = Vec::with_capacity(self.event_count());
        let mut receipts = Vec::new();
        for (job, decision) in jobs.iter().zip(&self.decisions) {
            let Ok((new, view)) = decision else { continue };
            for event in new {
                events.push(encode(event, &job.metadata, self.now));
            }
            if let (Some(keyed), false) = (&job.keyed, new.is_empty()) {
                receipts.push(keyed.receipt(new.len(), view, events.len() - 1));
            }
        }
        AppendBatch {
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: aggregate_id.to_string(),
            expected_sequence,
            events,
            receipts,
        }
    }

    /// The answers, once the batch's events are at `positions`: a command that
    /// recorded nothing is answered with the position its answer was already true
    /// at (the last before it in the batch, else `answered_until`).
    pub(super) fn answers(self, positions: &[i64], mut answered_until: i64) -> Vec<Answer<A>> {
        let mut used = 0;
        self.decisions
            .into_iter()
            .map(|decision| {
                let (events, view) = decision?;
                used += events.len();
                if !events.is_empty() {
                    answered_until = positions[used - 1];
                }
                let outcome = CommandOutcome {
                    position: answered_until,
                    events: events.len(),
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
