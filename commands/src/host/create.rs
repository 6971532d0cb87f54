//! Creating an aggregate without keeping it in memory: decided on the empty state in
//! the caller's task and appended, with no owner task started.
//!
//! A flash sale makes an order per buyer, 100,000 in a minute; an owner per order
//! would be a task, a queue and a state each, idle until evicted, for aggregates not
//! touched again until their payment. While the creation is under way, the aggregate's
//! place in the owner map is held by a queue with no task behind it, so this process
//! still has one writer per aggregate: commands that arrive meanwhile wait in that
//! queue and go to an owner (which loads what was created) once the append is done.

use super::batch::Decided;
use super::owner::{answer_done, fail_all, reply_all};
use super::*;

impl<A: Hosted> AggregateHost<A> {
    /// Create aggregate `id` with `command`, keeping nothing of it in memory.
    /// Anything the empty state cannot settle goes to an owner as any command does:
    /// a live owner already, a refusal or an answer that writes nothing (they depend
    /// on what the log holds), or an aggregate the log holds already (the append
    /// conflicts). A keyed command whose key turns out to be recorded gets the
    /// recorded answer.
    pub async fn create(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Answer<A> {
        let (job, answer) = Job::new(Some(command), metadata, keyed, 0);
        let Some(claim) = self.claim(id) else {
            self.send(id, true, job);
            return awaited(answer).await;
        };
        let jobs = vec![job];
        let now = self.shared.clock.now();
        let companion = self.companion.as_deref();
        let warehouses = self.shared.warehouses.clone();
        let mut decided = Decided::decide(&A::default(), &jobs, now, warehouses, companion).await;
        // (A refusal records no events.)
        let left = if decided.event_count() > 0 {
            let (batch, linked) = decided.take_append(&jobs, id, 0);
            match self.shared.committer.commit_linked(batch, linked).await {
                Ok(Ok(positions)) => {
                    if let Some(&last) = positions.get(decided.event_count() - 1) {
                        self.changes.changed(id, last);
                    }
                    let answers = decided.answers(&positions, self.shared.store.last_committed());
                    reply_all(jobs, answers);
                    Vec::new()
                }
                Ok(Err(_conflict)) => match answer_done(&self.shared.store, jobs).await {
                    Ok(rest) => rest,
                    Err((rest, error)) => {
                        fail_all(rest, &error);
                        Vec::new()
                    }
                },
                // Nothing in memory lags the log: the next command loads it.
                Err(error) => {
                    fail_all(jobs, &error);
                    Vec::new()
                }
            }
        } else {
            jobs
        };
        self.release(id, claim, left).await;
        awaited(answer).await
    }

    /// Hold aggregate `id`'s place in the owner map with a queue no task reads, unless
    /// an owner is live.
    fn claim(&self, id: &str) -> Option<Claim<A>> {
        let new = self.queue_for(id).err()?;
        Some(Claim {
            generation: new.generation,
            queue: new.queue,
        })
    }

    /// Give the place back, and hand `left` and whatever queued meanwhile to an owner,
    /// in order. Closing the queue first makes a sender that still holds it start a
    /// new owner instead, as after an eviction.
    async fn release(&self, id: &str, claim: Claim<A>, left: Vec<Job<A>>) {
        let Claim {
            generation,
            mut queue,
        } = claim;
        {
            let mut owners = self.owners.lock().expect("owner map poisoned");
            if owners.get(id).is_some_and(|(g, _)| *g == generation) {
                owners.remove(id);
            }
        }
        queue.close();
        let mut waiting = left;
        while let Some(job) = queue.recv().await {
            waiting.push(*job);
        }
        for job in waiting {
            self.send(id, false, job);
        }
    }
}

/// An aggregate's place in the owner map, held while it is created.
struct Claim<A: Hosted> {
    generation: u64,
    queue: mpsc::Receiver<Queued<A>>,
}
