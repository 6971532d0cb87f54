//! A synthetic short-term rental market, for `commerce seed --stays N`, the ranking's
//! offline evaluation (`commerce eval stays`) and `commerce bench stays`.
//!
//! The generator's parameters were fixed and written down here before any ranking
//! weight was tuned on what it makes, and guests choose by a utility of their own
//! that the ranking never sees, so an evaluation on it is not circular:
//!
//! * **Cities** ([`CITIES`]): eight, each with its IANA zone, currency, price level
//!   (an average apartment for two, a night) and weight (its share of listings and of
//!   searches). Listings lie within 25 km of the centre (distance `25 km × u^0.7`,
//!   denser in the middle).
//! * **Hosts**: one to six listings each (1 + geometric, p = 0.55), in one city; 70 %
//!   keep nearly every stay (cancel 0.5 %), 25 % cancel 3 %, 5 % cancel 12 %; 80 %
//!   answer requests within about 1.5 hours (median), 15 % within 8, 5 % within 30
//!   (mostly too late: a request waits 24 hours); they accept 90 %.
//! * **Listings** ([`KINDS`], [`AMENITIES`]): a property type by share, a capacity in
//!   its range, amenities by chance (more often for the types named beside them), a
//!   hidden quality `q ~ N(0, 1)`, a nightly price of `level × type factor × (0.8 +
//!   0.1 × capacity) × e^(0.12 q) × e^(N(0, 0.2))`, a cleaning fee (a share of the
//!   level by type), cancellation policy flexible 40 % / moderate 40 % / strict 20 %,
//!   minimum nights 1 (55 %), 2 (30 %) or 3, maximum 14, 21, 30 or 60; weekly plan
//!   open every night (85 %), closed Monday and Tuesday (8 %) or Thursday to Sunday
//!   only (7 %, at least two nights); instant book 85 %, else on request. A share of
//!   the listings (`late_share`) is created during the history rather than at its
//!   start (new listings without reviews); 30 % of listings have a block of 2–10
//!   nights their host keeps within the next 600 days.
//! * **Guests**: drawn by a Zipf law (s = 0.6) so some come back; each has a party
//!   size (1: 20 %, 2: 45 %, 3: 10 %, 4: 15 %, 5–6: 10 %) and a hidden [`Taste`]:
//!   price sensitivity `e^(N(0.1, 0.45))`, distance cost 0.04–0.16 per km, one to three
//!   amenities wanted, and a liked property type (60 %).
//! * **Searches**: a city by weight, around a point within 6 km of its centre
//!   (radius 25 km), check-in `1 + Exp(mean 35)` days ahead (at most
//!   `max_lead_days`), 1–7 nights (2 and 3 most often), the party; 15 % also ask
//!   for one wanted amenity, 8 % for the liked type, 8 % for a price cap of 1.5 times
//!   the city's usual price. Each is ranked by the real read model as it stands at
//!   that point of the log (`StaysModel::search`, configured weights, 20 shown),
//!   recorded as `StaySearchPerformed` with what it showed.
//! * **Choice**: the guest opens up to three of the shown listings it likes best
//!   (`ListingViewed`, each with chance 0.5), and books the shown listing with the
//!   highest [`utility`] plus Gumbel noise if that beats staying away (utility
//!   [`OUTSIDE_OPTION`] plus Gumbel noise); there is no position bias within the
//!   shown list, and nothing but what was shown is chosen from. The utility counts
//!   the hidden quality, price against the city's usual (by party size), distance to
//!   where the guest wants to be, wanted amenities, the liked type and capacity to
//!   spare; never the ranking's weighted sum.
//! * **Stays**: every booking, confirmation, host answer, cancellation and review is
//!   decided by the Listing aggregate itself (`Listing::decide` at the event's own
//!   time), so each listing's stream is what the live system would have written:
//!   no two stays on a night, check-in never in the past at the listing, minimum and
//!   maximum nights and the weekly plan kept. A booking the aggregate refuses (the
//!   nights went to someone quicker) is counted as lost. Holds are paid one to six
//!   minutes later (`StayConfirmed`; the orders they are paid through are not
//!   written); requests are answered by the host's own delay (unanswered ones lapse
//!   by themselves after 24 hours). Hosts cancel by their own rate before check-in;
//!   65 % of stays that took place are reviewed 1.5–6.5 days after check-out,
//!   rated `round(4.1 + 0.7 q + N(0, 0.6))` within 1–5 (sub-ratings around it).
//! * **Calendars**: `calendar_stays` bookings per listing made outside search
//!   (no `search_id`), at random times in the history, for 2–4 (at least the
//!   minimum) nights up to two years ahead: calendars reach over the whole horizon.

