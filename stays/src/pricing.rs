//! Nightly price suggestions: a listing's nightly price times factors for the
//! weekday and the month (from bookings of comparable listings nearby), how soon the
//! night is, local events around it, and searches against free supply in its area;
//! kept within the host's automatic-pricing range, or half to twice the price.

use chrono::{Datelike, Duration, NaiveDate};
use domain::stays::local_time::local_today;
use domain::stays::{nights, suggestion_bounds};
use serde::Serialize;

use crate::model::calendar::{day_of, words_of};
use crate::model::demand::LocalEvent;
use crate::model::grid::block_around;
use crate::model::listing::{Listing, Status};
use crate::model::StaysModel;

/// Nights one call suggests at most.
pub const MOST_NIGHTS: i64 = 366;
/// How far comparable listings may be.
const COMPARABLE_KM: f64 = 25.0;
/// Booked nights that count as much as the prior (no seasonality) does: with
/// fewer, a weekday's or month's factor stays nearer 1.
const WEEKDAY_PRIOR_NIGHTS: f64 = 70.0;
const MONTH_PRIOR_NIGHTS: f64 = 240.0;
/// How far seasonality moves a price at most.
const SEASON_RANGE: (f64, f64) = (0.7, 1.4);
/// Free nights this close are discounted.
const LAST_MINUTE: (i64, f64) = (7, 0.9);
const SOON: (i64, f64) = (14, 0.95);
/// A local event raises prices by its attendance over this, up to `EVENT_MOST`.
const EVENT_ATTENDANCE: f64 = 40_000.0;
const EVENT_MOST: f64 = 0.5;
/// How far demand against supply moves a price at most (either way).
const DEMAND_SWING: f64 = 0.25;
/// Cells around the listing's own that make its area (1: the 3×3 block, about
/// 30 km across).
const AREA_CELLS: i32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub night: NaiveDate,
    pub price: u64,
    /// The listing's nightly price the factors apply to.
    pub base: u64,
    pub factors: Vec<PriceFactor>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceFactor {
    /// `weekday`, `season`, `lead_time`, `local_event` or `demand`.
    pub name: &'static str,
    pub multiplier: f64,
    pub detail: String,
}

impl StaysModel {
    /// A price for each night of `[from, until)` (366 at most); `None` for an
    /// unknown listing.
    pub fn suggest_prices(
        &self,
        listing_id: &str,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Option<Vec<Suggestion>> {
        let listing = &self.listings[self.listing_index(listing_id)? as usize];
        let until = from
            .checked_add_signed(Duration::days(MOST_NIGHTS))
            .map_or(until, |most| until.min(most));
        if from >= until {
            return Some(Vec::new());
        }
        let details = &listing.details;
        let nearby: Vec<&Listing> = self
            .grid
            .within(details.location, COMPARABLE_KM)
            .map(|(listing, _, _)| &self.listings[listing as usize])
            .filter(|other| comparable(listing, other))
            .collect();
        let season = Seasonality::of(&nearby);
        let events: Vec<&LocalEvent> = self
            .events
            .values()
            .filter(|event| event.covers(details.location))
            .collect();
        let demand = AreaDemand::of(self, listing, day_of(from), day_of(until));
        let today = self.clock().map(|now| local_today(listing.zone, now));
        let (low, high) = listing
            .auto_price_range
            .unwrap_or_else(|| suggestion_bounds(details));
        let base = details.nightly_price;

        let suggestions = nights(from, until)
            .map(|night| {
                let day = day_of(night);
                let factors = vec![
                    season.weekday(night),
                    season.month(night),
                    lead_time(listing, night, today),
                    local_events(&events, listing, night),
                    demand.factor(day),
                ];
                let product: f64 = factors.iter().map(|f| f.multiplier).product();
                let price = ((base as f64 * product).round() as u64).clamp(low, high.max(low));
                Suggestion {
                    night,
                    price,
                    base,
                    factors,
                }
            })
            .collect();
        Some(suggestions)
    }
}

/// Listings whose bookings and supply compare with `listing`'s: the same property
/// type, not removed (the listing itself counts too).
fn comparable(listing: &Listing, other: &Listing) -> bool {
    other.status() != Status::Removed && other.kind == listing.kind
}

/// Booked nights of comparable listings by weekday and month.
struct Seasonality {
    weekdays: [u32; 7],
    months: [u32; 12],
    total: u32,
}

impl Seasonality {
    fn of(nearby: &[&Listing]) -> Self {
        let mut season = Seasonality {
            weekdays: [0; 7],
            months: [0; 12],
            total: 0,
        };
        for listing in nearby {
            for (sum, n) in season.weekdays.iter_mut().zip(listing.booked_weekdays) {
                *sum += n;
            }
            for (sum, n) in season.months.iter_mut().zip(listing.booked_months) {
                *sum += n;
            }
        }
        season.total = season.weekdays.iter().sum();
        season
    }

    /// The share of bookings a slot has against its fair share, pulled toward 1 by
    /// `prior` nights of no seasonality.
    fn shrunk(&self, booked: u32, fair_share: f64, prior: f64) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        let total = f64::from(self.total);
        let raw = f64::from(booked) / (total * fair_share);
        (1.0 + (raw - 1.0) * total / (total + prior)).clamp(SEASON_RANGE.0, SEASON_RANGE.1)
    }

