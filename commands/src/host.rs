//! Runs commands against aggregates.
//!
//! Each live aggregate is kept in memory behind its own lock, so the commands for one
//! aggregate are decided one at a time against the current state: decide, append, and
//! only then apply. A conflict means another process wrote first: reload what it
//! wrote and decide again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::{DomainError, RegisterWarehouse, Stock, StockCommand, Warehouse, WarehouseRegistry};
use event_schemas::stock::stock_aggregate_id;
use event_schemas::{Metadata, CURRENT_EVENT_VERSION};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::clock::AppClock;
use crate::expiry::ExpiryIndex;
use crate::store::{AppendBatch, EventStore, NewEvent, StoreError};
use crate::warehouses::KnownWarehouses;

/// Attempts before a command gives up on an aggregate other processes keep changing.
const MAX_ATTEMPTS: usize = 16;

/// What an accepted command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Position of the command's last event; for a command that changed nothing, the
    /// log position at which its answer was already true.
    pub position: i64,
    /// How many events it recorded (0 when it repeated what was already true).
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error("the aggregate kept changing under this command; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An aggregate held in memory: its state and the sequence of its last event.
#[derive(Default)]
struct Live<A> {
    state: A,
    sequence: i64,
    loaded: bool,
}

type LiveMap<A> = Mutex<HashMap<String, Arc<tokio::sync::Mutex<Live<A>>>>>;

/// The write-side entry point: every command goes through here.
pub struct CommandService {
    store: EventStore,
    clock: AppClock,
    warehouses: Arc<KnownWarehouses>,
    live_stock: LiveMap<Stock>,
    live_warehouses: LiveMap<Warehouse>,
    expiry: Arc<ExpiryIndex>,
}

impl CommandService {
    pub fn new(store: EventStore, clock: AppClock) -> Self {
        Self {
            store,
            clock,
            warehouses: Default::default(),
            live_stock: Default::default(),
            live_warehouses: Default::default(),
            expiry: Default::default(),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn clock(&self) -> &AppClock {
        &self.clock
    }

    pub(crate) fn expiry_index(&self) -> &Arc<ExpiryIndex> {
        &self.expiry
    }

    pub async fn register_warehouse(
        &self,
        command: RegisterWarehouse,
        metadata: &Metadata,
    ) -> Result<CommandOutcome, CommandError> {
        let id = command.warehouse_id.clone();
        let (outcome, ()) = self
            .run(
                &self.live_warehouses,
                &id,
                metadata,
                |warehouse: &Warehouse| warehouse.decide(&command),
                |_| (),
            )
            .await?;
        self.warehouses.insert(&id);
        Ok(outcome)
    }

    pub async fn handle_stock(
        &self,
        command: StockCommand,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, StockLevels), CommandError> {
        self.ensure_warehouse_known(&command.warehouse_id).await?;
        let id = stock_aggregate_id(&command.sku, &command.warehouse_id);
        let now = self.clock.now();
        let warehouses = self.warehouses.as_ref();
        let (outcome, (levels, next_expiry)) = self
            .run(
                &self.live_stock,
                &id,
                metadata,
                |stock: &Stock| stock.decide(&command, now, warehouses),
                |stock: &Stock| (StockLevels::of(stock), stock.next_expiry()),
            )
            .await?;
        if let (Some(at), true) = (next_expiry, outcome.events > 0) {
            self.expiry
                .schedule(at, &command.sku, &command.warehouse_id);
        }
        Ok((outcome, levels))
    }

    /// A warehouse registered by another process is learnt from the log.
    async fn ensure_warehouse_known(&self, warehouse_id: &str) -> Result<(), StoreError> {
        if self.warehouses.is_registered(warehouse_id) {
            return Ok(());
        }
        let events = self.store.load(Warehouse::TYPE, warehouse_id, 0).await?;
        if !events.is_empty() {
            self.warehouses.insert(warehouse_id);
        }
        Ok(())
    }

    /// Decide, append and apply one command on one aggregate, retrying on conflicts.
    /// Returns the outcome and `view` of the state the command left.
    async fn run<A, V>(
        &self,
        live: &LiveMap<A>,
        aggregate_id: &str,
        metadata: &Metadata,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, DomainError>,
        view: impl Fn(&A) -> V,
    ) -> Result<(CommandOutcome, V), CommandError>
    where
        A: Aggregate + 'static,
    {
        let slot = live
            .lock()
            .expect("live aggregates poisoned")
            .entry(aggregate_id.to_string())
            .or_default()
            .clone();
        let mut aggregate = slot.lock().await;
        if !aggregate.loaded {
            self.catch_up(&mut aggregate, aggregate_id).await?;
            aggregate.loaded = true;
        }
        for _ in 0..MAX_ATTEMPTS {
            let events = decide(&aggregate.state)?;
            if events.is_empty() {
                let outcome = CommandOutcome {
                    position: self.store.last_committed(),
                    events: 0,
                };
                return Ok((outcome, view(&aggregate.state)));
            }
            let batch = AppendBatch {
                aggregate_type: A::TYPE.to_string(),
                aggregate_id: aggregate_id.to_string(),
                expected_sequence: aggregate.sequence,
                events: events
                    .iter()
                    .map(|e| new_event(e, metadata, self.clock.now()))
                    .collect(),
            };
            let result = self.store.append(std::slice::from_ref(&batch)).await?;
            match result.into_iter().next().expect("one result per batch") {
                Ok(positions) => {
                    let count = events.len();
                    for event in events {
                        aggregate.state.apply(event);
                    }
                    aggregate.sequence += count as i64;
                    let outcome = CommandOutcome {
                        position: *positions.last().expect("a non-empty batch has positions"),
                        events: count,
                    };
                    return Ok((outcome, view(&aggregate.state)));
                }
                Err(_conflict) => self.catch_up(&mut aggregate, aggregate_id).await?,
            }
        }
        Err(CommandError::Contended)
    }

    /// Apply the events other writers recorded since this copy was last current.
    async fn catch_up<A: Aggregate>(
        &self,
        live: &mut Live<A>,
        aggregate_id: &str,
    ) -> Result<(), StoreError> {
        for stored in self
            .store
            .load(A::TYPE, aggregate_id, live.sequence)
            .await?
        {
            let event = decode::<A::Event>(&stored.payload, stored.position)?;
            live.state.apply(event);
            live.sequence = stored.sequence;
        }
        Ok(())
    }

    /// When the next hold of a stock runs out, read from the log (for the expiry sweep).
    pub async fn stock_next_expiry(
        &self,
        sku: &str,
        warehouse_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut live = Live::<Stock>::default();
        self.catch_up(&mut live, &stock_aggregate_id(sku, warehouse_id))
            .await?;
        Ok(live.state.next_expiry())
    }
}

/// Stock levels after a command, for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StockLevels {
    pub on_hand: u64,
    pub held: u64,
    pub available: u64,
}

impl StockLevels {
    fn of(stock: &Stock) -> Self {
        Self {
            on_hand: stock.on_hand,
            held: stock.held(),
            available: stock.available(),
        }
    }
}

fn decode<E: DeserializeOwned>(
    payload: &serde_json::Value,
    position: i64,
) -> Result<E, StoreError> {
    E::deserialize(payload)
        .map_err(|e| StoreError::Corrupt(format!("event at position {position}: {e}")))
}

fn new_event<E: cqrs_es::DomainEvent>(
    event: &E,
    metadata: &Metadata,
    now: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type(),
        event_version: CURRENT_EVENT_VERSION.to_string(),
        payload: serde_json::to_value(event).expect("events serialise"),
        metadata: metadata.clone(),
        occurred_at: now,
    }
}
