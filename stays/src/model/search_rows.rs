//! What a search reads of each listing, packed: the fields its filter and ranking
//! need in one small row, and the free nights of the two years ahead in one fixed
//! array, kept in the listing's grid cell. A search over a city reads thousands of
//! listings; from the listings themselves it would follow a dozen pointers each
//! (details, three calendar bitsets, the host) in no order, which made it
//! memory-bound; from the cells it reads memory in order. A row is a pure function
//! of its listing and host, set again after every change to either.

use rustc_hash::FxHashMap;

use super::calendar::StayMasks;
use super::listing::{Listing, Status};
use super::people::Host;

/// Words of free nights kept per listing: from the word of UTC's yesterday, 896
/// nights, more than the two-year horizon, a longest stay and the nights read
/// around it.
pub const FREE_WORDS: usize = 14;

/// One listing as a search reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SearchRow {
    /// Active: listed, not flagged, not removed.
    pub shown: bool,
    /// Some night has a price of its own (the total is added night by night).
    pub priced_by_night: bool,
    pub amenity_count: u16,
    pub capacity: u32,
    pub min_nights: u32,
    pub max_nights: u32,
    /// Small numbers standing for the property type, the currency, and the two
    /// together (what prices are compared within); see [`SearchRows::key_id`].
    pub kind: u32,
    pub currency: u32,
    pub market: u32,
    pub review_sum: u32,
    pub review_count: u32,
    pub nightly_price: u64,
    pub cleaning_fee: u64,
    pub response_rate: f64,
    pub cancellation_rate: f64,
}

/// What the grid keeps beside each listing for searches.
#[derive(Debug, Clone, PartialEq)]
pub struct Searchable {
    pub row: SearchRow,
    /// Free nights of the words from [`SearchRows`]'s first word on.
    pub free: [u64; FREE_WORDS],
}

/// How rows are made and read: the numbers standing for keys, and the first word
/// of the free nights.
#[derive(Debug, Clone, Default)]
pub struct SearchRows {
    /// The word `free[0]` holds (`None` until the model has a clock: then searches
    /// read the calendars).
    first_word: Option<i64>,
    ids: FxHashMap<u64, u32>,
}

impl SearchRows {
    /// The small number standing for a kind, currency or market key (`None`: no
    /// listing has it).
    pub fn key_id(&self, key: u64) -> Option<u32> {
        self.ids.get(&key).copied()
    }

    /// How many key numbers there are (each is below this).
    pub fn key_count(&self) -> usize {
        self.ids.len()
    }

    fn intern(&mut self, key: u64) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(key).or_insert(next)
    }

    /// The listing as searches read it.
    pub fn searchable(&mut self, listing: &Listing, host: &Host) -> Searchable {
        let details = &listing.details;
        let row = SearchRow {
            shown: listing.status() == Status::Active,
            priced_by_night: !listing.calendar.prices.is_empty(),
            amenity_count: u16::try_from(listing.amenities.len()).unwrap_or(u16::MAX),
            capacity: details.capacity,
            min_nights: details.min_nights,
            max_nights: details.max_nights,
            kind: self.intern(listing.kind_key),
            currency: self.intern(listing.currency_key),
            market: self.intern(listing.market_key),
            review_sum: listing.review_sum,
            review_count: listing.review_count,
            nightly_price: details.nightly_price,
            cleaning_fee: details.cleaning_fee,
            response_rate: host.response_rate(),
            cancellation_rate: host.cancellation_rate(),
        };
        Searchable {
            row,
            free: self.free_words(listing),
        }
    }

    /// Keep free nights from word `first_word` on; whether that changed it (then
    /// every listing's free nights must be read again: every 64 days).
    pub fn start_at(&mut self, first_word: i64) -> bool {
        let changed = self.first_word != Some(first_word);
        self.first_word = Some(first_word);
        changed
    }

    /// The listing's free nights from the first word on.
    pub fn free_words(&self, listing: &Listing) -> [u64; FREE_WORDS] {
        match self.first_word {
            None => [0; FREE_WORDS],
            Some(first) => std::array::from_fn(|i| listing.calendar.free_word(first + i as i64)),
        }
    }

    /// `masks` over the packed words (word 0 the first kept), when every word they
    /// read is kept.
    pub fn packed(&self, masks: StayMasks) -> Option<StayMasks> {
        let first = self.first_word?;
        let (low, high) = masks.span()?;
        let kept = first..first + FREE_WORDS as i64;
        (kept.contains(&low) && kept.contains(&high)).then(|| masks.from_word(first))
    }
}
