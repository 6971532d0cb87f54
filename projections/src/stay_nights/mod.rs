//! Booked nights: one row per (generation, listing, night) under a primary key, on
//! both databases — the second line of defence against double booking. The Listing
//! aggregate decides every booking of a listing one at a time, so two stays never
//! take a night; if a logic error ever recorded it anyway, the second stay's night
//! cannot be applied here. The projection then stops for that listing (its later
//! events are skipped), records the conflict, counts `stay_double_bookings_total`
//! and makes `/ready` report degraded, and never shows the night as the second
//! stay's.
//!
//! A hold past its end no longer keeps its nights (the aggregate lets another guest
//! have them before the order process records `HoldLapsed`): its rows give way to a
//! stay recorded after the end. A row whose hold had not ended when the other stay
//! was recorded is a conflict.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use event_log::{on_reader, on_tx, Database, LogRecord, WriteTx};
use event_schemas::stays::{ListingEvent, StayRequest, LISTING_AGGREGATE};
use event_schemas::RecordedEvent;
use serde::Serialize;

use crate::runtime::{ProjectionError, SqlModel};

mod play;
mod sql;

use play::Change;

pub struct StayNights;

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS stay_nights (
        generation BIGINT NOT NULL,
        listing_id TEXT NOT NULL,
        night TEXT NOT NULL,
        stay_id TEXT NOT NULL,
        -- microseconds since the epoch a hold or request keeps the night until;
        -- NULL once the stay is confirmed
        ends_at_us BIGINT,
        PRIMARY KEY (generation, listing_id, night))",
    // No index by stay: a released stay's rows are found through the primary key's
    // (generation, listing) prefix, among one listing's nights. Every hold writes a
    // row per night and few stays are released, and the second index made each
    // insert cost about half as much again (36,000 nights in batches of 90: 470-500
    // against 320-330 ms, psql lab, 2026-12-07).
    "DROP INDEX IF EXISTS stay_nights_by_stay",
    "CREATE TABLE IF NOT EXISTS stay_ranges (
        generation BIGINT NOT NULL,
        listing_id TEXT NOT NULL,
        stay_id TEXT NOT NULL,
        check_in TEXT NOT NULL,
        check_out TEXT NOT NULL,
        PRIMARY KEY (generation, listing_id, stay_id))",
    "CREATE TABLE IF NOT EXISTS stay_night_conflicts (
        generation BIGINT NOT NULL,
        listing_id TEXT NOT NULL,
        night TEXT NOT NULL,
        stay_id TEXT NOT NULL,
        held_by TEXT NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (generation, listing_id, night, stay_id))",
];

/// One night two stays were recorded for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoubleBooking {
    pub listing_id: String,
    pub night: String,
    /// The stay whose event could not be applied.
    pub stay_id: String,
    /// The stay the night stays with.
    pub held_by: String,
    /// The log position of the event that could not be applied.
    pub position: i64,
}

impl SqlModel for StayNights {
    const NAME: &'static str = "stay_nights";
    const TABLE: &'static str = "stay_nights";

    /// The events that take or free nights (told by their tag, without parsing).
    fn reads(&self, record: &LogRecord) -> bool {
        record.aggregate_type == LISTING_AGGREGATE
            && [
                "{\"StayRequested\"",
                "{\"StayHeld\"",
                "{\"StayConfirmed\"",
                "{\"HoldLapsed\"",
                "{\"StayCancelled\"",
            ]
            .iter()
            .any(|tag| record.payload.starts_with(tag))
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut WriteTx,
        generation: i64,
        events: &[LogRecord],
    ) -> Result<(), ProjectionError> {
        let changes = changes(self, events)?;
        if changes.is_empty() {
            return Ok(());
        }
        // Listings the projection stopped for: few (none, unless a double booking
        // was ever recorded).
        let mut stopped = stopped_listings(tx, generation).await?;
        let ranges = sql::ranges(tx, generation, &play::stays_named(&changes)).await?;
        let nights = sql::holders(tx, generation, &play::spans(&changes, &ranges)).await?;
        let played = play::play(changes, nights, ranges, &mut stopped);
        sql::write(tx, generation, &played).await?;
        if !played.conflicts.is_empty() {
            metrics::counter!("stay_double_bookings_total")
                .increment(played.conflicts.len() as u64);
            for conflict in &played.conflicts {
                tracing::error!(
                    listing_id = %conflict.listing_id, stay_id = %conflict.stay_id,
                    night = %conflict.night, held_by = %conflict.held_by,
                    position = conflict.position,
                    "two stays were recorded for the same night; the booked-nights projection stops for this listing"
                );
            }
        }
        Ok(())
    }

