//! Stay search: the filter (radius, status, guests, nights, free calendar as one
//! bit operation per word, price, amenities, type, text) and the ranking, a weighted
//! sum of five components in [0, 1], each reported with what it was computed from.

use chrono::{Duration, NaiveDate};
use domain::stays::local_time::local_today;
use domain::stays::{HORIZON_DAYS, MAX_STAY_NIGHTS};
use event_schemas::stays::StayQuery;
use event_schemas::values::GeoPoint;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::json;

use crate::config::RankingWeights;
use crate::model::calendar::{day_of, StayMasks};
use crate::model::listing::{kind_key, Listing};
use crate::model::people::Profile;
use crate::model::search_rows::{SearchRow, Searchable};
use crate::model::text::{query_tokens, same_word, words};
use crate::model::{shrunk_rating, StaysModel, PRIOR_REVIEWS};

/// The components, in the order of `RankingWeights::as_array`.
pub const COMPONENTS: [&str; 5] = [
    "quality",
    "relevance",
    "personalisation",
    "price",
    "availability",
];
/// Nights read on each side of a stay for how flexible the calendar is.
const FLEXIBILITY_NIGHTS: i64 = 3;
/// Candidates of the same property type the price is compared with at least; with
/// fewer, every candidate in the currency is.
const MIN_PRICE_PEERS: usize = 3;
/// Amenities beyond those asked for that make the most of relevance.
const EXTRA_AMENITIES_FULL: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub query: StayQuery,
    pub user_id: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// `None`: the configured weights.
    pub weights: Option<RankingWeights>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchAnswer {
    /// Listings that passed the filters (before offset and limit).
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub listing_id: String,
    pub title: String,
    pub nights: u32,
    /// The nights at their prices (overrides included) and the cleaning fee.
    pub total_price: u64,
    pub currency: String,
    pub score: f64,
    pub breakdown: Vec<Component>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// `quality`, `relevance`, `personalisation`, `price` or `availability`.
    pub name: &'static str,
    pub weight: f64,
    /// In [0, 1].
    pub value: f64,
    /// `weight × value`; the score is their sum.
    pub contribution: f64,
    /// The numbers the value was computed from.
    pub inputs: serde_json::Value,
}

/// What the query asks, read once.
struct Ask<'q> {
    query: &'q StayQuery,
    centre: GeoPoint,
    from: i64,
    until: i64,
    nights: u32,
    amenities: Vec<String>,
    /// The number rows know the property type asked by (`Some(None)`: no listing
    /// has that type).
    kind: Option<Option<u32>>,
    tokens: Vec<String>,
    /// Whether the dates are within a day of today or of the horizon, where each
    /// listing's own today decides (see `bookable_dates`).
    near_edge: bool,
    /// The first night read before the stay, unless it may fall before some
    /// listing's today (then each listing's today decides).
    before: Option<i64>,
    /// With `before` known, the masks of the stay and the nights around it over
    /// the search rows' packed words, when those hold them all.
    packed: Option<StayMasks>,
}

/// A listing that passed the filters, with what its components need. What the
/// ranking reads after the filter is copied here, so it reads these in order
/// instead of going back to the rows.
struct Candidate<'m> {
    listing: &'m Listing,
    row: &'m SearchRow,
    /// The row's key numbers of its currency and market.
    currency: u32,
    market: u32,
    total: u64,
    /// The stay's price a night, cleaning fee included.
    average: f64,
    tokens_matched: usize,
    /// The median `average` it is compared with, and the price component.
    median: f64,
    price: f64,
    /// Free nights around the stay, and how many were read.
    flexibility: (u32, u32),
    /// The weighted components before the price (quality, relevance,
    /// personalisation), summed, and the one after it (availability): the price
    /// waits for the medians, and the score adds them in the components' order.
    before_price: f64,
    after_price: f64,
    score: f64,
}

/// What weighs a candidate's components, for every candidate of a search.
struct Weighing<'a> {
    weights: [f64; 5],
    taste: Option<&'a Taste>,
    prior_mean: f64,
}

