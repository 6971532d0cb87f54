//! A listing's nights as bitsets: bit `d` is the night `d` days after [`base`]
//! (2020-01-01, a Wednesday), in words of 64 nights, kept only over the words in use.
//! Which nights stays take, which the host blocked or opened, the weekly plan as
//! a repeating pattern of words, and price overrides per night.

use chrono::{Datelike, NaiveDate, Weekday};
use event_schemas::stays::CalendarChange;

/// The night numbered 0.
pub fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("a valid date")
}

/// The number of `night`: days since [`base`] (negative before it).
pub fn day_of(night: NaiveDate) -> i64 {
    (night - base()).num_days()
}

/// The night numbered `day`.
pub fn date_of(day: i64) -> NaiveDate {
    base() + chrono::Duration::days(day)
}

/// The words `[from, until)` spans, each with the mask of its nights in the range.
pub fn words_of(from: i64, until: i64) -> impl Iterator<Item = (i64, u64)> {
    let (first, last) = (from.div_euclid(64), (until - 1).div_euclid(64));
    (first..=last)
        .filter(move |_| from < until)
        .map(move |word| {
            let low = if word == first {
                from.rem_euclid(64)
            } else {
                0
            };
            let high = if word == last {
                (until - 1).rem_euclid(64)
            } else {
                63
            };
            let mask = (u64::MAX >> (63 - high)) & (u64::MAX << low);
            (word, mask)
        })
}

/// The bits of word `word` that fall in `[from, until)`.
fn bits_of(word: i64, from: i64, until: i64) -> u64 {
    let first = word * 64;
    let (low, high) = (from.max(first) - first, until.min(first + 64) - first);
    if low >= high {
        0
    } else {
        (u64::MAX >> (64 - (high - low))) << low
    }
}

/// Words [`StayMasks`] keeps: a longest stay and three nights either side span
/// seven at most.
const STAY_WORDS: usize = 8;

/// A stay `[from, until)` and the nights read around it (`[before, from)`,
/// `[until, after)`) as the words they span, each with the mask of the stay's
/// nights and the mask of those around: what a search works out of the dates
/// alone, once, and applies to every listing's free nights, whoever keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayMasks {
    /// (word, stay's nights, nights around), the first `len` in use.
    words: [(i64, u64, u64); STAY_WORDS],
    len: usize,
}

impl StayMasks {
    /// The masks (`None` when they span more words than a longest stay and the
    /// nights around it can).
    pub fn new(before: i64, from: i64, until: i64, after: i64) -> Option<Self> {
        let mut masks = Self {
            words: [(0, 0, 0); STAY_WORDS],
            len: 0,
        };
        for (word, mask) in words_of(before.min(from), after.max(until)) {
            *masks.words.get_mut(masks.len)? = (
                word,
                mask & bits_of(word, from, until),
                mask & (bits_of(word, before, from) | bits_of(word, until, after)),
            );
            masks.len += 1;
        }
        Some(masks)
    }

    /// The first and last word read.
    pub fn span(&self) -> Option<(i64, i64)> {
        let words = &self.words[..self.len];
        Some((words.first()?.0, words.last()?.0))
    }

    /// The same masks over words numbered from `first` (word `first` becomes 0).
    pub fn from_word(mut self, first: i64) -> Self {
        for (word, _, _) in &mut self.words[..self.len] {
            *word -= first;
        }
        self
    }

    /// Whether every night of the stay is free by `free_word`, and if so how many
    /// of those around are.
    #[inline]
    pub fn free_around(&self, free_word: impl Fn(i64) -> u64) -> Option<u32> {
        let mut around = 0;
        for &(word, stay, near) in &self.words[..self.len] {
            let free = free_word(word);
            if free & stay != stay {
                return None;
            }
            around += (free & near).count_ones();
        }
        Some(around)
    }
}

/// A set of nights: `words[i]` holds the nights of word `first + i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NightSet {
    first: i64,
    words: Vec<u64>,
}

