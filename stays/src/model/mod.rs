//! The stays model: every listing (details, status, calendar bitsets, stays,
//! reviews), hosts' reliability, guests' recent profiles, searches as demand per
//! area and night, and local events; and how each event read from the log changes
//! it. Time is the log's: the model's clock is the `occurred_at` of the last record
//! read, so a replay builds the same model.

pub mod calendar;
pub mod demand;
pub mod fingerprints;
pub mod grid;
pub mod listing;
pub mod people;
pub mod search_rows;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use domain::stays::MAX_STAY_NIGHTS;
use event_schemas::stays::{
    CancelledBy, FraudSignal, ListingDetails, ListingEvent, ModerationDecision, StayRequest,
    StaySearchEvent,
};
use event_schemas::values::GeoPoint;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::config::StaysConfig;
use calendar::day_of;
use demand::{Demand, LocalEvent};
use fingerprints::Fingerprints;
use grid::{cell_of, Grid};
use listing::{stay_key, Listing, Status, StayRecord, StayState};
use people::{Host, Interaction, Profile, VIEW_WEIGHT};
use search_rows::{SearchRows, Searchable};

/// Reviews a listing's rating is shrunk toward the mean of all reviews with.
pub const PRIOR_REVIEWS: f64 = 5.0;
/// The prior mean before any review was written (the middle of 1–5).
const NO_REVIEWS_MEAN: f64 = 3.0;
/// Local events kept after they end (suggestions are for nights to come).
const EVENTS_KEPT_DAYS: i64 = 2;

#[derive(Debug, Clone)]
pub struct StaysModel {
    config: StaysConfig,
    now: DateTime<Utc>,
    pub(crate) listings: Vec<Listing>,
    pub(crate) index: FxHashMap<String, u32>,
    /// Where each listing is, with what searches read of it.
    pub(crate) grid: Grid<Searchable>,
    pub(crate) rows: SearchRows,
    /// Hosts, each at the slot its listings name.
    pub(crate) hosts: Vec<Host>,
    pub(crate) host_slots: FxHashMap<String, u32>,
    pub(crate) profiles: FxHashMap<String, Profile>,
    pub(crate) demand: Demand,
    pub(crate) events: BTreeMap<String, LocalEvent>,
    pub(crate) fingerprints: Fingerprints,
    /// Requests and holds by when they stop keeping their nights.
    expiries: BTreeSet<(DateTime<Utc>, u32, u64)>,
    review_sum: u64,
    review_count: u64,
    /// The first night demand is still kept for.
    demand_from: i64,
}

/// A listing as the routes show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListingSummary {
    #[serde(rename = "listing_id")]
    pub id: String,
    pub host_id: String,
    pub title: String,
    pub property_type: String,
    pub location: GeoPoint,
    pub capacity: u32,
    pub amenities: Vec<String>,
    pub nightly_price: u64,
    pub currency: String,
    /// `active`, `flagged`, `unlisted` or `removed`.
    pub status: &'static str,
    /// The reviews' mean shrunk toward the mean of all reviews (Bayesian, 5 prior
    /// reviews).
    pub rating: f64,
    pub review_count: u32,
    pub response_rate: f64,
    pub cancellation_rate: f64,
    /// What screening found, while flagged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<FraudSignal>,
}

/// One night of a listing's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightView {
    pub date: NaiveDate,
    pub state: NightState,
    pub price: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NightState {
    Free,
    /// Requested, held or confirmed by a stay.
    Taken,
    /// Blocked by the host, or off the weekly plan.
    Closed,
}

impl StaysModel {
    pub fn new(config: StaysConfig) -> Self {
        Self {
            config,
            now: DateTime::<Utc>::MIN_UTC,
            listings: Vec::new(),
            index: FxHashMap::default(),
            grid: Grid::default(),
            rows: SearchRows::default(),
            hosts: Vec::new(),
            host_slots: FxHashMap::default(),
            profiles: FxHashMap::default(),
            demand: Demand::default(),
            events: BTreeMap::new(),
            fingerprints: Fingerprints::default(),
            expiries: BTreeSet::new(),
            review_sum: 0,
            review_count: 0,
            demand_from: i64::MIN,
        }
    }

    pub fn config(&self) -> &StaysConfig {
        &self.config
    }

