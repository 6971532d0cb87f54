//! Leave-last-out by time: each shopper's last new item is held out; what they did
//! before it is training, as is everything of shoppers with fewer than two items.

use std::collections::HashMap;

use super::Interaction;

/// Training interactions (in time order) and one held-out item per test shopper.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub train: Vec<Interaction>,
    /// (shopper, held-out item), in shopper order.
    pub test: Vec<(String, String)>,
}

/// Split `interactions`: for each shopper with at least two distinct items, the item
/// they touched first last is held out, with every interaction from its first touch
/// on (so nothing of it, or after it, leaks into training).
pub fn leave_last_out(mut interactions: Vec<Interaction>) -> Split {
    interactions.sort_by(|a, b| {
        a.timestamp
            .total_cmp(&b.timestamp)
            .then_with(|| a.user.cmp(&b.user))
            .then_with(|| a.item.cmp(&b.item))
    });
    // Per shopper: each distinct item's first touch.
    let mut first: HashMap<&str, HashMap<&str, f64>> = HashMap::new();
    for i in &interactions {
        first
            .entry(&i.user)
            .or_default()
            .entry(&i.item)
            .or_insert(i.timestamp);
    }
    let mut held: HashMap<String, (String, f64)> = HashMap::new();
    for (user, items) in &first {
        if items.len() < 2 {
            continue;
        }
        let (item, at) = items
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)))
            .expect("two items");
        held.insert(user.to_string(), (item.to_string(), *at));
    }
    let train = interactions
        .iter()
        .filter(|i| held.get(&i.user).is_none_or(|(_, cut)| i.timestamp < *cut))
        .cloned()
        .collect();
    let mut test: Vec<(String, String)> = held
        .into_iter()
        .map(|(user, (item, _))| (user, item))
        .collect();
    test.sort();
    Split { train, test }
}
