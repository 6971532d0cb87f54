//! Events of stays (short-term rentals): a host's listings with their nightly
//! calendars, and the stays guests book on them (the Listing aggregate, one stream per
//! listing, so every booking of a listing is decided by one owner); and the searches
//! guests made and the listings they opened (each its own one-event stream,
//! recorded in the background).
//!
//! A night is a local date of the listing's own time zone (`2026-12-31` is the night
//! that begins on that date there), never an instant; a stay is the half-open range
//! `[check_in, check_out)`, so a check-out day can be the next guest's check-in.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::GeoPoint;

/// Aggregate type of a listing, its calendar and its stays (stream id: listing id).
pub const LISTING_AGGREGATE: &str = "listing";
/// Aggregate type of recorded stay searches and listing views: each its own stream
/// (a fresh UUIDv7).
pub const STAY_SEARCH_AGGREGATE: &str = "stay_search";

/// A photo as the host's client supplies it: where it is, and the SHA-256 of its
/// bytes (hex), which fraud screening compares across hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Photo {
    pub url: String,
    pub content_hash: String,
}

/// How much of a guest's payment comes back when they cancel, by days before
/// check-in (see `domain::stays::refund_share`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancellationPolicy {
    Flexible,
    Moderate,
    Strict,
}

/// Everything a host says about a listing (prices in minor units of `currency`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListingDetails {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub photos: Vec<Photo>,
    pub location: GeoPoint,
    /// IANA time zone of the listing, e.g. `Pacific/Auckland`: its nights, check-in
    /// days and cancellation deadlines are local to it.
    pub time_zone: String,
    /// `apartment`, `house`, `room`, `cabin`, ... (lower case).
    pub property_type: String,
    /// Guests at most.
    pub capacity: u32,
    #[serde(default)]
    pub amenities: Vec<String>,
    pub currency: String,
    /// The price of a night without an override.
    pub nightly_price: u64,
    #[serde(default)]
    pub cleaning_fee: u64,
    pub cancellation_policy: CancellationPolicy,
    pub min_nights: u32,
    pub max_nights: u32,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    /// The weekly plan: the weekdays whose nights may be booked (`Mon` ... `Sun`);
    /// an `opened` calendar exception makes other nights bookable too.
    #[schemars(with = "Vec<String>")]
    pub open_weekdays: Vec<Weekday>,
    /// Booked at once (instant book), or requested and answered by the host.
    pub instant_book: bool,
}

/// What a calendar exception does to each night of its range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CalendarChange {
    /// Not bookable, whatever the weekly plan says.
    Blocked,
    /// Bookable, whatever the weekly plan says (and no longer blocked).
    Opened,
    /// This price instead of the nightly price; `suggested` when automatic pricing
    /// set it from a suggestion.
    PriceSet {
        nightly_price: u64,
        #[serde(default)]
        suggested: bool,
    },
    /// Back to the nightly price.
    PriceCleared,
}

/// One night of a stay and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NightPrice {
    pub night: NaiveDate,
    pub price: u64,
}

/// What a stay costs: each night (with its overrides), the cleaning fee, the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StayPrice {
    pub currency: String,
    pub nights: Vec<NightPrice>,
    pub cleaning_fee: u64,
    pub total: u64,
}

/// The stay a guest asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StayRequest {
    pub stay_id: String,
    pub guest: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
    pub price: StayPrice,
    /// The order the guest pays through (`StayOrderPlaced`).
    pub order_id: String,
    /// The search the guest booked from, when they did (`StaySearchPerformed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_id: Option<String>,
}

/// Who cancelled a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Host,
    Guest,
}

/// A guest's ratings beyond the overall one, each 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubRatings {
    pub cleanliness: u8,
    pub accuracy: u8,
    pub communication: u8,
    pub location: u8,
    pub value: u8,
}

/// One reason to suspect a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FraudSignal {
    /// `near_duplicate_text`, `photo_reused`, `price_far_below`, `host_burst`,
    /// `contact_details`.
    pub kind: String,
    pub detail: String,
    /// Its share of the score (0–1).
    pub weight: f64,
}

