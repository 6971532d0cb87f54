//! A model fed events at chosen times, and listings, stays and queries to feed it.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use event_schemas::stays::{
    CalendarChange, ListingDetails, ListingEvent, ModerationDecision, NightPrice, Photo, StayPrice,
    StayQuery, StayRequest, StaySearchEvent,
};
use event_schemas::values::GeoPoint;
use stays::search::{SearchAnswer, SearchRequest};
use stays::{StaysConfig, StaysModel};

/// Berlin's centre, and points east of it.
pub use testkit::stays::BERLIN;

pub fn east(km: f64) -> GeoPoint {
    GeoPoint {
        lat: BERLIN.lat,
        lon: BERLIN.lon + km / (111.32 * BERLIN.lat.to_radians().cos()),
    }
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Monday 2 March 2026, 10:00 UTC: when the stories start.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

pub use testkit::stays::apartment;

pub fn photo(hash: &str) -> Photo {
    Photo {
        url: format!("https://img.example/{hash}.jpg"),
        content_hash: hash.into(),
    }
}

/// A model and the log it is fed, one record at a time.
pub struct World {
    pub model: StaysModel,
    pub now: DateTime<Utc>,
    position: i64,
    stays: i64,
}

impl World {
    pub fn new() -> Self {
        Self::with(StaysConfig::default())
    }

    pub fn with(config: StaysConfig) -> Self {
        let mut world = Self {
            model: StaysModel::new(config),
            now: start(),
            position: 0,
            stays: 0,
        };
        world.model.advance(world.now);
        world
    }

    /// Move the clock on (the next records occur then).
    pub fn pass(&mut self, by: Duration) {
        self.now += by;
        self.model.advance(self.now);
    }

    pub fn apply(&mut self, event: ListingEvent) {
        self.position += 1;
        self.model.apply_listing(&event, self.position, self.now);
        self.model.advance(self.now);
    }

    pub fn browse(&mut self, event: StaySearchEvent) {
        self.position += 1;
        self.model.apply_browsing(&event, self.position, self.now);
        self.model.advance(self.now);
    }

    pub fn create(&mut self, id: &str, host: &str, details: ListingDetails) {
        self.apply(ListingEvent::ListingCreated {
            listing_id: id.into(),
            host_id: host.into(),
            details,
        });
    }

    /// `id` by `host-{id}`.
    pub fn listing(&mut self, id: &str, details: ListingDetails) {
        self.create(id, &format!("host-{id}"), details);
    }

    pub fn calendar(
        &mut self,
        id: &str,
        from: NaiveDate,
        until: NaiveDate,
        change: CalendarChange,
    ) {
        self.apply(ListingEvent::CalendarChanged {
            listing_id: id.into(),
            from,
            until,
            change,
        });
    }

    fn request(
        &mut self,
        guest: &str,
        check_in: NaiveDate,
        check_out: NaiveDate,
        nightly: u64,
    ) -> StayRequest {
        self.stays += 1;
        let nights: Vec<NightPrice> = domain::stays::nights(check_in, check_out)
            .map(|night| NightPrice {
                night,
                price: nightly,
            })
            .collect();
        let total = nightly * nights.len() as u64;
        StayRequest {
            stay_id: format!("stay-{}", self.stays),
            guest: guest.into(),
            check_in,
            check_out,
            guests: 2,
            price: StayPrice {
                currency: "EUR".into(),
                nights,
                cleaning_fee: 0,
                total,
            },
            order_id: format!("order-{}", self.stays),
            search_id: None,
        }
    }

    /// A hold for 15 minutes; its stay id.
    pub fn hold(
        &mut self,
        id: &str,
        guest: &str,
        check_in: NaiveDate,
        check_out: NaiveDate,
    ) -> String {
        let nightly = self.model.listing(id).map_or(10_000, |l| l.nightly_price);
        let stay = self.request(guest, check_in, check_out, nightly);
        let stay_id = stay.stay_id.clone();
        self.apply(ListingEvent::StayHeld {
            listing_id: id.into(),
            stay,
            expires_at: self.now + Duration::minutes(15),
        });
        stay_id
    }

    /// A request the host has a day to answer; its stay id.
    pub fn ask(
        &mut self,
        id: &str,
        guest: &str,
        check_in: NaiveDate,
        check_out: NaiveDate,
    ) -> String {
        let stay = self.request(guest, check_in, check_out, 10_000);
        let stay_id = stay.stay_id.clone();
        self.apply(ListingEvent::StayRequested {
            listing_id: id.into(),
            stay,
            respond_by: self.now + Duration::hours(24),
        });
        stay_id
    }

    /// Held and paid; its stay id.
    pub fn book(
        &mut self,
        id: &str,
        guest: &str,
        check_in: NaiveDate,
        check_out: NaiveDate,
    ) -> String {
        let stay_id = self.hold(id, guest, check_in, check_out);
        self.apply(ListingEvent::StayConfirmed {
            listing_id: id.into(),
            stay_id: stay_id.clone(),
            order_id: stay_id.replace("stay", "order"),
        });
        stay_id
    }

    pub fn flag(&mut self, id: &str) {
        self.apply(ListingEvent::ListingFlagged {
            listing_id: id.into(),
            signals: vec![event_schemas::stays::FraudSignal {
                kind: "photo_reused".into(),
                detail: "test".into(),
                weight: 0.6,
            }],
            score: 0.6,
        });
    }

    pub fn moderate(&mut self, id: &str, decision: ModerationDecision) {
        self.apply(ListingEvent::ListingModerated {
            listing_id: id.into(),
            decision,
        });
    }

    pub fn view(&mut self, user: &str, id: &str) {
        self.browse(StaySearchEvent::ListingViewed {
            user_id: user.into(),
            listing_id: id.into(),
        });
    }

    /// A search recorded as asked from `point` for `[check_in, check_out)`.
    pub fn searched(&mut self, point: GeoPoint, check_in: NaiveDate, check_out: NaiveDate) {
        self.position += 1;
        let mut query = query(check_in, check_out);
        query.lat = point.lat;
        query.lon = point.lon;
        self.browse(StaySearchEvent::StaySearchPerformed {
            search_id: format!("search-{}", self.position),
            user_id: None,
            query,
            shown: vec![],
            ranked_at: self.position,
        });
    }

    pub fn search(&self, query: StayQuery) -> SearchAnswer {
        self.model.search(&request(query))
    }

    /// The ids found for `[check_in, check_out)` around Berlin's centre.
    pub fn found(&self, check_in: NaiveDate, check_out: NaiveDate) -> Vec<String> {
        ids(&self.search(query(check_in, check_out)))
    }
}

/// Two guests within 10 km of Berlin's centre.
pub fn query(check_in: NaiveDate, check_out: NaiveDate) -> StayQuery {
    StayQuery {
        lat: BERLIN.lat,
        lon: BERLIN.lon,
        radius_km: 10.0,
        check_in,
        check_out,
        guests: 2,
        price_max: None,
        amenities: vec![],
        property_type: None,
        text: None,
    }
}

pub fn request(query: StayQuery) -> SearchRequest {
    SearchRequest {
        query,
        user_id: None,
        limit: 50,
        offset: 0,
        weights: None,
    }
}

pub fn ids(answer: &SearchAnswer) -> Vec<String> {
    answer.hits.iter().map(|h| h.listing_id.clone()).collect()
}
