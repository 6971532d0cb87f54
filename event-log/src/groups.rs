//! Requests served in groups: while some groups are under way (at most a few at
//! once), what arrives waits and goes with the next group. Group commit (many
//! owners' batches in one append) and gathered cold loads (many aggregates in one
//! query) both work this way.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

/// Serve `queue` in groups until every sender is gone: wait for one of
/// `in_flight` slots first (so what queues meanwhile joins the group), then take
/// what is waiting, up to `most` by `weight`, and run `serve` on the group in its
/// own task.
pub async fn serve_in_groups<R, Served>(
    mut queue: mpsc::Receiver<R>,
    in_flight: usize,
    most: usize,
    weight: impl Fn(&R) -> usize,
    serve: impl Fn(Vec<R>) -> Served,
) where
    Served: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
    while let Some(first) = queue.recv().await {
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let mut taken = weight(&first);
        let mut group = vec![first];
        while taken < most {
            match queue.try_recv() {
                Ok(next) => {
                    taken += weight(&next);
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let served = serve(group);
        tokio::spawn(async move {
            served.await;
            drop(permit);
        });
    }
}
