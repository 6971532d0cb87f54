//! Words near a misspelt one: the vocabulary of listed products with its spelling
//! index, and the did-you-mean suggestions and typo highlights drawn from it.
//!
//! The index is a finite state transducer of the vocabulary's words, searched with a
//! Levenshtein automaton (the structures tantivy's own fuzzy queries use), so a lookup
//! visits only the paths that can stay within the word's fuzziness. Words that came or
//! went since the transducer was built are kept beside it and it is rebuilt once they
//! are many, at the end of a batch: the cost of keeping it follows the change.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};
use tantivy_fst::{Automaton, IntoStreamer, Map, Streamer};

/// Most words the index may lag behind the vocabulary by before it is rebuilt: each
/// lookup also checks these one by one.
const MAX_PENDING: usize = 1024;
/// A smaller vocabulary is rebuilt once its pending words reach this share of it
/// (1/16): rebuilding costs its size, so a rebuild is paid for by as many changes.
const PENDING_SHARE: usize = 16;

/// Edits allowed for a word of `len` characters, like Elasticsearch's fuzziness AUTO:
/// exact up to 2, one edit up to 5, two beyond.
pub fn fuzziness(len: usize) -> u8 {
    match len {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// Levenshtein distance with adjacent transpositions counting one (optimal string
/// alignment), stopping early once it exceeds `max`. Keeps three rows, not a matrix.
pub fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= max).then_some(distance)
}

/// Every word of listed products, with how many products use it, and the index that
/// finds the words near one.
pub struct Vocabulary {
    counts: HashMap<String, u32>,
    /// The words as of the last rebuild, sorted; some may have gone since (a word is
    /// in the vocabulary only while `counts` has it).
    indexed: Map<Vec<u8>>,
    /// Words of `counts` that `indexed` lacks.
    unindexed: HashSet<String>,
    /// Words of `indexed` that `counts` no longer has.
    gone: usize,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Self {
            counts: HashMap::new(),
            indexed: fst_of(std::iter::empty()),
            unindexed: HashSet::new(),
            gone: 0,
        }
    }
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocabulary")
            .field("words", &self.counts.len())
            .field("indexed", &self.indexed.len())
            .field("unindexed", &self.unindexed.len())
            .field("gone", &self.gone)
            .finish()
    }
}

/// A transducer of sorted, distinct words (the values are unused).
fn fst_of<'w>(sorted: impl Iterator<Item = &'w str>) -> Map<Vec<u8>> {
    Map::from_iter(sorted.map(|word| (word, 0))).expect("words are sorted and distinct")
}

/// The Levenshtein automaton builder for `max` (1 or 2, what [`fuzziness`] allows)
/// edits, transpositions counting one as in [`edit_distance`]. Building one is
/// costly, so each is built once per process.
fn automaton_builder(max: u8) -> &'static LevenshteinAutomatonBuilder {
    static BUILDERS: [OnceLock<LevenshteinAutomatonBuilder>; 2] =
        [OnceLock::new(), OnceLock::new()];
    BUILDERS[usize::from(max) - 1].get_or_init(|| LevenshteinAutomatonBuilder::new(max, true))
}

/// A Levenshtein automaton as the transducer searches with it.
struct Near<'d>(&'d DFA);

impl Automaton for Near<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

impl Vocabulary {
    /// How many products use `word`.
    pub fn count(&self, word: &str) -> Option<u32> {
        self.counts.get(word).copied()
    }

    pub fn contains(&self, word: &str) -> bool {
        self.counts.contains_key(word)
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Every word with its count, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.counts
            .iter()
            .map(|(word, count)| (word.as_str(), *count))
    }

    /// One more product uses `word`.
    pub fn add(&mut self, word: String) {
        if let Some(count) = self.counts.get_mut(&word) {
            *count += 1;
            return;
        }
        if self.indexed.contains_key(&word) {
            // It had gone and is back: the transducer has it already.
            self.gone -= 1;
        } else {
            self.unindexed.insert(word.clone());
        }
        self.counts.insert(word, 1);
    }

    /// One product fewer uses `word`.
    pub fn remove(&mut self, word: &str) {
        let Some(count) = self.counts.get_mut(word) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        self.counts.remove(word);
        if !self.unindexed.remove(word) {
            self.gone += 1;
        }
    }

    /// Words added or gone since the transducer was built.
    fn pending(&self) -> usize {
        self.unindexed.len() + self.gone
    }

    /// Rebuild the transducer if enough has changed since it was built; called once
    /// per applied batch.
    pub fn refresh(&mut self) {
        let due = MAX_PENDING.min(self.counts.len().max(self.indexed.len()) / PENDING_SHARE);
        if self.pending() > 0 && self.pending() >= due {
            self.rebuild();
        }
    }