    pub fn apply_listing(&mut self, event: &ListingEvent, position: i64, at: DateTime<Utc>) {
        if let ListingEvent::ListingCreated {
            listing_id,
            host_id,
            details,
        } = event
        {
            if !self.index.contains_key(listing_id) {
                self.create(listing_id, host_id, details, at);
            }
            return;
        }
        let Some(&i) = self.index.get(event.listing_id()) else {
            return;
        };
        self.change_listing(i, event, position, at);
        let host_changed = matches!(
            event,
            ListingEvent::HostResponded { .. }
                | ListingEvent::HoldLapsed { .. }
                | ListingEvent::StayConfirmed { .. }
                | ListingEvent::StayCancelled { .. }
        );
        if host_changed {
            self.refresh_host_of(i);
        } else {
            self.refresh(i);
        }
    }

    /// Set what searches read of listing `i` again.
    fn refresh(&mut self, i: u32) {
        let listing = &self.listings[i as usize];
        let searchable = self
            .rows
            .searchable(listing, &self.hosts[listing.host_slot as usize]);
        if let Some(data) = self.grid.get_mut(i) {
            *data = searchable;
        }
    }

    /// Set what searches read of every listing of `i`'s host again (its rates
    /// changed).
    fn refresh_host_of(&mut self, i: u32) {
        let slot = self.listings[i as usize].host_slot as usize;
        for n in 0..self.hosts[slot].listings.len() {
            self.refresh(self.hosts[slot].listings[n]);
        }
    }

    fn change_listing(&mut self, i: u32, event: &ListingEvent, position: i64, at: DateTime<Utc>) {
        match event {
            ListingEvent::ListingCreated { .. } => {}
            ListingEvent::ListingUpdated { details, .. } => {
                let listing = &self.listings[i as usize];
                let (old_location, old_hash, old_photos) = (
                    listing.details.location,
                    listing.simhash,
                    photo_hashes(listing),
                );
                self.fingerprints.remove(i, old_hash, &old_photos);
                let listing = &mut self.listings[i as usize];
                listing.set_details(details);
                // Changing a listing lists it again (moderation is unaffected).
                listing.listed = true;
                let (location, hash, photos) = (
                    listing.details.location,
                    listing.simhash,
                    photo_hashes(listing),
                );
                if location != old_location {
                    if let Some(searchable) = self.grid.remove(i) {
                        self.grid.insert(i, location, searchable);
                    }
                }
                self.fingerprints.insert(i, hash, &photos);
            }
            ListingEvent::ListingUnlisted { .. } => self.listings[i as usize].listed = false,
            ListingEvent::CalendarChanged {
                from,
                until,
                change,
                ..
            } => self.listings[i as usize]
                .calendar
                .apply(*from, *until, change),
            ListingEvent::AutoPricingSet {
                enabled,
                min_price,
                max_price,
                ..
            } => {
                self.listings[i as usize].auto_pricing = *enabled;
                self.listings[i as usize].auto_price_range =
                    (min_price <= max_price && *max_price > 0).then_some((*min_price, *max_price));
            }
            ListingEvent::StayRequested {
                stay, respond_by, ..
            } => self.keep_nights(i, stay, StayState::Requested, *respond_by, at),
            ListingEvent::StayHeld {
                stay, expires_at, ..
            } => self.keep_nights(i, stay, StayState::Held, *expires_at, at),
            ListingEvent::HostResponded {
                stay_id,
                within_deadline,
                ..
            } => {
                let listing = &mut self.listings[i as usize];
                if let Some(stay) = listing.stays.get_mut(&stay_key(stay_id)) {
                    if !stay.response_counted {
                        stay.response_counted = true;
                        let host = &mut self.hosts[listing.host_slot as usize];
                        host.requests_decided += 1;
                        host.answered_in_time += u32::from(*within_deadline);
                    }
                }
            }
            ListingEvent::HoldLapsed { stay_id, .. } => {
                let listing = &mut self.listings[i as usize];
                if let Some(stay) = listing.stays.get_mut(&stay_key(stay_id)) {
                    // A request left past its deadline counts against the host; one
                    // the guest gave up earlier does not.
                    let unanswered = stay.state == StayState::Requested
                        && !stay.response_counted
                        && stay.ends.is_some_and(|end| at >= end);
                    if unanswered {
                        stay.response_counted = true;
                        self.hosts[listing.host_slot as usize].requests_decided += 1;
                    }
                    stay.state = StayState::Ended;
                    listing.release(stay_key(stay_id));
                }
            }
            ListingEvent::StayConfirmed { stay_id, .. } => {
                let listing = &mut self.listings[i as usize];
                if let Some(stay) = listing.stays.get_mut(&stay_key(stay_id)) {
                    stay.state = StayState::Confirmed;
                    stay.ends = None;
                    let first = !stay.confirmed_counted;
                    stay.confirmed_counted = true;
                    listing.take(stay_key(stay_id));
                    if first {
                        self.hosts[listing.host_slot as usize].confirmed += 1;
                    }
                }
            }
            ListingEvent::StayCancelled { stay_id, by, .. } => {
                let listing = &mut self.listings[i as usize];
                if let Some(stay) = listing.stays.get_mut(&stay_key(stay_id)) {
                    if stay.state != StayState::Ended {
                        stay.state = StayState::Ended;
                        listing.release(stay_key(stay_id));
                        if *by == CancelledBy::Host {
                            self.hosts[listing.host_slot as usize].cancelled_by_host += 1;
                        }
                    }
                }
            }
            ListingEvent::StayReviewed { rating, .. } => {
                let rating = u32::from((*rating).clamp(1, 5));
                let listing = &mut self.listings[i as usize];
                listing.review_sum += rating;
                listing.review_count += 1;
                self.review_sum += u64::from(rating);
                self.review_count += 1;
            }
            ListingEvent::ListingFlagged { signals, .. } => {
                let listing = &mut self.listings[i as usize];
                listing.signals = signals.clone();
                listing.flagged_at = position;
                listing.awaiting_review = true;
            }
            ListingEvent::ListingModerated { decision, .. } => {
                let listing = &mut self.listings[i as usize];
                listing.signals.clear();
                listing.awaiting_review = false;
                listing.removed = *decision == ModerationDecision::Removed;
            }
        }
    }