impl Weighing<'_> {
    /// Weigh every component but the price.
    #[inline(always)]
    fn weigh(&self, candidate: &mut Candidate, ask: &Ask) {
        let [quality, relevance, personalisation, _, availability] =
            component_values(candidate, ask, self.taste, self.prior_mean);
        let w = &self.weights;
        candidate.before_price = w[0] * quality + w[1] * relevance + w[2] * personalisation;
        candidate.after_price = w[4] * availability;
    }

    /// The score, once the price is known: the components' contributions added
    /// in their order, as the breakdown lists them.
    fn score(&self, candidate: &Candidate) -> f64 {
        candidate.before_price + self.weights[3] * candidate.price + candidate.after_price
    }
}

/// The five components' values, in the order of [`COMPONENTS`].
#[inline(always)]
fn component_values(
    candidate: &Candidate,
    ask: &Ask,
    taste: Option<&Taste>,
    prior_mean: f64,
) -> [f64; 5] {
    let (free, read) = candidate.flexibility;
    [
        Quality::of(candidate.row, prior_mean).value(),
        Relevance::of(candidate, ask).value(),
        taste.map_or(0.5, |t| t.likeness(candidate).value()),
        candidate.price,
        availability(free, read),
    ]
}

impl StaysModel {
    pub fn search(&self, request: &SearchRequest) -> SearchAnswer {
        let Some(ask) = Ask::of(self, &request.query) else {
            return SearchAnswer {
                total: 0,
                hits: Vec::new(),
            };
        };
        let weights = request.weights.unwrap_or(self.config().weights).as_array();
        let taste = request
            .user_id
            .as_ref()
            .and_then(|user| self.profiles.get(user))
            .and_then(|profile| Taste::of(self, profile));

        let weighing = Weighing {
            weights,
            taste: taste.as_ref(),
            prior_mean: self.mean_rating(),
        };
        let inside = self.grid.inside(ask.centre, ask.query.radius_km);
        // Room for every listing of the cells read: growing would copy them.
        let mut candidates: Vec<Candidate> = Vec::with_capacity(inside.reached());
        inside.for_each(|listing, searchable| {
            if let Some(mut candidate) = self.candidate(listing, searchable, &ask) {
                weighing.weigh(&mut candidate, &ask);
                candidates.push(candidate);
            }
        });
        self.price_against_medians(&mut candidates);
        for candidate in &mut candidates {
            candidate.score = weighing.score(candidate);
        }
        // Best first, ties by listing id; only the page asked for is put in order.
        let ranked = |a: &(f64, usize), b: &(f64, usize)| {
            b.0.total_cmp(&a.0)
                .then_with(|| candidates[a.1].listing.id.cmp(&candidates[b.1].listing.id))
        };
        let mut order: Vec<(f64, usize)> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.score, i))
            .collect();
        let page_end = request
            .offset
            .saturating_add(request.limit)
            .min(order.len());
        if page_end > 0 && page_end < order.len() {
            order.select_nth_unstable_by(page_end - 1, ranked);
        }
        order[..page_end].sort_unstable_by(ranked);
        SearchAnswer {
            total: candidates.len(),
            hits: order[request.offset.min(page_end)..page_end]
                .iter()
                .map(|(_, i)| self.hit(&candidates[*i], &ask, &weights, taste.as_ref()))
                .collect(),
        }
    }

    /// Listing `slot` as a candidate, if it passes every filter. Only its search
    /// row and free nights are read, unless the query asks for amenities or words,
    /// the dates are near today or the horizon, or the listing prices nights one by
    /// one. Inlined into the search's loop: returned by value, a candidate was
    /// copied through the stack twice, and each copy stalled.
    #[inline(always)]
    fn candidate<'m>(
        &'m self,
        slot: u32,
        searchable: &'m Searchable,
        ask: &Ask,
    ) -> Option<Candidate<'m>> {
        let row = &searchable.row;
        let fits = row.shown
            && row.capacity >= ask.query.guests
            && (row.min_nights..=row.max_nights).contains(&ask.nights)
            && ask.kind.is_none_or(|kind| kind == Some(row.kind));
        if !fits {
            return None;
        }
        // The listing itself is read only when the row cannot answer (a reference
        // to it taken up front lets the compiler load from it early: a cache miss
        // a candidate).
        if (ask.near_edge || !ask.amenities.is_empty()) && !self.listing_allows(slot, ask) {
            return None;
        }
        // The stay's nights must all be free; the three nights either side tell
        // how flexible the calendar is (those not past).
        let before = ask
            .before
            .unwrap_or_else(|| self.first_night_read(slot, ask));
        let after = ask.until + FLEXIBILITY_NIGHTS;
        let in_row = |packed: &StayMasks| packed.free_around(|word| searchable.free[word as usize]);
        let free_around = match &ask.packed {
            Some(packed) => in_row(packed),
            // A listing's own first night, or nights beyond the packed words. The
            // masks always fit: `Ask::of` keeps a stay to 365 nights, and `before`
            // is at most three nights before its check-in.
            None => {
                let masks = StayMasks::new(before, ask.from, ask.until, after)?;
                match self.rows.packed(masks) {
                    Some(packed) => in_row(&packed),
                    None => self.listings[slot as usize]
                        .calendar
                        .free_stay_and_around(&masks),
                }
            }
        }?;
        let flexibility = (
            free_around,
            ((ask.from - before).max(0) + FLEXIBILITY_NIGHTS) as u32,
        );
        let nights_total = if row.priced_by_night {
            self.listings[slot as usize].calendar.nights_total(
                ask.from,
                ask.until,
                row.nightly_price,
            )
        } else {
            row.nightly_price.saturating_mul(u64::from(ask.nights))
        };
        let total = nights_total.saturating_add(row.cleaning_fee);
        let average = total as f64 / f64::from(ask.nights);
        if ask.query.price_max.is_some_and(|max| average > max as f64) {
            return None;
        }
        let tokens_matched = if ask.tokens.is_empty() {
            0
        } else {
            let matched = matched_tokens(&self.listings[slot as usize], &ask.tokens);
            if matched == 0 {
                return None;
            }
            matched
        };
        Some(Candidate {
            listing: &self.listings[slot as usize],
            row,
            currency: row.currency,
            market: row.market,
            total,
            average,
            tokens_matched,
            median: average,
            price: 0.5,
            flexibility,
            before_price: 0.0,
            after_price: 0.0,
            score: 0.0,
        })
    }

    /// The filters only the listing itself answers: its own today and horizon near
    /// their edges, and the amenities asked.
    #[inline(never)]
    fn listing_allows(&self, slot: u32, ask: &Ask) -> bool {
        let listing = &self.listings[slot as usize];
        (!ask.near_edge || self.bookable_dates(listing, ask.query.check_in, ask.query.check_out))
            && ask
                .amenities
                .iter()
                .all(|a| listing.amenities.binary_search(a).is_ok())
    }

    /// The first night read before the stay when it may fall before the listing's
    /// today.
    #[inline(never)]
    fn first_night_read(&self, slot: u32, ask: &Ask) -> i64 {
        let listing = &self.listings[slot as usize];
        (ask.from - FLEXIBILITY_NIGHTS)
            .max(self.first_open_night(listing, ask.from - FLEXIBILITY_NIGHTS))
    }

    /// Whether the stay starts no earlier than the listing's today and ends within
    /// its horizon (its own zone's dates).
    fn bookable_dates(&self, listing: &Listing, check_in: NaiveDate, check_out: NaiveDate) -> bool {
        let Some(now) = self.clock() else {
            return true;
        };
        let today = local_today(listing.zone, now);
        check_in >= today && check_out <= today + Duration::days(HORIZON_DAYS)
    }

    /// The listing's today as a night number, when `night` may be on or before it
    /// (`i64::MIN` otherwise: nothing to cut off). Every zone's today is within a
    /// day of UTC's, so the zone is read only for nights near it.
    fn first_open_night(&self, listing: &Listing, night: i64) -> i64 {
        match self.clock() {
            Some(now) if night <= day_of(now.date_naive()) + 1 => {
                day_of(local_today(listing.zone, now))
            }
            _ => i64::MIN,
        }
    }

    /// Each candidate's price against the median of those in its currency and of
    /// its property type (or of all in its currency, when too few share the type):
    /// at the median 0.5, at half of it or less 1, at one and a half times or more 0.
    fn price_against_medians(&self, candidates: &mut [Candidate]) {
        let keys = self.rows.key_count();
        let mut in_market = vec![0; keys];
        for c in candidates.iter() {
            in_market[c.market as usize] += 1;
        }
        // A currency's median is read only where a market has too few peers.
        let mut currency_read = vec![false; keys];
        for c in candidates.iter() {
            currency_read[c.currency as usize] |= in_market[c.market as usize] < MIN_PRICE_PEERS;
        }
        let mut by_market: Vec<Vec<f64>> = in_market.into_iter().map(Vec::with_capacity).collect();
        let mut by_currency: Vec<Vec<f64>> = vec![Vec::new(); keys];
        for c in candidates.iter() {
            by_market[c.market as usize].push(c.average);
            if currency_read[c.currency as usize] {
                by_currency[c.currency as usize].push(c.average);
            }
        }
        let medians = |groups: Vec<Vec<f64>>| -> Vec<(usize, f64)> {
            groups
                .into_iter()
                .map(|mut prices| (prices.len(), median(&mut prices)))
                .collect()
        };
        let (of_market, of_currency) = (medians(by_market), medians(by_currency));
        for c in candidates.iter_mut() {
            let (peers, of_type) = of_market[c.market as usize];
            c.median = if peers >= MIN_PRICE_PEERS {
                of_type
            } else {
                of_currency[c.currency as usize].1
            };
            c.price = if c.median > 0.0 {
                (1.5 - c.average / c.median).clamp(0.0, 1.0)
            } else {
                0.5
            };
        }
    }
}

