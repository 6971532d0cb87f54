//! The Listing aggregate: a host's listing, its calendar and every stay booked on
//! it. One stream per listing, so one owner decides every booking of it: two guests
//! can never both get a night, whatever arrives at once (and a second process's
//! append of a decision made on an older state conflicts and is decided again).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use event_schemas::stays::{
    CalendarChange, CancelledBy, FraudSignal, ListingDetails, ListingEvent, ModerationDecision,
    NightPrice, StayRequest, SubRatings, LISTING_AGGREGATE,
};
use serde::{Deserialize, Serialize};

use super::calendar::{nights, Calendar};
use super::details::validate_details;
use super::local_time::{local_instant, local_today};
use super::refund::refund;
use super::{HORIZON_DAYS, MAX_HOLD_MINUTES, RESPONSE_WINDOW};
use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;
use crate::Refusal;

/// Where a stay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StayStatus {
    /// Asked of a host who books on request; its nights are kept until `ends`.
    Requested,
    /// Held for payment until `ends`.
    Held,
    Confirmed,
    /// Ended without a stay (unpaid, declined, unanswered, given up).
    Lapsed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stay {
    pub request: StayRequest,
    pub status: StayStatus,
    /// Until when a request or a hold keeps its nights.
    pub ends: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reviewed: bool,
    #[serde(default)]
    pub refund: Option<u64>,
    /// Why it lapsed, once it did.
    #[serde(default)]
    pub lapsed_because: Option<String>,
    /// The terms the guest booked under: a host's later change of policy, times or
    /// zone does not change a booked stay's refund.
    pub terms: BookedTerms,
}

/// What of the listing a stay keeps from when it was booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedTerms {
    pub cancellation_policy: event_schemas::stays::CancellationPolicy,
    pub time_zone: String,
    pub check_in_time: chrono::NaiveTime,
    pub check_out_time: chrono::NaiveTime,
}

impl BookedTerms {
    fn of(details: &ListingDetails) -> Self {
        Self {
            cancellation_policy: details.cancellation_policy,
            time_zone: details.time_zone.clone(),
            check_in_time: details.check_in_time,
            check_out_time: details.check_out_time,
        }
    }

    fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
}

/// Why the order process lets an unpaid hold go: a payment that still comes may
/// revive the stay (if its nights are free), unlike any other end of a hold.
pub const PAYMENT_TIMED_OUT: &str = "payment_timed_out";
/// Why the order process lets a hold go when its payment failed; the buyer may still
/// pay another way.
pub const PAYMENT_FAILED: &str = "payment_failed";
/// The ends of a hold a payment may still revive.
const REVIVABLE: [&str; 2] = [PAYMENT_TIMED_OUT, PAYMENT_FAILED];

impl Stay {
    /// Whether the stay keeps its nights from other guests at `now`.
    pub fn takes_nights(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            StayStatus::Confirmed => true,
            StayStatus::Requested | StayStatus::Held => self.ends.is_some_and(|end| now < end),
            StayStatus::Lapsed | StayStatus::Cancelled => false,
        }
    }

    /// The status as of `now`: a request or hold past its end has lapsed.
    pub fn status_at(&self, now: DateTime<Utc>) -> StayStatus {
        match self.status {
            StayStatus::Requested | StayStatus::Held if !self.takes_nights(now) => {
                StayStatus::Lapsed
            }
            status => status,
        }
    }

    fn overlaps(&self, check_in: NaiveDate, check_out: NaiveDate) -> bool {
        self.request.check_in < check_out && check_in < self.request.check_out
    }
}

/// Who cancels a stay, as the command says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Canceller {
    Host(String),
    Guest(String),
}