mod history;
#[cfg(test)]
pub(crate) mod tests;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use event_schemas::stays::{CancellationPolicy, ListingDetails, Photo};
use event_schemas::GeoPoint;

use super::generator::Generator;

pub use history::{generate, history, Place, Summary, World};

/// A city listings are in and guests search.
#[derive(Debug, Clone, Copy)]
pub struct City {
    pub name: &'static str,
    pub centre: GeoPoint,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// An average apartment for two, a night, in minor units of `currency`.
    pub price_level: u64,
    /// Its share of listings and of searches (relative to the others).
    pub weight: f64,
}

pub const CITIES: [City; 8] = [
    City {
        name: "Berlin",
        centre: GeoPoint {
            lat: 52.52,
            lon: 13.405,
        },
        time_zone: "Europe/Berlin",
        currency: "EUR",
        price_level: 9_000,
        weight: 1.0,
    },
    City {
        name: "Lisbon",
        centre: GeoPoint {
            lat: 38.722,
            lon: -9.139,
        },
        time_zone: "Europe/Lisbon",
        currency: "EUR",
        price_level: 8_000,
        weight: 0.9,
    },
    City {
        name: "New York",
        centre: GeoPoint {
            lat: 40.713,
            lon: -74.006,
        },
        time_zone: "America/New_York",
        currency: "USD",
        price_level: 18_000,
        weight: 1.3,
    },
    City {
        name: "Mexico City",
        centre: GeoPoint {
            lat: 19.433,
            lon: -99.133,
        },
        time_zone: "America/Mexico_City",
        currency: "MXN",
        price_level: 120_000,
        weight: 0.7,
    },
    City {
        name: "Tokyo",
        centre: GeoPoint {
            lat: 35.68,
            lon: 139.69,
        },
        time_zone: "Asia/Tokyo",
        currency: "JPY",
        price_level: 14_000,
        weight: 1.1,
    },
    City {
        name: "Sydney",
        centre: GeoPoint {
            lat: -33.87,
            lon: 151.21,
        },
        time_zone: "Australia/Sydney",
        currency: "AUD",
        price_level: 17_000,
        weight: 0.8,
    },
    City {
        name: "Cape Town",
        centre: GeoPoint {
            lat: -33.925,
            lon: 18.424,
        },
        time_zone: "Africa/Johannesburg",
        currency: "ZAR",
        price_level: 150_000,
        weight: 0.6,
    },
    City {
        name: "Auckland",
        centre: GeoPoint {
            lat: -36.85,
            lon: 174.76,
        },
        time_zone: "Pacific/Auckland",
        currency: "NZD",
        price_level: 15_000,
        weight: 0.6,
    },
];

/// How far from its city's centre a listing may lie.
pub const CITY_RADIUS_KM: f64 = 25.0;
/// How far from the centre a guest wants to be, at most.
const TARGET_SPREAD_KM: f64 = 6.0;
/// The radius every seeded search asks for.
pub const SEARCH_RADIUS_KM: f64 = 25.0;
/// Listings a search shows (the route's default page).
pub const SHOWN: usize = 20;

