//! What a cancelled stay gives back, by the listing's cancellation policy.
//!
//! The nights' share depends on how long before the local check-in the guest
//! cancels; the cleaning fee comes back whole while the stay has not begun. A host's
//! cancellation gives everything back.

use chrono::{DateTime, Utc};
use event_schemas::stays::{CancellationPolicy, CancelledBy, StayPrice};

/// The share of the nights' price refunded to a guest who cancels `before` the
/// check-in (zero or negative once it has passed).
pub fn refund_share(policy: CancellationPolicy, before: chrono::Duration) -> f64 {
    let days = before.num_hours().div_euclid(24);
    match policy {
        // Full refund up to a day before; half of the nights after that.
        CancellationPolicy::Flexible if days >= 1 => 1.0,
        CancellationPolicy::Flexible if before > chrono::Duration::zero() => 0.5,
        CancellationPolicy::Moderate if days >= 5 => 1.0,
        CancellationPolicy::Moderate if days >= 1 => 0.5,
        CancellationPolicy::Strict if days >= 14 => 1.0,
        CancellationPolicy::Strict if days >= 7 => 0.5,
        _ => 0.0,
    }
}

/// What goes back, and the nights' share, when `by` cancels a stay priced `price`
/// at `now`, its check-in being at `check_in_at`.
pub fn refund(
    policy: CancellationPolicy,
    by: CancelledBy,
    price: &StayPrice,
    check_in_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (u64, f64) {
    if by == CancelledBy::Host {
        return (price.total, 1.0);
    }
    let share = refund_share(policy, check_in_at - now);
    let nights = price.total.saturating_sub(price.cleaning_fee);
    // Whole minor units, rounded down: never more than was paid.
    let nights_back = (nights as f64 * share).floor() as u64;
    let cleaning_back = if now < check_in_at {
        price.cleaning_fee
    } else {
        0
    };
    (
        nights_back.saturating_add(cleaning_back).min(price.total),
        share,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn each_policy_refunds_by_days_before_check_in() {
        use CancellationPolicy::*;
        let cases = [
            (Flexible, Duration::hours(30), 1.0),
            (Flexible, Duration::hours(5), 0.5),
            (Flexible, Duration::hours(-1), 0.0),
            (Moderate, Duration::days(6), 1.0),
            (Moderate, Duration::days(2), 0.5),
            (Moderate, Duration::hours(20), 0.0),
            (Strict, Duration::days(20), 1.0),
            (Strict, Duration::days(8), 0.5),
            (Strict, Duration::days(3), 0.0),
        ];
        for (policy, before, share) in cases {
            assert_eq!(refund_share(policy, before), share, "{policy:?} {before}");
        }
    }
}
