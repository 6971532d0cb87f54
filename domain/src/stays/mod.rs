//! Stays (short-term rentals): the Listing aggregate (a host's listing, its
//! calendar, the stays booked on it) and its pure rules — nights as local dates of
//! the listing's zone, prices per night, refunds by cancellation policy.

mod calendar;
mod details;
mod listing;
pub mod local_time;
pub mod refund;

use chrono::Duration;
use event_schemas::stays::ListingDetails;

pub use calendar::{nights, Calendar};
pub use details::{validate_details, MAX_DESCRIPTION_CHARS};
pub use listing::{
    BookStay, Canceller, Listing, ListingCommand, ListingStatus, ListingView, Stay, StayStatus,
    StayView,
};

/// How far ahead a calendar reaches: stays end at most this many days after today
/// (the listing's today).
pub const HORIZON_DAYS: i64 = 730;
/// How long a hold waits for payment unless configured otherwise.
pub const DEFAULT_HOLD_MINUTES: u32 = 15;
/// The longest hold a command may ask for.
pub const MAX_HOLD_MINUTES: u32 = 1_440;
/// How long a host has to answer a request to book.
pub const RESPONSE_WINDOW: Duration = Duration::hours(24);
pub const MAX_NIGHTLY_PRICE: u64 = 100_000_000;
pub const MAX_STAY_NIGHTS: u32 = 365;
pub const MAX_CAPACITY: u32 = 50;
pub const MAX_PHOTOS: usize = 50;
pub const MAX_AMENITIES: usize = 50;

/// The range automatic pricing keeps a listing's nights in: from half to twice its
/// nightly price (the host's minimum and maximum).
pub fn suggestion_bounds(details: &ListingDetails) -> (u64, u64) {
    let base = details.nightly_price;
    (
        (base / 2).max(1),
        base.saturating_mul(2).min(MAX_NIGHTLY_PRICE),
    )
}
