//! Words near a misspelt one: did-you-mean suggestions and the highlighting of typo
//! matches both come from the index's vocabulary.

use std::collections::HashMap;

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

/// Vocabulary words within the word's fuzziness, closest and most used first.
pub fn neighbours<'v>(
    word: &str,
    vocabulary: &'v HashMap<String, u32>,
    limit: usize,
) -> Vec<&'v str> {
    let max = fuzziness(word.chars().count()) as usize;
    if max == 0 {
        return Vec::new();
    }
    let mut found: Vec<(usize, u32, &str)> = vocabulary
        .iter()
        .filter_map(|(candidate, count)| {
            edit_distance(word, candidate, max).map(|d| (d, *count, candidate.as_str()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    found.into_iter().take(limit).map(|(_, _, w)| w).collect()
}

/// The query with each word the vocabulary does not know replaced by its closest
/// known word; `None` when every word is known or none has a neighbour.
pub fn did_you_mean(words: &[String], vocabulary: &HashMap<String, u32>) -> Option<String> {
    let mut changed = false;
    let corrected: Vec<String> = words
        .iter()
        .map(|word| {
            if vocabulary.contains_key(word) {
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
