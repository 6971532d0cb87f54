//! The candidate sources: each scores items for a shopper from one kind of evidence.

pub mod collaborative;
pub mod content;
pub mod latent;
pub mod trending;

use crate::catalog::ItemId;

/// The `k` most alike of scored items, most alike first (ties: the earlier
/// numbered), without sorting the rest.
pub(crate) fn most_alike(mut near: Vec<(ItemId, f64)>, k: usize) -> Vec<(ItemId, f64)> {
    let order = |a: &(ItemId, f64), b: &(ItemId, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if near.len() > k {
        near.select_nth_unstable_by(k, order);
        near.truncate(k);
    }
    near.sort_by(order);
    near
}