/// A property type: its price against an apartment's, its capacity range, its share
/// of listings, and its cleaning fee as a share of the city's price level.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    pub price_factor: f64,
    pub capacity: (u32, u32),
    pub share: f64,
    pub cleaning: f64,
}

pub const KINDS: [Kind; 6] = [
    Kind {
        name: "apartment",
        price_factor: 1.0,
        capacity: (2, 4),
        share: 40.0,
        cleaning: 0.30,
    },
    Kind {
        name: "room",
        price_factor: 0.55,
        capacity: (1, 2),
        share: 15.0,
        cleaning: 0.0,
    },
    Kind {
        name: "loft",
        price_factor: 1.25,
        capacity: (2, 4),
        share: 10.0,
        cleaning: 0.30,
    },
    Kind {
        name: "house",
        price_factor: 1.7,
        capacity: (4, 8),
        share: 18.0,
        cleaning: 0.45,
    },
    Kind {
        name: "cabin",
        price_factor: 1.1,
        capacity: (2, 6),
        share: 9.0,
        cleaning: 0.35,
    },
    Kind {
        name: "villa",
        price_factor: 2.8,
        capacity: (6, 12),
        share: 8.0,
        cleaning: 0.60,
    },
];

/// Amenities, the percent of listings with each, and the types that have it more
/// often (65 %, or the chance when higher).
pub const AMENITIES: [(&str, u64, &[&str]); 16] = [
    ("wifi", 95, &[]),
    (
        "kitchen",
        70,
        &["apartment", "house", "cabin", "villa", "loft"],
    ),
    ("heating", 80, &[]),
    ("tv", 60, &[]),
    ("washer", 45, &["house", "villa"]),
    ("air_conditioning", 40, &["villa"]),
    ("self_check_in", 45, &["apartment", "loft"]),
    ("workspace", 35, &["loft"]),
    ("parking", 30, &["house", "cabin", "villa"]),
    ("balcony", 30, &["apartment", "loft"]),
    ("elevator", 25, &["apartment"]),
    ("pets_allowed", 20, &["cabin", "house"]),
    ("garden", 15, &["house", "villa"]),
    ("pool", 6, &["villa"]),
    ("hot_tub", 6, &["cabin", "villa"]),
    ("fireplace", 8, &["cabin"]),
];

const ADJECTIVES: [&str; 10] = [
    "Bright", "Cosy", "Quiet", "Spacious", "Modern", "Charming", "Sunny", "Stylish", "Rustic",
    "Elegant",
];
const PLACES: [&str; 8] = [
    "near the old town",
    "by the river",
    "close to the station",
    "with a view",
    "in a green street",
    "near the market",
    "by the park",
    "in the centre",
];
const FLAVOURS: [&str; 6] = [
    "Cafés and a bakery around the corner.",
    "Quiet at night, lively by day.",
    "Fresh linen and towels for every guest.",
    "Public transport a few minutes away.",
    "We are happy to help with tips for the city.",
    "Light all day through large windows.",
];

/// What a guest wants, hidden from the ranking: the generator's own reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Taste {
    /// Utility lost when the price doubles against the city's usual (times ln 2).
    pub price_sensitivity: f64,
    /// Utility lost per km from where the guest wants to be.
    pub distance_per_km: f64,
    pub wants: Vec<&'static str>,
    pub likes_kind: Option<&'static str>,
}

/// A shown listing as a guest weighs it.
#[derive(Debug, Clone)]
pub struct Offer<'a> {
    /// The listing's hidden quality (N(0, 1) over listings).
    pub quality: f64,
    /// The stay's price a night, cleaning fee included.
    pub nightly: f64,
    /// The city's usual price a night for the party ([`usual_price`]).
    pub usual: f64,
    pub distance_km: f64,
    pub amenities: &'a [String],
    pub kind: &'a str,
    pub capacity: u32,
    pub party: u32,
}

