//! The order process's runner: takes the lease, follows order events from its
//! checkpoint, and works on each as soon as what it depends on is done.
//!
//! Events are not worked on batch by batch: each goes to its own task the moment it
//! is read, and waits only for the events before it that it depends on — the earlier
//! events of its order and, for a placed order, earlier placed orders sharing a SKU
//! (so allocation sees what they took). The checkpoint is the position below the
//! lowest event still in flight, so a crash repeats only unfinished (idempotent)
//! work. An event that fails for the infrastructure (the database restarting) is
//! tried again in place, with growing pauses, so the ones behind it keep their
//! order; one that fails for any other reason is parked ([`parking`]) and the
//! process moves on.

mod parking;
mod payment_clock;
mod steps;

use parking::ToPark;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use event_log::{EventStore, StoreError};
use event_schemas::OrderEvent;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::lease::Lease;
pub use crate::orders::{Planner, ORDER_PROCESS};
use crate::service::CommandService;
use payment_clock::PaymentClock;
use steps::process_metadata;

/// Events in flight at once; the reader waits for room beyond that.
const IN_FLIGHT: usize = 1_024;
/// Events read at a time.
const READ_BATCH: i64 = 256;
/// The shortest time between two checkpoint writes (a crash repeats at most this much
/// finished work, all of it idempotent); also how often the process looks for orders
/// whose payment did not come, and the longest it sleeps without a wake-up.
const TICK: Duration = Duration::from_millis(200);
/// First and longest pause before an event that failed is tried again.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// The name under which the process keeps where a restart rescans for orders
/// awaiting payment.
const PAYMENTS_FROM: &str = "order_process.payments_from";
/// Advisory lock key of the order process's lease ("orderpm").
const LEASE_KEY: i64 = 0x6f72_6465_7270_6d00;