/// A guest's request to stay (the listing prices it from its calendar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookStay {
    pub stay_id: String,
    pub guest: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
    pub order_id: String,
    pub search_id: Option<String>,
    /// How long a hold lasts before it lapses unpaid.
    pub hold_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ListingCommand {
    /// `screening`: what fraud screening found (any signal flags the listing).
    Create {
        listing_id: String,
        host_id: String,
        details: ListingDetails,
        screening: Vec<FraudSignal>,
    },
    Update {
        listing_id: String,
        host_id: String,
        details: ListingDetails,
        screening: Vec<FraudSignal>,
    },
    Unlist {
        listing_id: String,
        host_id: String,
    },
    ChangeCalendar {
        listing_id: String,
        host_id: String,
        from: NaiveDate,
        until: NaiveDate,
        change: CalendarChange,
    },
    /// Automatic pricing on or off; on, within `[min_price, max_price]` (by default
    /// half to twice the nightly price).
    SetAutoPricing {
        listing_id: String,
        host_id: String,
        enabled: bool,
        min_price: Option<u64>,
        max_price: Option<u64>,
    },
    /// Automatic pricing: these nightly prices (only while it is on; nights already
    /// at that price are left alone).
    ApplySuggestedPrices {
        listing_id: String,
        prices: Vec<NightPrice>,
    },
    Book {
        listing_id: String,
        stay: BookStay,
    },
    Respond {
        listing_id: String,
        host_id: String,
        stay_id: String,
        accept: bool,
        hold_minutes: u32,
    },
    /// Let an unpaid hold or an unanswered request go (the order process, when the
    /// payment failed or did not come).
    Release {
        listing_id: String,
        stay_id: String,
        reason: String,
    },
    /// Paid: the stay is the guest's, if its nights are still free for it.
    Confirm {
        listing_id: String,
        stay_id: String,
        order_id: String,
    },
    Cancel {
        listing_id: String,
        stay_id: String,
        by: Canceller,
    },
    Review {
        listing_id: String,
        stay_id: String,
        guest: String,
        rating: u8,
        sub_ratings: Option<SubRatings>,
    },
    Moderate {
        listing_id: String,
        decision: ModerationDecision,
    },
    /// Whether `Book` would be accepted now: refused as it would be, else nothing
    /// (a read; so a guest's limits are counted only for a booking that can be made).
    CheckBooking {
        listing_id: String,
        stay: BookStay,
    },
    /// Nothing: answers the stay as it stands (a read).
    ShowStay {
        listing_id: String,
        stay_id: String,
    },
    /// Nothing: answers every stay of the listing, for its host (a read).
    ShowStays {
        listing_id: String,
        host_id: String,
    },
}

impl ListingCommand {
    pub fn listing_id(&self) -> &str {
        match self {
            ListingCommand::Create { listing_id, .. }
            | ListingCommand::Update { listing_id, .. }
            | ListingCommand::Unlist { listing_id, .. }
            | ListingCommand::ChangeCalendar { listing_id, .. }
            | ListingCommand::SetAutoPricing { listing_id, .. }
            | ListingCommand::ApplySuggestedPrices { listing_id, .. }
            | ListingCommand::Book { listing_id, .. }
            | ListingCommand::Respond { listing_id, .. }
            | ListingCommand::Release { listing_id, .. }
            | ListingCommand::Confirm { listing_id, .. }
            | ListingCommand::Cancel { listing_id, .. }
            | ListingCommand::Review { listing_id, .. }
            | ListingCommand::Moderate { listing_id, .. }
            | ListingCommand::CheckBooking { listing_id, .. }
            | ListingCommand::ShowStay { listing_id, .. }
            | ListingCommand::ShowStays { listing_id, .. } => listing_id,
        }
    }

    /// The stay the command is about, if any.
    pub fn stay_id(&self) -> Option<&str> {
        match self {
            ListingCommand::Book { stay, .. } | ListingCommand::CheckBooking { stay, .. } => {
                Some(&stay.stay_id)
            }
            ListingCommand::Respond { stay_id, .. }
            | ListingCommand::Release { stay_id, .. }
            | ListingCommand::Confirm { stay_id, .. }
            | ListingCommand::Cancel { stay_id, .. }
            | ListingCommand::Review { stay_id, .. }
            | ListingCommand::ShowStay { stay_id, .. } => Some(stay_id),
            _ => None,
        }
    }
}

/// Whether the listing may be found and booked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    #[default]
    New,
    Active,
    /// Screening found it suspect: not shown, not bookable, until an admin decides
    /// (whatever its host does meanwhile).
    Flagged,
    Unlisted,
    Removed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub listing_id: String,
    pub host_id: String,
    /// Shared, not copied: every batch is decided on a clone of the state, and the
    /// details (title, description, photos) were most of what a clone copied.
    pub details: Option<Arc<ListingDetails>>,
    pub status: ListingStatus,
    pub auto_pricing: bool,
    /// The nightly prices automatic pricing stays within.
    #[serde(default)]
    pub auto_price_range: (u64, u64),
    pub calendar: Calendar,
    pub stays: BTreeMap<String, Stay>,
    /// The latest screening's signals, while awaiting an admin's decision.
    #[serde(default)]
    pub signals: Vec<FraudSignal>,
    /// Listed by its host (not unlisted); whether it is shown also depends on
    /// moderation.
    #[serde(default)]
    pub listed: bool,
    /// Flagged and not yet decided on by an admin.
    #[serde(default)]
    pub awaiting_review: bool,
    #[serde(default)]
    pub removed: bool,
}

