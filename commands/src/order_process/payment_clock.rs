//! Orders awaiting payment, by when it is due, and from where in the log a restart
//! must look for them again.
//!
//! An order goes on the clock when the process reads its reservation (or flash-sale
//! purchase) and comes off once its timeout has been dealt with; until then the
//! position of the event that put it there is kept. The lowest such position is where
//! a restart rescans from, so the scan covers about one payment window of orders, not
//! the whole history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub(super) struct PaymentClock {
    /// (due, order id, position of the event that put it on the clock).
    waiting: BTreeSet<(DateTime<Utc>, String, i64)>,
    /// Positions of orders on the clock or being timed out, with their counts.
    positions: BTreeMap<i64, usize>,
}

impl PaymentClock {
    /// Put an order on the clock (again: entries are cheap, and timing out an order
    /// that moved on does nothing).
    pub(super) fn insert(&mut self, due: DateTime<Utc>, order_id: String, position: i64) {
        if self.waiting.insert((due, order_id, position)) {
            *self.positions.entry(position).or_default() += 1;
        }
    }

    /// The orders due by `now`, with their positions. They keep their place in the
    /// rescan until [`done`](Self::done) or [`again`](Self::again).
    pub(super) fn take_due(&mut self, now: DateTime<Utc>) -> Vec<(String, i64)> {
        let mut due = Vec::new();
        while self.waiting.first().is_some_and(|(at, _, _)| *at <= now) {
            let (_, order_id, position) = self.waiting.pop_first().expect("checked non-empty");
            due.push((order_id, position));
        }
        due
    }

    /// An order taken by [`take_due`](Self::take_due) was timed out (or had moved on).
    pub(super) fn done(&mut self, position: i64) {
        if let Some(count) = self.positions.get_mut(&position) {
            *count -= 1;
            if *count == 0 {
                self.positions.remove(&position);
            }
        }
    }

    /// Timing an order out failed: try again at `at`.
    pub(super) fn again(&mut self, at: DateTime<Utc>, order_id: String, position: i64) {
        self.done(position);
        self.insert(at, order_id, position);
    }

    /// Where a restart must rescan from to find every order still on the clock, given
    /// that the process has finished everything up to `checkpoint`.
    pub(super) fn rescan_from(&self, checkpoint: i64) -> i64 {
        self.positions
            .keys()
            .next()
            .map_or(checkpoint, |lowest| (lowest - 1).min(checkpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    #[test]
    fn orders_come_due_in_time_order_and_leave_the_rescan_once_done() {
        let mut clock = PaymentClock::default();
        clock.insert(at(12), "b".into(), 20);
        clock.insert(at(10), "a".into(), 10);
        clock.insert(at(30), "c".into(), 30);
        assert_eq!(clock.rescan_from(100), 9);
        // Taken but not done: still where a restart must look.
        let due = clock.take_due(at(15));
        assert_eq!(due, vec![("a".to_string(), 10), ("b".to_string(), 20)]);
        assert_eq!(clock.rescan_from(100), 9);
        clock.done(10);
        assert_eq!(clock.rescan_from(100), 19);
        // A failed timeout comes back later, keeping its position.
        clock.again(at(16), "b".into(), 20);
        assert_eq!(clock.rescan_from(100), 19);
        assert_eq!(clock.take_due(at(16)), vec![("b".to_string(), 20)]);
        clock.done(20);
        assert_eq!(clock.rescan_from(100), 29);
        assert_eq!(clock.take_due(at(29)), vec![]);
    }

    #[test]
    fn an_empty_clock_rescans_from_the_checkpoint_and_never_past_it() {
        let mut clock = PaymentClock::default();
        assert_eq!(clock.rescan_from(42), 42);
        clock.insert(at(1), "late".into(), 80);
        assert_eq!(clock.rescan_from(42), 42);
    }

    #[test]
    fn the_same_entry_twice_counts_once() {
        let mut clock = PaymentClock::default();
        clock.insert(at(1), "a".into(), 5);
        clock.insert(at(1), "a".into(), 5);
        assert_eq!(clock.take_due(at(1)).len(), 1);
        clock.done(5);
        assert_eq!(clock.rescan_from(9), 9);
    }
}
