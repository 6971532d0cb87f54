//! The market's history, event by event in time order: listings created, guests
//! searching (ranked by the real read model as it stands), looking, booking and
//! reviewing, hosts answering and cancelling. Every listing event is decided by the
//! Listing aggregate at its own time, and each event is applied to the read model
//! the moment it is written, as a server following the log would.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::stays::local_time::local_today;
use domain::stays::{BookStay, Canceller, HORIZON_DAYS};
use domain::ListingCommand;
use event_schemas::stays::{
    CalendarChange, ListingDetails, ListingEvent, StayQuery, StaySearchEvent, SubRatings,
    LISTING_AGGREGATE, STAY_SEARCH_AGGREGATE,
};
use stays::search::SearchRequest;
use stays::{StaysConfig, StaysModel};

use super::super::generator::{cumulative_zipf, Generator};
use super::{
    by_weight, draft_guest, draft_listing, gumbel, normal, offset, usual_price, utility, Offer,
    StaySeedEvent, StaysPlan, Taste, CITIES, OUTSIDE_OPTION, SEARCH_RADIUS_KM, SHOWN,
    TARGET_SPREAD_KM,
};

/// How long a seeded hold waits for its payment (the server's default).
const HOLD_MINUTES: u32 = domain::stays::DEFAULT_HOLD_MINUTES;
/// Share of stays that took place and are reviewed.
const REVIEW_PERCENT: u64 = 65;
/// Share of listings with a block their host keeps.
const BLOCK_PERCENT: u64 = 30;
/// Nights a search asks for, 1 to 7, by weight.
const NIGHT_WEIGHTS: [f64; 7] = [15.0, 25.0, 25.0, 12.0, 8.0, 5.0, 10.0];

/// A listing of the market: what its host wrote, its hidden quality, and the
/// Listing aggregate as its stream has made it.
#[derive(Debug, Clone)]
pub struct Place {
    pub id: String,
    pub host: usize,
    pub city: usize,
    pub details: ListingDetails,
    /// Hidden: what guests weigh, and what reviews are written from.
    pub quality: f64,
    pub aggregate: domain::Listing,
    /// Events in its stream so far.
    pub sequence: i64,
}

#[derive(Debug, Clone)]
struct Host {
    id: String,
    cancel_chance: f64,
    /// Median hours to answer a request.
    response_hours: f64,
}

#[derive(Debug, Clone)]
struct Guest {
    id: String,
    party: u32,
    taste: Taste,
}

/// What the history holds, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub listings: usize,
    pub hosts: usize,
    pub guests: usize,
    pub searches: u64,
    /// Searches that showed nothing.
    pub empty_searches: u64,
    pub views: u64,
    /// Guests who chose a shown listing.
    pub chosen: u64,
    /// Where the chosen listing was shown: first, 2nd–3rd, 4th–10th, 11th–20th.
    pub chosen_at: [u64; 4],
    pub holds: u64,
    pub requests: u64,
    pub declined: u64,
    pub unanswered: u64,
    pub confirmed: u64,
    /// Bookings the listing refused: someone took the nights first.
    pub lost: u64,
    pub calendar_stays: u64,
    pub host_cancellations: u64,
    pub reviews: u64,
    pub blocks: u64,
    pub events: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} listings of {} hosts in {} cities; {} guests",
            self.listings,
            self.hosts,
            CITIES.len(),
            self.guests
        )?;
        writeln!(
            f,
            "{} searches ({} showed nothing), {} listing views; {} guests chose a shown listing (shown 1st: {}, 2nd-3rd: {}, 4th-10th: {}, 11th-20th: {})",
            self.searches,
            self.empty_searches,
            self.views,
            self.chosen,
            self.chosen_at[0],
            self.chosen_at[1],
            self.chosen_at[2],
            self.chosen_at[3]
        )?;
        writeln!(
            f,
            "{} holds and {} requests to book ({} declined, {} unanswered), {} lost to a quicker guest; {} confirmed; {} booked outside search, {} cancelled by hosts, {} reviews, {} host blocks",
            self.holds,
            self.requests,
            self.declined,
            self.unanswered,
            self.lost,
            self.confirmed,
            self.calendar_stays,
            self.host_cancellations,
            self.reviews,
            self.blocks
        )?;
        write!(f, "{} events", self.events)
    }
}