fn refuse(kind: ErrorKind, code: Refusal, detail: impl Into<String>) -> DomainError {
    DomainError::new(kind, code, detail)
}

impl Listing {
    pub fn time_zone(&self) -> Tz {
        self.details
            .as_ref()
            .and_then(|d| d.time_zone.parse().ok())
            .unwrap_or(Tz::UTC)
    }

    fn existing(&self) -> Result<&ListingDetails, DomainError> {
        self.details.as_deref().ok_or_else(|| {
            refuse(
                ErrorKind::NotFound,
                Refusal::UnknownListing,
                "there is no such listing",
            )
        })
    }

    /// The listing, if `host_id` is its host (another host's is refused as
    /// forbidden: hosts know listings exist, they are public).
    fn owned_by(&self, host_id: &str) -> Result<&ListingDetails, DomainError> {
        let details = self.existing()?;
        if self.host_id != host_id {
            return Err(refuse(
                ErrorKind::Forbidden,
                Refusal::NotYourListing,
                "the listing belongs to another host",
            ));
        }
        Ok(details)
    }

    fn stay(&self, stay_id: &str) -> Result<&Stay, DomainError> {
        self.stays.get(stay_id).ok_or_else(|| {
            refuse(
                ErrorKind::NotFound,
                Refusal::UnknownStay,
                "there is no such stay",
            )
        })
    }

    /// Stays other than `except` that keep any night of `[check_in, check_out)` at
    /// `now`.
    fn taken(
        &self,
        check_in: NaiveDate,
        check_out: NaiveDate,
        now: DateTime<Utc>,
        except: &str,
    ) -> Vec<NaiveDate> {
        let mut taken: Vec<NaiveDate> = self
            .stays
            .values()
            .filter(|s| s.request.stay_id != except && s.takes_nights(now))
            .filter(|s| s.overlaps(check_in, check_out))
            .flat_map(|s| {
                nights(
                    s.request.check_in.max(check_in),
                    s.request.check_out.min(check_out),
                )
            })
            .collect();
        taken.sort();
        taken.dedup();
        taken
    }

    fn nights_taken(taken: &[NaiveDate]) -> DomainError {
        refuse(
            ErrorKind::Conflict,
            Refusal::StayNightsTaken,
            format!(
                "{} of the nights are booked already (first {})",
                taken.len(),
                taken[0]
            ),
        )
        .with_fact(
            "taken_nights",
            serde_json::Value::from(
                taken
                    .iter()
                    .map(|n| serde_json::Value::from(n.to_string()))
                    .collect::<Vec<_>>(),
            ),
        )
    }

