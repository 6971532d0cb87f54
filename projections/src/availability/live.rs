//! Availability in memory, in each process: the most-read answer in a shop (every
//! product page) served without a database round trip.
//!
//! It starts from the SQL read model (rows and checkpoint read in one statement, so
//! they agree) and then follows the log itself, stock events only, folding each
//! batch with the SQL model's own [`fold`]. It does not depend on which process
//! applies batches to the SQL rows (with several processes on one database, each
//! batch is applied there by one of them), so every process's copy sees every
//! commit. Read-your-writes is the same contract as the SQL model's: `min_position`
//! waits until the copy has reached that position.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use event_log::{on_reader, Database, EventSource};
use event_schemas::stock::STOCK_AGGREGATE;
use tokio::sync::watch;

use super::{fold, Availability, AvailabilityView, Change, WarehouseAvailability};
use crate::runtime::{wait_for_position, ProjectionError, Projector, SqlModel, WaitError};

/// Stock events read per batch.
const BATCH: i64 = 10_000;
/// How long the follower waits for a wake-up before looking anyway.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// On hand and held of one SKU in one warehouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Levels {
    on_hand: i64,
    held: i64,
}

/// Every SKU's stock per warehouse, as of `position`.
pub struct LiveAvailability {
    db: Database,
    rows: RwLock<HashMap<String, BTreeMap<String, Levels>>>,
    /// The position the rows reflect; waited on for `min_position`.
    position: watch::Sender<i64>,
    /// Whether a catch-up is running (one at a time: they would race on `position`).
    catching_up: tokio::sync::Mutex<()>,
}

impl LiveAvailability {
    /// Load the SQL read model's active generation (opened, so its tables exist),
    /// then catch up with the log.
    pub async fn load(sql: &Projector<Availability>) -> Result<Arc<Self>, ProjectionError> {
        let db = sql.db().clone();
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let loaded: Vec<Row> = on_reader!(&db, pool => {
            sqlx::query_as(
                "SELECT c.position, s.sku, s.warehouse_id, s.on_hand, s.held
                 FROM projection_active a
                 JOIN projection_checkpoints c ON c.name = a.name AND c.generation = a.generation
                 LEFT JOIN availability s ON s.generation = a.generation
                 WHERE a.name = $1",
            )
            .bind(Availability::NAME)
            .fetch_all(pool)
            .await?
        });
        let position = loaded.first().map(|row| row.0).unwrap_or(0);
        let mut rows: HashMap<String, BTreeMap<String, Levels>> = HashMap::new();
        for (_, sku, warehouse_id, on_hand, held) in loaded {
            if let (Some(sku), Some(warehouse_id), Some(on_hand), Some(held)) =
                (sku, warehouse_id, on_hand, held)
            {
                rows.entry(sku)
                    .or_default()
                    .insert(warehouse_id, Levels { on_hand, held });
            }
        }
        let live = Arc::new(Self {
            db,
            rows: RwLock::new(rows),
            position: watch::channel(position).0,
            catching_up: tokio::sync::Mutex::new(()),
        });
        live.catch_up().await?;
        Ok(live)
    }

    /// The database it loaded from and follows.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The position the answers reflect.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// Wait (at most `timeout`) until the copy has reached `min_position`.
    pub async fn wait_for(&self, min_position: i64, timeout: Duration) -> Result<(), WaitError> {
        wait_for_position(&self.position, min_position, timeout).await
    }

    /// A SKU's stock (in one warehouse, or all), and the position it reflects;
    /// `None` when no stock of it (there) was ever recorded.
    pub fn query(&self, sku: &str, warehouse_id: Option<&str>) -> (Option<AvailabilityView>, i64) {
        let rows = self.rows.read().unwrap_or_else(|e| e.into_inner());
        // Read under the lock that writers take before publishing a position, so the
        // rows reflect at least this position.
        let position = self.position();
        let warehouses: Vec<WarehouseAvailability> = rows
            .get(sku)
            .into_iter()
            .flatten()
            .filter(|(id, _)| warehouse_id.is_none_or(|w| w == id.as_str()))
            .map(|(id, levels)| WarehouseAvailability {
                warehouse_id: id.clone(),
                on_hand: levels.on_hand,
                held: levels.held,
                available: (levels.on_hand - levels.held).max(0),
            })
            .collect();
        drop(rows);
        (AvailabilityView::of(sku, warehouses, position), position)
    }

    /// Follow the log for as long as the process runs, woken by `committed`.
    pub fn spawn_follow(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        let live = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = live.catch_up().await {
                    tracing::error!(%error, "live availability failed to follow the log; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                if *committed.borrow_and_update() > live.position() {
                    continue;
                }
                let _ = tokio::time::timeout(IDLE_RECHECK, committed.changed()).await;
            }
        });
    }

    /// Apply every stock event committed so far.
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        let _one_at_a_time = self.catching_up.lock().await;
        loop {
            let from = self.position();
            // Read the head first: commits are numbered in commit order, so every
            // event up to it is visible to the read that follows, and the copy may
            // claim the head even when its last events were not stock events.
            let head = self.db.head().await?;
            let records = self
                .db
                .read_type_after(STOCK_AGGREGATE, from, BATCH)
                .await?;
            let full = records.len() as i64 == BATCH;
            // The read may also see events committed after the head was read: the
            // copy then reflects those too (and must not read them again).
            let last = records.last().map_or(from, |last| last.position);
            let reached = if full { last } else { head.max(last) };
            let changes = fold(&records)?;
            {
                let mut rows = self.rows.write().unwrap_or_else(|e| e.into_inner());
                for ((sku, warehouse_id), change) in changes {
                    let levels = rows
                        .entry(sku)
                        .or_default()
                        .entry(warehouse_id)
                        .or_default();
                    apply(levels, change);
                }
                self.position.send_if_modified(|position| {
                    let advanced = reached > *position;
                    *position = (*position).max(reached);
                    advanced
                });
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// A batch's change to one row, as the SQL model applies it.
fn apply(levels: &mut Levels, change: Change) {
    (levels.on_hand, levels.held) = change.applied_to((levels.on_hand, levels.held));
}
