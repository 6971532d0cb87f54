//! A listing's calendar as its host sets it: the weekly plan (in the details),
//! dated exceptions that block or open nights, and price overrides per night.
//! Which nights stays take is the listing's, not the calendar's.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use event_schemas::stays::{CalendarChange, ListingDetails, NightPrice, StayPrice};
use serde::{Deserialize, Serialize};

/// The nights `[from, until)`, one by one.
pub fn nights(from: NaiveDate, until: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |night| *night < until)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calendar {
    pub blocked: BTreeSet<NaiveDate>,
    pub opened: BTreeSet<NaiveDate>,
    pub prices: BTreeMap<NaiveDate, u64>,
    /// Nights whose price the host set by hand: automatic pricing leaves them alone.
    #[serde(default)]
    pub manual: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn apply(&mut self, from: NaiveDate, until: NaiveDate, change: &CalendarChange) {
        for night in nights(from, until) {
            match change {
                CalendarChange::Blocked => {
                    self.opened.remove(&night);
                    self.blocked.insert(night);
                }
                CalendarChange::Opened => {
                    self.blocked.remove(&night);
                    self.opened.insert(night);
                }
                CalendarChange::PriceSet {
                    nightly_price,
                    suggested,
                } => {
                    self.prices.insert(night, *nightly_price);
                    if *suggested {
                        self.manual.remove(&night);
                    } else {
                        self.manual.insert(night);
                    }
                }
                CalendarChange::PriceCleared => {
                    self.prices.remove(&night);
                    self.manual.remove(&night);
                }
            }
        }
    }

    /// Whether the host lets the night be booked: opened, or on an open weekday
    /// and not blocked.
    pub fn is_open(&self, details: &ListingDetails, night: NaiveDate) -> bool {
        if self.opened.contains(&night) {
            return true;
        }
        !self.blocked.contains(&night) && details.open_weekdays.contains(&night.weekday())
    }

    pub fn price_of(&self, details: &ListingDetails, night: NaiveDate) -> u64 {
        self.prices
            .get(&night)
            .copied()
            .unwrap_or(details.nightly_price)
    }

    /// What the stay `[check_in, check_out)` costs: each night at its price, and the
    /// cleaning fee.
    pub fn price(
        &self,
        details: &ListingDetails,
        check_in: NaiveDate,
        check_out: NaiveDate,
    ) -> StayPrice {
        let nights: Vec<NightPrice> = nights(check_in, check_out)
            .map(|night| NightPrice {
                night,
                price: self.price_of(details, night),
            })
            .collect();
        let total = nights
            .iter()
            .fold(details.cleaning_fee, |sum, n| sum.saturating_add(n.price));
        StayPrice {
            currency: details.currency.clone(),
            nights,
            cleaning_fee: details.cleaning_fee,
            total,
        }
    }
}