    fn weekday(&self, night: NaiveDate) -> PriceFactor {
        let weekday = night.weekday();
        let booked = self.weekdays[weekday.num_days_from_monday() as usize];
        PriceFactor {
            name: "weekday",
            multiplier: self.shrunk(booked, 1.0 / 7.0, WEEKDAY_PRIOR_NIGHTS),
            detail: format!(
                "{booked} of {} nights booked nearby were {weekday:?} nights",
                self.total
            ),
        }
    }

    fn month(&self, night: NaiveDate) -> PriceFactor {
        let booked = self.months[night.month0() as usize];
        let days_in_month = f64::from(days_in_month(night));
        PriceFactor {
            name: "season",
            multiplier: self.shrunk(booked, days_in_month / 365.25, MONTH_PRIOR_NIGHTS),
            detail: format!(
                "{booked} of {} nights booked nearby were in {}",
                self.total,
                night.format("%B")
            ),
        }
    }
}

fn days_in_month(night: NaiveDate) -> u32 {
    let first = night.with_day(1).unwrap_or(night);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    (next - first).num_days() as u32
}

/// A night soon and still free is cheaper.
fn lead_time(listing: &Listing, night: NaiveDate, today: Option<NaiveDate>) -> PriceFactor {
    let Some(today) = today else {
        return PriceFactor {
            name: "lead_time",
            multiplier: 1.0,
            detail: "no clock yet".into(),
        };
    };
    let days = (night - today).num_days();
    let free = listing.calendar.is_free(day_of(night));
    let multiplier = match days {
        _ if !free || days < 0 => 1.0,
        d if d <= LAST_MINUTE.0 => LAST_MINUTE.1,
        d if d <= SOON.0 => SOON.1,
        _ => 1.0,
    };
    let state = if free { "free" } else { "not free" };
    PriceFactor {
        name: "lead_time",
        multiplier,
        detail: format!("{days} days ahead, {state}"),
    }
}

/// Local events covering the listing on the night (in its zone's dates).
fn local_events(events: &[&LocalEvent], listing: &Listing, night: NaiveDate) -> PriceFactor {
    let on: Vec<&&LocalEvent> = events
        .iter()
        .filter(|event| event.on_night(listing.zone, night))
        .collect();
    let attendance: u64 = on.iter().map(|e| e.expected_attendance).sum();
    let multiplier = 1.0 + (attendance as f64 / EVENT_ATTENDANCE).min(EVENT_MOST);
    let detail = if on.is_empty() {
        "no local event".to_string()
    } else {
        let names: Vec<&str> = on.iter().map(|e| e.event_id.as_str()).collect();
        format!("{attendance} expected at {}", names.join(", "))
    };
    PriceFactor {
        name: "local_event",
        multiplier,
        detail,
    }
}

/// Searches and free comparable listings per night in the listing's area.
struct AreaDemand {
    from: i64,
    searches: Vec<u32>,
    free: Vec<u32>,
    /// Whether any search kept asked for a night here.
    any: bool,
}

impl AreaDemand {
    fn of(model: &StaysModel, listing: &Listing, from: i64, until: i64) -> Self {
        let area = block_around(listing.cell, AREA_CELLS);
        let searches: Vec<u32> = (from..until)
            .map(|day| model.demand.searches(day, &area))
            .collect();
        let mut free = vec![0u32; (until - from) as usize];
        let supply = area
            .iter()
            .flat_map(|cell| model.grid.in_cell(*cell))
            .map(|spot| &model.listings[spot.listing as usize])
            .filter(|other| other.status() == Status::Active && comparable(listing, other));
        for other in supply {
            for (word, mask) in words_of(from, until) {
                let mut bits = other.calendar.free_word(word) & mask;
                while bits != 0 {
                    let day = word * 64 + i64::from(bits.trailing_zeros());
                    free[(day - from) as usize] += 1;
                    bits &= bits - 1;
                }
            }
        }
        // Whether the area has search data at all, whatever range is asked about.
        let any = model.demand.searches_between(i64::MIN, i64::MAX, &area) > 0;
        Self {
            from,
            searches,
            free,
            any,
        }
    }

    /// 1 + 0.25·tanh(ln(ratio)) of searches to free listings (each plus one, so
    /// neither empty side is infinite); 1 with no search recorded here for any night.
    fn factor(&self, day: i64) -> PriceFactor {
        let i = (day - self.from) as usize;
        let (searches, free) = (self.searches[i], self.free[i]);
        if !self.any {
            return PriceFactor {
                name: "demand",
                multiplier: 1.0,
                detail: format!("no searches recorded around here; {free} comparable free"),
            };
        }
        let ratio = f64::from(searches + 1) / f64::from(free + 1);
        PriceFactor {
            name: "demand",
            multiplier: 1.0 + DEMAND_SWING * ratio.ln().tanh(),
            detail: format!("{searches} searches for the night against {free} comparable free"),
        }
    }
}
