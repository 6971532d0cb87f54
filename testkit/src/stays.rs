//! Stays fixtures: a listing's details as a host describes them.

use chrono::{NaiveTime, Weekday};
use event_schemas::stays::{CancellationPolicy, ListingDetails};
use event_schemas::values::GeoPoint;

/// The centre of Berlin, where the fixtures' listings are.
pub const BERLIN: GeoPoint = GeoPoint {
    lat: 52.52,
    lon: 13.405,
};

/// A Berlin apartment for up to 4 guests at 100.00 EUR a night, 1–14 nights, open
/// every day, with Wi-Fi and a kitchen.
pub fn apartment(title: &str) -> ListingDetails {
    ListingDetails {
        title: title.into(),
        description: format!("{title}. A calm place to stay."),
        photos: vec![],
        location: BERLIN,
        time_zone: "Europe/Berlin".into(),
        property_type: "apartment".into(),
        capacity: 4,
        amenities: vec!["wifi".into(), "kitchen".into()],
        currency: "EUR".into(),
        nightly_price: 10_000,
        cleaning_fee: 0,
        cancellation_policy: CancellationPolicy::Flexible,
        min_nights: 1,
        max_nights: 14,
        check_in_time: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
        check_out_time: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        open_weekdays: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        instant_book: true,
    }
}
