//! What a batch of stay events does to the booked nights, worked out in memory.
//!
//! The batch reads once the rows of every night its stays cover and the ranges of
//! the stays it names, plays its events on them in log order exactly as applying
//! them one at a time would, and writes once what changed: per booking, a read and
//! a write were most of the projection's statements.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::DoubleBooking;

/// What one stay event does to its listing's nights.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A stay is requested or held: it takes its nights until `ends_at_us`.
    Take {
        listing_id: String,
        stay_id: String,
        check_in: String,
        check_out: String,
        ends_at_us: i64,
        at_us: i64,
        position: i64,
    },
    /// Paid: the stay keeps its nights for good.
    Confirm {
        listing_id: String,
        stay_id: String,
        at_us: i64,
        position: i64,
    },
    /// The hold lapsed or the stay was cancelled: its nights are free.
    Release { listing_id: String, stay_id: String },
}

impl Change {
    pub(crate) fn listing_id(&self) -> &str {
        match self {
            Change::Take { listing_id, .. }
            | Change::Confirm { listing_id, .. }
            | Change::Release { listing_id, .. } => listing_id,
        }
    }

    pub(crate) fn stay_id(&self) -> &str {
        match self {
            Change::Take { stay_id, .. }
            | Change::Confirm { stay_id, .. }
            | Change::Release { stay_id, .. } => stay_id,
        }
    }
}

/// The stay holding a night, and until when (`None`: confirmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub stay_id: String,
    pub ends_at_us: Option<i64>,
}

/// Nights by listing, then night (ISO dates: their text order is their order).
pub(crate) type Nights = HashMap<String, BTreeMap<String, Holder>>;
/// A stay's `(check_in, check_out)` by `(listing, stay)`.
pub(crate) type Ranges = HashMap<(String, String), (String, String)>;

/// What a batch writes.
#[derive(Debug, Default)]
pub(crate) struct Played {
    /// Every row of these `(listing, stay)` goes (written first).
    pub released: Vec<(String, String)>,
    /// Nights the batch changed: the holder now, or `None` (the row goes).
    pub nights: Vec<(String, String, Option<Holder>)>,
    /// Ranges of stays taken, kept for their confirmation (the first one stays).
    pub ranges: Vec<(String, String, String, String)>,
    pub conflicts: Vec<DoubleBooking>,
}

/// The `(listing, stay)` pairs whose ranges the batch needs.
pub(crate) fn stays_named(changes: &[Change]) -> Vec<(String, String)> {
    let mut named: Vec<(String, String)> = changes
        .iter()
        .filter(|c| !matches!(c, Change::Release { .. }))
        .map(|c| (c.listing_id().to_string(), c.stay_id().to_string()))
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

/// Per listing, the first and last night any of the batch's stays may take, given
/// the ranges already kept.
pub(crate) fn spans(changes: &[Change], ranges: &Ranges) -> Vec<(String, String, String)> {
    let mut spans = Vec::new();
    for change in changes {
        let range = match change {
            Change::Take {
                check_in,
                check_out,
                ..
            } => Some((check_in.as_str(), check_out.as_str())),
            Change::Confirm {
                listing_id,
                stay_id,
                ..
            } => ranges
                .get(&(listing_id.clone(), stay_id.clone()))
                .map(|(a, b)| (a.as_str(), b.as_str())),
            Change::Release { .. } => None,
        };
        let Some(nights) = range.map(|(from, until)| nights_between(from, until)) else {
            continue;
        };
        if let (Some(first), Some(last)) = (nights.first(), nights.last()) {
            spans.push((change.listing_id().to_string(), first.clone(), last.clone()));
        }
    }
    spans
}

/// Play `changes` in order on `nights` (every night their stays cover, as stored)
/// and `ranges` (those of the stays they name, as stored), skipping listings in
/// `stopped` and adding those a double booking stops.
pub(crate) fn play(
    changes: Vec<Change>,
    mut nights: Nights,
    mut ranges: Ranges,
    stopped: &mut HashSet<String>,
) -> Played {
    let mut played = Played::default();
    let mut touched: HashSet<(String, String)> = HashSet::new();
    for change in changes {
        if stopped.contains(change.listing_id()) {
            continue;
        }
        match change {
            Change::Take {
                listing_id,
                stay_id,
                check_in,
                check_out,
                ends_at_us,
                at_us,
                position,
            } => {
                let key = (listing_id.clone(), stay_id.clone());
                if let std::collections::hash_map::Entry::Vacant(vacant) = ranges.entry(key) {
                    vacant.insert((check_in.clone(), check_out.clone()));
                    played.ranges.push((
                        listing_id.clone(),
                        stay_id.clone(),
                        check_in.clone(),
                        check_out.clone(),
                    ));
                }
                let taken = nights_between(&check_in, &check_out);
                let claim = Claim {
                    listing_id: &listing_id,
                    stay_id: &stay_id,
                    ends_at_us: Some(ends_at_us),
                    at_us,
                    position,
                };
                claim.apply(&taken, &mut nights, &mut touched, &mut played, stopped);
            }
            Change::Confirm {
                listing_id,
                stay_id,
                at_us,
                position,
            } => {
                let Some((check_in, check_out)) =
                    ranges.get(&(listing_id.clone(), stay_id.clone()))
                else {
                    continue;
                };
                let taken = nights_between(check_in, check_out);
                let claim = Claim {
                    listing_id: &listing_id,
                    stay_id: &stay_id,
                    ends_at_us: None,
                    at_us,
                    position,
                };
                claim.apply(&taken, &mut nights, &mut touched, &mut played, stopped);
            }
            Change::Release {
                listing_id,
                stay_id,
            } => release(
                &listing_id,
                &stay_id,
                &mut nights,
                &mut touched,
                &mut played,
            ),
        }
    }
    let mut touched: Vec<(String, String)> = touched.into_iter().collect();
    touched.sort_unstable();
    played.nights = touched
        .into_iter()
        .map(|(listing_id, night)| {
            let holder = nights
                .get(&listing_id)
                .and_then(|of_listing| of_listing.get(&night))
                .cloned();
            (listing_id, night, holder)
        })
        .collect();
    played
}

/// A stay taking its nights.
struct Claim<'a> {
    listing_id: &'a str,
    stay_id: &'a str,
    ends_at_us: Option<i64>,
    /// When the event was recorded: a hold that had ended by then gives way.
    at_us: i64,
    position: i64,
}