    pub fn decide(
        &self,
        command: &ListingCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ListingEvent>, DomainError> {
        let id = self.listing_id.clone();
        match command {
            ListingCommand::Create {
                listing_id,
                host_id,
                details,
                screening,
            } => {
                let mut v = Validator::new();
                v.id("listing_id", listing_id);
                v.id("host_id", host_id);
                v.finish()?;
                validate_details(details)?;
                if self.details.is_some() {
                    return if self.host_id == *host_id && self.details.as_deref() == Some(details) {
                        Ok(vec![])
                    } else {
                        Err(refuse(
                            ErrorKind::Conflict,
                            Refusal::ListingExists,
                            format!("listing '{listing_id}' exists"),
                        ))
                    };
                }
                let created = ListingEvent::ListingCreated {
                    listing_id: listing_id.clone(),
                    host_id: host_id.clone(),
                    details: details.clone(),
                };
                Ok(std::iter::once(created)
                    .chain(flag(listing_id, screening))
                    .collect())
            }
            ListingCommand::Update {
                host_id,
                details,
                screening,
                ..
            } => {
                let current = self.owned_by(host_id)?;
                validate_details(details)?;
                self.changeable()?;
                if current == details {
                    return Ok(vec![]);
                }
                let updated = ListingEvent::ListingUpdated {
                    listing_id: id.clone(),
                    details: details.clone(),
                };
                Ok(std::iter::once(updated)
                    .chain(flag(&id, screening))
                    .collect())
            }
            ListingCommand::Unlist { host_id, .. } => {
                self.owned_by(host_id)?;
                match self.status {
                    _ if !self.listed || self.removed => Ok(vec![]),
                    _ => Ok(vec![ListingEvent::ListingUnlisted { listing_id: id }]),
                }
            }
            ListingCommand::ChangeCalendar {
                host_id,
                from,
                until,
                change,
                ..
            } => {
                self.owned_by(host_id)?;
                self.changeable()?;
                let today = local_today(self.time_zone(), now);
                let mut v = Validator::new();
                v.check(from < until, "until", "must be after from");
                // Past nights never matter again; an unbounded start would make every
                // copy of the listing hold millions of nights.
                v.check(
                    *from >= today - Duration::days(1),
                    "from",
                    "must not lie before yesterday at the listing",
                );
                v.check(
                    *until <= today + Duration::days(HORIZON_DAYS + 1),
                    "until",
                    "must lie within the two-year calendar horizon",
                );
                if let CalendarChange::PriceSet { nightly_price, .. } = change {
                    v.check(
                        (1..=super::MAX_NIGHTLY_PRICE).contains(nightly_price),
                        "nightly_price",
                        "must be from 1 to 100000000 minor units",
                    );
                }
                v.finish()?;
                Ok(vec![ListingEvent::CalendarChanged {
                    listing_id: id,
                    from: *from,
                    until: *until,
                    change: change.clone(),
                }])
            }
            ListingCommand::SetAutoPricing {
                host_id,
                enabled,
                min_price,
                max_price,
                ..
            } => {
                let details = self.owned_by(host_id)?;
                self.changeable()?;
                let (low, high) = super::suggestion_bounds(details);
                let (min_price, max_price) = (min_price.unwrap_or(low), max_price.unwrap_or(high));
                let mut v = Validator::new();
                v.check(
                    (1..=super::MAX_NIGHTLY_PRICE).contains(&min_price),
                    "min_price",
                    "must be from 1 to 100000000 minor units",
                );
                v.check(
                    min_price <= max_price && max_price <= super::MAX_NIGHTLY_PRICE,
                    "max_price",
                    "must be from min_price to 100000000 minor units",
                );
                v.finish()?;
                if self.auto_pricing == *enabled && self.auto_price_range == (min_price, max_price)
                {
                    return Ok(vec![]);
                }
                Ok(vec![ListingEvent::AutoPricingSet {
                    listing_id: id,
                    enabled: *enabled,
                    min_price,
                    max_price,
                }])
            }
            ListingCommand::ApplySuggestedPrices { prices, .. } => {
                let details = self.existing()?;
                if !self.auto_pricing || self.status != ListingStatus::Active {
                    return Ok(vec![]);
                }
                let today = local_today(self.time_zone(), now);
                let mut seen = std::collections::BTreeSet::new();
                let prices: Vec<&NightPrice> = prices
                    .iter()
                    .filter(|p| p.night >= today && seen.insert(p.night))
                    .collect();
                if prices.is_empty() {
                    return Ok(vec![]);
                }
                let (min, max) = self.auto_price_range;
                // Nights the host priced by hand are left alone, and a move of under
                // 2% is not worth an event.
                let worth_it = |p: &&&NightPrice| {
                    let current = self.calendar.price_of(details, p.night);
                    let next = p.price.clamp(min, max);
                    !self.calendar.manual.contains(&p.night)
                        && current.abs_diff(next).saturating_mul(50) >= current.max(1)
                };
                Ok(prices
                    .iter()
                    .filter(worth_it)
                    .map(|p| ListingEvent::CalendarChanged {
                        listing_id: id.clone(),
                        from: p.night,
                        until: p.night + Duration::days(1),
                        change: CalendarChange::PriceSet {
                            nightly_price: p.price.clamp(min, max),
                            suggested: true,
                        },
                    })
                    .collect())
            }
            ListingCommand::Book { stay, .. } => self.book(stay, now),
            ListingCommand::CheckBooking { stay, .. } => self.book(stay, now).map(|_| vec![]),
            ListingCommand::ShowStay { stay_id, .. } => self.stay(stay_id).map(|_| vec![]),
            ListingCommand::ShowStays { host_id, .. } => self.owned_by(host_id).map(|_| vec![]),
            ListingCommand::Respond {
                host_id,
                stay_id,
                accept,
                hold_minutes,
                ..
            } => {
                self.owned_by(host_id)?;
                let stay = self.stay(stay_id)?;
                let within_deadline = stay.takes_nights(now);
                match stay.status {
                    StayStatus::Requested if within_deadline => {}
                    StayStatus::Requested => {
                        return Err(refuse(
                            ErrorKind::Conflict,
                            Refusal::StayState,
                            "the request was not answered in time and has lapsed",
                        ))
                    }
                    // The same answer again changes nothing.
                    StayStatus::Held | StayStatus::Confirmed if *accept => return Ok(vec![]),
                    StayStatus::Lapsed if !*accept => return Ok(vec![]),
                    _ => {
                        return Err(refuse(
                            ErrorKind::Conflict,
                            Refusal::StayState,
                            "the request was answered already",
                        ))
                    }
                }
                let responded = ListingEvent::HostResponded {
                    listing_id: id.clone(),
                    stay_id: stay_id.clone(),
                    accepted: *accept,
                    within_deadline,
                };
                let next = if *accept {
                    check_hold_minutes(*hold_minutes)?;
                    ListingEvent::StayHeld {
                        listing_id: id,
                        stay: stay.request.clone(),
                        expires_at: now + Duration::minutes(i64::from(*hold_minutes)),
                    }
                } else {
                    ListingEvent::HoldLapsed {
                        listing_id: id,
                        stay_id: stay_id.clone(),
                        reason: "declined".into(),
                    }
                };
                Ok(vec![responded, next])
            }
            ListingCommand::Release {
                stay_id, reason, ..
            } => {
                let stay = self.stay(stay_id)?;
                match stay.status {
                    StayStatus::Requested | StayStatus::Held => {
                        Ok(vec![ListingEvent::HoldLapsed {
                            listing_id: id,
                            stay_id: stay_id.clone(),
                            reason: reason.clone(),
                        }])
                    }
                    _ => Ok(vec![]),
                }
            }
            ListingCommand::Confirm {
                stay_id, order_id, ..
            } => {
                let stay = self.stay(stay_id)?;
                if stay.request.order_id != *order_id {
                    return Err(refuse(
                        ErrorKind::Conflict,
                        Refusal::StayState,
                        "the stay is paid through another order",
                    ));
                }
                let revived = match stay.status {
                    StayStatus::Confirmed => return Ok(vec![]),
                    // A payment that comes after the hold ran out (or after a failed
                    // one) still gets the stay if its nights are still to be had; a
                    // hold that ended otherwise (declined, cancelled) is not revived.
                    StayStatus::Held => false,
                    StayStatus::Lapsed
                        if stay
                            .lapsed_because
                            .as_deref()
                            .is_some_and(|why| REVIVABLE.contains(&why)) =>
                    {
                        true
                    }
                    _ => {
                        return Err(refuse(
                            ErrorKind::Conflict,
                            Refusal::StayState,
                            format!(
                                "the stay is {}",
                                format!("{:?}", stay.status_at(now)).to_lowercase()
                            ),
                        ))
                    }
                };
                self.still_to_be_had(stay, revived, now)?;
                let taken = self.taken(stay.request.check_in, stay.request.check_out, now, stay_id);
                if !taken.is_empty() {
                    return Err(Self::nights_taken(&taken));
                }
                Ok(vec![ListingEvent::StayConfirmed {
                    listing_id: id,
                    stay_id: stay_id.clone(),
                    order_id: order_id.clone(),
                }])
            }
            ListingCommand::Cancel { stay_id, by, .. } => {
                let stay = self.stay(stay_id)?;
                let by = match by {
                    Canceller::Host(host_id) => {
                        self.owned_by(host_id)?;
                        CancelledBy::Host
                    }
                    Canceller::Guest(guest) if *guest == stay.request.guest => CancelledBy::Guest,
                    // Another guest's stay does not exist for them.
                    Canceller::Guest(_) => return Err(self.stay("").unwrap_err()),
                };
                match stay.status {
                    StayStatus::Cancelled | StayStatus::Lapsed => Ok(vec![]),
                    StayStatus::Requested | StayStatus::Held => {
                        Ok(vec![ListingEvent::HoldLapsed {
                            listing_id: id,
                            stay_id: stay_id.clone(),
                            reason: match by {
                                CancelledBy::Host => "host_cancelled".into(),
                                CancelledBy::Guest => "guest_cancelled".into(),
                            },
                        }])
                    }
                    StayStatus::Confirmed => {
                        let terms = &stay.terms;
                        let tz = terms.zone();
                        let check_in_at =
                            local_instant(tz, stay.request.check_in, terms.check_in_time);
                        if now >= local_instant(tz, stay.request.check_out, terms.check_out_time) {
                            return Err(refuse(
                                ErrorKind::Conflict,
                                Refusal::StayState,
                                "the stay is over",
                            ));
                        }
                        let (refund, refund_share) = refund(
                            terms.cancellation_policy,
                            by,
                            &stay.request.price,
                            check_in_at,
                            now,
                        );
                        Ok(vec![ListingEvent::StayCancelled {
                            listing_id: id,
                            stay_id: stay_id.clone(),
                            by,
                            refund,
                            refund_share,
                        }])
                    }
                }
            }
            ListingCommand::Review {
                stay_id,
                guest,
                rating,
                sub_ratings,
                ..
            } => {
                let stay = self.stay(stay_id)?;
                if stay.request.guest != *guest {
                    return Err(self.stay("").unwrap_err());
                }
                let mut v = Validator::new();
                v.check((1..=5).contains(rating), "rating", "must be from 1 to 5");
                if let Some(sub) = sub_ratings {
                    for (field, value) in [
                        ("sub_ratings.cleanliness", sub.cleanliness),
                        ("sub_ratings.accuracy", sub.accuracy),
                        ("sub_ratings.communication", sub.communication),
                        ("sub_ratings.location", sub.location),
                        ("sub_ratings.value", sub.value),
                    ] {
                        v.check((1..=5).contains(&value), field, "must be from 1 to 5");
                    }
                }
                v.finish()?;
                if stay.reviewed {
                    return Ok(vec![]);
                }
                let checked_out = local_today(self.time_zone(), now) >= stay.request.check_out;
                if stay.status != StayStatus::Confirmed || !checked_out {
                    return Err(refuse(
                        ErrorKind::Conflict,
                        Refusal::StayState,
                        "only a stay that took place can be reviewed, once it is over",
                    ));
                }
                Ok(vec![ListingEvent::StayReviewed {
                    listing_id: id,
                    stay_id: stay_id.clone(),
                    guest: guest.clone(),
                    rating: *rating,
                    sub_ratings: *sub_ratings,
                }])
            }
            ListingCommand::Moderate { decision, .. } => {
                self.existing()?;
                match decision {
                    _ if self.removed => Ok(vec![]),
                    ModerationDecision::Approved if !self.awaiting_review => Ok(vec![]),
                    _ => Ok(vec![ListingEvent::ListingModerated {
                        listing_id: id,
                        decision: *decision,
                    }]),
                }
            }
        }
    }

    /// Whether a paid stay can still be had: not on a listing removed or awaiting an
    /// admin's decision, not once its check-in date has passed at the listing, and,
    /// reviving a lapsed hold, only on nights the host still offers.
    fn still_to_be_had(
        &self,
        stay: &Stay,
        revived: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let details = self.existing()?;
        let gone = |detail: &str| {
            Err(refuse(
                ErrorKind::Conflict,
                Refusal::ListingNotBookable,
                detail.to_string(),
            ))
        };
        if self.removed || self.awaiting_review {
            return gone("the listing was removed or is awaiting review");
        }
        if stay.request.check_in < local_today(self.time_zone(), now) {
            return gone("the stay's check-in has passed");
        }
        if revived
            && (self.status != ListingStatus::Active
                || nights(stay.request.check_in, stay.request.check_out)
                    .any(|night| !self.calendar.is_open(details, night)))
        {
            return gone("the listing no longer offers these nights");
        }
        Ok(())
    }

    /// A removed listing is never changed again.
    fn changeable(&self) -> Result<(), DomainError> {
        if self.removed {
            return Err(refuse(
                ErrorKind::Conflict,
                Refusal::ListingNotBookable,
                "the listing was removed",
            ));
        }
        Ok(())
    }

    fn book(&self, book: &BookStay, now: DateTime<Utc>) -> Result<Vec<ListingEvent>, DomainError> {
        let details = self.existing()?;
        if let Some(existing) = self.stays.get(&book.stay_id) {
            // A retry of the same request changes nothing; another one under this
            // id is refused.
            let r = &existing.request;
            return if r.guest == book.guest
                && r.check_in == book.check_in
                && r.check_out == book.check_out
                && r.guests == book.guests
                && r.order_id == book.order_id
            {
                Ok(vec![])
            } else {
                Err(refuse(
                    ErrorKind::Conflict,
                    Refusal::StayExists,
                    format!("stay '{}' exists with other details", book.stay_id),
                ))
            };
        }
        let today = local_today(self.time_zone(), now);
        let mut v = Validator::new();
        v.reference("stay_id", &book.stay_id);
        v.id("guest", &book.guest);
        v.reference("order_id", &book.order_id);
        if let Some(search_id) = &book.search_id {
            v.id("search_id", search_id);
        }
        v.check(
            book.check_in < book.check_out,
            "check_out",
            "must be after check_in",
        );
        v.check(
            book.check_in >= today,
            "check_in",
            &format!("must not lie in the past (it is {today} at the listing)"),
        );
        v.check(
            book.check_out <= today + Duration::days(HORIZON_DAYS),
            "check_out",
            "must lie within the two-year calendar horizon",
        );
        v.check(
            book.guests >= 1 && book.guests <= details.capacity,
            "guests",
            &format!(
                "must be from 1 to the listing's capacity, {}",
                details.capacity
            ),
        );
        let stay_nights = (book.check_out - book.check_in).num_days();
        v.check(
            stay_nights >= i64::from(details.min_nights)
                && stay_nights <= i64::from(details.max_nights),
            "check_out",
            &format!(
                "the stay must be {} to {} nights",
                details.min_nights, details.max_nights
            ),
        );
        v.finish()?;
        check_hold_minutes(book.hold_minutes)?;
        if self.status != ListingStatus::Active {
            return Err(refuse(
                ErrorKind::Conflict,
                Refusal::ListingNotBookable,
                format!(
                    "the listing is {}",
                    format!("{:?}", self.status).to_lowercase()
                ),
            ));
        }
        let closed: Vec<NaiveDate> = nights(book.check_in, book.check_out)
            .filter(|night| !self.calendar.is_open(details, *night))
            .collect();
        if let Some(first) = closed.first() {
            return Err(refuse(
                ErrorKind::Conflict,
                Refusal::NightsClosed,
                format!(
                    "the host does not take bookings for {} of the nights (first {first})",
                    closed.len()
                ),
            ));
        }
        let taken = self.taken(book.check_in, book.check_out, now, &book.stay_id);
        if !taken.is_empty() {
            return Err(Self::nights_taken(&taken));
        }
        let request = StayRequest {
            stay_id: book.stay_id.clone(),
            guest: book.guest.clone(),
            check_in: book.check_in,
            check_out: book.check_out,
            guests: book.guests,
            price: self.calendar.price(details, book.check_in, book.check_out),
            order_id: book.order_id.clone(),
            search_id: book.search_id.clone(),
        };
        let listing_id = self.listing_id.clone();
        Ok(vec![if details.instant_book {
            ListingEvent::StayHeld {
                listing_id,
                stay: request,
                expires_at: now + Duration::minutes(i64::from(book.hold_minutes)),
            }
        } else {
            ListingEvent::StayRequested {
                listing_id,
                stay: request,
                respond_by: now + RESPONSE_WINDOW,
            }
        }])
    }

    pub fn apply_event(&mut self, event: &ListingEvent) {
        match event {
            ListingEvent::ListingCreated {
                listing_id,
                host_id,
                details,
            } => {
                self.listing_id = listing_id.clone();
                self.host_id = host_id.clone();
                self.details = Some(Arc::new(details.clone()));
                self.listed = true;
            }
            // Changing a listing lists it again (moderation is unaffected).
            ListingEvent::ListingUpdated { details, .. } => {
                self.details = Some(Arc::new(details.clone()));
                self.listed = true;
            }
            ListingEvent::ListingUnlisted { .. } => self.listed = false,
            ListingEvent::CalendarChanged {
                from,
                until,
                change,
                ..
            } => self.calendar.apply(*from, *until, change),
            ListingEvent::AutoPricingSet {
                enabled,
                min_price,
                max_price,
                ..
            } => {
                self.auto_pricing = *enabled;
                self.auto_price_range = (*min_price, *max_price);
            }
            ListingEvent::StayRequested {
                stay, respond_by, ..
            } => self.add_stay(stay, StayStatus::Requested, *respond_by),
            ListingEvent::HostResponded { .. } => {}
            ListingEvent::StayHeld {
                stay, expires_at, ..
            } => self.add_stay(stay, StayStatus::Held, *expires_at),
            ListingEvent::HoldLapsed {
                stay_id, reason, ..
            } => {
                self.set_status(stay_id, StayStatus::Lapsed);
                if let Some(stay) = self.stays.get_mut(stay_id) {
                    stay.lapsed_because = Some(reason.clone());
                }
            }
            ListingEvent::StayConfirmed { stay_id, .. } => {
                self.set_status(stay_id, StayStatus::Confirmed)
            }
            ListingEvent::StayCancelled {
                stay_id, refund, ..
            } => {
                self.set_status(stay_id, StayStatus::Cancelled);
                if let Some(stay) = self.stays.get_mut(stay_id) {
                    stay.refund = Some(*refund);
                }
            }
            ListingEvent::StayReviewed { stay_id, .. } => {
                if let Some(stay) = self.stays.get_mut(stay_id) {
                    stay.reviewed = true;
                }
            }
            ListingEvent::ListingFlagged { signals, .. } => {
                self.signals = signals.clone();
                self.awaiting_review = true;
            }
            ListingEvent::ListingModerated { decision, .. } => {
                self.signals.clear();
                self.awaiting_review = false;
                self.removed = *decision == ModerationDecision::Removed;
            }
        }
        self.status = self.derived_status();
    }

    fn derived_status(&self) -> ListingStatus {
        match () {
            _ if self.details.is_none() => ListingStatus::New,
            _ if self.removed => ListingStatus::Removed,
            _ if self.awaiting_review => ListingStatus::Flagged,
            _ if !self.listed => ListingStatus::Unlisted,
            _ => ListingStatus::Active,
        }
    }

    /// A stay requested or held (an accepted request keeps the terms it was asked
    /// under).
    fn add_stay(&mut self, request: &StayRequest, status: StayStatus, ends: DateTime<Utc>) {
        let terms = match (self.stays.get(&request.stay_id), &self.details) {
            (Some(earlier), _) => earlier.terms.clone(),
            (None, Some(details)) => BookedTerms::of(details),
            // A stay is only ever recorded on a listing that exists.
            (None, None) => return,
        };
        self.stays.insert(
            request.stay_id.clone(),
            Stay {
                request: request.clone(),
                status,
                ends: Some(ends),
                reviewed: false,
                refund: None,
                lapsed_because: None,
                terms,
            },
        );
    }

    fn set_status(&mut self, stay_id: &str, status: StayStatus) {
        if let Some(stay) = self.stays.get_mut(stay_id) {
            stay.status = status;
            if status != StayStatus::Requested && status != StayStatus::Held {
                stay.ends = None;
            }
        }
    }
}

fn check_hold_minutes(minutes: u32) -> Result<(), DomainError> {
    let mut v = Validator::new();
    v.check(
        (1..=MAX_HOLD_MINUTES).contains(&minutes),
        "hold_minutes",
        "must be from 1 to 1440",
    );
    v.finish()
}

/// `ListingFlagged` for what screening found, if it found anything.
fn flag(listing_id: &str, signals: &[FraudSignal]) -> Option<ListingEvent> {
    if signals.is_empty() {
        return None;
    }
    let score = signals.iter().map(|s| s.weight).sum::<f64>().min(1.0);
    Some(ListingEvent::ListingFlagged {
        listing_id: listing_id.to_string(),
        signals: signals.to_vec(),
        score,
    })
}

crate::aggregate::aggregate!(Listing, LISTING_AGGREGATE, ListingCommand, ListingEvent,
    decide: |listing, command, services| listing.decide(command, services.now()));

/// What the routes answer about a listing: the listing and, after a command about
/// one stay, that stay as of the command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingView {
    pub listing_id: String,
    pub host_id: String,
    pub status: ListingStatus,
    pub auto_pricing: bool,
    pub details: Option<Arc<ListingDetails>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<FraudSignal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stay: Option<StayView>,
    /// Every stay, by check-in (answered to `ShowStays` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stays: Vec<StayView>,
}

