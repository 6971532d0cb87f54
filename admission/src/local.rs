//! Admission kept in this process: governor limits, one FIFO queue per sale, a
//! dispatcher per sale taking tickets at the sale's rate.
//!
//! Nothing grows without bound under hostile traffic: tickets lapse and are then
//! forgotten ([`TICKET_RETENTION`], by the server's clock), the keyed limiters are
//! trimmed, and a ticket's place in line comes from sequence numbers, never from a
//! scan of the queue.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use commands::flash_sales::Purchase;
use commands::{CommandError, CommandService};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use chrono::{DateTime, Utc};
use commands::AppClock;

use crate::settle::{settle, Settled};
use crate::{
    queue_metadata, AdmissionSettings, Admitted, TicketState, TicketView, TICKET_LAPSE,
    TICKET_RETENTION, TRIM_LIMITERS_ABOVE,
};

/// Queued purchases a sale's dispatcher runs at once.
const DISPATCH_IN_FLIGHT: usize = 64;

struct Ticket {
    sale_id: String,
    user_id: String,
    quantity: u64,
    /// Its number in its sale's queue.
    seq: u64,
    /// Waiting in the queue (not taken by the dispatcher, or put back).
    queued: bool,
    last_poll: DateTime<Utc>,
    state: TicketState,
}

impl Ticket {
    fn unpolled_for(&self, now: DateTime<Utc>) -> Duration {
        (now - self.last_poll).to_std().unwrap_or_default()
    }
}

/// One sale's queue.
struct SaleQueue {
    rate: Arc<DefaultDirectRateLimiter>,
    rate_per_second: u32,
    waiting: VecDeque<(u64, String)>,
    /// The number the next ticket in line gets: a waiting ticket's place in line is
    /// its number past the head's.
    next_seq: u64,
    /// Whether the head is waiting for a held unit to come back.
    all_held: bool,
    dispatching: bool,
}

pub struct LocalAdmission {
    settings: AdmissionSettings,
    buyers: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    queues: Mutex<HashMap<String, SaleQueue>>,
    tickets: Mutex<HashMap<String, Ticket>>,
    /// A buyer's ticket per sale, so a retry gets the same ticket.
    tickets_by_buyer: Mutex<HashMap<(String, String), String>>,
    /// How many tickets there were after the last sweep of forgotten ones.
    swept_at: Mutex<usize>,
    clock: AppClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

impl LocalAdmission {
    pub fn new(settings: AdmissionSettings, clock: AppClock) -> Arc<Self> {
        Arc::new(Self {
            settings,
            buyers: RateLimiter::keyed(per_minute(settings.per_buyer_per_minute)),
            addresses: RateLimiter::keyed(per_minute(settings.per_address_per_minute)),
            queues: Mutex::new(HashMap::new()),
            tickets: Mutex::new(HashMap::new()),
            tickets_by_buyer: Mutex::new(HashMap::new()),
            swept_at: Mutex::new(0),
            clock,
        })
    }

    /// Sizes of what admission keeps per buyer, address and ticket (for metrics and
    /// the tests that prove they stay bounded).
    pub fn sizes(&self) -> AdmissionSizes {
        AdmissionSizes {
            tickets: self.tickets.lock().expect("tickets lock").len(),
            buyer_tickets: self.tickets_by_buyer.lock().expect("lock").len(),
            buyer_limiter: self.buyers.len(),
            address_limiter: self.addresses.len(),
        }
    }

    /// Forget tickets nobody asked about for [`TICKET_RETENTION`], when the map has
    /// doubled since the last time (so the cost is spread over the tickets made).
    fn forget_old_tickets(&self) {
        let mut tickets = self.tickets.lock().expect("tickets lock");
        let mut swept_at = self.swept_at.lock().expect("sweep lock");
        if tickets.len() < 2 * (*swept_at).max(512) {
            return;
        }
        let now = self.clock.now();
        tickets.retain(|_, ticket| ticket.unpolled_for(now) < TICKET_RETENTION);
        self.tickets_by_buyer
            .lock()
            .expect("lock")
            .retain(|_, id| tickets.contains_key(id));
        *swept_at = tickets.len();
    }

    pub fn settings(&self) -> AdmissionSettings {
        self.settings
    }

    /// The per-buyer and per-address limits: `Err(seconds to wait)` when over.
    pub fn check_limits(&self, user_id: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let wait = |not_until: governor::NotUntil<_>| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        };
        // Every address and buyer that ever tried must not stay in the tables.
        if self.addresses.len() >= TRIM_LIMITERS_ABOVE {
            self.addresses.retain_recent();
        }
        if self.buyers.len() >= TRIM_LIMITERS_ABOVE {
            self.buyers.retain_recent();
        }
        if let Some(address) = address {
            self.addresses.check_key(&address).map_err(wait)?;
        }
        self.buyers.check_key(&user_id.to_string()).map_err(wait)?;
        Ok(())
    }

