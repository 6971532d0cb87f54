//! Admission to a flash sale (the `admission` crate): per-buyer and per-address limits, a global rate per
//! sale, and a first-come-first-served queue for those over it.
//!
//! A purchase is admitted at once while the sale's rate has tokens and nobody is
//! waiting; otherwise it gets a ticket. Dispatchers take tickets from the head at the
//! sale's rate and run their purchases. Tickets not polled for [`TICKET_LAPSE`] are
//! dropped when they reach the head. When the sale sells out, every waiting ticket is
//! told at once.
//!
//! Two backends behind one face: [`LocalAdmission`] keeps everything in this process
//! (the embedded default); [`SharedAdmission`] keeps limits, the rate and the queues in
//! Redis, so every node shares them and tickets survive a restart. What a queued
//! purchase's outcome means for its ticket is decided once, in [`settle`], for both.
//! The HTTP routes and the entry challenge are `api`'s.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use commands::CommandService;
use event_schemas::Metadata;
use serde::{Deserialize, Serialize};

pub mod local;
mod scripts;
pub mod settle;
pub mod shared;

pub use local::{AdmissionSizes, LocalAdmission};
pub use shared::SharedAdmission;

/// A ticket nobody asked about for this long is dropped.
pub const TICKET_LAPSE: Duration = Duration::from_secs(30);
/// A ticket nobody asked about for this long is forgotten altogether (its buyer may
/// queue again): hostile traffic leaves nothing behind for longer.
pub const TICKET_RETENTION: Duration = Duration::from_secs(10 * 60);
/// Keyed limiters are trimmed of entries that would allow a full burst again once
/// they hold this many keys.
pub const TRIM_LIMITERS_ABOVE: usize = 10_000;
/// How long the dispatcher waits before trying again while every unit is held.
pub(crate) const ALL_HELD_RETRY: Duration = Duration::from_secs(1);

/// Limits, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionSettings {
    /// Purchases admitted per second per sale.
    pub rate_per_sale: u32,
    /// Purchase requests a buyer may make a minute.
    pub per_buyer_per_minute: u32,
    /// Purchase requests one client address may make a minute.
    pub per_address_per_minute: u32,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        Self {
            rate_per_sale: 1_000,
            per_buyer_per_minute: 5,
            per_address_per_minute: 600,
        }
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Admitted {
        order_id: String,
        quantity: u64,
        expires_at: DateTime<Utc>,
        position: i64,
    },
    /// Every unit is held by someone who may not pay; the ticket keeps its place.
    AllHeld,
    SoldOut,
    Lapsed,
    /// The purchase was refused for this buyer (over the limit, the sale is over).
    Refused {
        code: String,
        detail: String,
    },
}

/// What a purchase request gets from admission.
pub enum Admitted {
    /// Go ahead now.
    Now,
    /// Over the sale's rate (or others wait): queued.
    Queued(TicketView),
}

/// A ticket as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub ticket: String,
    #[serde(flatten)]
    pub state: TicketState,
    pub position_in_queue: Option<usize>,
    pub estimated_wait_seconds: Option<f64>,
}

/// Every unit of the sale is held: wait until one is sold or comes back (`changes`
/// moves), or for [`ALL_HELD_RETRY`] at most, for a hold that ran out with nobody
/// telling.
pub(crate) async fn wait_for_a_unit(changes: &mut tokio::sync::watch::Receiver<u64>) {
    changes.borrow_and_update();
    let _ = tokio::time::timeout(ALL_HELD_RETRY, changes.changed()).await;
}

/// A place among the purchases a dispatcher runs at once.
pub(crate) async fn dispatch_slot(
    in_flight: &Arc<tokio::sync::Semaphore>,
) -> tokio::sync::OwnedSemaphorePermit {
    in_flight
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}

pub(crate) fn queue_metadata(user_id: &str) -> Metadata {
    Metadata {
        actor: Some(format!("queue:{user_id}")),
        ..Default::default()
    }
}

/// Admission through whichever backend this process runs with.
#[derive(Clone)]
pub enum Admission {
    Local(Arc<LocalAdmission>),
    Shared(Arc<SharedAdmission>),
}

/// The shared backend could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("admission is unavailable: {0}")]
pub struct AdmissionError(pub String);

impl Admission {
    pub fn local(settings: AdmissionSettings, clock: commands::AppClock) -> Self {
        Admission::Local(LocalAdmission::new(settings, clock))
    }

    pub fn settings(&self) -> AdmissionSettings {
        match self {
            Admission::Local(a) => a.settings(),
            Admission::Shared(a) => a.settings(),
        }
    }

    /// The per-buyer and per-address limits: `Ok(Err(seconds to wait))` when over.
    pub async fn check_limits(
        &self,
        user_id: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<(), u64>, AdmissionError> {
        match self {
            Admission::Local(a) => Ok(a.check_limits(user_id, address)),
            Admission::Shared(a) => a.check_limits(user_id, address).await,
        }
    }

    /// Admit now, or queue (the same ticket for a buyer who already waits).
    pub async fn admit(
        &self,
        sale_id: &str,
        user_id: &str,
        quantity: u64,
        service: &Arc<CommandService>,
    ) -> Result<Admitted, AdmissionError> {
        match self {
            Admission::Local(a) => Ok(a.admit(sale_id, user_id, quantity, service)),
            Admission::Shared(a) => a.admit(sale_id, user_id, quantity, service).await,
        }
    }

    /// A ticket of `sale_id`, if it exists; polling keeps it from lapsing.
    pub async fn poll(
        &self,
        sale_id: &str,
        ticket: &str,
    ) -> Result<Option<TicketView>, AdmissionError> {
        match self {
            Admission::Local(a) => Ok(a
                .ticket_of(ticket, sale_id)
                .then(|| a.poll(ticket))
                .flatten()),
            Admission::Shared(a) => a.poll(sale_id, ticket).await,
        }
    }

    pub async fn queue_length(&self, sale_id: &str) -> Result<usize, AdmissionError> {
        match self {
            Admission::Local(a) => Ok(a.queue_length(sale_id)),
            Admission::Shared(a) => a.queue_length(sale_id).await,
        }
    }
}
