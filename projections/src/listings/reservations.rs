//! Reservations made through the reservations API, newest first, by status and
//! buyer. A held reservation past its end reads as `expired` (its holds lapse by
//! themselves), as the reservation does. The holds the order process takes for an
//! order are listed as the order.

use chrono::{DateTime, Utc};
use event_schemas::ReservationEvent;
use serde::Serialize;

use super::page::{After, Page};
use super::pending::Pending;
use super::upsert::{Kind, Table};
use super::{list_position, millis, ListQuery};
use event_log::{on_reader, Database};

pub static TABLE: Table = Table {
    name: "listed_reservations",
    columns: &[
        ("reservation_id", Kind::Text),
        ("buyer", Kind::Text),
        ("status", Kind::Text),
        ("lines", Kind::Int),
        ("units", Kind::Int),
        ("expires_at_ms", Kind::Int),
        ("requested_position", Kind::Int),
    ],
};

pub const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS listed_reservations (
        generation BIGINT NOT NULL,
        reservation_id TEXT NOT NULL,
        buyer TEXT,
        status TEXT,
        lines BIGINT,
        units BIGINT,
        expires_at_ms BIGINT,
        requested_position BIGINT,
        PRIMARY KEY (generation, reservation_id))",
    "CREATE INDEX IF NOT EXISTS listed_reservations_newest ON listed_reservations (generation, requested_position)",
];

/// The statuses a list may be filtered by.
pub const STATUSES: &[&str] = &[
    "requested",
    "held",
    "expired",
    "failed",
    "confirmed",
    "released",
];

/// Whether a process made the reservation for an order (its id is derived, with a
/// `:`, which no client id holds): such holds are listed as their order, not here.
fn made_for_an_order(event: &ReservationEvent) -> bool {
    event.reservation_id().contains(':')
}

pub fn fold(event: &ReservationEvent, position: i64, rows: &mut Pending) {
    if made_for_an_order(event) {
        return;
    }
    match event {
        ReservationEvent::ReservationRequested {
            reservation_id: id,
            buyer,
            lines,
            expires_at,
            ..
        } => {
            if let Some(buyer) = buyer {
                rows.text(id, "buyer", buyer);
            }
            rows.text(id, "status", "requested");
            rows.int(id, "lines", lines.len() as i64);
            rows.int(
                id,
                "units",
                lines.iter().map(|l| l.quantity as i64).sum::<i64>(),
            );
            rows.int(id, "expires_at_ms", millis(*expires_at));
            rows.int(id, "requested_position", position);
        }
        ReservationEvent::ReservationHeld {
            reservation_id: id,
            expires_at,
        }
        | ReservationEvent::ReservationExtended {
            reservation_id: id,
            expires_at,
        } => {
            if matches!(event, ReservationEvent::ReservationHeld { .. }) {
                rows.text(id, "status", "held");
            }
            rows.int(id, "expires_at_ms", millis(*expires_at));
        }
        ReservationEvent::ReservationFailed {
            reservation_id: id, ..
        } => rows.text(id, "status", "failed"),
        ReservationEvent::ReservationConfirmed { reservation_id: id } => {
            rows.text(id, "status", "confirmed")
        }
        ReservationEvent::ReservationReleased {
            reservation_id: id, ..
        } => rows.text(id, "status", "released"),
    }
}

/// A reservation as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReservationSummary {
    pub reservation_id: String,
    pub buyer: Option<String>,
    pub status: String,
    pub lines: i64,
    pub units: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// Log position of the request.
    pub requested_position: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ReservationFilter {
    /// One of [`STATUSES`].
    pub status: Option<String>,
    pub buyer: Option<String>,
}

type Row = (String, Option<String>, String, i64, i64, i64, i64);

pub async fn list(
    db: &Database,
    filter: &ReservationFilter,
    query: &ListQuery,
    now: DateTime<Utc>,
) -> Result<Page<ReservationSummary>, sqlx::Error> {
    let position = list_position(db).await?;
    // `held` and `expired` are both stored as held; the time tells them apart.
    let (stored_status, expired) = match filter.status.as_deref() {
        Some("held") => (Some("held"), Some(0)),
        Some("expired") => (Some("held"), Some(1)),
        other => (other, None),
    };
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT r.reservation_id, r.buyer, r.status, r.lines, r.units, r.expires_at_ms, r.requested_position
             FROM projection_active a
             JOIN listed_reservations r ON r.generation = a.generation
             WHERE a.name = $1
               AND r.requested_position IS NOT NULL
               AND ($2 IS NULL OR r.status = $2)
               AND ($3 IS NULL OR ($3 = 0 AND r.expires_at_ms > $4) OR ($3 = 1 AND r.expires_at_ms <= $4))
               AND ($5 IS NULL OR r.buyer = $5)
               AND ($6 IS NULL OR r.requested_position < $6)
             ORDER BY r.requested_position DESC
             LIMIT $7",
        )
        .bind(super::NAME)
        .bind(stored_status)
        .bind(expired)
        .bind(millis(now))
        .bind(filter.buyer.as_deref())
        .bind(query.after.position())
        .bind(query.fetch())
        .fetch_all(pool)
        .await?
    });
    let now_ms = millis(now);
    let items = rows
        .into_iter()
        .map(
            |(reservation_id, buyer, status, lines, units, expires_at_ms, requested_position)| {
                let status = if status == "held" && expires_at_ms <= now_ms {
                    "expired".to_string()
                } else {
                    status
                };
                ReservationSummary {
                    reservation_id,
                    buyer,
                    status,
                    lines,
                    units,
                    expires_at: DateTime::from_timestamp_millis(expires_at_ms),
                    requested_position,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, query.limit, position, |r| {
        After::Position(r.requested_position)
    }))
}