/// One stay as its guest and host see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StayView {
    pub stay_id: String,
    pub listing_id: String,
    pub guest: String,
    pub status: StayStatus,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
    pub price: event_schemas::stays::StayPrice,
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<u64>,
}

impl Listing {
    /// Every stay as it stands at `now`, by check-in (then id).
    pub fn stays_view(&self, now: DateTime<Utc>) -> Vec<StayView> {
        let mut stays: Vec<StayView> = self
            .stays
            .keys()
            .filter_map(|stay_id| self.stay_view(stay_id, now))
            .collect();
        stays.sort_by(|a, b| (a.check_in, &a.stay_id).cmp(&(b.check_in, &b.stay_id)));
        stays
    }

    pub fn stay_view(&self, stay_id: &str, now: DateTime<Utc>) -> Option<StayView> {
        let stay = self.stays.get(stay_id)?;
        let r = &stay.request;
        Some(StayView {
            stay_id: r.stay_id.clone(),
            listing_id: self.listing_id.clone(),
            guest: r.guest.clone(),
            status: stay.status_at(now),
            check_in: r.check_in,
            check_out: r.check_out,
            guests: r.guests,
            price: r.price.clone(),
            order_id: r.order_id.clone(),
            ends: stay.ends.filter(|_| stay.takes_nights(now)),
            refund: stay.refund,
        })
    }
}

impl crate::Hosted for Listing {
    type View = ListingView;

    fn view(&self) -> ListingView {
        ListingView {
            listing_id: self.listing_id.clone(),
            host_id: self.host_id.clone(),
            status: self.status,
            auto_pricing: self.auto_pricing,
            details: self.details.clone(),
            signals: self.signals.clone(),
            stay: None,
            stays: Vec::new(),
        }
    }

    fn view_for(&self, command: &ListingCommand, now: DateTime<Utc>) -> ListingView {
        let stays = match command {
            ListingCommand::ShowStays { .. } => self.stays_view(now),
            _ => Vec::new(),
        };
        ListingView {
            stay: command
                .stay_id()
                .and_then(|stay_id| self.stay_view(stay_id, now)),
            stays,
            ..self.view()
        }
    }
}