    async fn drop_generation(
        &self,
        tx: &mut WriteTx,
        generation: i64,
    ) -> Result<(), ProjectionError> {
        for table in ["stay_nights", "stay_ranges", "stay_night_conflicts"] {
            let sql = format!("DELETE FROM {table} WHERE generation = $1");
            on_tx!(&mut *tx, t => {
                sqlx::query(&sql).bind(generation).execute(&mut **t).await?;
            });
        }
        Ok(())
    }
}

/// The listings the projection stopped for after a conflict.
async fn stopped_listings(
    tx: &mut WriteTx,
    generation: i64,
) -> Result<HashSet<String>, ProjectionError> {
    let rows: Vec<(String,)> = on_tx!(tx, t => {
        sqlx::query_as(
            "SELECT DISTINCT listing_id FROM stay_night_conflicts WHERE generation = $1",
        )
        .bind(generation)
        .fetch_all(&mut **t).await?
    });
    Ok(rows.into_iter().map(|(listing,)| listing).collect())
}

/// The nights changes of the stay events among `events`, in log order.
fn changes(model: &StayNights, events: &[LogRecord]) -> Result<Vec<Change>, ProjectionError> {
    let mut changes = Vec::new();
    for record in events {
        if !model.reads(record) {
            continue;
        }
        let RecordedEvent::Listing(event) = record.decode()? else {
            continue;
        };
        let at_us = record.occurred_at.timestamp_micros();
        let position = record.position;
        let take = |listing_id: String, stay: StayRequest, ends: DateTime<Utc>| Change::Take {
            listing_id,
            stay_id: stay.stay_id,
            check_in: stay.check_in.to_string(),
            check_out: stay.check_out.to_string(),
            ends_at_us: ends.timestamp_micros(),
            at_us,
            position,
        };
        changes.push(match event {
            ListingEvent::StayRequested {
                listing_id,
                stay,
                respond_by,
            } => take(listing_id, stay, respond_by),
            ListingEvent::StayHeld {
                listing_id,
                stay,
                expires_at,
            } => take(listing_id, stay, expires_at),
            ListingEvent::StayConfirmed {
                listing_id,
                stay_id,
                ..
            } => Change::Confirm {
                listing_id,
                stay_id,
                at_us,
                position,
            },
            ListingEvent::HoldLapsed {
                listing_id,
                stay_id,
                ..
            }
            | ListingEvent::StayCancelled {
                listing_id,
                stay_id,
                ..
            } => Change::Release {
                listing_id,
                stay_id,
            },
            _ => continue,
        });
    }
    Ok(changes)
}

/// Every double booking the active generation found, oldest first.
pub async fn double_bookings(db: &Database) -> Result<Vec<DoubleBooking>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, i64)> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT c.listing_id, c.night, c.stay_id, c.held_by, c.position
             FROM projection_active a
             JOIN stay_night_conflicts c ON c.generation = a.generation
             WHERE a.name = $1
             ORDER BY c.position, c.night
             LIMIT 1000",
        )
        .bind(StayNights::NAME)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(listing_id, night, stay_id, held_by, position)| DoubleBooking {
                listing_id,
                night,
                stay_id,
                held_by,
                position,
            },
        )
        .collect())
}

/// The nights of a listing booked (held, requested or confirmed) in `[from, until)`,
/// with the stay holding each, as the active generation has them.
pub async fn booked_nights(
    db: &Database,
    listing_id: &str,
    from: chrono::NaiveDate,
    until: chrono::NaiveDate,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows: Vec<(String, String)> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT n.night, n.stay_id
             FROM projection_active a
             JOIN stay_nights n ON n.generation = a.generation
             WHERE a.name = $1 AND n.listing_id = $2 AND n.night >= $3 AND n.night < $4
             ORDER BY n.night",
        )
        .bind(StayNights::NAME)
        .bind(listing_id)
        .bind(from.to_string())
        .bind(until.to_string())
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}
