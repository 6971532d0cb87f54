//! The booked nights' reads and writes for one batch: on PostgreSQL each is one
//! statement over arrays (`unnest`), on SQLite a statement per row (one writer,
//! in process: round trips cost little there).
//!
//! On PostgreSQL every lookup goes row by row through the primary key: a lateral
//! subquery the planner may not flatten (`OFFSET 0`), and deletes by the `ctid`s it
//! finds. A generation being filled (a first catch-up, a rebuild) has no statistics
//! yet, so the planner took `generation = $1` for a few rows and joined the arrays
//! to the whole generation, hashed, once a batch: catching up grew with the square
//! of the nights (a lookup of 500 stays took 50–120 ms at 100,000–300,000 nights,
//! against about 1.5 ms through the key).

use event_log::WriteTx;

use super::play::{Holder, Nights, Played, Ranges};
use crate::runtime::ProjectionError;

/// The kept ranges of `stays` (`(listing, stay)` pairs).
pub(super) async fn ranges(
    tx: &mut WriteTx,
    generation: i64,
    stays: &[(String, String)],
) -> Result<Ranges, ProjectionError> {
    let mut ranges = Ranges::new();
    if stays.is_empty() {
        return Ok(ranges);
    }
    let rows: Vec<(String, String, String, String)> = match tx {
        WriteTx::Postgres(t) => {
            let (listings, stay_ids): (Vec<&str>, Vec<&str>) =
                stays.iter().map(|(l, s)| (l.as_str(), s.as_str())).unzip();
            sqlx::query_as(
                "SELECT r.listing_id, r.stay_id, r.check_in, r.check_out
                 FROM unnest($2::text[], $3::text[]) AS q(listing_id, stay_id)
                 CROSS JOIN LATERAL (
                     SELECT * FROM stay_ranges r
                     WHERE r.generation = $1 AND r.listing_id = q.listing_id
                       AND r.stay_id = q.stay_id
                     OFFSET 0) r",
            )
            .bind(generation)
            .bind(&listings)
            .bind(&stay_ids)
            .fetch_all(&mut **t)
            .await?
        }
        WriteTx::Sqlite(t) => {
            let mut rows = Vec::new();
            for (listing_id, stay_id) in stays {
                let row: Option<(String, String, String, String)> = sqlx::query_as(
                    "SELECT listing_id, stay_id, check_in, check_out FROM stay_ranges
                     WHERE generation = $1 AND listing_id = $2 AND stay_id = $3",
                )
                .bind(generation)
                .bind(listing_id)
                .bind(stay_id)
                .fetch_optional(&mut **t)
                .await?;
                rows.extend(row);
            }
            rows
        }
    };
    for (listing_id, stay_id, check_in, check_out) in rows {
        ranges.insert((listing_id, stay_id), (check_in, check_out));
    }
    Ok(ranges)
}

/// Who holds each night of `spans` (`(listing, first night, last night)`).
pub(super) async fn holders(
    tx: &mut WriteTx,
    generation: i64,
    spans: &[(String, String, String)],
) -> Result<Nights, ProjectionError> {
    let mut nights = Nights::new();
    if spans.is_empty() {
        return Ok(nights);
    }
    type Row = (String, String, String, Option<i64>);
    let rows: Vec<Row> = match tx {
        WriteTx::Postgres(t) => {
            let mut listings = Vec::with_capacity(spans.len());
            let mut firsts = Vec::with_capacity(spans.len());
            let mut lasts = Vec::with_capacity(spans.len());
            for (listing_id, first, last) in spans {
                listings.push(listing_id.as_str());
                firsts.push(first.as_str());
                lasts.push(last.as_str());
            }
            sqlx::query_as(
                "SELECT DISTINCT n.listing_id, n.night, n.stay_id, n.ends_at_us
                 FROM unnest($2::text[], $3::text[], $4::text[]) AS q(listing_id, first, last)
                 CROSS JOIN LATERAL (
                     SELECT * FROM stay_nights n
                     WHERE n.generation = $1 AND n.listing_id = q.listing_id
                       AND n.night >= q.first AND n.night <= q.last
                     OFFSET 0) n",
            )
            .bind(generation)
            .bind(&listings)
            .bind(&firsts)
            .bind(&lasts)
            .fetch_all(&mut **t)
            .await?
        }
        WriteTx::Sqlite(t) => {
            let mut rows = Vec::new();
            for (listing_id, first, last) in spans {
                let found: Vec<Row> = sqlx::query_as(
                    "SELECT listing_id, night, stay_id, ends_at_us FROM stay_nights
                     WHERE generation = $1 AND listing_id = $2 AND night >= $3 AND night <= $4",
                )
                .bind(generation)
                .bind(listing_id)
                .bind(first)
                .bind(last)
                .fetch_all(&mut **t)
                .await?;
                rows.extend(found);
            }
            rows
        }
    };
    for (listing_id, night, stay_id, ends_at_us) in rows {
        nights.entry(listing_id).or_default().insert(
            night,
            Holder {
                stay_id,
                ends_at_us,
            },
        );
    }
    Ok(nights)
}