    fn with_queue<T>(&self, sale_id: &str, f: impl FnOnce(&mut SaleQueue) -> T) -> T {
        let mut queues = self.queues.lock().expect("queues lock");
        let rate = self.settings.rate_per_sale.max(1);
        let queue = queues
            .entry(sale_id.to_string())
            .or_insert_with(|| SaleQueue {
                rate: Arc::new(RateLimiter::direct(
                    Quota::per_second(NonZeroU32::new(rate).expect("at least 1"))
                        // A short burst, so a second's worth never lands at once.
                        .allow_burst(NonZeroU32::new((rate / 20).max(1)).expect("at least 1")),
                )),
                rate_per_second: rate,
                waiting: VecDeque::new(),
                next_seq: 1,
                all_held: false,
                dispatching: false,
            });
        f(queue)
    }

    /// Admit now, or queue (the same ticket for a buyer who already waits).
    pub fn admit(
        self: &Arc<Self>,
        sale_id: &str,
        user_id: &str,
        quantity: u64,
        service: &Arc<CommandService>,
    ) -> Admitted {
        let key = (sale_id.to_string(), user_id.to_string());
        let existing = self
            .tickets_by_buyer
            .lock()
            .expect("lock")
            .get(&key)
            .cloned();
        if let Some(view) = existing.and_then(|ticket| self.poll(&ticket)) {
            match view.state {
                TicketState::Waiting | TicketState::AllHeld => return Admitted::Queued(view),
                // Admitted from the queue: the purchase finds the buyer's hold again.
                TicketState::Admitted { .. } => return Admitted::Now,
                _ => {}
            }
        }
        let now = self.with_queue(sale_id, |queue| {
            queue.waiting.is_empty() && queue.rate.check().is_ok()
        });
        if now {
            return Admitted::Now;
        }
        self.forget_old_tickets();
        let id = uuid::Uuid::now_v7().simple().to_string();
        // The ticket is recorded before a dispatcher can take it from the queue (the
        // tickets lock is held across both; nothing takes them the other way round).
        let mut tickets = self.tickets.lock().expect("tickets lock");
        let (seq, start) = self.with_queue(sale_id, |queue| {
            let seq = queue.next_seq;
            queue.next_seq += 1;
            queue.waiting.push_back((seq, id.clone()));
            let start = !queue.dispatching;
            queue.dispatching = true;
            (seq, start)
        });
        tickets.insert(
            id.clone(),
            Ticket {
                sale_id: sale_id.to_string(),
                user_id: user_id.to_string(),
                quantity,
                seq,
                queued: true,
                last_poll: self.clock.now(),
                state: TicketState::Waiting,
            },
        );
        drop(tickets);
        self.tickets_by_buyer
            .lock()
            .expect("lock")
            .insert(key, id.clone());
        if start {
            self.spawn_dispatcher(sale_id.to_string(), service.clone());
        }
        Admitted::Queued(self.poll(&id).expect("just queued"))
    }

    /// A ticket's state; polling keeps it from lapsing.
    pub fn poll(&self, ticket: &str) -> Option<TicketView> {
        let mut tickets = self.tickets.lock().expect("tickets lock");
        let entry = tickets.get_mut(ticket)?;
        entry.last_poll = self.clock.now();
        let state = entry.state.clone();
        let sale_id = entry.sale_id.clone();
        let (seq, queued) = (entry.seq, entry.queued);
        drop(tickets);
        let (position, rate, all_held) = self.with_queue(&sale_id, |queue| {
            let head = queue.waiting.front().map_or(seq, |(head, _)| *head);
            (
                // Tickets ahead that lapsed still count until taken off the head.
                queued.then(|| seq.saturating_sub(head) as usize),
                queue.rate_per_second,
                queue.all_held,
            )
        });
        let state = match (state, all_held, position) {
            (TicketState::Waiting, true, Some(_)) => TicketState::AllHeld,
            (state, _, _) => state,
        };
        let waiting = matches!(state, TicketState::Waiting | TicketState::AllHeld);
        Some(TicketView {
            ticket: ticket.to_string(),
            position_in_queue: position.filter(|_| waiting).map(|p| p + 1),
            estimated_wait_seconds: position
                .filter(|_| waiting)
                .map(|p| ((p + 1) as f64 / rate as f64 * 100.0).ceil() / 100.0),
            state,
        })
    }

    /// Whether `ticket` exists and is of `sale_id`.
    pub fn ticket_of(&self, ticket: &str, sale_id: &str) -> bool {
        self.tickets
            .lock()
            .expect("tickets lock")
            .get(ticket)
            .is_some_and(|t| t.sale_id == sale_id)
    }