#[derive(Debug, Clone)]
enum Action {
    Create(usize),
    Session,
    View {
        guest: usize,
        listing: usize,
    },
    Book {
        guest: usize,
        listing: usize,
        search: Option<String>,
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    Outside(usize),
    Block(usize),
    Confirm {
        listing: usize,
        stay: String,
        guest: usize,
    },
    Respond {
        listing: usize,
        stay: String,
        accept: bool,
        guest: usize,
    },
    HostCancel {
        listing: usize,
        stay: String,
    },
    Review {
        listing: usize,
        stay: String,
        guest: usize,
    },
}

/// An action due at `at`; the queue takes the earliest first, then the first
/// scheduled.
struct Due {
    at: DateTime<Utc>,
    order: u64,
    action: Action,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

/// The market as the history has made it so far.
pub struct World {
    plan: StaysPlan,
    g: Generator,
    model: StaysModel,
    places: Vec<Place>,
    index: HashMap<String, usize>,
    hosts: Vec<Host>,
    guests: Vec<Guest>,
    guest_weights: Vec<f64>,
    zones: Vec<Tz>,
    queue: BinaryHeap<Due>,
    order: u64,
    /// Events written so far (the relative position of the last one).
    written: i64,
    out: Vec<StaySeedEvent>,
    counters: (u64, u64, u64),
    pub summary: Summary,
}

/// The whole history of `plan`, day by day (each day's events in time order),
/// handed to `sink`; the market as it ends.
pub fn history(
    plan: StaysPlan,
    mut sink: impl FnMut(Vec<StaySeedEvent>) -> anyhow::Result<()>,
) -> anyhow::Result<World> {
    let mut world = World::new(plan);
    world.run(&mut sink)?;
    Ok(world)
}

/// The whole history at once (for tests and small plans).
pub fn generate(plan: StaysPlan) -> anyhow::Result<(Vec<StaySeedEvent>, World)> {
    let mut events = Vec::new();
    let world = history(plan, |day| {
        events.extend(day);
        Ok(())
    })?;
    Ok((events, world))
}

impl World {
    fn new(plan: StaysPlan) -> Self {
        let mut g = Generator::new(plan.seed ^ 0x57a7_5eed);
        let zones: Vec<Tz> = CITIES
            .iter()
            .map(|c| {
                c.time_zone
                    .parse()
                    .expect("the cities' zones are IANA zones")
            })
            .collect();
        let city_weights: Vec<f64> = CITIES.iter().map(|c| c.weight).collect();
        let mut hosts = Vec::new();
        let mut places: Vec<Place> = Vec::with_capacity(plan.listings);
        while places.len() < plan.listings {
            let host = hosts.len();
            let city = by_weight(&mut g, &city_weights);
            let mut count = 1;
            while count < 6 && !g.chance(55) {
                count += 1;
            }
            let (cancel_chance, response_hours) = (
                match g.below(100) {
                    0..=69 => 0.005,
                    70..=94 => 0.03,
                    _ => 0.12,
                },
                match g.below(100) {
                    0..=79 => 1.5,
                    80..=94 => 8.0,
                    _ => 30.0,
                },
            );
            hosts.push(Host {
                id: format!("{}-h{host}", plan.prefix),
                cancel_chance,
                response_hours,
            });
            for _ in 0..count.min(plan.listings - places.len()) {
                let id = format!("{}-l{:06}", plan.prefix, places.len());
                let (details, quality) = draft_listing(&mut g, &id, &CITIES[city]);
                places.push(Place {
                    id,
                    host,
                    city,
                    details,
                    quality,
                    aggregate: domain::Listing::default(),
                    sequence: 0,
                });
            }
        }
        let guest_count = (plan.searches / 4).max(50);
        let guests: Vec<Guest> = (0..guest_count)
            .map(|n| {
                let (party, taste) = draft_guest(&mut g);
                Guest {
                    id: format!("{}-g{n}", plan.prefix),
                    party,
                    taste,
                }
            })
            .collect();
        let index = places
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let summary = Summary {
            listings: places.len(),
            hosts: hosts.len(),
            guests: guests.len(),
            ..Summary::default()
        };
        Self {
            guest_weights: cumulative_zipf(guests.len(), 0.6),
            plan,
            g,
            model: StaysModel::new(StaysConfig::default()),
            places,
            index,
            hosts,
            guests,
            zones,
            queue: BinaryHeap::new(),
            order: 0,
            written: 0,
            out: Vec::new(),
            counters: (0, 0, 0),
            summary,
        }
    }

