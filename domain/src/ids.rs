//! Ids that processes derive from others, kept apart from the ids clients choose.
//!
//! A client id is 1–64 of `[A-Za-z0-9._-]` (see [`Validator::id`](crate::validate::Validator::id)).
//! A derived id is `{prefix}:{body}`: the `:` is a character no client id can hold,
//! so no buyer or API key can create, read, confirm, extend or release what a process
//! owns by choosing its id first. Every derivation fits [`MAX_DERIVED_ID_LEN`].

use crate::limits::MAX_ID_LEN;

/// Longest derived id: the longest prefix, the `:`, and a body of at most two client
/// ids and a number joined by `.`.
pub const MAX_DERIVED_ID_LEN: usize = 16 + 1 + 2 * MAX_ID_LEN + 2 + 20;

/// The reservation the order process makes for an order.
pub fn order_reservation_id(order_id: &str) -> String {
    format!("order:{order_id}")
}

/// The second reservation a payment that came after the first one ran out takes.
pub fn late_reservation_id(order_id: &str) -> String {
    format!("order-late:{order_id}")
}

/// The order of a buyer's `n`th purchase in a flash sale.
pub fn flash_order_id(sale_id: &str, user_id: &str, n: u64) -> String {
    format!("flash:{sale_id}.{n}.{user_id}")
}

/// The buyer and number a flash order id of `sale_id` names, if it is one: the
/// inverse of [`flash_order_id`] (a number is written without leading zeros).
pub fn parse_flash_order_id<'a>(sale_id: &str, order_id: &'a str) -> Option<(&'a str, u64)> {
    let rest = order_id
        .strip_prefix("flash:")?
        .strip_prefix(sale_id)?
        .strip_prefix('.')?;
    let (n, user_id) = rest.split_once('.')?;
    if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((user_id, n.parse().ok()?))
}

/// The order a stay is paid through. Stay ids are a listing's own, so the listing's
/// id is part of it (after its length: ids may hold the `.` that joins them).
pub fn stay_order_id(listing_id: &str, stay_id: &str) -> String {
    format!("stay:{}.{listing_id}.{stay_id}", listing_id.len())
}

/// Under what a guest's open stay counts against its limits (`BuyerHolds`).
pub fn stay_hold_id(listing_id: &str, stay_id: &str) -> String {
    format!("stay-hold:{}.{listing_id}.{stay_id}", listing_id.len())
}

/// Whether a process derived this id (no client can have chosen it).
pub fn is_derived(id: &str) -> bool {
    id.contains(':')
}

/// Whether `value` is a well-formed derived id: a lower-case prefix of at most 16
/// characters, `:`, and a body of client-id characters, within the length limit.
pub fn is_well_formed_derived(value: &str) -> bool {
    let Some((prefix, body)) = value.split_once(':') else {
        return false;
    };
    value.len() <= MAX_DERIVED_ID_LEN
        && !prefix.is_empty()
        && prefix.len() <= 16
        && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_of_the_longest_ids_stay_within_the_limit() {
        let longest = "x".repeat(MAX_ID_LEN);
        for id in [
            order_reservation_id(&longest),
            late_reservation_id(&longest),
            flash_order_id(&longest, &longest, u64::MAX),
            stay_order_id(&longest, &longest),
            stay_hold_id(&longest, &longest),
        ] {
            assert!(is_well_formed_derived(&id), "{id}");
            assert!(is_derived(&id));
        }
    }

    #[test]
    fn a_flash_order_id_reads_back_as_its_buyer_and_number() {
        for (sale, user, n) in [("s", "u", 1), ("s.1", "u.2.3", 12), ("s", "", u64::MAX)] {
            let id = flash_order_id(sale, user, n);
            assert_eq!(parse_flash_order_id(sale, &id), Some((user, n)), "{id}");
        }
        for id in [
            "flash:s.01.u",
            "flash:s..u",
            "flash:s.1",
            "flash:t.1.u",
            "order-1",
        ] {
            assert_eq!(parse_flash_order_id("s", id), None, "{id}");
        }
    }

    #[test]
    fn a_stay_s_order_names_its_listing_unambiguously() {
        assert_ne!(stay_order_id("a.b", "c"), stay_order_id("a", "b.c"));
        assert_eq!(stay_order_id("loft", "s-1"), "stay:4.loft.s-1");
    }

    #[test]
    fn client_ids_are_never_derived_ones() {
        assert!(!is_derived("order-7"));
        assert!(!is_well_formed_derived("order-7"));
        assert!(!is_well_formed_derived("Order:7"));
        assert!(!is_well_formed_derived("order:"));
        assert!(!is_well_formed_derived("order:a:b"));
    }
}
