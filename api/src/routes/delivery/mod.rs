//! Delivery pricing's routes: what operators set (`delivery:write`: a city's policy,
//! its emergencies, weather, local events), what couriers' apps report
//! (`couriers:write`), quotes (buyers and shops, `read`), and what the pricing model
//! shows (`read`: a zone, a city's forecast, courier moves). Every read takes
//! `min_position`; quoting is a read too (nothing is written until an order uses
//! the quote), and the quote requests a node answered are counted per zone and
//! recorded once a second as demand.

pub mod operators;
pub mod quotes;
pub mod zones;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::delivery::{CellIndex, LivePricing};
use commands::CommandService;
use event_schemas::delivery::ZoneCount;
use event_schemas::{DeliveryFeedEvent, Metadata};

use super::{AppState, MIN_POSITION_WAIT};
use crate::problem::Problem;

/// How often the quote requests counted are recorded.
const COUNT_EVERY: Duration = Duration::from_secs(1);
/// Zones in one `QuotesRequested` event at most.
const ZONES_PER_EVENT: usize = 5_000;

/// The pricing model and what quoting needs.
#[derive(Clone)]
pub struct DeliveryState {
    pub pricing: Arc<LivePricing>,
    /// Quote secrets: the first seals, each opens.
    pub secrets: Arc<Vec<Vec<u8>>>,
    pub quote_counter: Arc<QuoteCounter>,
    /// Stock's reorder points, from its sales (days of cover, what to reorder).
    pub replenishment: Arc<::delivery::replenishment::LiveReplenishment>,
}

impl DeliveryState {
    pub fn secrets(&self) -> Vec<&[u8]> {
        self.secrets.iter().map(Vec::as_slice).collect()
    }
}

/// Quote requests answered per zone since the last report.
#[derive(Default)]
pub struct QuoteCounter {
    counts: Mutex<HashMap<CellIndex, u32>>,
}

impl QuoteCounter {
    /// Count quotes here and record the counts every second, for as long as the
    /// process runs.
    pub fn spawn(commands: Arc<CommandService>) -> Arc<Self> {
        let counter = Arc::new(Self::default());
        let recorder = counter.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(COUNT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                recorder.record(&commands).await;
            }
        });
        counter
    }

    pub fn count(&self, cell: CellIndex) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(cell).or_default() += 1;
    }

    /// Record what was counted (and start counting afresh).
    pub async fn record(&self, commands: &CommandService) {
        let counted = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        if counted.is_empty() {
            return;
        }
        let mut counts: Vec<ZoneCount> = counted
            .into_iter()
            .map(|(cell, count)| ZoneCount {
                cell: cell.to_string(),
                count,
            })
            .collect();
        counts.sort_by(|a, b| a.cell.cmp(&b.cell));
        let metadata = Metadata {
            actor: Some("quote-counter".into()),
            ..Default::default()
        };
        for chunk in counts.chunks(ZONES_PER_EVENT) {
            let event = DeliveryFeedEvent::QuotesRequested {
                counts: chunk.to_vec(),
            };
            let recorded = commands
                .record_delivery_feed(event, &metadata, None, serde_json::Value::Null)
                .await;
            if let Err(error) = recorded {
                // Demand from quotes is a signal, not a record: a lost second is
                // counted in no zone, and the next second is recorded afresh.
                tracing::warn!(%error, "quote requests could not be recorded");
                metrics::counter!("quote_counts_dropped_total").increment(1);
            }
        }
    }
}

/// Wait until the pricing model reflects `min_position`, or answer 503 (422 past
/// the head).
async fn await_pricing(state: &AppState, wanted: Option<i64>) -> Result<(), Problem> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    state.known_position(wanted).await?;
    let live = &state.delivery.pricing;
    live.wait_for(wanted, MIN_POSITION_WAIT)
        .await
        .map_err(|stale| super::stale_read(stale, live.position(), wanted))
}