impl NightSet {
    pub fn word(&self, word: i64) -> u64 {
        usize::try_from(word - self.first)
            .ok()
            .and_then(|i| self.words.get(i).copied())
            .unwrap_or(0)
    }

    pub fn contains(&self, day: i64) -> bool {
        self.word(day.div_euclid(64)) & (1 << day.rem_euclid(64)) != 0
    }

    pub fn insert_range(&mut self, from: i64, until: i64) {
        if from >= until {
            return;
        }
        self.reach(from.div_euclid(64), (until - 1).div_euclid(64));
        for (word, mask) in words_of(from, until) {
            self.words[(word - self.first) as usize] |= mask;
        }
    }

    pub fn remove_range(&mut self, from: i64, until: i64) {
        for (word, mask) in words_of(from, until) {
            if let Ok(i) = usize::try_from(word - self.first) {
                if let Some(bits) = self.words.get_mut(i) {
                    *bits &= !mask;
                }
            }
        }
    }

    /// Forget the words wholly before night `day`.
    pub fn forget_before(&mut self, day: i64) {
        let word = day.div_euclid(64);
        if word > self.first && !self.words.is_empty() {
            let gone = ((word - self.first) as usize).min(self.words.len());
            self.words.drain(..gone);
            self.first = word;
            if self.words.is_empty() {
                self.words.shrink_to_fit();
            }
        }
    }

    /// Grow to hold the words `[low, high]`.
    fn reach(&mut self, low: i64, high: i64) {
        if self.words.is_empty() {
            self.first = low;
            self.words = vec![0; (high - low + 1) as usize];
            return;
        }
        if low < self.first {
            let more = (self.first - low) as usize;
            self.words.splice(0..0, std::iter::repeat_n(0, more));
            self.first = low;
        }
        let last = self.first + self.words.len() as i64 - 1;
        if high > last {
            self.words
                .resize(self.words.len() + (high - last) as usize, 0);
        }
    }
}

/// A price override per night, as `price + 1` (0: the nightly price), so a listing
/// with prices set two years ahead holds 3 kB rather than a tree of 730 entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NightPrices {
    first: i64,
    prices: Vec<u32>,
}

impl NightPrices {
    pub fn get(&self, day: i64) -> Option<u64> {
        let stored = usize::try_from(day - self.first)
            .ok()
            .and_then(|i| self.prices.get(i).copied())
            .unwrap_or(0);
        (stored > 0).then(|| u64::from(stored - 1))
    }

    fn set(&mut self, from: i64, until: i64, price: Option<u64>) {
        if from >= until {
            return;
        }
        // Prices are at most `domain::stays::MAX_NIGHTLY_PRICE` (1e8), well within u32.
        let stored = price.map_or(0, |p| {
            u32::try_from(p.saturating_add(1)).unwrap_or(u32::MAX)
        });
        if stored != 0 {
            if self.prices.is_empty() {
                self.first = from;
            }
            if from < self.first {
                let more = (self.first - from) as usize;
                self.prices.splice(0..0, std::iter::repeat_n(0, more));
                self.first = from;
            }
            let needed = (until - self.first) as usize;
            if needed > self.prices.len() {
                self.prices.resize(needed, 0);
            }
        }
        for day in from.max(self.first)..until.min(self.first + self.prices.len() as i64) {
            self.prices[(day - self.first) as usize] = stored;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// Forget the prices of nights before `day`.
    pub fn forget_before(&mut self, day: i64) {
        if day > self.first && !self.prices.is_empty() {
            let gone = ((day - self.first) as usize).min(self.prices.len());
            self.prices.drain(..gone);
            self.first = day;
        }
    }
}

/// What the listing's calendar says about each night.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NightCalendar {
    /// Nights stays take (requested, held, confirmed).
    pub taken: NightSet,
    pub blocked: NightSet,
    pub opened: NightSet,
    /// The weekly plan as the open nights of a word, by the word's number modulo 7
    /// (64 ≡ 1 mod 7, so word `w` starts on the weekday of day `w mod 7`).
    pub plan: [u64; 7],
    /// The plan's open weekdays, bit 0 = Monday.
    pub weekdays: u8,
    pub prices: NightPrices,
}

impl NightCalendar {
    pub fn set_plan(&mut self, open: &[Weekday]) {
        self.weekdays = open
            .iter()
            .fold(0, |mask, day| mask | 1 << day.num_days_from_monday());
        let first = base().weekday().num_days_from_monday() as usize;
        for (phase, word) in self.plan.iter_mut().enumerate() {
            *word = (0..64)
                .filter(|bit| self.weekdays & 1 << ((first + phase + bit) % 7) != 0)
                .fold(0, |w, bit| w | 1u64 << bit);
        }
    }

