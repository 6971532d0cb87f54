//! Events the order process sets aside: a refusal it did not expect, a payload it
//! cannot read. Parked events are recorded (ProcessEventParked), counted in a metric,
//! listed for an operator and retried on request; the checkpoint moves past them, so
//! they hold no other order back.

use std::time::Duration;

use domain::{ParkedEvents, ParkedEventsCommand};
use event_log::StoreError;
use event_schemas::{Metadata, OrderEvent};

use super::steps::process_metadata;
use super::{Planner, ORDER_PROCESS};
use crate::host::CommandError;
use crate::service::CommandService;

impl CommandError {
    /// Whether trying again later may succeed: the infrastructure (the database, a
    /// busy owner, contention), never a decision.
    pub fn is_transient(&self) -> bool {
        match self {
            CommandError::Overloaded | CommandError::Contended => true,
            CommandError::Store(StoreError::Corrupt(_)) => false,
            CommandError::Store(_) => true,
            CommandError::Refused(_) | CommandError::AlreadyDone(_) => false,
        }
    }
}

/// What the order process knows of a parked event.
pub struct ToPark<'a> {
    pub position: i64,
    pub event_type: &'a str,
    pub aggregate_id: &'a str,
    pub reason: String,
}

impl CommandService {
    /// Record that the order process parked an event; tried until it is recorded (a
    /// parked event must not be lost, and only the database can stop this).
    pub(crate) async fn park(&self, parked: ToPark<'_>) {
        tracing::error!(
            position = parked.position,
            event_type = parked.event_type,
            aggregate_id = parked.aggregate_id,
            reason = %parked.reason,
            "the order process parked an event"
        );
        metrics::counter!("process_events_parked_total", "process" => ORDER_PROCESS).increment(1);
        let command = ParkedEventsCommand::Park {
            process: ORDER_PROCESS.to_string(),
            position: parked.position,
            event_type: parked.event_type.to_string(),
            aggregate_id: parked.aggregate_id.to_string(),
            reason: parked.reason,
        };
        let mut pause = Duration::from_millis(50);
        loop {
            match self
                .parked
                .execute(
                    ORDER_PROCESS,
                    command.clone(),
                    process_metadata(parked.position),
                    None,
                )
                .await
            {
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "recording a parked event failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// The order process's parked events, oldest first.
    pub async fn parked_order_events(&self) -> Result<ParkedEvents, CommandError> {
        let (_, parked) = self
            .parked
            .execute(
                ORDER_PROCESS,
                ParkedEventsCommand::Read,
                Metadata::default(),
                None,
            )
            .await?;
        Ok(parked)
    }

    /// Act on the parked order event at `position` again; resolved when it succeeds,
    /// parked again with the new reason when it does not.
    pub async fn retry_parked_order_event(
        &self,
        position: i64,
        planner: &dyn Planner,
        metadata: &Metadata,
    ) -> Result<Result<(), String>, CommandError> {
        let parked = self.parked_order_events().await?;
        let Some(entry) = parked.parked.get(&position) else {
            return Err(domain::DomainError::new(
                domain::ErrorKind::NotFound,
                domain::Refusal::NotParked,
                format!("no event at position {position} is parked"),
            )
            .into());
        };
        let records = self
            .store()
            .read_type_after(event_schemas::order::ORDER_AGGREGATE, position - 1, 1)
            .await?;
        let outcome = match records.first() {
            Some(record) if record.position == position => match record.parse_as::<OrderEvent>() {
                Ok(event) => self
                    .on_order_event(&event, planner, position, 0)
                    .await
                    .map(drop)
                    .map_err(|error| error.to_string()),
                Err(error) => Err(format!("the event does not parse: {error}")),
            },
            _ => Err("the event is not in the log".to_string()),
        };
        match &outcome {
            Ok(()) => {
                self.parked
                    .execute(
                        ORDER_PROCESS,
                        ParkedEventsCommand::Resolve { position },
                        metadata.clone(),
                        None,
                    )
                    .await?;
            }
            Err(reason) => {
                let event_type = entry.event_type.clone();
                let aggregate_id = entry.aggregate_id.clone();
                self.park(ToPark {
                    position,
                    event_type: &event_type,
                    aggregate_id: &aggregate_id,
                    reason: reason.clone(),
                })
                .await;
            }
        }
        Ok(outcome)
    }
}
