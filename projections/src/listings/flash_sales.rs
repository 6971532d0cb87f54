//! Flash sales, newest first, by status. A sale's status follows the clock as well
//! as its events: `scheduled` before its window, `open` in it, `ended` after it or
//! once ended, `cancelled` when cancelled.

use chrono::{DateTime, Utc};
use event_schemas::FlashSaleEvent;
use serde::Serialize;

use super::page::{After, Page};
use super::pending::Pending;
use super::upsert::{Kind, Table};
use super::{list_position, millis, ListQuery};
use event_log::{on_reader, Database};

pub static TABLE: Table = Table {
    name: "listed_flash_sales",
    columns: &[
        ("sale_id", Kind::Text),
        ("sku", Kind::Text),
        ("warehouse_id", Kind::Text),
        ("units", Kind::Int),
        ("price_amount", Kind::Int),
        ("currency", Kind::Text),
        ("starts_at_ms", Kind::Int),
        ("ends_at_ms", Kind::Int),
        ("ended_reason", Kind::Text),
        ("scheduled_position", Kind::Int),
    ],
};

pub const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS listed_flash_sales (
        generation BIGINT NOT NULL,
        sale_id TEXT NOT NULL,
        sku TEXT,
        warehouse_id TEXT,
        units BIGINT,
        price_amount BIGINT,
        currency TEXT,
        starts_at_ms BIGINT,
        ends_at_ms BIGINT,
        ended_reason TEXT,
        scheduled_position BIGINT,
        PRIMARY KEY (generation, sale_id))",
    "CREATE INDEX IF NOT EXISTS listed_flash_sales_newest ON listed_flash_sales (generation, scheduled_position)",
];

/// The statuses a list may be filtered by.
pub const STATUSES: &[&str] = &["scheduled", "open", "ended", "cancelled"];

/// A sale's status at `now`, from how it ended (if it did) and its window.
pub fn status_at(
    ended_reason: Option<&str>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> &'static str {
    match ended_reason {
        Some("cancelled") => "cancelled",
        Some(_) => "ended",
        None if now < starts_at => "scheduled",
        None if now < ends_at => "open",
        None => "ended",
    }
}

pub fn fold(event: &FlashSaleEvent, position: i64, rows: &mut Pending) {
    match event {
        FlashSaleEvent::FlashSaleScheduled {
            sale_id: id,
            sku,
            warehouse_id,
            units,
            price,
            starts_at,
            ends_at,
            ..
        } => {
            rows.text(id, "sku", sku);
            rows.text(id, "warehouse_id", warehouse_id);
            rows.int(id, "units", *units as i64);
            rows.int(id, "price_amount", price.amount);
            rows.text(id, "currency", &price.currency);
            rows.int(id, "starts_at_ms", millis(*starts_at));
            rows.int(id, "ends_at_ms", millis(*ends_at));
            rows.int(id, "scheduled_position", position);
        }
        FlashSaleEvent::FlashSaleEnded {
            sale_id: id,
            reason,
            ..
        } => rows.text(id, "ended_reason", reason),
        // Units held and sold change by the thousand during a sale: the sale's own
        // page answers them, the list does not follow them.
        FlashSaleEvent::FlashSaleUnitsHeld { .. }
        | FlashSaleEvent::FlashSaleUnitsSold { .. }
        | FlashSaleEvent::FlashSaleUnitsReturned { .. } => {}
    }
}

/// A flash sale as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashSaleSummary {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub units: i64,
    pub price_amount: i64,
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: &'static str,
    /// Log position of the event that scheduled it.
    pub scheduled_position: i64,
}

type Row = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    i64,
    Option<String>,
    i64,
);

/// Sales, newest first; `status` is one of [`STATUSES`].
pub async fn list(
    db: &Database,
    status: Option<&str>,
    query: &ListQuery,
    now: DateTime<Utc>,
) -> Result<Page<FlashSaleSummary>, sqlx::Error> {
    let position = list_position(db).await?;
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT f.sale_id, f.sku, f.warehouse_id, f.units, f.price_amount, f.currency,
                    f.starts_at_ms, f.ends_at_ms, f.ended_reason, f.scheduled_position
             FROM projection_active a
             JOIN listed_flash_sales f ON f.generation = a.generation
             WHERE a.name = $1
               AND f.scheduled_position IS NOT NULL
               AND ($2 IS NULL
                    OR ($2 = 'cancelled' AND f.ended_reason = 'cancelled')
                    OR ($2 = 'ended' AND ((f.ended_reason IS NOT NULL AND f.ended_reason <> 'cancelled')
                                          OR (f.ended_reason IS NULL AND f.ends_at_ms <= $3)))
                    OR ($2 = 'scheduled' AND f.ended_reason IS NULL AND $3 < f.starts_at_ms)
                    OR ($2 = 'open' AND f.ended_reason IS NULL AND f.starts_at_ms <= $3 AND $3 < f.ends_at_ms))
               AND ($4 IS NULL OR f.scheduled_position < $4)
             ORDER BY f.scheduled_position DESC
             LIMIT $5",
        )
        .bind(super::NAME)
        .bind(status)
        .bind(millis(now))
        .bind(query.after.position())
        .bind(query.fetch())
        .fetch_all(pool)
        .await?
    });
    let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let items = rows
        .into_iter()
        .map(
            |(
                sale_id,
                sku,
                warehouse_id,
                units,
                price_amount,
                currency,
                starts,
                ends,
                ended,
                at,
            )| {
                let (starts_at, ends_at) = (time(starts), time(ends));
                FlashSaleSummary {
                    status: status_at(ended.as_deref(), starts_at, ends_at, now),
                    sale_id,
                    sku,
                    warehouse_id,
                    units,
                    price_amount,
                    currency,
                    starts_at,
                    ends_at,
                    scheduled_position: at,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, query.limit, position, |f| {
        After::Position(f.scheduled_position)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_is_scheduled_then_open_then_ended_unless_it_ended_first() {
        let at = |h: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        let (starts, ends) = (at(10), at(12));
        assert_eq!(status_at(None, starts, ends, at(9)), "scheduled");
        assert_eq!(status_at(None, starts, ends, at(10)), "open");
        assert_eq!(status_at(None, starts, ends, at(12)), "ended");
        assert_eq!(status_at(Some("sold_out"), starts, ends, at(11)), "ended");
        assert_eq!(
            status_at(Some("cancelled"), starts, ends, at(9)),
            "cancelled"
        );
    }
}