/// Run the order process for as long as the process lives: take the lease, follow
/// the log from the checkpoint, act on each event once.
pub fn spawn_order_process(service: Arc<CommandService>, planner: Arc<dyn Planner>) {
    tokio::spawn(async move {
        loop {
            match run_while_leased(&service, &planner).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "order process stopped; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Hold the lease (a session advisory lock on one connection, on PostgreSQL) and
/// follow the log until something fails.
async fn run_while_leased(
    service: &Arc<CommandService>,
    planner: &Arc<dyn Planner>,
) -> Result<(), StoreError> {
    let Some(mut lease) = Lease::take(service.store().database(), LEASE_KEY).await? else {
        // Another process runs it; look again later.
        tokio::time::sleep(Duration::from_secs(2)).await;
        return Ok(());
    };
    let store = service.store();
    let checkpoint = store.process_checkpoint(ORDER_PROCESS).await?;
    let payments_from = store.process_checkpoint(PAYMENTS_FROM).await?;
    let mut runner = Runner {
        service: service.clone(),
        planner: planner.clone(),
        due: Arc::new(Mutex::new(awaiting_payment(store, payments_from).await?)),
        in_flight: Default::default(),
        room: Arc::new(Semaphore::new(IN_FLIGHT)),
        tails: HashMap::new(),
        tasks: JoinSet::new(),
        read_until: checkpoint,
        readable: store.readable(),
        read_head: 0,
        more: true,
    };
    let mut written = Written {
        checkpoint,
        payments_from,
        at: tokio::time::Instant::now(),
    };
    let mut readable = runner.readable.clone();
    let outcome = loop {
        if let Err(error) = runner.reap() {
            break Err(error);
        }
        let read = match runner.read_and_dispatch().await {
            Ok(read) => read,
            Err(error) => break Err(error),
        };
        runner.time_out_due();
        if let Err(error) = written.update(store, &runner).await {
            break Err(error);
        }
        if let Err(error) = lease.check().await {
            break Err(error);
        }
        if read > 0 && runner.more {
            continue;
        }
        // Wake on the next commit, when an event finishes (room to read more, and the
        // checkpoint may move), or on the tick (checkpoint, payments falling due).
        let finished = tokio::select! {
            _ = readable.changed() => None,
            Some(done) = runner.tasks.join_next() => Some(done),
            _ = tokio::time::sleep(TICK) => None,
        };
        if let Some(Err(error)) = finished.map(Runner::finished) {
            break Err(error);
        }
    };
    // Whatever is in flight stops here; the next lease holder starts from the
    // checkpoint, which never passed an unfinished event.
    runner.tasks.abort_all();
    outcome
}

/// Orders awaiting payment, by when it is due: every one put on the clock after
/// `from` (stale entries are harmless: timing out an order that moved on does
/// nothing).
async fn awaiting_payment(store: &EventStore, from: i64) -> Result<PaymentClock, StoreError> {
    let mut clock = PaymentClock::default();
    let mut scanned = from;
    loop {
        let records = store
            .read_type_after(event_schemas::order::ORDER_AGGREGATE, scanned, 1_000)
            .await?;
        let Some(last) = records.last().map(|r| r.position) else {
            return Ok(clock);
        };
        for record in &records {
            if let Ok(event) = record.parse_as::<OrderEvent>() {
                if let Some((due, order_id)) = payment_due(&event) {
                    clock.insert(due, order_id, record.position);
                }
            }
        }
        scanned = last;
    }
}

/// What the runner last wrote down, and when.
struct Written {
    checkpoint: i64,
    payments_from: i64,
    at: tokio::time::Instant,
}

impl Written {
    /// Write down the checkpoint and where to rescan for payments if they moved, at
    /// most once a TICK.
    async fn update(&mut self, store: &EventStore, runner: &Runner) -> Result<(), StoreError> {
        let checkpoint = runner.checkpoint();
        let payments_from = runner
            .due
            .lock()
            .expect("payment clock poisoned")
            .rescan_from(checkpoint);
        let moved = checkpoint != self.checkpoint || payments_from != self.payments_from;
        if !moved || self.at.elapsed() < TICK {
            return Ok(());
        }
        if payments_from != self.payments_from {
            store
                .save_process_checkpoint(PAYMENTS_FROM, payments_from)
                .await?;
            self.payments_from = payments_from;
        }
        if checkpoint != self.checkpoint {
            store
                .save_process_checkpoint(ORDER_PROCESS, checkpoint)
                .await?;
            self.checkpoint = checkpoint;
        }
        self.at = tokio::time::Instant::now();
        Ok(())
    }
}

/// When an order event puts the order on the clock for its payment.
fn payment_due(event: &OrderEvent) -> Option<(DateTime<Utc>, String)> {
    match event {
        OrderEvent::OrderStockReserved {
            order_id,
            payment_due,
            ..
        }
        | OrderEvent::FlashSaleOrderPlaced {
            order_id,
            payment_due,
            ..
        }
        | OrderEvent::StayOrderPlaced {
            order_id,
            payment_due,
            ..
        } => Some((*payment_due, order_id.clone())),
        _ => None,
    }
}

/// The end of one event's work, seen by the events behind it: the log position of
/// its last action (`None` while it runs). A sender dropped unfinished means the task
/// was stopped, and the whole runner with it.
type Tail = watch::Receiver<Option<i64>>;

struct Runner {
    service: Arc<CommandService>,
    planner: Arc<dyn Planner>,
    due: Arc<Mutex<PaymentClock>>,
    /// Positions of events read and not yet finished.
    in_flight: Arc<Mutex<BTreeSet<i64>>>,
    room: Arc<Semaphore>,
    /// Per thing events wait on, the last event dispatched on it.
    tails: HashMap<DependsOn, Tail>,
    tasks: JoinSet<()>,
    /// Every order event up to here has been dispatched.
    read_until: i64,
    /// Up to where the log can be read (from the tail in memory, once it follows).
    readable: watch::Receiver<i64>,
    /// Where the last read that got everything there was reached: nothing new to
    /// read until `readable` moves past it.
    read_head: i64,
    /// The last read was cut short (by the batch size or the room in flight).
    more: bool,
}

impl Runner {
    /// Read what follows and start a task for each event; how many were read.
    async fn read_and_dispatch(&mut self) -> Result<usize, StoreError> {
        let head = *self.readable.borrow();
        if !self.more && head <= self.read_head {
            return Ok(0);
        }
        let room = self.room.available_permits().min(READ_BATCH as usize);
        if room == 0 {
            self.more = true;
            return Ok(0);
        }
        let recent = self
            .service
            .store()
            .database()
            .read_recent(
                self.read_until,
                Some(event_schemas::order::ORDER_AGGREGATE),
                room as i64,
            )
            .await?;
        let records = recent.records;
        for record in &records {
            let position = record.position;
            match record.parse_as::<OrderEvent>() {
                Ok(event) => self.dispatch(position, event).await,
                // Nothing can act on what does not parse: set it aside.
                Err(error) => {
                    self.service
                        .park(ToPark {
                            position,
                            event_type: "unreadable",
                            aggregate_id: "",
                            reason: format!("the event does not parse: {error}"),
                        })
                        .await
                }
            }
            self.read_until = position;
        }
        // Every order event up to `reached` is read, not only those up to the last.
        self.read_until = self.read_until.max(recent.reached);
        self.more = recent.full;
        if !self.more {
            self.read_head = recent.reached;
        }
        if self.tails.len() > 4 * IN_FLIGHT {
            self.prune_tails();
        }
        Ok(records.len())
    }

    /// Start the task for one event, behind the events it depends on.
    async fn dispatch(&mut self, position: i64, event: OrderEvent) {
        if !CommandService::acts_on(&event) {
            // Nothing to do but note a payment falling due; nothing waits for it.
            if let Some((due, order_id)) = payment_due(&event) {
                let mut clock = self.due.lock().expect("payment clock poisoned");
                clock.insert(due, order_id, position);
            }
            return;
        }
        let permit = self
            .room
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        self.in_flight
            .lock()
            .expect("in-flight set poisoned")
            .insert(position);
        let (done, tail) = watch::channel(None);
        let mut before = Vec::new();
        for key in keys(&event) {
            if let Some(previous) = self.tails.insert(key, tail.clone()) {
                before.push(previous);
            }
        }
        let service = self.service.clone();
        let planner = self.planner.clone();
        let in_flight = self.in_flight.clone();
        self.tasks.spawn(async move {
            let mut after = 0;
            for mut previous in before {
                if let Ok(value) = previous.wait_for(Option::is_some).await {
                    after = after.max(value.unwrap_or(0));
                }
            }
            let mut pause = RETRY_FIRST;
            let acted = loop {
                match service
                    .on_order_event(&event, planner.as_ref(), position, after)
                    .await
                {
                    Ok(acted) => break acted,
                    Err(error) if error.is_transient() => {
                        tracing::warn!(position, %error, "the order process could not act on an event; trying again");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(RETRY_MAX);
                    }
                    // A decision is final: trying again would decide the same.
                    Err(error) => {
                        service
                            .park(ToPark {
                                position,
                                event_type: event.event_type(),
                                aggregate_id: event.order_id(),
                                reason: error.to_string(),
                            })
                            .await;
                        break after;
                    }
                }
            };
            in_flight
                .lock()
                .expect("in-flight set poisoned")
                .remove(&position);
            let _ = done.send(Some(acted.max(after)));
            drop(permit);
        });
    }

    /// Time out the orders whose payment is due, each behind its order's events.
    fn time_out_due(&mut self) {
        let now = self.service.clock().now();
        let expired = self
            .due
            .lock()
            .expect("payment clock poisoned")
            .take_due(now);
        for (order_id, clocked_at) in expired {
            let (done, tail) = watch::channel(None);
            let previous = self.tails.insert(DependsOn::Order(order_id.clone()), tail);
            let service = self.service.clone();
            let due = self.due.clone();
            let position = self.read_until;
            let metadata = process_metadata(position);
            self.tasks.spawn(async move {
                if let Some(mut previous) = previous {
                    let _ = previous.wait_for(Option::is_some).await;
                }
                let outcome = service.time_out(&order_id, position, &metadata).await;
                let mut clock = due.lock().expect("payment clock poisoned");
                match outcome {
                    Ok(()) => clock.done(clocked_at),
                    // A refusal is final; the order stays as it is for a person.
                    Err(error) if !error.is_transient() => {
                        tracing::error!(%order_id, %error, "timing out an order was refused");
                        clock.done(clocked_at)
                    }
                    Err(error) => {
                        tracing::warn!(%order_id, %error, "timing out an order failed; will retry");
                        let again = service.clock().now() + chrono::Duration::seconds(1);
                        clock.again(again, order_id, clocked_at);
                    }
                }
                drop(clock);
                let _ = done.send(Some(0));
            });
        }
    }

    /// Collect the tasks that ended; a task that panicked stops the runner (its event
    /// stays below the checkpoint and is worked on again after the restart).
    fn reap(&mut self) -> Result<(), StoreError> {
        while let Some(done) = self.tasks.try_join_next() {
            Self::finished(done)?;
        }
        Ok(())
    }

    fn finished(done: Result<(), tokio::task::JoinError>) -> Result<(), StoreError> {
        match done {
            Ok(_) => Ok(()),
            Err(error) if error.is_cancelled() => Ok(()),
            Err(error) => Err(StoreError::Commit(format!(
                "an order process task failed: {error}"
            ))),
        }
    }

    /// The position below the lowest unfinished event.
    fn checkpoint(&self) -> i64 {
        let in_flight = self.in_flight.lock().expect("in-flight set poisoned");
        match in_flight.first() {
            Some(lowest) => lowest - 1,
            None => self.read_until,
        }
    }

    /// Forget finished events that nothing read later can need: one whose last
    /// action is at or below the read position (every event read from now on lies
    /// after it, so planning at the event's own position already sees that action).
    fn prune_tails(&mut self) {
        let read_until = self.read_until;
        self.tails.retain(|_, tail| match *tail.borrow() {
            Some(acted) => acted > read_until,
            None => true,
        });
    }
}

/// What an event waits on: the earlier events of one order, or the earlier placed
/// orders of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum DependsOn {
    Order(String),
    Sku(String),
}

/// What an event must wait for: earlier events of its order, and for a placed order,
/// earlier placed orders of the same SKUs.
fn keys(event: &OrderEvent) -> Vec<DependsOn> {
    let mut keys = vec![DependsOn::Order(event.order_id().to_string())];
    if let OrderEvent::OrderPlaced { lines, .. } = event {
        keys.extend(lines.iter().map(|line| DependsOn::Sku(line.sku.clone())));
    }
    keys.sort();
    keys.dedup();
    keys
}