/// Write what a batch played: the released stays' rows go first, then each
/// changed night is written (or goes), then the new ranges and the conflicts.
pub(super) async fn write(
    tx: &mut WriteTx,
    generation: i64,
    played: &Played,
) -> Result<(), ProjectionError> {
    let (held, freed): (Vec<_>, Vec<_>) = played
        .nights
        .iter()
        .partition(|(_, _, holder)| holder.is_some());
    match tx {
        WriteTx::Postgres(t) => {
            // A released stay's nights, then the nights freed one by one.
            let released = columns2(played.released.iter().map(|(l, s)| (l, s)));
            delete_nights_by(t, generation, "stay_id", released).await?;
            let freed = columns2(freed.iter().map(|(l, n, _)| (l, n)));
            delete_nights_by(t, generation, "night", freed).await?;
            if !held.is_empty() {
                let mut listings = Vec::with_capacity(held.len());
                let mut nights = Vec::with_capacity(held.len());
                let mut stays = Vec::with_capacity(held.len());
                let mut ends = Vec::with_capacity(held.len());
                for (listing_id, night, holder) in &held {
                    let holder = holder.as_ref().expect("partitioned on being held");
                    listings.push(listing_id.as_str());
                    nights.push(night.as_str());
                    stays.push(holder.stay_id.as_str());
                    ends.push(holder.ends_at_us);
                }
                sqlx::query(
                    "INSERT INTO stay_nights (generation, listing_id, night, stay_id, ends_at_us)
                     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[])
                     ON CONFLICT (generation, listing_id, night)
                     DO UPDATE SET stay_id = EXCLUDED.stay_id, ends_at_us = EXCLUDED.ends_at_us",
                )
                .bind(generation)
                .bind(&listings)
                .bind(&nights)
                .bind(&stays)
                .bind(&ends)
                .execute(&mut **t)
                .await?;
            }
            if !played.ranges.is_empty() {
                let mut columns: [Vec<&str>; 4] = Default::default();
                for (listing_id, stay_id, check_in, check_out) in &played.ranges {
                    for (column, value) in columns
                        .iter_mut()
                        .zip([listing_id, stay_id, check_in, check_out])
                    {
                        column.push(value.as_str());
                    }
                }
                let [listings, stays, check_ins, check_outs] = columns;
                sqlx::query(
                    "INSERT INTO stay_ranges (generation, listing_id, stay_id, check_in, check_out)
                     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                     ON CONFLICT (generation, listing_id, stay_id) DO NOTHING",
                )
                .bind(generation)
                .bind(&listings)
                .bind(&stays)
                .bind(&check_ins)
                .bind(&check_outs)
                .execute(&mut **t)
                .await?;
            }
        }
        WriteTx::Sqlite(t) => {
            for (listing_id, stay_id) in &played.released {
                sqlx::query(
                    "DELETE FROM stay_nights WHERE generation = $1 AND listing_id = $2 AND stay_id = $3",
                )
                .bind(generation).bind(listing_id).bind(stay_id)
                .execute(&mut **t).await?;
            }
            for (listing_id, night, _) in &freed {
                sqlx::query(
                    "DELETE FROM stay_nights WHERE generation = $1 AND listing_id = $2 AND night = $3",
                )
                .bind(generation).bind(listing_id).bind(night)
                .execute(&mut **t).await?;
            }
            for (listing_id, night, holder) in &held {
                let holder = holder.as_ref().expect("partitioned on being held");
                sqlx::query(
                    "INSERT INTO stay_nights (generation, listing_id, night, stay_id, ends_at_us)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (generation, listing_id, night)
                     DO UPDATE SET stay_id = EXCLUDED.stay_id, ends_at_us = EXCLUDED.ends_at_us",
                )
                .bind(generation)
                .bind(listing_id)
                .bind(night)
                .bind(&holder.stay_id)
                .bind(holder.ends_at_us)
                .execute(&mut **t)
                .await?;
            }
            for (listing_id, stay_id, check_in, check_out) in &played.ranges {
                sqlx::query(
                    "INSERT INTO stay_ranges (generation, listing_id, stay_id, check_in, check_out)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (generation, listing_id, stay_id) DO NOTHING",
                )
                .bind(generation)
                .bind(listing_id)
                .bind(stay_id)
                .bind(check_in)
                .bind(check_out)
                .execute(&mut **t)
                .await?;
            }
        }
    }
    // Rare (a logic error somewhere): one statement each, the same on both.
    for conflict in &played.conflicts {
        event_log::on_tx!(&mut *tx, t => {
            sqlx::query(
                "INSERT INTO stay_night_conflicts (generation, listing_id, night, stay_id, held_by, position)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (generation, listing_id, night, stay_id) DO NOTHING",
            )
            .bind(generation).bind(&conflict.listing_id).bind(&conflict.night)
            .bind(&conflict.stay_id).bind(&conflict.held_by).bind(conflict.position)
            .execute(&mut **t).await?;
        });
    }
    Ok(())
}

/// Delete the generation's nights of each listing in `listings` whose `column`
/// (`stay_id` or `night`) is the value beside it in `values`, found through the
/// primary key (see the module's note).
async fn delete_nights_by(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    generation: i64,
    column: &'static str,
    (listings, values): (Vec<&str>, Vec<&str>),
) -> Result<(), ProjectionError> {
    if listings.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM stay_nights WHERE ctid = ANY(ARRAY(
             SELECT n.ctid FROM unnest($2::text[], $3::text[]) AS q(listing_id, value)
             CROSS JOIN LATERAL (
                 SELECT ctid FROM stay_nights n
                 WHERE n.generation = $1 AND n.listing_id = q.listing_id
                   AND n.{column} = q.value
                 OFFSET 0) n))"
    );
    sqlx::query(&sql)
        .bind(generation)
        .bind(&listings)
        .bind(&values)
        .execute(&mut **t)
        .await?;
    Ok(())
}

/// Two columns of text, for `unnest`.
fn columns2<'a>(
    rows: impl Iterator<Item = (&'a String, &'a String)>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    rows.map(|(a, b)| (a.as_str(), b.as_str())).unzip()
}