/// Utility of a standard deviation of hidden quality.
pub const QUALITY_WEIGHT: f64 = 1.0;
/// Utility of each wanted amenity the listing has.
pub const WANT_WEIGHT: f64 = 0.4;
/// Utility of the liked property type.
pub const KIND_WEIGHT: f64 = 0.6;
/// Utility lost per bed beyond two to spare.
pub const SPARE_WEIGHT: f64 = 0.1;
/// Utility of booking nothing (plus Gumbel noise): about half the searches book.
pub const OUTSIDE_OPTION: f64 = 1.5;

/// How much the guest likes the offer, before noise: what the generator's guests
/// choose by. It shares no formula with the ranking (`stays::search`): quality is the
/// hidden one (the ranking sees reviews), price is against the city's usual (the
/// ranking compares candidates), distance counts (the ranking ignores it).
pub fn utility(taste: &Taste, offer: &Offer) -> f64 {
    let wanted = taste
        .wants
        .iter()
        .filter(|want| offer.amenities.iter().any(|a| a == *want))
        .count() as f64;
    let liked = taste.likes_kind.is_some_and(|kind| kind == offer.kind);
    let spare = offer.capacity.saturating_sub(offer.party + 2) as f64;
    QUALITY_WEIGHT * offer.quality
        - taste.price_sensitivity * (offer.nightly.max(1.0) / offer.usual.max(1.0)).ln()
        - taste.distance_per_km * offer.distance_km
        + WANT_WEIGHT * wanted
        + if liked { KIND_WEIGHT } else { 0.0 }
        - SPARE_WEIGHT * spare
}

/// The city's usual price a night for a party (an apartment for two is the level).
pub fn usual_price(city: &City, party: u32) -> f64 {
    city.price_level as f64 * (0.7 + 0.15 * f64::from(party)).max(0.6)
}

/// A point `km_east`, `km_north` of `centre`.
pub fn offset(centre: GeoPoint, km_east: f64, km_north: f64) -> GeoPoint {
    GeoPoint {
        lat: centre.lat + km_north / 111.32,
        lon: centre.lon + km_east / (111.32 * centre.lat.to_radians().cos()),
    }
}

