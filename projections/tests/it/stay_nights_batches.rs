//! Booked nights applied a batch at a time give exactly what applying each event on
//! its own gives: random stay events (holds that overlap, take over ended holds,
//! lapse, are confirmed, cancelled and held again), cut into random batches, on
//! both databases, against a reference written one event at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use event_log::LogRecord;
use event_schemas::stays::{ListingEvent, StayPrice, StayRequest};
use projections::runtime::SqlModel;
use projections::stay_nights::StayNights;
use projections::Projector;

use crate::support::Backend;

crate::on_both_backends!(batches_book_the_nights_single_events_would);

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn stay(stay_id: &str, check_in: NaiveDate, nights: i64) -> StayRequest {
    StayRequest {
        stay_id: stay_id.into(),
        guest: "g".into(),
        check_in,
        check_out: check_in + Duration::days(nights),
        guests: 1,
        price: StayPrice {
            currency: "EUR".into(),
            nights: Vec::new(),
            cleaning_fee: 0,
            total: 0,
        },
        order_id: format!("o-{stay_id}"),
        search_id: None,
    }
}

/// `count` random stay events on three listings, each with when it was recorded.
fn random_events(dice: &mut Dice, count: usize) -> Vec<(ListingEvent, DateTime<Utc>)> {
    let start = NaiveDate::from_ymd_opt(2031, 3, 1).unwrap();
    let mut at = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap();
    let mut events = Vec::new();
    for _ in 0..count {
        at += Duration::minutes(dice.below(90) as i64);
        let listing_id = format!("l-{}", dice.below(3));
        let stay_id = format!("s-{}", dice.below(24));
        let event = match dice.below(10) {
            0..=3 => ListingEvent::StayHeld {
                listing_id,
                stay: stay(
                    &stay_id,
                    start + Duration::days(dice.below(40) as i64),
                    1 + dice.below(4) as i64,
                ),
                expires_at: at + Duration::minutes(15 + dice.below(300) as i64),
            },
            4 => ListingEvent::StayRequested {
                listing_id,
                stay: stay(
                    &stay_id,
                    start + Duration::days(dice.below(40) as i64),
                    1 + dice.below(3) as i64,
                ),
                respond_by: at + Duration::minutes(60 + dice.below(600) as i64),
            },
            5..=6 => ListingEvent::StayConfirmed {
                listing_id,
                order_id: format!("o-{stay_id}"),
                stay_id,
            },
            7..=8 => ListingEvent::HoldLapsed {
                listing_id,
                stay_id,
                reason: "unpaid".into(),
            },
            _ => ListingEvent::StayCancelled {
                listing_id,
                stay_id,
                by: event_schemas::stays::CancelledBy::Guest,
                refund: 0,
                refund_share: 0.0,
            },
        };
        events.push((event, at));
    }
    events
}

/// The booked nights as applying one event at a time leaves them: (listing, night)
/// → (stay, end), and the conflicts (listing, night, stay, held by, position).
#[derive(Default)]
struct Reference {
    nights: BTreeMap<(String, String), (String, Option<i64>)>,
    ranges: HashMap<(String, String), (NaiveDate, NaiveDate)>,
    stopped: HashSet<String>,
    conflicts: BTreeSet<(String, String, String, String, i64)>,
}

impl Reference {
    fn apply(&mut self, event: &ListingEvent, at_us: i64, position: i64) {
        let listing = event.listing_id().to_string();
        if self.stopped.contains(&listing) {
            return;
        }
        match event {
            ListingEvent::StayHeld {
                stay, expires_at, ..
            } => self.take(
                &listing,
                stay,
                expires_at.timestamp_micros(),
                at_us,
                position,
            ),
            ListingEvent::StayRequested {
                stay, respond_by, ..
            } => self.take(
                &listing,
                stay,
                respond_by.timestamp_micros(),
                at_us,
                position,
            ),
            ListingEvent::StayConfirmed { stay_id, .. } => {
                if let Some(&(from, until)) = self.ranges.get(&(listing.clone(), stay_id.clone())) {
                    self.claim(&listing, stay_id, from, until, None, at_us, position);
                }
            }
            ListingEvent::HoldLapsed { stay_id, .. }
            | ListingEvent::StayCancelled { stay_id, .. } => self.free(&listing, stay_id),
            _ => {}
        }
    }

