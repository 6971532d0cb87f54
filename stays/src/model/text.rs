//! Words of a listing's text, as search matches them and screening fingerprints
//! them: lower-case runs of letters and digits.

/// The words of `text`, in order (case as written).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// The distinct lower-case words of a query (of two characters or more: a single
/// letter matches too much to mean anything).
pub fn query_tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = words(text)
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// Whether `word` is `token` (already lower case), whatever its case.
pub fn same_word(word: &str, token: &str) -> bool {
    if word.is_ascii() {
        word.eq_ignore_ascii_case(token)
    } else {
        word.to_lowercase() == token
    }
}

/// A stable 64-bit hash (FNV-1a, then a finalising mix so nearby inputs spread
/// over every bit, which SimHash needs).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().map(|b| b.to_ascii_lowercase()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Words a shingle holds.
const SHINGLE: usize = 3;
/// Shingles a description needs before its fingerprint is compared: a short text
/// ("Nice flat near the park") is shared by honest listings too.
pub const MIN_SHINGLES: usize = 10;

/// The SimHash of `text` over its shingles of three words, or `None` when it has
/// fewer than [`MIN_SHINGLES`]. Texts that differ by a few words differ in a few
/// bits.
pub fn simhash(text: &str) -> Option<u64> {
    let words: Vec<String> = words(text).map(str::to_lowercase).collect();
    if words.len() < SHINGLE + MIN_SHINGLES - 1 {
        return None;
    }
    let mut votes = [0i32; 64];
    for shingle in words.windows(SHINGLE) {
        let parts: Vec<&str> = shingle.iter().map(String::as_str).collect();
        let hash = stable_hash(&parts);
        for (bit, vote) in votes.iter_mut().enumerate() {
            *vote += if hash >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    Some(
        votes
            .iter()
            .enumerate()
            .filter(|(_, vote)| **vote > 0)
            .fold(0u64, |hash, (bit, _)| hash | 1 << bit),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "A bright two room flat on the third floor with a balcony over the \
        quiet courtyard, five minutes from the station and the old market square.";

    #[test]
    fn a_word_changed_moves_few_bits_and_another_text_many() {
        let original = simhash(TEXT).unwrap();
        let edited = simhash(&TEXT.replace("bright", "sunny")).unwrap();
        let other = simhash(
            "Rustic cabin in the woods with a wood stove, a sauna by the lake and \
             hiking trails starting at the door; bring warm clothes in winter.",
        )
        .unwrap();
        assert!((original ^ edited).count_ones() <= 8);
        assert!((original ^ other).count_ones() > 12);
        assert_eq!(simhash("Nice flat"), None);
    }

    #[test]
    fn query_tokens_are_lower_case_and_distinct() {
        assert_eq!(query_tokens("Sea VIEW, sea-view! a"), vec!["sea", "view"]);
        assert!(same_word("Straße", "straße"));
    }
}