/// What an admin decided about a flagged listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModerationDecision {
    /// Shown in search again (until a later change is flagged again).
    Approved,
    /// Taken down: never shown, never bookable.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ListingEvent {
    ListingCreated {
        listing_id: String,
        host_id: String,
        details: ListingDetails,
    },
    /// The details as they now are (all of them, replacing the earlier ones).
    ListingUpdated {
        listing_id: String,
        details: ListingDetails,
    },
    /// No longer shown or bookable; stays already booked are kept.
    ListingUnlisted { listing_id: String },
    /// A calendar exception over the nights `[from, until)`.
    CalendarChanged {
        listing_id: String,
        from: NaiveDate,
        until: NaiveDate,
        change: CalendarChange,
    },
    /// Whether suggested nightly prices become the listing's prices by themselves,
    /// kept within the host's minimum and maximum.
    AutoPricingSet {
        listing_id: String,
        enabled: bool,
        min_price: u64,
        max_price: u64,
    },
    /// Request to book: the nights are kept for the guest until the host answers or
    /// `respond_by` passes.
    StayRequested {
        listing_id: String,
        stay: StayRequest,
        respond_by: DateTime<Utc>,
    },
    /// The host's answer to a request (`within_deadline` feeds the response rate).
    HostResponded {
        listing_id: String,
        stay_id: String,
        accepted: bool,
        within_deadline: bool,
    },
    /// The nights are held for the guest until `expires_at`, awaiting payment.
    StayHeld {
        listing_id: String,
        stay: StayRequest,
        expires_at: DateTime<Utc>,
    },
    /// The hold (or request) ended without a stay: unpaid, declined, unanswered or
    /// given up; its nights are free again.
    HoldLapsed {
        listing_id: String,
        stay_id: String,
        reason: String,
    },
    /// Paid: the nights are the guest's.
    StayConfirmed {
        listing_id: String,
        stay_id: String,
        order_id: String,
    },
    /// A confirmed stay cancelled; `refund` of what was paid goes back.
    StayCancelled {
        listing_id: String,
        stay_id: String,
        by: CancelledBy,
        refund: u64,
        refund_share: f64,
    },
    StayReviewed {
        listing_id: String,
        stay_id: String,
        guest: String,
        rating: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sub_ratings: Option<SubRatings>,
    },
    /// Screening found the listing suspect: hidden from search until an admin
    /// decides.
    ListingFlagged {
        listing_id: String,
        signals: Vec<FraudSignal>,
        score: f64,
    },
    ListingModerated {
        listing_id: String,
        decision: ModerationDecision,
    },
}

impl ListingEvent {
    pub fn listing_id(&self) -> &str {
        match self {
            ListingEvent::ListingCreated { listing_id, .. }
            | ListingEvent::ListingUpdated { listing_id, .. }
            | ListingEvent::ListingUnlisted { listing_id }
            | ListingEvent::CalendarChanged { listing_id, .. }
            | ListingEvent::AutoPricingSet { listing_id, .. }
            | ListingEvent::StayRequested { listing_id, .. }
            | ListingEvent::HostResponded { listing_id, .. }
            | ListingEvent::StayHeld { listing_id, .. }
            | ListingEvent::HoldLapsed { listing_id, .. }
            | ListingEvent::StayConfirmed { listing_id, .. }
            | ListingEvent::StayCancelled { listing_id, .. }
            | ListingEvent::StayReviewed { listing_id, .. }
            | ListingEvent::ListingFlagged { listing_id, .. }
            | ListingEvent::ListingModerated { listing_id, .. } => listing_id,
        }
    }

    pub fn event_type(&self) -> &'static str {
        match self {
            ListingEvent::ListingCreated { .. } => "ListingCreated",
            ListingEvent::ListingUpdated { .. } => "ListingUpdated",
            ListingEvent::ListingUnlisted { .. } => "ListingUnlisted",
            ListingEvent::CalendarChanged { .. } => "CalendarChanged",
            ListingEvent::AutoPricingSet { .. } => "AutoPricingSet",
            ListingEvent::StayRequested { .. } => "StayRequested",
            ListingEvent::HostResponded { .. } => "HostResponded",
            ListingEvent::StayHeld { .. } => "StayHeld",
            ListingEvent::HoldLapsed { .. } => "HoldLapsed",
            ListingEvent::StayConfirmed { .. } => "StayConfirmed",
            ListingEvent::StayCancelled { .. } => "StayCancelled",
            ListingEvent::StayReviewed { .. } => "StayReviewed",
            ListingEvent::ListingFlagged { .. } => "ListingFlagged",
            ListingEvent::ListingModerated { .. } => "ListingModerated",
        }
    }
}

/// What a stay search asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StayQuery {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amenities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum StaySearchEvent {
    /// A stay search the query API answered, with the listings it showed in order.
    StaySearchPerformed {
        search_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        query: StayQuery,
        shown: Vec<String>,
        /// The log position the search was ranked at.
        ranked_at: i64,
    },
    /// A guest opened a listing (recorded in the background, for personalisation).
    ListingViewed { user_id: String, listing_id: String },
}

impl StaySearchEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            StaySearchEvent::StaySearchPerformed { .. } => "StaySearchPerformed",
            StaySearchEvent::ListingViewed { .. } => "ListingViewed",
        }
    }
}