/// A standard normal draw (Box–Muller).
pub(crate) fn normal(g: &mut Generator) -> f64 {
    let u = g.unit().max(1e-12);
    let v = g.unit();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A standard Gumbel draw: the noise of a logit choice.
pub(crate) fn gumbel(g: &mut Generator) -> f64 {
    -(-(g.unit().max(1e-12)).ln()).ln()
}

/// A point within `km` of `centre`, denser toward it when `power` is above 0.5.
fn point_within(g: &mut Generator, centre: GeoPoint, km: f64, power: f64) -> GeoPoint {
    let distance = km * g.unit().powf(power);
    let angle = std::f64::consts::TAU * g.unit();
    offset(centre, distance * angle.cos(), distance * angle.sin())
}

/// 64 random hex digits: a stand-in for a photo's SHA-256.
fn hash_hex(g: &mut Generator) -> String {
    (0..4)
        .map(|_| format!("{:016x}", g.below(u64::MAX)))
        .collect()
}

/// An index drawn by the given weights.
pub(crate) fn by_weight(g: &mut Generator, weights: &[f64]) -> usize {
    let mut total = 0.0;
    let cumulative: Vec<f64> = weights
        .iter()
        .map(|w| {
            total += w;
            total
        })
        .collect();
    g.weighted(&cumulative)
}

/// A listing's details as its host writes them, and its hidden quality.
pub(crate) fn draft_listing(g: &mut Generator, id: &str, city: &City) -> (ListingDetails, f64) {
    let kind = KINDS[by_weight(g, &KINDS.map(|k| k.share))];
    let capacity =
        kind.capacity.0 + g.below(u64::from(kind.capacity.1 - kind.capacity.0 + 1)) as u32;
    let quality = normal(g);
    let amenities: Vec<String> = AMENITIES
        .iter()
        .filter(|(_, chance, favoured)| {
            let chance = if favoured.contains(&kind.name) {
                (*chance).max(65)
            } else {
                *chance
            };
            g.chance(chance)
        })
        .map(|(name, _, _)| name.to_string())
        .collect();
    let level = city.price_level as f64;
    let nightly = level
        * kind.price_factor
        * (0.8 + 0.1 * f64::from(capacity))
        * (0.12 * quality).exp()
        * (0.2 * normal(g)).exp();
    let round = |x: f64| ((x / 100.0).round() as u64).max(1) * 100;
    let cleaning_fee = if kind.cleaning > 0.0 {
        round(level * kind.cleaning)
    } else {
        0
    };
    let cancellation_policy = match g.below(100) {
        0..=39 => CancellationPolicy::Flexible,
        40..=79 => CancellationPolicy::Moderate,
        _ => CancellationPolicy::Strict,
    };
    let all_week = vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let (open_weekdays, weekend_place) = match g.below(100) {
        0..=84 => (all_week, false),
        85..=92 => (all_week[2..].to_vec(), false),
        _ => (all_week[3..].to_vec(), true),
    };
    let mut min_nights = match g.below(100) {
        0..=54 => 1,
        55..=84 => 2,
        _ => 3,
    };
    if weekend_place {
        min_nights = min_nights.max(2);
    }
    let max_nights = [14, 21, 30, 60][g.below(4) as usize];
    let adjective = ADJECTIVES[g.below(ADJECTIVES.len() as u64) as usize];
    let place = PLACES[g.below(PLACES.len() as u64) as usize];
    let title = format!("{adjective} {} {place}, {}", kind.name, city.name);
    let listed: Vec<&str> = amenities
        .iter()
        .filter(|a| *a != "wifi" && *a != "heating")
        .take(4)
        .map(|a| a.as_str())
        .collect();
    let description = format!(
        "{title}. Sleeps {capacity}{}. {}",
        if listed.is_empty() {
            String::new()
        } else {
            format!("; {}", listed.join(", ").replace('_', " "))
        },
        FLAVOURS[g.below(FLAVOURS.len() as u64) as usize]
    );
    let photos = (1..=2)
        .map(|n| Photo {
            url: format!("https://photos.example/{id}/{n}.jpg"),
            content_hash: hash_hex(g),
        })
        .collect();
    let details = ListingDetails {
        title,
        description,
        photos,
        location: point_within(g, city.centre, CITY_RADIUS_KM, 0.7),
        time_zone: city.time_zone.to_string(),
        property_type: kind.name.to_string(),
        capacity,
        amenities,
        currency: city.currency.to_string(),
        nightly_price: round(nightly),
        cleaning_fee,
        cancellation_policy,
        min_nights,
        max_nights,
        check_in_time: NaiveTime::from_hms_opt(15, 0, 0).expect("a time"),
        check_out_time: NaiveTime::from_hms_opt(11, 0, 0).expect("a time"),
        open_weekdays,
        instant_book: g.chance(85),
    };
    (details, quality)
}

/// A guest's party size and hidden taste.
pub(crate) fn draft_guest(g: &mut Generator) -> (u32, Taste) {
    let party = match g.below(100) {
        0..=19 => 1,
        20..=64 => 2,
        65..=74 => 3,
        75..=89 => 4,
        90..=94 => 5,
        _ => 6,
    };
    let price_sensitivity = (0.1 + 0.45 * normal(g)).exp();
    let distance_per_km = 0.02 + 0.06 * g.unit();
    // Wifi is nearly everywhere: nobody's reason to choose.
    let choices: Vec<&'static str> = AMENITIES[1..].iter().map(|(name, _, _)| *name).collect();
    let mut wants = Vec::new();
    for _ in 0..1 + g.below(3) {
        let want = choices[g.below(choices.len() as u64) as usize];
        if !wants.contains(&want) {
            wants.push(want);
        }
    }
    let likes_kind = g
        .chance(60)
        .then(|| KINDS[by_weight(g, &KINDS.map(|k| k.share))].name);
    (
        party,
        Taste {
            price_sensitivity,
            distance_per_km,
            wants,
            likes_kind,
        },
    )
}

/// What the generator makes.
#[derive(Debug, Clone, PartialEq)]
pub struct StaysPlan {
    pub listings: usize,
    /// Days of history, ending at `end`.
    pub days: i64,
    /// Searches over the whole history.
    pub searches: usize,
    /// Bookings made outside search for each listing (up to two years ahead).
    pub calendar_stays: usize,
    /// Share of listings created during the history rather than at its start.
    pub late_share: f64,
    /// The furthest ahead a searched stay begins.
    pub max_lead_days: i64,
    pub seed: u64,
    pub end: DateTime<Utc>,
    /// Every id written begins with it (so one database can take several runs).
    pub prefix: String,
}

impl StaysPlan {
    /// `commerce seed --stays`: `listings` over `days`, each listing searched for
    /// `searches_per_listing_year` times a year on average.
    pub fn history(
        listings: usize,
        days: i64,
        searches_per_listing_year: f64,
        calendar_stays: usize,
        seed: u64,
        end: DateTime<Utc>,
        prefix: String,
    ) -> Self {
        let searches = (listings as f64 * searches_per_listing_year.max(0.0) * days as f64 / 365.0)
            .round() as usize;
        Self {
            listings,
            days,
            searches,
            calendar_stays,
            late_share: 0.4,
            max_lead_days: 300,
            seed,
            end,
            prefix,
        }
    }
}

/// One event of the history, at the time it happened, with its place in its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StaySeedEvent {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    /// 1 for the stream's first event.
    pub sequence: i64,
    pub event_type: &'static str,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
    /// For a search: the number of events written before it in this run, which is
    /// its `ranked_at` on an empty log (the writer adds the log's head before it).
    pub ranked_at: Option<i64>,
}

