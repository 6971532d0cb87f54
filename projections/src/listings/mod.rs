//! Listings: what was created, one table per kind (warehouses, products, orders,
//! reservations, flash sales), for the list endpoints with cursor pagination.
//!
//! One projection keeps all five tables (they share a checkpoint, so a list's
//! `position` is the same for each kind and one `min_position` wait serves them
//! all). Each batch is folded per table in memory ([`pending`]) and written with
//! one upsert per table ([`upsert`]).

pub mod flash_sales;
pub mod orders;
pub mod page;
mod pending;
pub mod products;
pub mod reservations;
mod upsert;
pub mod warehouses;

use chrono::{DateTime, Utc};
use event_log::{on_reader, on_tx, Database, LogRecord, WriteTx};
use event_schemas::RecordedEvent;

use crate::runtime::{ProjectionError, SqlModel};
use page::After;
use pending::Pending;
use upsert::Table;

pub use page::{BadCursor, Page};

/// The projection's name (for rebuilds and checkpoints).
pub const NAME: &str = "listings";

/// The most items one page holds.
pub const MAX_LIMIT: usize = 100;
/// Items on a page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 20;

pub struct Listings;

/// Which page to read.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub limit: usize,
    pub after: After,
}

impl ListQuery {
    /// Rows to fetch: one more than the page, to know whether another follows.
    fn fetch(&self) -> i64 {
        self.limit as i64 + 1
    }
}

fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn tables() -> [&'static Table; 5] {
    [
        &warehouses::TABLE,
        &products::TABLE,
        &orders::TABLE,
        &reservations::TABLE,
        &flash_sales::TABLE,
    ]
}

static ALL_TABLES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    [
        warehouses::TABLES,
        products::TABLES,
        orders::TABLES,
        reservations::TABLES,
        flash_sales::TABLES,
    ]
    .concat()
});

/// The position the listings reflect (read before their rows, so an answer
/// reflects at least this position).
async fn list_position(db: &Database) -> Result<i64, sqlx::Error> {
    let position: Option<i64> = on_reader!(db, pool => {
        sqlx::query_scalar(
            "SELECT c.position FROM projection_active a
             JOIN projection_checkpoints c ON c.name = a.name AND c.generation = a.generation
             WHERE a.name = $1",
        )
        .bind(NAME)
        .fetch_optional(pool)
        .await?
    });
    Ok(position.unwrap_or(0))
}

impl SqlModel for Listings {
    const NAME: &'static str = NAME;
    const TABLE: &'static str = "listed_orders";

    /// Only the kinds listed: stock and activity events are most of the log and
    /// list nothing.
    fn reads(&self, record: &LogRecord) -> bool {
        matches!(
            record.aggregate_type.as_str(),
            event_schemas::warehouse::WAREHOUSE_AGGREGATE
                | event_schemas::product::PRODUCT_AGGREGATE
                | event_schemas::order::ORDER_AGGREGATE
                | event_schemas::reservation::RESERVATION_AGGREGATE
                | event_schemas::flash_sale::FLASH_SALE_AGGREGATE
        )
    }

    fn tables(&self) -> &'static [&'static str] {
        ALL_TABLES.as_slice()
    }

    async fn apply(
        &self,
        tx: &mut WriteTx,
        generation: i64,
        events: &[LogRecord],
    ) -> Result<(), ProjectionError> {
        let mut pending = tables().map(Pending::new);
        let [warehouses, products, orders, reservations, flash_sales] = &mut pending;
        for record in events {
            if !self.reads(record) {
                continue;
            }
            let position = record.position;
            match record.decode()? {
                RecordedEvent::Warehouse(event) => warehouses::fold(&event, position, warehouses),
                RecordedEvent::Product(event) => products::fold(&event, position, products),
                RecordedEvent::Order(event) => orders::fold(&event, position, orders),
                RecordedEvent::Reservation(event) => {
                    reservations::fold(&event, position, reservations)
                }
                RecordedEvent::FlashSale(event) => flash_sales::fold(&event, position, flash_sales),
                _ => {}
            }
        }
        for rows in pending {
            let table = rows.table();
            table.upsert(tx, generation, &rows.into_rows()).await?;
        }
        Ok(())
    }

    async fn drop_generation(
        &self,
        tx: &mut WriteTx,
        generation: i64,
    ) -> Result<(), ProjectionError> {
        for table in tables() {
            let sql = format!("DELETE FROM {} WHERE generation = $1", table.name);
            on_tx!(&mut *tx, t => {
                sqlx::query(&sql).bind(generation).execute(&mut **t).await?;
            });
        }
        Ok(())
    }
}