impl<'q> Ask<'q> {
    fn of(model: &StaysModel, query: &'q StayQuery) -> Option<Self> {
        let nights = (query.check_out - query.check_in).num_days();
        let valid = query.lat.is_finite()
            && query.lon.is_finite()
            && query.radius_km.is_finite()
            && query.radius_km > 0.0
            && (1..=i64::from(MAX_STAY_NIGHTS)).contains(&nights);
        if !valid {
            return None;
        }
        let (from, until) = (day_of(query.check_in), day_of(query.check_out));
        // Every zone's today is within a day of UTC's: away from today and the
        // horizon, every listing's dates agree with UTC's.
        let (near_edge, before) = match model.clock() {
            None => (false, Some(from - FLEXIBILITY_NIGHTS)),
            Some(now) => {
                let utc_today = day_of(now.date_naive());
                let near_edge = from <= utc_today + 1 || until >= utc_today + HORIZON_DAYS - 1;
                let before = from - FLEXIBILITY_NIGHTS;
                (near_edge, (before > utc_today + 1).then_some(before))
            }
        };
        let kind = query
            .property_type
            .as_ref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .map(|kind| model.rows.key_id(kind_key(&kind)));
        let packed = before.and_then(|before| {
            let masks = StayMasks::new(before, from, until, until + FLEXIBILITY_NIGHTS)?;
            model.rows.packed(masks)
        });
        Some(Ask {
            query,
            centre: GeoPoint {
                lat: query.lat,
                lon: query.lon,
            },
            from,
            until,
            nights: nights as u32,
            amenities: crate::model::listing::lower_sorted(&query.amenities),
            kind,
            tokens: query.text.as_deref().map(query_tokens).unwrap_or_default(),
            near_edge,
            before,
            packed,
        })
    }
}