    fn take(&mut self, listing: &str, stay: &StayRequest, ends: i64, at_us: i64, position: i64) {
        // The first range of a stay is the one its confirmation takes.
        self.ranges
            .entry((listing.to_string(), stay.stay_id.clone()))
            .or_insert((stay.check_in, stay.check_out));
        self.claim(
            listing,
            &stay.stay_id,
            stay.check_in,
            stay.check_out,
            Some(ends),
            at_us,
            position,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn claim(
        &mut self,
        listing: &str,
        stay_id: &str,
        from: NaiveDate,
        until: NaiveDate,
        ends: Option<i64>,
        at_us: i64,
        position: i64,
    ) {
        let nights: Vec<String> = from
            .iter_days()
            .take_while(|n| *n < until)
            .map(|n| n.to_string())
            .collect();
        let conflicts: Vec<_> = nights
            .iter()
            .filter_map(|night| {
                let (holder, end) = self.nights.get(&(listing.to_string(), night.clone()))?;
                (holder != stay_id && end.is_none_or(|end| end > at_us)).then(|| {
                    (
                        listing.to_string(),
                        night.clone(),
                        stay_id.to_string(),
                        holder.clone(),
                        position,
                    )
                })
            })
            .collect();
        if conflicts.is_empty() {
            for night in nights {
                self.nights
                    .insert((listing.to_string(), night), (stay_id.to_string(), ends));
            }
            return;
        }
        self.free(listing, stay_id);
        self.conflicts.extend(conflicts);
        self.stopped.insert(listing.to_string());
    }

    fn free(&mut self, listing: &str, stay_id: &str) {
        self.nights
            .retain(|(l, _), (holder, _)| l != listing || holder != stay_id);
    }
}

async fn batches_book_the_nights_single_events_would(backend: &mut Backend) {
    let projector = Projector::open(backend.read.clone(), StayNights)
        .await
        .unwrap();
    let mut checked_conflicts = 0;
    for seed in 1..=24u64 {
        // Each seed in its own generation, so they never meet.
        let generation = seed as i64 + 100;
        let mut dice = Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let events = random_events(&mut dice, 160);
        let records: Vec<LogRecord> = events
            .iter()
            .enumerate()
            .map(|(i, (event, at))| LogRecord {
                position: i as i64 + 1,
                aggregate_type: "listing".into(),
                event_version: "1.0".into(),
                payload: serde_json::to_string(event).unwrap(),
                occurred_at: *at,
            })
            .collect();
        let mut reference = Reference::default();
        for (record, (event, at)) in records.iter().zip(&events) {
            reference.apply(event, at.timestamp_micros(), record.position);
        }
        let mut rest = records.as_slice();
        while !rest.is_empty() {
            let size = (1 + dice.below(24) as usize).min(rest.len());
            let (batch, after) = rest.split_at(size);
            let mut tx = backend.read.begin_write().await.unwrap();
            projector
                .model()
                .apply(&mut tx, generation, batch)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            rest = after;
        }
        let stored: Vec<(String, String, String, Option<i64>)> = event_log::on_reader!(&backend.read, pool => {
            sqlx::query_as(
                "SELECT listing_id, night, stay_id, ends_at_us FROM stay_nights
                 WHERE generation = $1 ORDER BY listing_id, night",
            )
            .bind(generation)
            .fetch_all(pool)
            .await
            .unwrap()
        });
        let expected: Vec<(String, String, String, Option<i64>)> = reference
            .nights
            .iter()
            .map(|((l, n), (s, e))| (l.clone(), n.clone(), s.clone(), *e))
            .collect();
        assert_eq!(stored, expected, "seed {seed}");
        let conflicts: BTreeSet<(String, String, String, String, i64)> = event_log::on_reader!(&backend.read, pool => {
            sqlx::query_as(
                "SELECT listing_id, night, stay_id, held_by, position FROM stay_night_conflicts
                 WHERE generation = $1",
            )
            .bind(generation)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect()
        });
        assert_eq!(conflicts, reference.conflicts, "seed {seed}");
        checked_conflicts += conflicts.len();
    }
    // The generator does reach the double-booking path (else half of it is untested).
    assert!(checked_conflicts > 0);
}
