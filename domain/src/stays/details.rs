//! What a listing's details must be to be accepted.

use chrono_tz::Tz;
use event_schemas::stays::ListingDetails;

use super::{MAX_AMENITIES, MAX_CAPACITY, MAX_NIGHTLY_PRICE, MAX_PHOTOS, MAX_STAY_NIGHTS};
use crate::error::DomainError;
use crate::validate::Validator;

/// Most characters of a description.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// Most bytes of a photo's URL.
const MAX_URL_LEN: usize = 2_048;

pub fn validate_details(d: &ListingDetails) -> Result<(), DomainError> {
    let mut v = Validator::new();
    v.text("title", &d.title);
    let description = d.description.chars().count();
    v.check(
        !d.description.trim().is_empty() && description <= MAX_DESCRIPTION_CHARS,
        "description",
        "must be 1 to 5000 characters",
    );
    v.check(
        !d.description
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        "description",
        "must not hold control characters other than line breaks and tabs",
    );
    v.check(
        d.photos.len() <= MAX_PHOTOS,
        "photos",
        "lists more than 50 photos",
    );
    for (i, photo) in d.photos.iter().enumerate() {
        v.check(
            (photo.url.starts_with("https://") || photo.url.starts_with("http://"))
                && photo.url.len() <= MAX_URL_LEN
                && !photo
                    .url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()),
            &format!("photos[{i}].url"),
            "must be an http(s) URL of at most 2048 bytes",
        );
        v.check(
            photo.content_hash.len() == 64
                && photo
                    .content_hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            &format!("photos[{i}].content_hash"),
            "must be the SHA-256 of the photo, as 64 lower-case hex digits",
        );
    }
    v.geo("location.", d.location.lat, d.location.lon);
    v.check(
        d.time_zone.parse::<Tz>().is_ok(),
        "time_zone",
        "must be an IANA time zone, e.g. Europe/Berlin",
    );
    v.id("property_type", &d.property_type);
    v.check(
        (1..=MAX_CAPACITY).contains(&d.capacity),
        "capacity",
        "must be from 1 to 50 guests",
    );
    v.check(
        d.amenities.len() <= MAX_AMENITIES,
        "amenities",
        "lists more than 50 amenities",
    );
    for (i, amenity) in d.amenities.iter().enumerate() {
        v.id(&format!("amenities[{i}]"), amenity);
    }
    v.check(
        d.currency.len() == 3 && d.currency.bytes().all(|b| b.is_ascii_uppercase()),
        "currency",
        "must be three capital letters (ISO 4217)",
    );
    v.check(
        (1..=MAX_NIGHTLY_PRICE).contains(&d.nightly_price),
        "nightly_price",
        "must be from 1 to 100000000 minor units",
    );
    v.check(
        d.cleaning_fee <= MAX_NIGHTLY_PRICE,
        "cleaning_fee",
        "must be at most 100000000 minor units",
    );
    v.check(
        d.min_nights >= 1 && d.min_nights <= d.max_nights,
        "min_nights",
        "must be at least 1 and at most max_nights",
    );
    v.check(
        d.max_nights <= MAX_STAY_NIGHTS,
        "max_nights",
        "must be at most 365",
    );
    v.check(
        !d.open_weekdays.is_empty() && d.open_weekdays.len() <= 7,
        "open_weekdays",
        "must name one to seven weekdays",
    );
    v.finish()
}