/// How many of `tokens` the listing's title or description holds.
fn matched_tokens(listing: &Listing, tokens: &[String]) -> usize {
    let mut found = vec![false; tokens.len()];
    let text = [&listing.details.title, &listing.details.description];
    for word in text.iter().flat_map(|t| words(t)) {
        for (token, seen) in tokens.iter().zip(found.iter_mut()) {
            if !*seen && same_word(word, token) {
                *seen = true;
            }
        }
    }
    found.iter().filter(|f| **f).count()
}

/// The share of the nights read that are free (1 when none could be read).
fn availability(free: u32, read: u32) -> f64 {
    if read == 0 {
        1.0
    } else {
        f64::from(free) / f64::from(read)
    }
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let (len, middle) = (values.len(), values.len() / 2);
    let (below, at, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    if len % 2 == 1 {
        *at
    } else {
        // The largest of the lower half is the other middle value.
        let lower = below
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .expect("a lower half");
        (lower + *at) / 2.0
    }
}

/// The listing's reviews (Bayesian) and its host's reliability.
#[derive(Debug, Clone)]
struct Quality {
    rating: f64,
    reviews: u32,
    prior_mean: f64,
    response_rate: f64,
    cancellation_rate: f64,
}

impl Quality {
    fn of(row: &SearchRow, prior_mean: f64) -> Self {
        Self {
            rating: shrunk_rating(prior_mean, row.review_sum, row.review_count),
            reviews: row.review_count,
            prior_mean,
            response_rate: row.response_rate,
            cancellation_rate: row.cancellation_rate,
        }
    }

    /// Half the rating (1–5 read as 0–1), a quarter each the response rate and the
    /// share of stays the host kept.
    fn value(&self) -> f64 {
        let rating = ((self.rating - 1.0) / 4.0).clamp(0.0, 1.0);
        0.5 * rating + 0.25 * self.response_rate + 0.25 * (1.0 - self.cancellation_rate)
    }
}

/// How well the listing answers what was asked.
#[derive(Debug, Clone)]
struct Relevance {
    /// Query words found, of those asked (`None`: no text asked).
    text: Option<(usize, usize)>,
    extra_amenities: usize,
    guests: u32,
    capacity: u32,
}

impl Relevance {
    fn of(candidate: &Candidate, ask: &Ask) -> Self {
        let row = candidate.row;
        Self {
            text: (!ask.tokens.is_empty()).then_some((candidate.tokens_matched, ask.tokens.len())),
            extra_amenities: usize::from(row.amenity_count).saturating_sub(ask.amenities.len()),
            guests: ask.query.guests,
            capacity: row.capacity,
        }
    }

    fn capacity_fit(&self) -> f64 {
        if self.capacity == 0 {
            0.0
        } else {
            (f64::from(self.guests.max(1)) / f64::from(self.capacity)).min(1.0)
        }
    }

    fn extra_share(&self) -> f64 {
        self.extra_amenities.min(EXTRA_AMENITIES_FULL) as f64 / EXTRA_AMENITIES_FULL as f64
    }

    /// With text asked: half the share of its words found, a quarter each the extra
    /// amenities and how closely the capacity fits the party; without, half each.
    fn value(&self) -> f64 {
        match self.text {
            Some((found, asked)) => {
                0.5 * found as f64 / asked as f64
                    + 0.25 * self.extra_share()
                    + 0.25 * self.capacity_fit()
            }
            None => 0.5 * self.extra_share() + 0.5 * self.capacity_fit(),
        }
    }
}

/// A guest's profile summed up: weight by property type and by amenity, and the
/// typical nightly price (geometric mean) by currency.
struct Taste {
    total: f64,
    /// By the listings' `kind_key`, `amenity_keys` and `currency_key`.
    types: FxHashMap<u64, f64>,
    amenities: FxHashMap<u64, f64>,
    amenity_total: f64,
    usual_prices: FxHashMap<u64, f64>,
    interactions: usize,
}

impl Taste {
    fn of(model: &StaysModel, profile: &Profile) -> Option<Self> {
        let mut taste = Taste {
            total: 0.0,
            types: FxHashMap::default(),
            amenities: FxHashMap::default(),
            amenity_total: 0.0,
            usual_prices: FxHashMap::default(),
            interactions: profile.recent.len(),
        };
        let mut log_prices: FxHashMap<u64, (f64, f64)> = FxHashMap::default();
        for interaction in &profile.recent {
            let listing = &model.listings[interaction.listing as usize];
            let w = interaction.weight;
            taste.total += w;
            *taste.types.entry(listing.kind_key).or_default() += w;
            for amenity in &listing.amenity_keys {
                *taste.amenities.entry(*amenity).or_default() += w;
                taste.amenity_total += w;
            }
            if interaction.nightly > 0 {
                let (sum, weight) = log_prices.entry(listing.currency_key).or_default();
                *sum += w * (interaction.nightly as f64).ln();
                *weight += w;
            }
        }
        taste.usual_prices = log_prices
            .into_iter()
            .map(|(currency, (sum, weight))| (currency, (sum / weight).exp()))
            .collect();
        (taste.total > 0.0).then_some(taste)
    }

    fn likeness(&self, candidate: &Candidate) -> Likeness {
        let listing = candidate.listing;
        let type_share = self
            .types
            .get(&listing.kind_key)
            .map_or(0.0, |w| w / self.total);
        let amenity_share = if self.amenity_total > 0.0 {
            listing
                .amenity_keys
                .iter()
                .filter_map(|a| self.amenities.get(a))
                .sum::<f64>()
                / self.amenity_total
        } else {
            0.5
        };
        let usual_price = self.usual_prices.get(&listing.currency_key).copied();
        let price_closeness = usual_price.map_or(0.5, |usual| {
            (1.0 - (candidate.average / usual).log2().abs()).clamp(0.0, 1.0)
        });
        Likeness {
            type_share,
            amenity_share,
            usual_price,
            price_closeness,
            interactions: self.interactions,
        }
    }
}

/// How much a listing is like what the guest stayed in and looked at.
#[derive(Debug, Clone)]
struct Likeness {
    type_share: f64,
    amenity_share: f64,
    usual_price: Option<f64>,
    price_closeness: f64,
    interactions: usize,
}

impl Likeness {
    /// 0.4 the share of the profile of this property type, 0.3 the share of the
    /// profile's amenities it has, 0.3 how close its price is to the usual one (1
    /// at the same, 0 at twice or half).
    fn value(&self) -> f64 {
        0.4 * self.type_share + 0.3 * self.amenity_share + 0.3 * self.price_closeness
    }
}

impl StaysModel {
    /// The hit, with the numbers behind each component (computed again for the
    /// page only).
    fn hit(
        &self,
        candidate: &Candidate,
        ask: &Ask,
        weights: &[f64; 5],
        taste: Option<&Taste>,
    ) -> Hit {
        let listing = candidate.listing;
        let quality = Quality::of(candidate.row, self.mean_rating());
        let relevance = Relevance::of(candidate, ask);
        let personalisation = taste.map(|t| t.likeness(candidate));
        let (free, read) = candidate.flexibility;
        let inputs = [
            json!({
                "rating": quality.rating,
                "review_count": quality.reviews,
                "prior_mean": quality.prior_mean,
                "prior_count": PRIOR_REVIEWS,
                "response_rate": quality.response_rate,
                "cancellation_rate": quality.cancellation_rate,
            }),
            json!({
                "text_words_found": relevance.text.map(|t| t.0),
                "text_words_asked": relevance.text.map(|t| t.1),
                "extra_amenities": relevance.extra_amenities,
                "guests": relevance.guests,
                "capacity": relevance.capacity,
                "capacity_fit": relevance.capacity_fit(),
            }),
            match &personalisation {
                None => json!({ "profile": false }),
                Some(l) => json!({
                    "profile": true,
                    "interactions": l.interactions,
                    "property_type_share": l.type_share,
                    "amenity_share": l.amenity_share,
                    "usual_nightly_price": l.usual_price,
                    "price_closeness": l.price_closeness,
                }),
            },
            json!({
                "nightly_average": candidate.average,
                "median_nightly_average": candidate.median,
            }),
            json!({ "free_nights_around": free, "nights_read": read }),
        ];
        let breakdown = COMPONENTS
            .iter()
            .zip(weights)
            .zip(component_values(candidate, ask, taste, self.mean_rating()))
            .zip(inputs)
            .map(|(((name, weight), value), inputs)| Component {
                name,
                weight: *weight,
                value,
                contribution: weight * value,
                inputs,
            })
            .collect();
        Hit {
            listing_id: listing.id.clone(),
            title: listing.details.title.clone(),
            nights: ask.nights,
            total_price: candidate.total,
            currency: listing.details.currency.clone(),
            score: candidate.score,
            breakdown,
        }
    }
}
