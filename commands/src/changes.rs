//! Wake-ups for whoever waits for one aggregate to change in this process (a long
//! poll on an order, say), so a waiter looks again when its aggregate changed rather
//! than on every commit of every aggregate.
//!
//! Owners report each commit of their aggregate; only aggregates somebody watches
//! cost anything. Changes written by other processes are not seen here: waiters also
//! wake on [`EventStore::foreign_commits`](event_log::EventStore::foreign_commits).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// Watches per aggregate id, for one aggregate type.
#[derive(Debug, Default)]
pub struct ChangeFeed {
    watched: Mutex<Watched>,
}

#[derive(Debug, Default)]
struct Watched {
    by_id: HashMap<String, watch::Sender<i64>>,
    /// Size after the last sweep of unwatched entries.
    swept_at: usize,
}

impl ChangeFeed {
    /// Follow changes of aggregate `id`: the receiver shows the position of its last
    /// commit in this process, and wakes on each.
    pub fn watch(&self, id: &str) -> watch::Receiver<i64> {
        let mut watched = self.watched.lock().expect("change feed poisoned");
        if watched.by_id.len() > 2 * watched.swept_at.max(512) {
            // Waiters that gave up leave entries behind: drop the unwatched ones.
            watched
                .by_id
                .retain(|_, sender| sender.receiver_count() > 0);
            watched.swept_at = watched.by_id.len();
        }
        match watched.by_id.get(id) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = watch::channel(0);
                watched.by_id.insert(id.to_string(), sender);
                receiver
            }
        }
    }

    /// Aggregate `id` committed, its last event at `position`.
    pub(crate) fn changed(&self, id: &str, position: i64) {
        let mut watched = self.watched.lock().expect("change feed poisoned");
        if let Some(sender) = watched.by_id.get(id) {
            if sender.receiver_count() == 0 {
                watched.by_id.remove(id);
            } else {
                sender.send_replace(position);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watcher_wakes_on_its_aggregate_only() {
        let feed = ChangeFeed::default();
        let mut mine = feed.watch("order-1");
        feed.changed("order-2", 7);
        assert!(!mine.has_changed().unwrap());
        feed.changed("order-1", 9);
        assert!(mine.has_changed().unwrap());
        assert_eq!(*mine.borrow_and_update(), 9);
    }

    #[test]
    fn unwatched_aggregates_leave_no_entry() {
        let feed = ChangeFeed::default();
        drop(feed.watch("order-1"));
        feed.changed("order-1", 3);
        assert!(feed.watched.lock().unwrap().by_id.is_empty());
        // Many abandoned watches are swept as new ones come.
        for i in 0..2_000 {
            drop(feed.watch(&format!("o-{i}")));
        }
        assert!(feed.watched.lock().unwrap().by_id.len() <= 1_025);
    }
}