    fn create(
        &mut self,
        listing_id: &str,
        host_id: &str,
        details: &ListingDetails,
        at: DateTime<Utc>,
    ) {
        let i = u32::try_from(self.listings.len()).expect("fewer than 4 billion listings");
        let slot = match self.host_slots.get(host_id) {
            Some(slot) => *slot,
            None => {
                self.hosts.push(Host::default());
                let slot = (self.hosts.len() - 1) as u32;
                self.host_slots.insert(host_id.to_string(), slot);
                slot
            }
        };
        let listing = Listing::new(listing_id, host_id, slot, details, at);
        let searchable = self.rows.searchable(&listing, &self.hosts[slot as usize]);
        self.grid.insert(i, listing.details.location, searchable);
        self.fingerprints
            .insert(i, listing.simhash, &photo_hashes(&listing));
        self.hosts[slot as usize].listings.push(i);
        self.index.insert(listing_id.to_string(), i);
        self.listings.push(listing);
    }

    /// A request or hold: its nights are kept until `ends`, and the guest's profile
    /// remembers the stay.
    fn keep_nights(
        &mut self,
        i: u32,
        stay: &StayRequest,
        state: StayState,
        ends: DateTime<Utc>,
        at: DateTime<Utc>,
    ) {
        let listing = &mut self.listings[i as usize];
        let (from, until) = (day_of(stay.check_in), day_of(stay.check_out));
        let key = stay_key(&stay.stay_id);
        let earlier = listing.stays.get(&key).cloned();
        if let Some(earlier) = &earlier {
            if earlier.state == StayState::Ended || earlier.state == StayState::Confirmed {
                return;
            }
            listing.release(key);
        }
        listing.stays.insert(
            key,
            StayRecord {
                from,
                until,
                state,
                ends: Some(ends),
                taking: false,
                booked: false,
                response_counted: earlier.as_ref().is_some_and(|e| e.response_counted),
                confirmed_counted: false,
            },
        );
        if at < ends {
            listing.take(key);
            self.expiries.insert((ends, i, key));
        }
        let nights = (until - from).max(1) as u64;
        let nightly = stay.price.total.saturating_sub(stay.price.cleaning_fee) / nights;
        self.profiles
            .entry(stay.guest.clone())
            .or_default()
            .record(Interaction {
                listing: i,
                nightly,
                weight: 1.0,
                stay: Some(key),
            });
    }