    pub fn apply(&mut self, from: NaiveDate, until: NaiveDate, change: &CalendarChange) {
        let (from, until) = (day_of(from), day_of(until));
        match change {
            CalendarChange::Blocked => {
                self.opened.remove_range(from, until);
                self.blocked.insert_range(from, until);
            }
            CalendarChange::Opened => {
                self.blocked.remove_range(from, until);
                self.opened.insert_range(from, until);
            }
            CalendarChange::PriceSet { nightly_price, .. } => {
                self.prices.set(from, until, Some(*nightly_price))
            }
            CalendarChange::PriceCleared => self.prices.set(from, until, None),
        }
    }

    /// Forget nights before `day` (they can no longer be booked).
    pub fn forget_before(&mut self, day: i64) {
        self.taken.forget_before(day);
        self.blocked.forget_before(day);
        self.opened.forget_before(day);
        self.prices.forget_before(day);
    }

    /// The free nights of word `word`: not taken, and opened or (on the plan and
    /// not blocked).
    pub fn free_word(&self, word: i64) -> u64 {
        let plan = self.plan[word.rem_euclid(7) as usize];
        !self.taken.word(word) & (self.opened.word(word) | (plan & !self.blocked.word(word)))
    }

    /// Whether every night of `[from, until)` is free: one bit operation a word.
    pub fn all_free(&self, from: i64, until: i64) -> bool {
        words_of(from, until).all(|(word, mask)| self.free_word(word) & mask == mask)
    }

    /// Whether every night of `[from, until)` is free and, if so, how many of the
    /// nights `[before, from)` and `[until, after)` are too: one pass over the
    /// words, as a search reads a stay and the calendar around it.
    pub fn free_stay_and_around(&self, masks: &StayMasks) -> Option<u32> {
        masks.free_around(|word| self.free_word(word))
    }

    pub fn is_free(&self, day: i64) -> bool {
        self.all_free(day, day + 1)
    }

    pub fn price_of(&self, day: i64, nightly_price: u64) -> u64 {
        self.prices.get(day).unwrap_or(nightly_price)
    }