/// Write `plan`'s history into the log, each event at the time it happened (searches
/// name the log position they were ranked at); the market as it ends.
pub async fn write_stays(store: &commands::EventStore, plan: StaysPlan) -> anyhow::Result<World> {
    let base = store.head_position().await?;
    let (days, mut receive) = tokio::sync::mpsc::channel::<Vec<StaySeedEvent>>(2);
    // The generator (and the read model it ranks with) is CPU work: it runs beside
    // the appends.
    let generating = tokio::task::spawn_blocking(move || {
        history(plan, |events| {
            days.blocking_send(events)
                .map_err(|_| anyhow::anyhow!("the log writer stopped"))
        })
    });
    while let Some(events) = receive.recv().await {
        append(store, base, &events).await?;
    }
    generating.await?
}

/// Append seeded events, each in its stream after the ones before it.
async fn append(
    store: &commands::EventStore,
    base: i64,
    events: &[StaySeedEvent],
) -> anyhow::Result<()> {
    for chunk in events.chunks(super::BATCH) {
        let batches: Vec<commands::AppendBatch> = chunk
            .iter()
            .map(|e| {
                let mut payload = e.payload.clone();
                if let (Some(ranked_at), true) = (e.ranked_at, base != 0) {
                    payload["StaySearchPerformed"]["ranked_at"] = (base + ranked_at).into();
                }
                commands::AppendBatch {
                    aggregate_type: e.aggregate_type.into(),
                    aggregate_id: e.aggregate_id.clone(),
                    expected_sequence: e.sequence - 1,
                    events: vec![super::seed_event(e.event_type, payload, e.at)],
                    receipts: Vec::new(),
                }
            })
            .collect();
        for (result, batch) in store.append(&batches).await?.into_iter().zip(&batches) {
            result.map_err(|_| {
                anyhow::anyhow!(
                    "stream {}/{} was not where the seed expected it",
                    batch.aggregate_type,
                    batch.aggregate_id
                )
            })?;
        }
    }
    Ok(())
}