    pub fn apply_browsing(&mut self, event: &StaySearchEvent, _position: i64, at: DateTime<Utc>) {
        match event {
            StaySearchEvent::StaySearchPerformed { query, .. } => {
                let point = GeoPoint {
                    lat: query.lat,
                    lon: query.lon,
                };
                if !(point.lat.is_finite() && point.lon.is_finite()) {
                    return;
                }
                // Nights already past (anywhere on earth) tell nothing of prices to come.
                let from = day_of(query.check_in).max(day_of(at.date_naive()) - 1);
                let until = day_of(query.check_out).min(from + i64::from(MAX_STAY_NIGHTS));
                self.demand.record(cell_of(point), from..until);
            }
            StaySearchEvent::ListingViewed {
                user_id,
                listing_id,
            } => {
                if let Some(&i) = self.index.get(listing_id) {
                    let nightly = self.listings[i as usize].details.nightly_price;
                    self.profiles
                        .entry(user_id.clone())
                        .or_default()
                        .record(Interaction {
                            listing: i,
                            nightly,
                            weight: VIEW_WEIGHT,
                            stay: None,
                        });
                }
            }
        }
    }

    pub fn apply_local_event(
        &mut self,
        event_id: &str,
        location: GeoPoint,
        radius_km: f64,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        expected_attendance: u64,
    ) {
        self.events.insert(
            event_id.to_string(),
            LocalEvent {
                event_id: event_id.to_string(),
                location,
                radius_km,
                starts_at,
                ends_at,
                expected_attendance,
            },
        );
    }

    /// The model's clock: the `occurred_at` of the last record read (it never goes
    /// back). Requests and holds past their end free their nights, as the listing
    /// itself reads them; once a day, nights, stays, searches and events past are
    /// forgotten.
    pub fn advance(&mut self, at: DateTime<Utc>) {
        if at <= self.now {
            return;
        }
        self.now = at;
        while let Some(first) = self.expiries.first() {
            if first.0 > at {
                break;
            }
            let (ends, i, key) = self.expiries.pop_first().expect("a first entry");
            self.expire(i, key, ends);
        }
        let yesterday = day_of(at.date_naive()) - 1;
        if yesterday > self.demand_from {
            self.demand.forget_before(yesterday);
            self.demand_from = yesterday;
            let gone = at - chrono::Duration::days(EVENTS_KEPT_DAYS);
            self.events.retain(|_, event| event.ends_at >= gone);
            // Every zone's today is UTC's yesterday or later.
            for listing in &mut self.listings {
                listing.forget_before(yesterday);
            }
        }
        if self.rows.start_at(yesterday.div_euclid(64)) {
            for (i, listing) in self.listings.iter().enumerate() {
                if let Some(data) = self.grid.get_mut(i as u32) {
                    data.free = self.rows.free_words(listing);
                }
            }
        }
    }

    fn expire(&mut self, i: u32, key: u64, ends: DateTime<Utc>) {
        let listing = &mut self.listings[i as usize];
        let Some(stay) = listing.stays.get_mut(&key) else {
            return;
        };
        let pending = matches!(stay.state, StayState::Requested | StayState::Held);
        if !pending || stay.ends != Some(ends) {
            return;
        }
        // A request left unanswered counts against its host's response rate.
        let unanswered = stay.state == StayState::Requested && !stay.response_counted;
        if unanswered {
            stay.response_counted = true;
            self.hosts[listing.host_slot as usize].requests_decided += 1;
        }
        listing.release(key);
        if unanswered {
            self.refresh_host_of(i);
        } else {
            self.refresh(i);
        }
    }

    /// The model's clock (`DateTime::MIN_UTC` before the first record).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The clock, once a record was read.
    pub(crate) fn clock(&self) -> Option<DateTime<Utc>> {
        (self.now > DateTime::<Utc>::MIN_UTC).then_some(self.now)
    }

    pub fn listing(&self, listing_id: &str) -> Option<ListingSummary> {
        self.index
            .get(listing_id)
            .map(|&i| self.summary(&self.listings[i as usize]))
    }

