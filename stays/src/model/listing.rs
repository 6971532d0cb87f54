//! One listing as the model keeps it: its details, where it is, whether it is
//! shown, its calendar, the stays on it, its reviews and the bookings it counts
//! toward seasonality.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use event_schemas::stays::{FraudSignal, ListingDetails};
use rustc_hash::FxHashMap;

use super::calendar::{date_of, NightCalendar};
use super::grid::{cell_of, Cell};
use super::text::stable_hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Hidden until an admin approves it.
    Flagged,
    Unlisted,
    Removed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Flagged => "flagged",
            Status::Unlisted => "unlisted",
            Status::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayState {
    Requested,
    Held,
    Confirmed,
    /// Lapsed or cancelled.
    Ended,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StayRecord {
    /// The nights `[from, until)` as day numbers.
    pub from: i64,
    pub until: i64,
    pub state: StayState,
    /// Until when a request or hold keeps its nights.
    pub ends: Option<DateTime<Utc>>,
    /// Whether its nights are set in `taken` now.
    pub taking: bool,
    /// Whether its nights count as booked (held or confirmed, and taking).
    pub booked: bool,
    /// Whether the request already counts toward the host's response rate.
    pub response_counted: bool,
    pub confirmed_counted: bool,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub id: String,
    pub host: String,
    /// The host's slot in the model's hosts.
    pub host_slot: u32,
    pub details: ListingDetails,
    pub zone: Tz,
    pub cell: Cell,
    /// The property type in lower case.
    pub kind: String,
    /// Keys of its currency, and of its currency and kind together: what prices
    /// are compared within.
    pub currency_key: u64,
    pub market_key: u64,
    pub kind_key: u64,
    /// Amenities in lower case, sorted, distinct.
    pub amenities: Vec<String>,
    /// Their keys, in the same order (what profiles count them by).
    pub amenity_keys: Vec<u64>,
    /// Listed by its host (not unlisted).
    pub listed: bool,
    /// Flagged and not yet decided on by an admin.
    pub awaiting_review: bool,
    pub removed: bool,
    pub signals: Vec<FraudSignal>,
    /// The log position it was flagged at (the moderation queue's order).
    pub flagged_at: i64,
    pub created_at: DateTime<Utc>,
    pub calendar: NightCalendar,
    /// By [`stay_key`].
    pub stays: FxHashMap<u64, StayRecord>,
    pub review_sum: u32,
    pub review_count: u32,
    /// The host's minimum and maximum for automatic pricing, once set.
    pub auto_price_range: Option<(u64, u64)>,
    /// Whether its host let suggested prices become its prices.
    pub auto_pricing: bool,
    pub simhash: Option<u64>,
    /// Nights booked (held or confirmed) by weekday (Monday first) and by month.
    pub booked_weekdays: [u32; 7],
    pub booked_months: [u32; 12],
}

impl Listing {
    pub fn new(
        id: &str,
        host: &str,
        host_slot: u32,
        details: &ListingDetails,
        at: DateTime<Utc>,
    ) -> Self {
        let mut listing = Self {
            id: id.to_string(),
            host: host.to_string(),
            host_slot,
            kind: String::new(),
            currency_key: 0,
            market_key: 0,
            kind_key: 0,
            amenity_keys: Vec::new(),
            details: details.clone(),
            zone: Tz::UTC,
            cell: (0, 0),
            amenities: Vec::new(),
            listed: true,
            awaiting_review: false,
            removed: false,
            signals: Vec::new(),
            flagged_at: 0,
            created_at: at,
            calendar: NightCalendar::default(),
            stays: FxHashMap::default(),
            review_sum: 0,
            review_count: 0,
            auto_price_range: None,
            auto_pricing: false,
            simhash: None,
            booked_weekdays: [0; 7],
            booked_months: [0; 12],
        };
        listing.set_details(details);
        listing
    }

    /// Whether it is shown, as the listing derives it: removal first, then a flag
    /// awaiting review, then the host's unlisting.
    pub fn status(&self) -> Status {
        if self.removed {
            Status::Removed
        } else if self.awaiting_review {
            Status::Flagged
        } else if !self.listed {
            Status::Unlisted
        } else {
            Status::Active
        }
    }

    /// Take the details as they now are (and what is derived from them).
    pub fn set_details(&mut self, details: &ListingDetails) {
        self.details = details.clone();
        // The aggregate reads an unknown zone as UTC too.
        self.zone = details.time_zone.parse().unwrap_or(Tz::UTC);
        self.cell = cell_of(details.location);
        self.amenities = lower_sorted(&details.amenities);
        self.kind = details.property_type.trim().to_lowercase();
        self.currency_key = stable_hash(&[&details.currency]);
        self.market_key = stable_hash(&[&details.currency, &self.kind]);
        self.kind_key = kind_key(&self.kind);
        self.amenity_keys = self.amenities.iter().map(|a| stable_hash(&[a])).collect();
        self.calendar.set_plan(&details.open_weekdays);
        self.simhash = super::text::simhash(&details.description);
    }

    /// Set the stay's nights as taken (again), counting them as booked once it is
    /// held or confirmed.
    pub fn take(&mut self, stay: u64) {
        let Some(stay) = self.stays.get_mut(&stay) else {
            return;
        };
        stay.taking = true;
        let (from, until) = (stay.from, stay.until);
        let book = matches!(stay.state, StayState::Held | StayState::Confirmed) && !stay.booked;
        stay.booked |= book;
        self.calendar.taken.insert_range(from, until);
        if book {
            self.count_booked(from, until, 1);
        }
    }

    /// Free the stay's nights (those no other stay keeps).
    pub fn release(&mut self, stay: u64) {
        let Some(stay) = self.stays.get_mut(&stay) else {
            return;
        };
        let (from, until, was_booked) = (stay.from, stay.until, stay.booked);
        if !stay.taking {
            return;
        }
        stay.taking = false;
        stay.booked = false;
        self.calendar.taken.remove_range(from, until);
        // The listing never lets two stays keep a night, but a late payment may
        // confirm an expired hold: whatever still keeps nights keeps them.
        for other in self.stays.values() {
            if other.taking && other.from < until && from < other.until {
                self.calendar.taken.insert_range(other.from, other.until);
            }
        }
        if was_booked {
            self.count_booked(from, until, -1);
        }
    }

    fn count_booked(&mut self, from: i64, until: i64, by: i32) {
        for day in from..until {
            let night = date_of(day);
            let weekday = night.weekday().num_days_from_monday() as usize;
            let month = night.month0() as usize;
            self.booked_weekdays[weekday] = self.booked_weekdays[weekday].saturating_add_signed(by);
            self.booked_months[month] = self.booked_months[month].saturating_add_signed(by);
        }
    }

    /// Forget stays over before `day` and the calendar before it: nothing can
    /// change them any more (a stay is not cancelled after its check-out), and the
    /// bookings they made stay counted.
    pub fn forget_before(&mut self, day: i64) {
        self.stays.retain(|_, stay| stay.until >= day);
        self.calendar.forget_before(day);
    }
}

/// A stay's key: its id's 64-bit hash (a collision among one listing's stays is
/// about as likely as none of them ever being booked twice), so the model keeps
/// no copy of every stay id.
pub fn stay_key(stay_id: &str) -> u64 {
    stable_hash(&[stay_id])
}

/// The key of a property type (in lower case), as listings and queries name it.
pub fn kind_key(kind: &str) -> u64 {
    stable_hash(&[kind])
}

pub fn lower_sorted(items: &[String]) -> Vec<String> {
    let mut lower: Vec<String> = items.iter().map(|a| a.trim().to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    lower
}