    pub fn queue_length(&self, sale_id: &str) -> usize {
        self.with_queue(sale_id, |queue| queue.waiting.len())
    }

    fn set_state(&self, ticket: &str, state: TicketState) {
        if let Some(t) = self.tickets.lock().expect("tickets lock").get_mut(ticket) {
            t.state = state;
        }
    }

    /// Take tickets from the head at the sale's rate until the queue is empty.
    fn spawn_dispatcher(self: &Arc<Self>, sale_id: String, service: Arc<CommandService>) {
        let admission = self.clone();
        let mut changes = service.flash_changes();
        tokio::spawn(async move {
            // Purchases run side by side, admitted in queue order at the sale's rate.
            let in_flight = Arc::new(Semaphore::new(DISPATCH_IN_FLIGHT));
            loop {
                if admission.with_queue(&sale_id, |queue| queue.all_held) {
                    crate::wait_for_a_unit(&mut changes).await;
                }
                let permit = crate::dispatch_slot(&in_flight).await;
                let idle = in_flight.available_permits() + 1 == DISPATCH_IN_FLIGHT;
                let next = admission.with_queue(&sale_id, |queue| {
                    let head = queue.waiting.pop_front();
                    if head.is_none() && idle {
                        queue.dispatching = false;
                    }
                    head.map(|(_, h)| (h, queue.rate.clone()))
                });
                let Some((ticket, rate)) = next else {
                    if idle {
                        return;
                    }
                    // Purchases in flight may yet put a ticket back.
                    drop(permit);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let (user_id, quantity, lapsed) = {
                    let now = admission.clock.now();
                    let mut tickets = admission.tickets.lock().expect("tickets lock");
                    match tickets.get_mut(&ticket) {
                        Some(t) => {
                            t.queued = false;
                            (
                                t.user_id.clone(),
                                t.quantity,
                                t.unpolled_for(now) > TICKET_LAPSE,
                            )
                        }
                        None => (String::new(), 0, true),
                    }
                };
                if lapsed {
                    admission.set_state(&ticket, TicketState::Lapsed);
                    continue;
                }
                rate.until_ready().await;
                let (admission, service, sale_id) =
                    (admission.clone(), service.clone(), sale_id.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let outcome = service
                        .purchase_flash_sale(
                            &sale_id,
                            &user_id,
                            quantity,
                            &queue_metadata(&user_id),
                        )
                        .await;
                    admission.settle(&sale_id, &ticket, outcome, &service);
                });
            }
        });
    }

    /// Record what a queued purchase came to; a ticket that must wait goes back to
    /// the head of the queue.
    fn settle(
        self: &Arc<Self>,
        sale_id: &str,
        ticket: &str,
        outcome: Result<Purchase, CommandError>,
        service: &Arc<CommandService>,
    ) {
        let put_back = |all_held: bool| {
            // Back at the head: it is first in line again.
            let seq = match self.tickets.lock().expect("tickets lock").get_mut(ticket) {
                Some(t) => {
                    t.queued = true;
                    t.seq
                }
                None => 0,
            };
            let restart = self.with_queue(sale_id, |queue| {
                queue.waiting.push_front((seq, ticket.to_string()));
                queue.all_held |= all_held;
                let restart = !queue.dispatching;
                queue.dispatching = true;
                restart
            });
            if restart {
                self.spawn_dispatcher(sale_id.to_string(), service.clone());
            }
        };
        match settle(outcome) {
            Settled::Admitted(state) => {
                self.with_queue(sale_id, |queue| queue.all_held = false);
                self.set_state(ticket, state);
            }
            Settled::AllHeld => put_back(true),
            Settled::SoldOut => {
                self.set_state(ticket, TicketState::SoldOut);
                self.sell_out(sale_id);
            }
            Settled::Refused(state) => self.set_state(ticket, state),
            Settled::Failed(error) => {
                tracing::warn!(%sale_id, %error, "a queued purchase failed; retrying");
                put_back(false);
            }
        }
    }

    /// Every waiting ticket learns at once that nothing is left.
    fn sell_out(&self, sale_id: &str) {
        let waiting: Vec<String> = self.with_queue(sale_id, |queue| {
            queue.all_held = false;
            queue.waiting.drain(..).map(|(_, id)| id).collect()
        });
        let mut tickets = self.tickets.lock().expect("tickets lock");
        for id in waiting {
            if let Some(t) = tickets.get_mut(&id) {
                t.state = TicketState::SoldOut;
                t.queued = false;
            }
        }
    }
}

/// What admission keeps, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AdmissionSizes {
    pub tickets: usize,
    pub buyer_tickets: usize,
    pub buyer_limiter: usize,
    pub address_limiter: usize,
}
