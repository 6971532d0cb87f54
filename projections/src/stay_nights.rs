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

use event_log::{on_reader, on_tx, Database, LogRecord, WriteTx};
use event_schemas::stays::{ListingEvent, StayRequest, LISTING_AGGREGATE};
use event_schemas::RecordedEvent;
use serde::Serialize;

use crate::runtime::{ProjectionError, SqlModel};

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
    "CREATE INDEX IF NOT EXISTS stay_nights_by_stay ON stay_nights (generation, listing_id, stay_id)",
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
        // Listings the projection stopped for: few (none, unless a double booking
        // was ever recorded), read once a batch.
        let mut stopped: HashSet<String> = HashSet::new();
        let mut stopped_read = false;
        for record in events {
            if !self.reads(record) {
                continue;
            }
            let RecordedEvent::Listing(event) = record.decode()? else {
                continue;
            };
            let listing_id = event.listing_id().to_string();
            if !stopped_read {
                stopped = stopped_listings(tx, generation).await?;
                stopped_read = true;
            }
            if stopped.contains(&listing_id) {
                continue;
            }
            let at_us = record.occurred_at.timestamp_micros();
            match &event {
                ListingEvent::StayRequested {
                    stay, respond_by, ..
                } => {
                    let claimed = take(
                        tx,
                        generation,
                        &listing_id,
                        stay,
                        Some(respond_by.timestamp_micros()),
                        at_us,
                        record.position,
                    )
                    .await?;
                    if !claimed {
                        stopped.insert(listing_id);
                    }
                }
                ListingEvent::StayHeld {
                    stay, expires_at, ..
                } => {
                    let claimed = take(
                        tx,
                        generation,
                        &listing_id,
                        stay,
                        Some(expires_at.timestamp_micros()),
                        at_us,
                        record.position,
                    )
                    .await?;
                    if !claimed {
                        stopped.insert(listing_id);
                    }
                }
                ListingEvent::StayConfirmed { stay_id, .. } => {
                    let range: Option<(String, String)> = on_tx!(&mut *tx, t => {
                        sqlx::query_as(
                            "SELECT check_in, check_out FROM stay_ranges
                             WHERE generation = $1 AND listing_id = $2 AND stay_id = $3",
                        )
                        .bind(generation).bind(&listing_id).bind(stay_id)
                        .fetch_optional(&mut **t).await?
                    });
                    if let Some((check_in, check_out)) = range {
                        let nights = nights_between(&check_in, &check_out);
                        let claimed = claim(
                            tx,
                            generation,
                            &listing_id,
                            stay_id,
                            &nights,
                            None,
                            at_us,
                            record.position,
                        )
                        .await?;
                        if !claimed {
                            stopped.insert(listing_id);
                        }
                    }
                }
                ListingEvent::HoldLapsed { stay_id, .. }
                | ListingEvent::StayCancelled { stay_id, .. } => {
                    on_tx!(&mut *tx, t => {
                        sqlx::query(
                            "DELETE FROM stay_nights WHERE generation = $1 AND listing_id = $2 AND stay_id = $3",
                        )
                        .bind(generation).bind(&listing_id).bind(stay_id)
                        .execute(&mut **t).await?;
                    });
                }
                _ => {}
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

/// A requested or held stay takes its nights (and its range is kept for the
/// confirmation, which names only the stay); `false` when it could not (a double
/// booking).
#[allow(clippy::too_many_arguments)]
async fn take(
    tx: &mut WriteTx,
    generation: i64,
    listing_id: &str,
    stay: &StayRequest,
    ends_at_us: Option<i64>,
    at_us: i64,
    position: i64,
) -> Result<bool, ProjectionError> {
    let (check_in, check_out) = (stay.check_in.to_string(), stay.check_out.to_string());
    on_tx!(&mut *tx, t => {
        sqlx::query(
            "INSERT INTO stay_ranges (generation, listing_id, stay_id, check_in, check_out)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (generation, listing_id, stay_id) DO NOTHING",
        )
        .bind(generation).bind(listing_id).bind(&stay.stay_id).bind(&check_in).bind(&check_out)
        .execute(&mut **t).await?;
    });
    let nights: Vec<String> = nights_of(stay);
    claim(
        tx,
        generation,
        listing_id,
        &stay.stay_id,
        &nights,
        ends_at_us,
        at_us,
        position,
    )
    .await
}

fn nights_of(stay: &StayRequest) -> Vec<String> {
    stay.check_in
        .iter_days()
        .take_while(|night| *night < stay.check_out)
        .map(|night| night.to_string())
        .collect()
}

fn nights_between(check_in: &str, check_out: &str) -> Vec<String> {
    match (
        check_in.parse::<chrono::NaiveDate>(),
        check_out.parse::<chrono::NaiveDate>(),
    ) {
        (Ok(from), Ok(until)) => from
            .iter_days()
            .take_while(|night| *night < until)
            .map(|night| night.to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// Give `nights` (consecutive, in order) to `stay_id`. A night another stay has is
/// taken over only if that stay's hold had ended when this event was recorded;
/// else it is a double booking: recorded, the stay takes none of the nights, and
/// nothing more of this listing is applied (`false`). One read and one write
/// whatever the number of nights.
#[allow(clippy::too_many_arguments)]
async fn claim(
    tx: &mut WriteTx,
    generation: i64,
    listing_id: &str,
    stay_id: &str,
    nights: &[String],
    ends_at_us: Option<i64>,
    at_us: i64,
    position: i64,
) -> Result<bool, ProjectionError> {
    let (Some(first), Some(last)) = (nights.first(), nights.last()) else {
        return Ok(true);
    };
    // Nights are ISO dates: their text order is their order.
    let holders: Vec<(String, String, Option<i64>)> = on_tx!(&mut *tx, t => {
        sqlx::query_as(
            "SELECT night, stay_id, ends_at_us FROM stay_nights
             WHERE generation = $1 AND listing_id = $2 AND night >= $3 AND night <= $4",
        )
        .bind(generation).bind(listing_id).bind(first).bind(last)
        .fetch_all(&mut **t).await?
    });
    let conflicts: Vec<(String, String)> = holders
        .into_iter()
        .filter(|(_, holder, ends)| holder != stay_id && ends.is_none_or(|end| end > at_us))
        .map(|(night, holder, _)| (night, holder))
        .collect();
    if conflicts.is_empty() {
        let rows = (0..nights.len())
            .map(|row| {
                let first = row * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    first + 1,
                    first + 2,
                    first + 3,
                    first + 4,
                    first + 5
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO stay_nights (generation, listing_id, night, stay_id, ends_at_us)
             VALUES {rows}
             ON CONFLICT (generation, listing_id, night)
             DO UPDATE SET stay_id = EXCLUDED.stay_id, ends_at_us = EXCLUDED.ends_at_us"
        );
        on_tx!(&mut *tx, t => {
            let mut query = sqlx::query(&sql);
            for night in nights {
                query = query.bind(generation).bind(listing_id).bind(night).bind(stay_id).bind(ends_at_us);
            }
            query.execute(&mut **t).await?;
        });
        return Ok(true);
    }
    // The stay keeps none of the listing's nights (those an earlier event of it
    // took included), so they stay as they were before it.
    on_tx!(&mut *tx, t => {
        sqlx::query(
            "DELETE FROM stay_nights WHERE generation = $1 AND listing_id = $2 AND stay_id = $3",
        )
        .bind(generation).bind(listing_id).bind(stay_id)
        .execute(&mut **t).await?;
    });
    for (night, held_by) in &conflicts {
        on_tx!(&mut *tx, t => {
            sqlx::query(
                "INSERT INTO stay_night_conflicts (generation, listing_id, night, stay_id, held_by, position)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (generation, listing_id, night, stay_id) DO NOTHING",
            )
            .bind(generation).bind(listing_id).bind(night).bind(stay_id).bind(held_by).bind(position)
            .execute(&mut **t).await?;
        });
    }
    metrics::counter!("stay_double_bookings_total").increment(conflicts.len() as u64);
    tracing::error!(
        %listing_id, %stay_id, position, nights = conflicts.len(),
        "two stays were recorded for the same nights; the booked-nights projection stops for this listing"
    );
    Ok(false)
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