    /// Build the transducer anew from the words now known.
    fn rebuild(&mut self) {
        let mut words: Vec<&str> = self.counts.keys().map(String::as_str).collect();
        words.sort_unstable();
        self.indexed = fst_of(words.into_iter());
        self.unindexed.clear();
        self.gone = 0;
    }

    /// The known words within `max` edits of `word` by the automaton, with their
    /// counts: from the transducer (less the words gone since) and the words not in
    /// it yet.
    fn candidates(&self, word: &str, max: u8) -> Vec<(&str, u32)> {
        let dfa = automaton_builder(max).build_dfa(word);
        let mut found = Vec::new();
        let mut stream = self.indexed.search(Near(&dfa)).into_stream();
        while let Some((key, _)) = stream.next() {
            let known = std::str::from_utf8(key)
                .ok()
                .and_then(|key| self.counts.get_key_value(key));
            if let Some((known, count)) = known {
                found.push((known.as_str(), *count));
            }
        }
        for known in &self.unindexed {
            if matches!(dfa.eval(known), Distance::Exact(_)) {
                found.push((known.as_str(), self.counts[known]));
            }
        }
        found
    }
}

/// Vocabulary words within the word's fuzziness, closest and most used first (then
/// alphabetical).
pub fn neighbours<'v>(word: &str, vocabulary: &'v Vocabulary, limit: usize) -> Vec<&'v str> {
    let max = fuzziness(word.chars().count());
    if max == 0 {
        return Vec::new();
    }
    // The automaton picks the candidates; the distance that orders them is the
    // same measure's, worked out for these few.
    let mut found: Vec<(usize, u32, &str)> = vocabulary
        .candidates(word, max)
        .into_iter()
        .filter_map(|(candidate, count)| {
            edit_distance(word, candidate, max as usize).map(|d| (d, count, candidate))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    found.into_iter().take(limit).map(|(_, _, w)| w).collect()
}

/// The query with each word the vocabulary does not know replaced by its closest
/// known word; `None` when every word is known or none has a neighbour.
pub fn did_you_mean(words: &[String], vocabulary: &Vocabulary) -> Option<String> {
    let mut changed = false;
    let corrected: Vec<String> = words
        .iter()
        .map(|word| {
            if vocabulary.contains(word) {
                return word.clone();
            }
            match neighbours(word, vocabulary, 1).first() {
                Some(best) => {
                    changed = true;
                    best.to_string()
                }
                None => word.clone(),
            }
        })
        .collect();
    changed.then(|| corrected.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index's answer as the whole vocabulary read word by word gives it.
    fn neighbours_by_scan<'v>(
        word: &str,
        vocabulary: &'v Vocabulary,
        limit: usize,
    ) -> Vec<&'v str> {
        let max = fuzziness(word.chars().count()) as usize;
        if max == 0 {
            return Vec::new();
        }
        let mut found: Vec<(usize, u32, &str)> = vocabulary
            .iter()
            .filter_map(|(candidate, count)| {
                edit_distance(word, candidate, max).map(|d| (d, count, candidate))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
        found.into_iter().take(limit).map(|(_, _, w)| w).collect()
    }

    /// A small deterministic generator (xorshift), so failures repeat.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        /// A word of 2 to 9 letters, mostly from four of them, so many words are
        /// near each other; now and then a letter outside ASCII, as analyzed text keeps
        /// letters that have no ASCII form.
        fn word(&mut self) -> String {
            const LETTERS: &[char] = &['a', 'b', 'c', 'e', 'o', 'r', 's', 't', 'ж', '日'];
            let len = 2 + self.below(8);
            (0..len)
                .map(|_| {
                    let i = self.below(LETTERS.len() * 4);
                    LETTERS[if i < LETTERS.len() { i } else { i % 4 }]
                })
                .collect()
        }

        /// `word` with one or two random edits: the typos a lookup starts from.
        fn typo(&mut self, word: &str) -> String {
            let mut chars: Vec<char> = word.chars().collect();
            for _ in 0..1 + self.below(2) {
                let at = self.below(chars.len() + 1);
                match self.below(4) {
                    0 => chars.insert(at, 'e'),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    2 if at < chars.len() => chars[at] = 's',
                    _ if at + 1 < chars.len() => chars.swap(at, at + 1),
                    _ => chars.push('o'),
                }
            }
            chars.into_iter().collect()
        }
    }

    fn assert_same_as_scan(vocabulary: &Vocabulary, rng: &mut Rng, words: &[String]) {
        let mut with_neighbours = 0;
        for _ in 0..150 {
            let known = &words[rng.below(words.len())];
            let word = if rng.below(4) == 0 {
                rng.word()
            } else {
                rng.typo(known)
            };
            let all = neighbours_by_scan(&word, vocabulary, usize::MAX);
            assert_eq!(
                neighbours(&word, vocabulary, usize::MAX),
                all,
                "neighbours of {word:?} in {vocabulary:?}"
            );
            assert_eq!(neighbours(&word, vocabulary, 1), all[..all.len().min(1)]);
            with_neighbours += usize::from(all.len() > 1);
        }
        // Many lookups find several words, so the order among them is checked too.
        assert!(
            with_neighbours > 50,
            "{with_neighbours} of 150 had neighbours"
        );
    }

    #[test]
    fn the_index_finds_what_a_scan_of_every_word_finds() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut vocabulary = Vocabulary::default();
        let words: Vec<String> = (0..1500).map(|_| rng.word()).collect();
        for word in &words {
            vocabulary.add(word.clone());
        }
        // Nothing indexed yet: every word is pending.
        assert_same_as_scan(&vocabulary, &mut rng, &words);
        vocabulary.refresh();
        assert_eq!(vocabulary.pending(), 0, "{vocabulary:?}");
        assert_same_as_scan(&vocabulary, &mut rng, &words);

        // Products come and go: some words gone, some back, some new, some counted
        // more; checked before each rebuild and after it.
        for round in 0..4 {
            for _ in 0..300 {
                match rng.below(3) {
                    0 => vocabulary.remove(&words[rng.below(words.len())]),
                    1 => vocabulary.add(words[rng.below(words.len())].clone()),
                    _ => vocabulary.add(rng.word()),
                }
            }
            assert!(vocabulary.pending() > 0, "round {round}: {vocabulary:?}");
            assert_same_as_scan(&vocabulary, &mut rng, &words);
            vocabulary.refresh();
            assert_same_as_scan(&vocabulary, &mut rng, &words);
        }
    }

    #[test]
    fn the_automaton_measures_distance_as_edit_distance_does() {
        let mut rng = Rng(42);
        for _ in 0..5000 {
            let a = rng.word();
            let b = if rng.below(2) == 0 {
                rng.typo(&a)
            } else {
                rng.word()
            };
            for max in 1..=2u8 {
                let by_automaton = match automaton_builder(max).build_dfa(&a).eval(&b) {
                    Distance::Exact(d) => Some(usize::from(d)),
                    Distance::AtLeast(_) => None,
                };
                assert_eq!(
                    by_automaton,
                    edit_distance(&a, &b, max as usize),
                    "{a:?} to {b:?} within {max}"
                );
            }
        }
    }

    #[test]
    fn counts_come_and_go_with_the_products_that_use_a_word() {
        let mut vocabulary = Vocabulary::default();
        vocabulary.add("mug".into());
        vocabulary.add("mug".into());
        vocabulary.add("bowl".into());
        vocabulary.refresh();
        assert_eq!(vocabulary.count("mug"), Some(2));
        vocabulary.remove("mug");
        vocabulary.remove("bowl");
        assert_eq!(vocabulary.count("mug"), Some(1));
        assert!(!vocabulary.contains("bowl"));
        assert_eq!(neighbours("bowk", &vocabulary, 8), Vec::<&str>::new());
        vocabulary.add("bowl".into());
        assert_eq!(neighbours("bowk", &vocabulary, 8), ["bowl"]);
        vocabulary.remove("nothing");
        assert_eq!(vocabulary.len(), 2);
    }

    #[test]
    fn closer_words_come_first_then_more_used_then_alphabetical() {
        let mut vocabulary = Vocabulary::default();
        for word in ["spoon", "spoons", "spook", "spoon", "swoon", "swoon"] {
            vocabulary.add(word.into());
        }
        vocabulary.refresh();
        vocabulary.add("spool".into());
        // Six letters: two edits.
        assert_eq!(
            neighbours("spoonz", &vocabulary, 8),
            ["spoon", "spoons", "swoon", "spook", "spool"]
        );
        assert_eq!(neighbours("spoonz", &vocabulary, 2), ["spoon", "spoons"]);
        // Five letters: one edit.
        assert_eq!(
            neighbours("spoom", &vocabulary, 8),
            ["spoon", "spook", "spool"]
        );
        assert_eq!(
            did_you_mean(&["wooden".into(), "spoonz".into()], &vocabulary),
            Some("wooden spoon".into()),
            "an unknown word without neighbours stays"
        );
        assert_eq!(did_you_mean(&["spoon".into()], &vocabulary), None);
    }
}
