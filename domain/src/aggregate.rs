//! The one aggregate contract: cqrs-es' [`Aggregate`], with [`Services`] carrying the
//! time and the known warehouses to every aggregate alike, and [`Hosted`] for the
//! little cqrs-es lacks (the view a command answers with, the snapshot policy).
//!
//! Each aggregate writes its rules once, as a pure `decide` (state + command + what
//! the services say → events or a refusal) and `apply_event`; [`aggregate!`] makes
//! that its `Aggregate` impl, so the cqrs-es `TestFramework` (given/when/then) and
//! the aggregate host run the very same rules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::{Clock, FixedClock};
use crate::error::DomainError;
use crate::stock::WarehouseRegistry;

/// What every aggregate may ask of the world when it decides: the time, and which
/// warehouses exist. Nothing else reaches the rules.
#[derive(Clone)]
pub struct Services {
    pub clock: Arc<dyn Clock>,
    pub warehouses: Arc<dyn WarehouseRegistry>,
}

impl Services {
    pub fn new(clock: Arc<dyn Clock>, warehouses: Arc<dyn WarehouseRegistry>) -> Self {
        Self { clock, warehouses }
    }

    /// The time standing still at `now`, with the given warehouses.
    pub fn at(now: DateTime<Utc>, warehouses: Arc<dyn WarehouseRegistry>) -> Self {
        Self::new(Arc::new(FixedClock(now)), warehouses)
    }

    /// The time standing still at `now`, with no warehouse known (enough for every
    /// aggregate but Stock).
    pub fn fixed_at(now: DateTime<Utc>) -> Self {
        Self::at(now, Arc::new(NoWarehouses))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// A registry that knows no warehouse.
struct NoWarehouses;

impl WarehouseRegistry for NoWarehouses {
    fn is_registered(&self, _warehouse_id: &str) -> bool {
        false
    }
}

/// What the aggregate host needs beyond cqrs-es' [`Aggregate`]: the state it keeps and
/// snapshots, the view a command is answered with, and how often to snapshot.
pub trait Hosted:
    Aggregate<Error = DomainError, Services = Services, Command: Clone + Send + Sync + 'static>
    + Clone
    + Default
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type View: Serialize + Send + 'static;

    /// A snapshot is taken each time a stream grows past another multiple of this.
    const SNAPSHOT_EVERY: i64 = 1_000;

    fn view(&self) -> Self::View;

    /// The view answered to `command` at `now`; most aggregates answer the same to
    /// every command.
    fn view_for(&self, command: &Self::Command, now: DateTime<Utc>) -> Self::View {
        let _ = (command, now);
        self.view()
    }
}

/// The cqrs-es [`Aggregate`] impl of an aggregate from its pure rules: `decide` is
/// given the state, the command and the [`Services`]; events are written only once the
/// whole command is decided, so a refused command changes nothing.
macro_rules! aggregate {
    ($aggregate:ty, $type:expr, $command:ty, $event:ty,
     decide: |$state:ident, $cmd:ident, $services:ident| $decide:expr) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = $crate::DomainError;
            type Services = $crate::Services;

            async fn handle(
                &mut self,
                command: Self::Command,
                services: &Self::Services,
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), Self::Error> {
                let events = {
                    let ($state, $cmd, $services) = (&*self, &command, services);
                    $decide?
                };
                for event in events {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                self.apply_event(&event);
            }
        }
    };
}
pub(crate) use aggregate;
