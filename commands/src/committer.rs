//! Group commit: the batches of many aggregate owners that arrive while one append is
//! in flight are written together by the next one, so one transaction (one fsync)
//! serves many commands on many aggregates. A batch may bring linked batches (new
//! aggregates its commands create): they land with it or not at all.
//!
//! Every batch follows a sequence this database committed: an owner's state is
//! loaded from the log or moved on by its own acknowledged appends, and an owner
//! sends its next batch only once the one before has landed (a created aggregate
//! follows 0). So the committer appends with [`Predecessors::Committed`], and the
//! database looks up no predecessor.

use event_log::{AppendBatch, Conflict, EventStore, Predecessors, StoreError, Units};
use tokio::sync::{mpsc, oneshot};

/// Most events one append transaction carries; more wait for the next.
const MAX_EVENTS_PER_COMMIT: usize = 10_000;
/// Appends under way at once. One: the log's lock orders commits anyway, so a
/// second append only waited for the first one's lock (0.27 ms a call under stay
/// bookings) and split what waits into two smaller groups, each paying a call's fixed
/// cost. With one, holds and checkouts went up 10% or so (same-hour A/B).
const APPENDS_IN_FLIGHT: usize = 1;
/// Most batches waiting for the committer before owners are told to back off.
const QUEUE: usize = 65_536;

/// What the committer answers one batch: its positions (then its linked batches'),
/// or a conflict, or the reason the whole append failed.
pub type CommitResult = Result<Result<Vec<i64>, Conflict>, StoreError>;

pub(crate) struct Request {
    pub(crate) batch: AppendBatch,
    /// Batches that land with `batch` or not at all.
    pub(crate) linked: Vec<AppendBatch>,
    pub(crate) reply: oneshot::Sender<CommitResult>,
}

impl Request {
    fn events(&self) -> usize {
        self.batch.events.len() + self.linked.iter().map(|b| b.events.len()).sum::<usize>()
    }
}

/// Handle to the process's one group-commit task.
#[derive(Clone)]
pub struct GroupCommitter {
    requests: mpsc::Sender<Request>,
}

impl GroupCommitter {
    /// Start the commit task; it ends when every handle is dropped.
    pub fn spawn(store: EventStore) -> Self {
        let (requests, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, queue));
        Self { requests }
    }

    /// Append one aggregate's batch in the next group commit.
    pub async fn commit(&self, batch: AppendBatch) -> CommitResult {
        self.commit_linked(batch, Vec::new()).await
    }

    /// Append one aggregate's batch and the batches `linked` to it (which land with
    /// it or not at all) in the next group commit.
    pub async fn commit_linked(
        &self,
        batch: AppendBatch,
        linked: Vec<AppendBatch>,
    ) -> CommitResult {
        self.submit(batch, linked)
            .await?
            .await
            .map_err(|_| StoreError::Commit("the committer dropped the batch".into()))?
    }

    /// Queue one aggregate's batch for the next group commit; its result comes on
    /// the receiver, so the caller may go on meanwhile.
    pub async fn submit(
        &self,
        batch: AppendBatch,
        linked: Vec<AppendBatch>,
    ) -> Result<oneshot::Receiver<CommitResult>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                batch,
                linked,
                reply,
            })
            .await
            .map_err(|_| StoreError::Commit("the committer has stopped".into()))?;
        Ok(answer)
    }

    /// A committer whose batches the caller receives and answers itself (tests that
    /// decide which commits fail).
    #[cfg(test)]
    pub(crate) fn manual() -> (Self, mpsc::Receiver<Request>) {
        let (requests, queue) = mpsc::channel(QUEUE);
        (Self { requests }, queue)
    }
}

async fn run(store: EventStore, queue: mpsc::Receiver<Request>) {
    let serve = |group: Vec<Request>| {
        let store = store.clone();
        async move { commit_group(&store, group).await }
    };
    let events = |request: &Request| request.events();
    event_log::groups::serve_in_groups(
        queue,
        APPENDS_IN_FLIGHT,
        MAX_EVENTS_PER_COMMIT,
        events,
        serve,
    )
    .await;
}

async fn commit_group(store: &EventStore, waiting: Vec<Request>) {
    let mut batches = Vec::with_capacity(waiting.len());
    let mut sizes = Vec::with_capacity(waiting.len());
    let mut replies = Vec::with_capacity(waiting.len());
    for Request {
        batch,
        linked,
        reply,
    } in waiting
    {
        sizes.push(1 + linked.len());
        batches.push(batch);
        batches.extend(linked);
        replies.push(reply);
    }
    let batch_count = batches.len();
    metrics::histogram!("group_commit_batches").record(batch_count as f64);
    let units = Units::of_sizes(sizes.iter().copied());
    match store
        .append_units(batches, &units, Predecessors::Committed)
        .await
    {
        Ok(results) => {
            let mut results = results.into_iter();
            for (reply, size) in replies.into_iter().zip(sizes) {
                // A unit lands whole or not at all: its positions, batch by batch.
                let unit: Result<Vec<Vec<i64>>, Conflict> = results.by_ref().take(size).collect();
                let _ = reply.send(Ok(unit.map(|positions| positions.concat())));
            }
        }
        Err(error) => {
            tracing::error!(%error, batches = batch_count, "group commit failed");
            let message = error.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Commit(message.clone())));
            }
        }
    }
}