    /// The listings, with their aggregates as the history left them.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The read model as the history left it.
    pub fn model(&self) -> &StaysModel {
        &self.model
    }

    fn start(&self) -> DateTime<Utc> {
        self.plan.end - Duration::days(self.plan.days.max(1))
    }

    fn schedule(&mut self, at: DateTime<Utc>, action: Action) {
        if at >= self.plan.end {
            return;
        }
        self.order += 1;
        self.queue.push(Due {
            at,
            order: self.order,
            action,
        });
    }

    /// A time uniformly within `[from, until)`.
    fn between(&mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> DateTime<Utc> {
        let span = (until - from).num_seconds().max(1);
        from + Duration::seconds((self.g.unit() * span as f64) as i64)
    }

    fn run(
        &mut self,
        sink: &mut impl FnMut(Vec<StaySeedEvent>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let start = self.start();
        let end = self.plan.end;
        for i in 0..self.places.len() {
            let at = if self.g.unit() < self.plan.late_share {
                self.between(start, end)
            } else {
                self.between(start, start + Duration::hours(1))
            };
            self.schedule(at, Action::Create(i));
        }
        let days = self.plan.days.max(1);
        let searches = self.plan.searches as i64;
        for day in 0..days {
            let from = start + Duration::days(day);
            let until = (from + Duration::days(1)).min(end);
            let today = (day + 1) * searches / days - day * searches / days;
            for _ in 0..today {
                let at = self.between(from, until);
                self.schedule(at, Action::Session);
            }
            while self.queue.peek().is_some_and(|due| due.at < until) {
                let due = self.queue.pop().expect("a due action");
                self.act(due.at, due.action)?;
            }
            sink(std::mem::take(&mut self.out))?;
        }
        Ok(())
    }

    fn act(&mut self, at: DateTime<Utc>, action: Action) -> anyhow::Result<()> {
        match action {
            Action::Create(i) => self.create(i, at)?,
            Action::Session => self.session(at),
            Action::View { guest, listing } => {
                self.counters.2 += 1;
                let id = format!("{}-v{}", self.plan.prefix, self.counters.2);
                let viewed = StaySearchEvent::ListingViewed {
                    user_id: self.guests[guest].id.clone(),
                    listing_id: self.places[listing].id.clone(),
                };
                self.browsing(id, viewed, at, None);
                self.summary.views += 1;
            }
            Action::Book {
                guest,
                listing,
                search,
                check_in,
                check_out,
            } => {
                if !self.book(guest, listing, search, check_in, check_out, at) {
                    self.summary.lost += 1;
                }
            }
            Action::Outside(listing) => self.outside(listing, at),
            Action::Block(listing) => self.block(listing, at),
            Action::Confirm {
                listing,
                stay,
                guest,
            } => self.confirm(listing, stay, guest, at),
            Action::Respond {
                listing,
                stay,
                accept,
                guest,
            } => {
                let command = ListingCommand::Respond {
                    listing_id: self.places[listing].id.clone(),
                    host_id: self.hosts[self.places[listing].host].id.clone(),
                    stay_id: stay.clone(),
                    accept,
                    hold_minutes: HOLD_MINUTES,
                };
                if self.decide(listing, &command, at).is_some() {
                    if accept {
                        self.summary.holds += 1;
                        let paid = at + Duration::seconds(60 + self.g.below(300) as i64);
                        self.schedule(
                            paid,
                            Action::Confirm {
                                listing,
                                stay,
                                guest,
                            },
                        );
                    } else {
                        self.summary.declined += 1;
                    }
                }
            }
            Action::HostCancel { listing, stay } => {
                let command = ListingCommand::Cancel {
                    listing_id: self.places[listing].id.clone(),
                    stay_id: stay,
                    by: Canceller::Host(self.hosts[self.places[listing].host].id.clone()),
                };
                if self.decide(listing, &command, at).is_some() {
                    self.summary.host_cancellations += 1;
                }
            }
            Action::Review {
                listing,
                stay,
                guest,
            } => self.review(listing, stay, guest, at),
        }
        Ok(())
    }

    /// Decide `command` on the listing at `at`; its events, written, unless refused.
    fn decide(
        &mut self,
        listing: usize,
        command: &ListingCommand,
        at: DateTime<Utc>,
    ) -> Option<Vec<ListingEvent>> {
        let events = self.places[listing].aggregate.decide(command, at).ok()?;
        for event in &events {
            self.write_listing(listing, event, at);
        }
        Some(events)
    }

    fn write_listing(&mut self, listing: usize, event: &ListingEvent, at: DateTime<Utc>) {
        let place = &mut self.places[listing];
        place.aggregate.apply_event(event);
        place.sequence += 1;
        self.written += 1;
        self.model.apply_listing(event, self.written, at);
        self.model.advance(at);
        self.summary.events += 1;
        self.out.push(StaySeedEvent {
            aggregate_type: LISTING_AGGREGATE,
            aggregate_id: place.id.clone(),
            sequence: place.sequence,
            event_type: event.event_type(),
            payload: serde_json::to_value(event).expect("events serialise"),
            at,
            ranked_at: None,
        });
    }

    fn browsing(
        &mut self,
        stream: String,
        event: StaySearchEvent,
        at: DateTime<Utc>,
        ranked_at: Option<i64>,
    ) {
        self.written += 1;
        self.model.apply_browsing(&event, self.written, at);
        self.model.advance(at);
        self.summary.events += 1;
        self.out.push(StaySeedEvent {
            aggregate_type: STAY_SEARCH_AGGREGATE,
            aggregate_id: stream,
            sequence: 1,
            event_type: event.event_type(),
            payload: serde_json::to_value(&event).expect("events serialise"),
            at,
            ranked_at,
        });
    }

    fn create(&mut self, i: usize, at: DateTime<Utc>) -> anyhow::Result<()> {
        let place = &self.places[i];
        let command = ListingCommand::Create {
            listing_id: place.id.clone(),
            host_id: self.hosts[place.host].id.clone(),
            details: place.details.clone(),
            screening: Vec::new(),
        };
        if let Err(refused) = place.aggregate.decide(&command, at) {
            anyhow::bail!("the generator drafted a listing the aggregate refuses: {refused:?}");
        }
        self.decide(i, &command, at);
        let end = self.plan.end;
        for _ in 0..self.plan.calendar_stays {
            let when = self.between(at, end);
            self.schedule(when, Action::Outside(i));
        }
        if self.g.chance(BLOCK_PERCENT) {
            let when = self.between(at, end);
            self.schedule(when, Action::Block(i));
        }
        Ok(())
    }

    /// A guest searches, looks at what is shown and perhaps books one of them.
    fn session(&mut self, at: DateTime<Utc>) {
        let g = &mut self.g;
        let guest = g.weighted(&self.guest_weights);
        let city = by_weight(g, &CITIES.map(|c| c.weight));
        let distance = TARGET_SPREAD_KM * g.unit().sqrt();
        let angle = std::f64::consts::TAU * g.unit();
        let target = offset(
            CITIES[city].centre,
            distance * angle.cos(),
            distance * angle.sin(),
        );
        let lead = (1 + (-35.0 * (1.0 - g.unit()).max(1e-12).ln()) as i64)
            .min(self.plan.max_lead_days.max(1));
        let nights = 1 + by_weight(g, &NIGHT_WEIGHTS) as i64;
        let check_in = local_today(self.zones[city], at) + Duration::days(lead);
        let check_out = check_in + Duration::days(nights);
        let party = self.guests[guest].party;
        let taste = self.guests[guest].taste.clone();
        let usual = usual_price(&CITIES[city], party);
        let amenities = if g.chance(15) {
            vec![taste.wants[g.below(taste.wants.len() as u64) as usize].to_string()]
        } else {
            Vec::new()
        };
        let property_type = if g.chance(8) {
            taste.likes_kind.map(str::to_string)
        } else {
            None
        };
        let price_max = g.chance(8).then_some((usual * 1.5) as u64);
        let query = StayQuery {
            lat: target.lat,
            lon: target.lon,
            radius_km: SEARCH_RADIUS_KM,
            check_in,
            check_out,
            guests: party,
            price_max,
            amenities,
            property_type,
            text: None,
        };
        let user_id = self.guests[guest].id.clone();
        let found = self.model.search(&SearchRequest {
            query: query.clone(),
            user_id: Some(user_id.clone()),
            limit: SHOWN,
            offset: 0,
            weights: None,
        });
        self.counters.0 += 1;
        let search_id = format!("{}-s{}", self.plan.prefix, self.counters.0);
        let ranked_at = self.written;
        let shown: Vec<String> = found.hits.iter().map(|h| h.listing_id.clone()).collect();
        let performed = StaySearchEvent::StaySearchPerformed {
            search_id: search_id.clone(),
            user_id: Some(user_id),
            query,
            shown,
            ranked_at,
        };
        self.browsing(search_id.clone(), performed, at, Some(ranked_at));
        self.summary.searches += 1;
        if found.hits.is_empty() {
            self.summary.empty_searches += 1;
            return;
        }
        // How much the guest likes each shown listing, with its noise.
        let mut liked: Vec<(f64, usize, usize)> = Vec::with_capacity(found.hits.len());
        for (rank, hit) in found.hits.iter().enumerate() {
            let listing = self.index[&hit.listing_id];
            let place = &self.places[listing];
            let offer = Offer {
                quality: place.quality,
                nightly: hit.total_price as f64 / nights as f64,
                usual,
                distance_km: place.details.location.distance_km(&target),
                amenities: &place.details.amenities,
                kind: &place.details.property_type,
                capacity: place.details.capacity,
                party,
            };
            let noisy = utility(&taste, &offer) + gumbel(&mut self.g);
            liked.push((noisy, rank, listing));
        }
        liked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (n, (_, _, listing)) in liked.iter().take(3).enumerate() {
            if self.g.chance(50) {
                let when = at + Duration::seconds(15 + 40 * n as i64 + self.g.below(30) as i64);
                let listing = *listing;
                self.schedule(when, Action::View { guest, listing });
            }
        }
        let (best, rank, listing) = liked[0];
        if best > OUTSIDE_OPTION + gumbel(&mut self.g) {
            self.summary.chosen += 1;
            let bucket = match rank {
                0 => 0,
                1..=2 => 1,
                3..=9 => 2,
                _ => 3,
            };
            self.summary.chosen_at[bucket] += 1;
            let when = at + Duration::seconds(120 + self.g.below(780) as i64);
            self.schedule(
                when,
                Action::Book {
                    guest,
                    listing,
                    search: Some(search_id),
                    check_in,
                    check_out,
                },
            );
        }
    }

    /// The guest books; whether the listing took it. A hold is paid a few minutes
    /// later; a request waits for its host.
    fn book(
        &mut self,
        guest: usize,
        listing: usize,
        search: Option<String>,
        check_in: NaiveDate,
        check_out: NaiveDate,
        at: DateTime<Utc>,
    ) -> bool {
        self.counters.1 += 1;
        let stay_id = format!("{}-st{}", self.plan.prefix, self.counters.1);
        let command = ListingCommand::Book {
            listing_id: self.places[listing].id.clone(),
            stay: BookStay {
                stay_id: stay_id.clone(),
                guest: self.guests[guest].id.clone(),
                check_in,
                check_out,
                guests: self.guests[guest]
                    .party
                    .min(self.places[listing].details.capacity),
                order_id: domain::ids::stay_order_id(&self.places[listing].id, &stay_id),
                search_id: search,
                hold_minutes: HOLD_MINUTES,
            },
        };
        let Some(events) = self.decide(listing, &command, at) else {
            return false;
        };
        match events.first() {
            Some(ListingEvent::StayHeld { .. }) => {
                self.summary.holds += 1;
                let paid = at + Duration::seconds(60 + self.g.below(300) as i64);
                self.schedule(
                    paid,
                    Action::Confirm {
                        listing,
                        stay: stay_id,
                        guest,
                    },
                );
            }
            Some(ListingEvent::StayRequested { .. }) => {
                self.summary.requests += 1;
                let host = &self.hosts[self.places[listing].host];
                let hours = host.response_hours * normal(&mut self.g).exp();
                if hours < 24.0 {
                    let accept = self.g.chance(90);
                    let when = at + Duration::seconds((hours * 3600.0) as i64 + 1);
                    self.schedule(
                        when,
                        Action::Respond {
                            listing,
                            stay: stay_id,
                            accept,
                            guest,
                        },
                    );
                } else {
                    // Nobody answers: the request lapses by itself.
                    self.summary.unanswered += 1;
                }
            }
            _ => {}
        }
        true
    }

    fn confirm(&mut self, listing: usize, stay: String, guest: usize, at: DateTime<Utc>) {
        let command = ListingCommand::Confirm {
            listing_id: self.places[listing].id.clone(),
            stay_id: stay.clone(),
            order_id: domain::ids::stay_order_id(&self.places[listing].id, &stay),
        };
        if self.decide(listing, &command, at).is_none() {
            return;
        }
        self.summary.confirmed += 1;
        let Some(booked) = self.places[listing].aggregate.stays.get(&stay) else {
            return;
        };
        let (check_in, check_out) = (booked.request.check_in, booked.request.check_out);
        let midnight = |date: NaiveDate| date.and_time(chrono::NaiveTime::MIN).and_utc();
        let host = self.places[listing].host;
        if self.g.unit() < self.hosts[host].cancel_chance {
            let last = midnight(check_in) - Duration::days(1);
            if last > at {
                let when = self.between(at, last);
                self.schedule(when, Action::HostCancel { listing, stay });
                return;
            }
        }
        if self.g.chance(REVIEW_PERCENT) {
            let from = midnight(check_out) + Duration::hours(36);
            let when = self.between(from, from + Duration::days(5));
            self.schedule(
                when,
                Action::Review {
                    listing,
                    stay,
                    guest,
                },
            );
        }
    }

    fn review(&mut self, listing: usize, stay: String, guest: usize, at: DateTime<Utc>) {
        let quality = self.places[listing].quality;
        let rating = (4.1 + 0.7 * quality + 0.6 * normal(&mut self.g))
            .round()
            .clamp(1.0, 5.0);
        let mut sub = || (rating + 0.5 * normal(&mut self.g)).round().clamp(1.0, 5.0) as u8;
        let sub_ratings = SubRatings {
            cleanliness: sub(),
            accuracy: sub(),
            communication: sub(),
            location: sub(),
            value: sub(),
        };
        let command = ListingCommand::Review {
            listing_id: self.places[listing].id.clone(),
            stay_id: stay,
            guest: self.guests[guest].id.clone(),
            rating: rating as u8,
            sub_ratings: Some(sub_ratings),
        };
        if self.decide(listing, &command, at).is_some() {
            self.summary.reviews += 1;
        }
    }

    /// A stay booked outside search, up to two years ahead (a few tries for free
    /// nights).
    fn outside(&mut self, listing: usize, at: DateTime<Utc>) {
        let details = &self.places[listing].details;
        let (min, max) = (i64::from(details.min_nights), i64::from(details.max_nights));
        let today = local_today(self.zones[self.places[listing].city], at);
        let guest = self.g.weighted(&self.guest_weights);
        for _ in 0..6 {
            let nights = (2 + self.g.below(3) as i64).clamp(min, max);
            let lead = 1 + self.g.below((HORIZON_DAYS - nights - 2) as u64) as i64;
            let check_in = today + Duration::days(lead);
            if self.book(
                guest,
                listing,
                None,
                check_in,
                check_in + Duration::days(nights),
                at,
            ) {
                self.summary.calendar_stays += 1;
                return;
            }
        }
    }

    fn block(&mut self, listing: usize, at: DateTime<Utc>) {
        let today = local_today(self.zones[self.places[listing].city], at);
        let from = today + Duration::days(1 + self.g.below(600) as i64);
        let command = ListingCommand::ChangeCalendar {
            listing_id: self.places[listing].id.clone(),
            host_id: self.hosts[self.places[listing].host].id.clone(),
            from,
            until: from + Duration::days(2 + self.g.below(9) as i64),
            change: CalendarChange::Blocked,
        };
        if self.decide(listing, &command, at).is_some() {
            self.summary.blocks += 1;
        }
    }
}
