//! Releases stock holds whose `expires_at` has passed.
//!
//! The index knows, per stock, when its next hold runs out. It is updated after every
//! accepted stock command here, and fed from the open-holds read model at start and
//! every few seconds (see `api::server`), so holds taken by another process or by one
//! that crashed still expire. Stale entries are harmless: expiring a stock with
//! nothing due records nothing. The domain also releases expired holds whenever a sale or a
//! new hold touches the stock, so a late sweep never blocks a sale.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{StockAction, StockCommand};
use event_schemas::Metadata;
use tokio::sync::Notify;

use crate::host::CommandError;
use crate::service::CommandService;
use crate::AppClock;

/// The longest the sweeper sleeps without looking (bounds the effect of clock jumps).
const MAX_NAP: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct ExpiryIndex {
    due: Mutex<BTreeSet<(DateTime<Utc>, String, String)>>,
    earlier: Notify,
}

impl ExpiryIndex {
    pub fn schedule(&self, at: DateTime<Utc>, sku: &str, warehouse_id: &str) {
        let mut due = self.due.lock().expect("expiry index poisoned");
        let is_earliest = due.first().is_none_or(|(first, _, _)| at < *first);
        due.insert((at, sku.to_string(), warehouse_id.to_string()));
        if is_earliest {
            self.earlier.notify_one();
        }
    }

    fn take_due(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        let mut due = self.due.lock().expect("expiry index poisoned");
        let mut taken = Vec::new();
        while due.first().is_some_and(|(at, _, _)| *at <= now) {
            let (_, sku, warehouse_id) = due.pop_first().expect("checked non-empty");
            taken.push((sku, warehouse_id));
        }
        taken.sort();
        taken.dedup();
        taken
    }

    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.due
            .lock()
            .expect("expiry index poisoned")
            .first()
            .map(|(at, _, _)| *at)
    }
}

/// Schedule what a read model of open holds says: per stock, its next expiry.
pub fn schedule_known(
    service: &CommandService,
    next_expiries: impl IntoIterator<Item = (String, String, DateTime<Utc>)>,
) {
    for (sku, warehouse_id, at) in next_expiries {
        service.expiry_index().schedule(at, &sku, &warehouse_id);
    }
}

/// Release every hold due by now. Returns the log position after the releases.
pub async fn sweep(service: &CommandService) -> Result<i64, CommandError> {
    let now = service.clock().now();
    let metadata = Metadata {
        actor: Some("system:expiry".into()),
        ..Default::default()
    };
    let mut position = service.store().last_committed();
    for (sku, warehouse_id) in service.expiry_index().take_due(now) {
        let command = StockCommand {
            sku: sku.clone(),
            warehouse_id: warehouse_id.clone(),
            action: StockAction::ExpireHolds,
        };
        match service.handle_stock(command, &metadata).await {
            Ok((outcome, _)) => position = position.max(outcome.position),
            Err(error) => {
                // Look again shortly rather than lose the hold's expiry.
                tracing::warn!(%sku, %warehouse_id, %error, "expiring holds failed; will retry");
                service.expiry_index().schedule(
                    now + chrono::Duration::seconds(1),
                    &sku,
                    &warehouse_id,
                );
            }
        }
    }
    Ok(position)
}

/// Sweep whenever the next hold is due, for as long as the process runs. With the
/// manual clock nothing runs here: advancing the clock sweeps (see the admin API).
pub fn spawn_sweeper(service: Arc<CommandService>) {
    if matches!(service.clock(), AppClock::Manual(_)) {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(error) = sweep(&service).await {
                tracing::warn!(%error, "expiry sweep failed");
            }
            let nap = service
                .expiry_index()
                .next_due()
                .map(|at| (at - service.clock().now()).to_std().unwrap_or_default())
                .unwrap_or(MAX_NAP)
                .min(MAX_NAP);
            tokio::select! {
                _ = tokio::time::sleep(nap) => {}
                _ = service.expiry_index().earlier.notified() => {}
            }
        }
    });
}