    /// `count` nights of a listing's calendar from `from`: each one free, taken by
    /// a stay, or closed (blocked, or off the weekly plan), at its price. What an
    /// operator looks at; `None` for an unknown listing.
    pub fn nights(&self, listing_id: &str, from: NaiveDate, count: u32) -> Option<Vec<NightView>> {
        let listing = &self.listings[*self.index.get(listing_id)? as usize];
        let first = calendar::day_of(from);
        Some(
            (first..first + i64::from(count))
                .map(|day| NightView {
                    date: calendar::date_of(day),
                    state: if listing.calendar.taken.contains(day) {
                        NightState::Taken
                    } else if listing.calendar.is_free(day) {
                        NightState::Free
                    } else {
                        NightState::Closed
                    },
                    price: listing
                        .calendar
                        .price_of(day, listing.details.nightly_price),
                })
                .collect(),
        )
    }

    /// Listings awaiting moderation, the longest waiting first.
    pub fn flagged(&self) -> Vec<ListingSummary> {
        let mut flagged: Vec<&Listing> = self
            .listings
            .iter()
            .filter(|l| l.status() == Status::Flagged)
            .collect();
        flagged.sort_by(|a, b| a.flagged_at.cmp(&b.flagged_at).then(a.id.cmp(&b.id)));
        flagged.into_iter().map(|l| self.summary(l)).collect()
    }

    /// The listing's time zone, if it is known.
    pub fn listing_time_zone(&self, listing_id: &str) -> Option<chrono_tz::Tz> {
        self.index
            .get(listing_id)
            .map(|&i| self.listings[i as usize].zone)
    }

    /// Active listings whose host switched automatic pricing on.
    pub fn auto_priced(&self) -> Vec<String> {
        self.listings
            .iter()
            .filter(|l| l.auto_pricing && l.status() == Status::Active)
            .map(|l| l.id.clone())
            .collect()
    }

    /// Listings known, whatever their status.
    pub fn len(&self) -> usize {
        self.listings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.listings.is_empty()
    }

    pub(crate) fn listing_index(&self, listing_id: &str) -> Option<u32> {
        self.index.get(listing_id).copied()
    }

    /// The mean of every review written (the prior of each listing's rating).
    pub(crate) fn mean_rating(&self) -> f64 {
        if self.review_count == 0 {
            NO_REVIEWS_MEAN
        } else {
            self.review_sum as f64 / self.review_count as f64
        }
    }

    /// The listing's mean rating shrunk toward the mean of all reviews.
    pub(crate) fn bayesian_rating(&self, listing: &Listing) -> f64 {
        shrunk_rating(self.mean_rating(), listing.review_sum, listing.review_count)
    }

    pub(crate) fn host_of(&self, listing: &Listing) -> &Host {
        &self.hosts[listing.host_slot as usize]
    }

    pub(crate) fn host_named(&self, host_id: &str) -> Option<&Host> {
        self.host_slots
            .get(host_id)
            .map(|slot| &self.hosts[*slot as usize])
    }

    fn summary(&self, listing: &Listing) -> ListingSummary {
        let host = self.host_of(listing);
        let details = &listing.details;
        ListingSummary {
            id: listing.id.clone(),
            host_id: listing.host.clone(),
            title: details.title.clone(),
            property_type: details.property_type.clone(),
            location: details.location,
            capacity: details.capacity,
            amenities: details.amenities.clone(),
            nightly_price: details.nightly_price,
            currency: details.currency.clone(),
            status: listing.status().as_str(),
            rating: self.bayesian_rating(listing),
            review_count: listing.review_count,
            response_rate: host.response_rate(),
            cancellation_rate: host.cancellation_rate(),
            signals: if listing.status() == Status::Flagged {
                listing.signals.clone()
            } else {
                Vec::new()
            },
        }
    }
}

/// A mean of `review_count` ratings summing to `review_sum`, shrunk toward
/// `prior_mean` as if [`PRIOR_REVIEWS`] more reviews had given it.
pub(crate) fn shrunk_rating(prior_mean: f64, review_sum: u32, review_count: u32) -> f64 {
    (PRIOR_REVIEWS * prior_mean + f64::from(review_sum)) / (PRIOR_REVIEWS + f64::from(review_count))
}

/// The listing's photos' content hashes, in lower case.
pub(crate) fn photo_hashes(listing: &Listing) -> Vec<String> {
    listing
        .details
        .photos
        .iter()
        .map(|p| p.content_hash.trim().to_lowercase())
        .collect()
}