    /// The nights of `[from, until)` at their prices (as `Calendar::price` adds
    /// them, cleaning fee aside).
    pub fn nights_total(&self, from: i64, until: i64, nightly_price: u64) -> u64 {
        if self.prices.is_empty() {
            return nightly_price.saturating_mul((until - from).max(0) as u64);
        }
        (from..until).fold(0u64, |sum, day| {
            sum.saturating_add(self.price_of(day, nightly_price))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stay_masks_answer_as_the_pass_over_the_words_does() {
        // Free nights from a fixed scramble of bits; stays of every length up to
        // a longest one, starting anywhere in a word, with all or part of the
        // nights around them read.
        let free = |word: i64| {
            (word as u64)
                .wrapping_add(7)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                | 0x00ff_0000
        };
        let is_free = |night: i64| (free(night.div_euclid(64)) >> night.rem_euclid(64)) & 1 == 1;
        let night_by_night = |before: i64, from: i64, until: i64, after: i64| {
            (from..until).all(is_free).then(|| {
                (before..from)
                    .chain(until..after)
                    .filter(|&night| is_free(night))
                    .count() as u32
            })
        };
        let mut compared = 0;
        for from in (-70..200).step_by(3) {
            for nights in [1, 2, 5, 30, 64, 65, 200, 365] {
                for around in [0, 1, 3] {
                    let (until, before) = (from + nights, from - around);
                    let after = until + around;
                    let masks = StayMasks::new(before, from, until, after).expect("seven words");
                    let expected = night_by_night(before, from, until, after);
                    assert_eq!(
                        masks.free_around(free),
                        expected,
                        "{from} {nights} {around}"
                    );
                    // Over words numbered from another first word.
                    let shifted = masks.from_word(-3);
                    assert_eq!(shifted.free_around(|w| free(w - 3)), expected);
                    compared += usize::from(expected.is_some());
                }
            }
        }
        assert!(compared > 100, "some stays were free: {compared}");
        assert_eq!(StayMasks::new(0, 0, 64 * 9, 64 * 9), None);
    }

    #[test]
    fn masks_cover_exactly_the_range() {
        let covered: i64 = words_of(60, 130).map(|(_, m)| m.count_ones() as i64).sum();
        assert_eq!(covered, 70);
        let words: Vec<_> = words_of(-3, 2).collect();
        assert_eq!(words, vec![(-1, 0b111 << 61), (0, 0b11)]);
        assert_eq!(words_of(5, 5).count(), 0);
    }

    #[test]
    fn a_stay_and_the_nights_around_it_are_read_in_one_pass() {
        let mut calendar = NightCalendar::default();
        calendar.set_plan(&[
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]);
        calendar.taken.insert_range(60, 62);
        calendar.taken.insert_range(66, 67);
        let masks = |before, from, until, after| {
            StayMasks::new(before, from, until, after).expect("a short stay")
        };
        assert_eq!(
            calendar.free_stay_and_around(&masks(59, 62, 66, 69)),
            Some(1 + 2)
        );
        assert_eq!(calendar.free_stay_and_around(&masks(59, 61, 66, 69)), None);
        assert_eq!(
            calendar.free_stay_and_around(&masks(62, 62, 66, 66)),
            Some(0)
        );
        assert_eq!(bits_of(1, 60, 130), u64::MAX);
        assert_eq!(bits_of(1, 130, 60), 0);
    }

    #[test]
    fn sets_grow_both_ways_and_keep_their_nights() {
        let mut set = NightSet::default();
        set.insert_range(1000, 1003);
        set.insert_range(10, 12);
        set.remove_range(1001, 1002);
        let days: Vec<i64> = (0..1100).filter(|d| set.contains(*d)).collect();
        assert_eq!(days, vec![10, 11, 1000, 1002]);
        set.forget_before(990);
        let days: Vec<i64> = (0..1100).filter(|d| set.contains(*d)).collect();
        assert_eq!(days, vec![1000, 1002]);
        assert_eq!(set.words.len(), 1);
    }

    #[test]
    fn the_plan_repeats_by_weekday() {
        let mut calendar = NightCalendar::default();
        calendar.set_plan(&[Weekday::Sat, Weekday::Sun]);
        for day in -30..400 {
            let weekend = matches!(date_of(day).weekday(), Weekday::Sat | Weekday::Sun);
            assert_eq!(calendar.is_free(day), weekend, "{}", date_of(day));
        }
    }

    #[test]
    fn prices_override_nights_until_cleared() {
        let mut prices = NightPrices::default();
        prices.set(20, 23, Some(150));
        prices.set(10, 12, Some(0));
        prices.set(21, 22, None);
        let got: Vec<_> = (9..24).map(|d| prices.get(d)).collect();
        let mut want = vec![None; 15];
        want[1] = Some(0);
        want[2] = Some(0);
        want[11] = Some(150);
        want[13] = Some(150);
        assert_eq!(got, want);
    }
}