impl Claim<'_> {
    /// Give the nights to the stay, unless another stay holds one of them and its
    /// hold had not ended: a double booking. The stay then keeps none of the
    /// listing's nights, the conflict is recorded and the listing stopped.
    fn apply(
        &self,
        taken: &[String],
        nights: &mut Nights,
        touched: &mut HashSet<(String, String)>,
        played: &mut Played,
        stopped: &mut HashSet<String>,
    ) {
        let of_listing = nights.entry(self.listing_id.to_string()).or_default();
        let conflicts: Vec<DoubleBooking> = taken
            .iter()
            .filter_map(|night| {
                let holder = of_listing.get(night)?;
                let other = holder.stay_id != self.stay_id
                    && holder.ends_at_us.is_none_or(|end| end > self.at_us);
                other.then(|| DoubleBooking {
                    listing_id: self.listing_id.to_string(),
                    night: night.clone(),
                    stay_id: self.stay_id.to_string(),
                    held_by: holder.stay_id.clone(),
                    position: self.position,
                })
            })
            .collect();
        if conflicts.is_empty() {
            for night in taken {
                of_listing.insert(
                    night.clone(),
                    Holder {
                        stay_id: self.stay_id.to_string(),
                        ends_at_us: self.ends_at_us,
                    },
                );
                touched.insert((self.listing_id.to_string(), night.clone()));
            }
            return;
        }
        release(self.listing_id, self.stay_id, nights, touched, played);
        played.conflicts.extend(conflicts);
        stopped.insert(self.listing_id.to_string());
    }
}

/// Free every night of a stay: those known here now, the rest by its rows.
fn release(
    listing_id: &str,
    stay_id: &str,
    nights: &mut Nights,
    touched: &mut HashSet<(String, String)>,
    played: &mut Played,
) {
    if let Some(of_listing) = nights.get_mut(listing_id) {
        of_listing.retain(|night, holder| {
            let keep = holder.stay_id != stay_id;
            if !keep {
                touched.insert((listing_id.to_string(), night.clone()));
            }
            keep
        });
    }
    played
        .released
        .push((listing_id.to_string(), stay_id.to_string()));
}

/// The nights of `[check_in, check_out)` (ISO dates), none if either does not parse.
pub(crate) fn nights_between(check_in: &str, check_out: &str) -> Vec<String> {
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
