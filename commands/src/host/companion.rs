//! New aggregates a command creates beside its own events: a flash-sale hold makes
//! its buyer's order, a held stay the order it is paid through. Their events go to
//! the committer linked to the command's batch, and the store keeps or takes back the
//! two as one unit: the command lands with what it created or not at all, and its
//! caller waits for one commit instead of two.
//!
//! A companion is a fresh aggregate (its id is minted by the command, so nothing in
//! this process can address it before the command is answered): it is decided on the
//! empty state and appended at sequence 0 with no owner kept, as
//! [`AggregateHost::create`] does. Should the log hold it after all, the unit
//! conflicts and the command is decided again; a companion that cannot be decided
//! is left out, and the caller creates it the usual way.

use std::future::Future;
use std::pin::Pin;

use super::batch::decide;
use super::*;

/// What a command of `A` creates beside its own events.
pub trait Companion<A: Hosted>: Send + Sync + 'static {
    /// The new aggregate's batch for an accepted command that recorded events and
    /// answered `view`, if the command creates one. What it needs of the command is
    /// taken before the future starts, so the future borrows nothing.
    fn created(
        &self,
        command: &A::Command,
        view: &A::View,
        services: &Services,
        metadata: &Metadata,
        keyed: Option<&KeyedRequest>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Pin<Box<dyn Future<Output = Option<AppendBatch>> + Send>>>;
}

/// Names the aggregate of type `B` a command of `A` creates (from the command and
/// the view it answered), with the command that starts it.
pub type MakeCompanion<A, B> = fn(
    &<A as cqrs_es::Aggregate>::Command,
    &<A as Hosted>::View,
) -> Option<(String, <B as cqrs_es::Aggregate>::Command)>;

/// A companion of type `B`: `make` names it and gives the command that starts it.
pub struct Creates<A: Hosted, B: Hosted> {
    make: MakeCompanion<A, B>,
}

impl<A: Hosted, B: Hosted> Creates<A, B> {
    pub fn new(make: MakeCompanion<A, B>) -> Self {
        Self { make }
    }
}

impl<A: Hosted, B: Hosted> Companion<A> for Creates<A, B> {
    fn created(
        &self,
        command: &A::Command,
        view: &A::View,
        services: &Services,
        metadata: &Metadata,
        keyed: Option<&KeyedRequest>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Pin<Box<dyn Future<Output = Option<AppendBatch>> + Send>>> {
        let (id, start) = (self.make)(command, view)?;
        let (services, metadata, keyed) = (services.clone(), metadata.clone(), keyed.cloned());
        Some(Box::pin(async move {
            let mut state = B::default();
            let events = decide(&mut state, &start, &services).await.ok()?;
            let last_event = events.len().checked_sub(1)?;
            let receipts = keyed
                .map(|keyed| {
                    let view = state.view_for(&start, now);
                    keyed.receipt(events.len(), &view, last_event)
                })
                .into_iter()
                .collect();
            Some(AppendBatch {
                aggregate_type: B::TYPE.to_string(),
                aggregate_id: id,
                expected_sequence: 0,
                events: events
                    .iter()
                    .map(|event| encode(event, &metadata, now))
                    .collect(),
                receipts,
            })
        }))
    }
}
