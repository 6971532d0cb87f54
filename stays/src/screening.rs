//! Fraud screening of a listing about to be created or changed, against the other
//! listings in the model: a description nearly the same as another host's, photos
//! another host uses, a price far below comparable listings', a new host creating
//! many listings at once, and contact details that would take guests off the
//! platform. Each finding is a `FraudSignal`; any of them flags the listing.

use chrono::{DateTime, Duration, Utc};
use event_schemas::stays::{FraudSignal, ListingDetails};

use crate::model::listing::Status;
use crate::model::text::simhash;
use crate::model::StaysModel;
use crate::search::median;

/// Bits two descriptions' SimHash may differ by and still be the same text.
pub const NEAR_DUPLICATE_BITS: u32 = 3;
/// How far comparable listings may be.
const COMPARABLE_KM: f64 = 25.0;
/// Comparable listings needed before a price is called far below theirs.
const MIN_COMPARABLE: usize = 5;
/// A host is new this long after their first listing.
const NEW_HOST: Duration = Duration::days(7);
const BURST_WINDOW: Duration = Duration::hours(24);
/// Listings named in a signal's detail at most.
const NAMED: usize = 3;

const WEIGHT_PHOTO_REUSED: f64 = 0.6;
const WEIGHT_NEAR_DUPLICATE: f64 = 0.5;
const WEIGHT_CONTACT_DETAILS: f64 = 0.5;
const WEIGHT_PRICE_FAR_BELOW: f64 = 0.4;
const WEIGHT_HOST_BURST: f64 = 0.3;

impl StaysModel {
    /// What is suspect about `details` as `host_id`'s listing `listing_id` (new or
    /// changed) at `now`. The listing's own earlier version never counts.
    pub fn screen(
        &self,
        listing_id: &str,
        host_id: &str,
        details: &ListingDetails,
        now: DateTime<Utc>,
    ) -> Vec<FraudSignal> {
        let against = Against {
            own: self.listing_index(listing_id),
            host_id,
        };
        [
            self.near_duplicate_text(&against, details),
            self.photo_reused(&against, details),
            self.price_far_below(&against, details),
            // Only a listing being created counts toward a burst.
            against
                .own
                .is_none()
                .then(|| self.host_burst(host_id, now))
                .flatten(),
            contact_signal(details),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn near_duplicate_text(
        &self,
        against: &Against,
        details: &ListingDetails,
    ) -> Option<FraudSignal> {
        let hash = simhash(&details.description)?;
        let mut close: Vec<(u32, &str)> = self
            .fingerprints
            .similar(hash)
            .into_iter()
            .filter(|i| against.other_host(self, *i))
            .filter_map(|i| {
                let other = &self.listings[i as usize];
                let bits = (other.simhash? ^ hash).count_ones();
                (bits <= NEAR_DUPLICATE_BITS).then_some((bits, other.id.as_str()))
            })
            .collect();
        close.sort();
        let (bits, _) = close.first()?;
        Some(signal(
            "near_duplicate_text",
            format!(
                "the description is nearly the same ({bits} of 64 fingerprint bits differ) \
                 as that of {} listing(s) of other hosts: {}",
                close.len(),
                named(close.iter().map(|(_, id)| *id))
            ),
            WEIGHT_NEAR_DUPLICATE,
        ))
    }

    fn photo_reused(&self, against: &Against, details: &ListingDetails) -> Option<FraudSignal> {
        let mut users: Vec<&str> = Vec::new();
        let mut reused = 0;
        for photo in &details.photos {
            let hash = photo.content_hash.trim().to_lowercase();
            let elsewhere: Vec<u32> = self
                .fingerprints
                .with_photo(&hash)
                .iter()
                .copied()
                .filter(|i| against.other_host(self, *i))
                .collect();
            reused += usize::from(!elsewhere.is_empty());
            for i in elsewhere {
                let id = self.listings[i as usize].id.as_str();
                if !users.contains(&id) {
                    users.push(id);
                }
            }
        }
        if reused == 0 {
            return None;
        }
        users.sort();
        Some(signal(
            "photo_reused",
            format!(
                "{reused} photo(s) already used by listing(s) of other hosts: {}",
                named(users.into_iter())
            ),
            WEIGHT_PHOTO_REUSED,
        ))
    }

    fn price_far_below(&self, against: &Against, details: &ListingDetails) -> Option<FraudSignal> {
        let kind = details.property_type.trim().to_lowercase();
        let mut comparable: Vec<f64> = self
            .grid
            .within(details.location, COMPARABLE_KM)
            .filter(|(listing, _, _)| Some(*listing) != against.own)
            .map(|(listing, _, _)| &self.listings[listing as usize])
            .filter(|other| {
                other.status() == Status::Active
                    && other.details.currency == details.currency
                    && other.kind == kind
            })
            .map(|other| other.details.nightly_price as f64)
            .collect();
        if comparable.len() < MIN_COMPARABLE {
            return None;
        }
        let median = median(&mut comparable);
        let share = self.config().price_far_below;
        ((details.nightly_price as f64) < share * median).then(|| {
            signal(
                "price_far_below",
                format!(
                    "a night at {} {} is below {:.0}% of the median {median:.0} of {} \
                     comparable listings ({kind} within {COMPARABLE_KM} km)",
                    details.nightly_price,
                    details.currency,
                    share * 100.0,
                    comparable.len(),
                ),
                WEIGHT_PRICE_FAR_BELOW,
            )
        })
    }

    /// A new listing of `host_id` at `now`: a burst when the host is new and it
    /// makes more than the configured number within a day.
    fn host_burst(&self, host_id: &str, now: DateTime<Utc>) -> Option<FraudSignal> {
        let earlier = self
            .host_named(host_id)
            .map(|h| h.listings.as_slice())
            .unwrap_or_default();
        let created = |i: &u32| self.listings[*i as usize].created_at;
        let first = earlier.iter().map(created).min().unwrap_or(now);
        let within_day = 1 + earlier
            .iter()
            .map(created)
            .filter(|at| *at > now - BURST_WINDOW && *at <= now)
            .count();
        let most = self.config().host_burst as usize;
        (now - first < NEW_HOST && within_day > most).then(|| {
            signal(
                "host_burst",
                format!(
                    "a host new since {} creates their {within_day}th listing within 24 hours \
                     (more than {most})",
                    first.format("%Y-%m-%d %H:%M UTC"),
                ),
                WEIGHT_HOST_BURST,
            )
        })
    }
}

/// Whom a screened listing is compared with: every listing but its own earlier
/// version, and for copies only those of other hosts.
struct Against<'a> {
    own: Option<u32>,
    host_id: &'a str,
}

impl Against<'_> {
    fn other_host(&self, model: &StaysModel, listing: u32) -> bool {
        Some(listing) != self.own && model.listings[listing as usize].host != self.host_id
    }
}

fn contact_signal(details: &ListingDetails) -> Option<FraudSignal> {
    let mut found = contact_details(&details.title);
    found.extend(contact_details(&details.description));
    if found.is_empty() {
        return None;
    }
    let shown: Vec<String> = found.iter().take(NAMED).map(ToString::to_string).collect();
    Some(signal(
        "contact_details",
        format!("the text gives contact details: {}", shown.join(", ")),
        WEIGHT_CONTACT_DETAILS,
    ))
}

fn signal(kind: &str, detail: String, weight: f64) -> FraudSignal {
    FraudSignal {
        kind: kind.to_string(),
        detail,
        weight,
    }
}

fn named<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.collect();
    let mut shown = ids
        .iter()
        .take(NAMED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > NAMED {
        shown.push_str(&format!(" and {} more", ids.len() - NAMED));
    }
    shown
}

/// A way to reach the host the text gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Phone(String),
    Email(String),
    /// A messenger's name or link, or an `@handle`.
    Messaging(String),
}

impl std::fmt::Display for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contact::Phone(p) => write!(f, "phone number '{p}'"),
            Contact::Email(e) => write!(f, "e-mail address '{e}'"),
            Contact::Messaging(m) => write!(f, "messaging handle '{m}'"),
        }
    }
}

/// Messengers named outright.
const MESSENGERS: [&str; 5] = ["whatsapp", "telegram", "wechat", "skype", "viber"];
/// Messenger links (a word must not run into them: "t.me/" is not "flat.me/").
const MESSENGER_LINKS: [&str; 2] = ["t.me/", "wa.me/"];
/// Words before "signal" that make it the messenger rather than the phone
/// reception ("message me on Signal", not "no signal in the valley").
const SIGNAL_LEADS: [&str; 5] = ["on", "via", "through", "me", "us"];

/// The contact details in `text`: phone numbers (8 to 15 digits, with spaces,
/// dashes, dots, parentheses and a leading +, dates aside), e-mail addresses,
/// messengers and `@handles`.
pub fn contact_details(text: &str) -> Vec<Contact> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = phones(&chars);
    found.extend(at_signs(&chars));
    let lower = text.to_lowercase();
    for messenger in MESSENGERS {
        if lower.contains(messenger) {
            found.push(Contact::Messaging(messenger.to_string()));
        }
    }
    for link in MESSENGER_LINKS {
        let mut start = 0;
        while let Some(at) = lower[start..].find(link) {
            let at = start + at;
            let joined = lower[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            if !joined {
                let rest: String = lower[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                found.push(Contact::Messaging(rest));
                break;
            }
            start = at + link.len();
        }
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != ':')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, word) in words.iter().enumerate() {
        let is_signal = word.trim_end_matches(':') == "signal";
        let named_as_messenger = word.ends_with(':')
            || i > 0 && SIGNAL_LEADS.contains(&words[i - 1].trim_end_matches(':'));
        if is_signal && named_as_messenger {
            found.push(Contact::Messaging("signal".into()));
            break;
        }
    }
    found
}

/// Runs of digits and separators (space, `-`, `.`, `(`, `)`, a leading `+`) that
/// hold 8 to 15 digits and are not a date or a span of years.
fn phones(chars: &[char]) -> Vec<Contact> {
    let is_separator = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')');
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = (c == '+' || c == '(' || c.is_ascii_digit())
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let begin = i;
        let mut groups: Vec<usize> = Vec::new();
        let mut digits_in_group = 0;
        let mut separators_in_a_row = 0;
        let mut end = i;
        if c == '+' {
            i += 1;
        }
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                digits_in_group += 1;
                separators_in_a_row = 0;
                end = i + 1;
            } else if is_separator(c) && separators_in_a_row < 2 {
                separators_in_a_row += 1;
                if digits_in_group > 0 {
                    groups.push(digits_in_group);
                    digits_in_group = 0;
                }
            } else {
                break;
            }
            i += 1;
        }
        if digits_in_group > 0 {
            groups.push(digits_in_group);
        }
        // A number glued to a word ("12345678abc") is a code, not a phone.
        let glued = chars.get(end).is_some_and(|c| c.is_alphabetic());
        let digits: usize = groups.iter().sum();
        if (8..=15).contains(&digits) && !glued && !looks_like_date(&groups, &chars[begin..end]) {
            found.push(Contact::Phone(
                chars[begin..end]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string(),
            ));
        }
        i = i.max(begin + 1);
    }
    found
}

/// `2026-01-15`, `15.01.2026`, `1/2/2026`-like groups, or `2019-2023`.
fn looks_like_date(groups: &[usize], text: &[char]) -> bool {
    let year = |digits: &[char]| {
        digits.len() == 4 && (digits.starts_with(&['1', '9']) || digits.starts_with(&['2', '0']))
    };
    let numbers: Vec<Vec<char>> = text
        .split(|c| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(<[char]>::to_vec)
        .collect();
    match groups {
        [4, 2, 2] => year(&numbers[0]),
        [1 | 2, 1 | 2, 4] => year(&numbers[2]),
        [4, 4] => year(&numbers[0]) && year(&numbers[1]),
        _ => false,
    }
}

/// E-mail addresses and `@handles`.
fn at_signs(chars: &[char]) -> Vec<Contact> {
    let local = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-');
    let handle = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.');
    let mut found = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let mut start = at;
        while start > 0 && local(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < chars.len() && domain(chars[end]) {
            end += 1;
        }
        // A full stop ending the sentence is not the domain's.
        while end > at + 1 && chars[end - 1] == '.' {
            end -= 1;
        }
        let after: String = chars[at + 1..end].iter().collect();
        let top_level = after.rsplit_once('.').map(|(_, tld)| tld);
        let is_domain = top_level
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
        if start < at && is_domain {
            found.push(Contact::Email(chars[start..end].iter().collect()));
            continue;
        }
        let glued = start < at;
        let name: String = chars[at + 1..].iter().take_while(|c| handle(**c)).collect();
        let name = name.trim_end_matches('.');
        if !glued && name.chars().count() >= 3 {
            found.push(Contact::Messaging(format!("@{name}")));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        contact_details(text)
            .iter()
            .map(|c| match c {
                Contact::Phone(p) => format!("phone:{p}"),
                Contact::Email(e) => format!("email:{e}"),
                Contact::Messaging(m) => format!("msg:{m}"),
            })
            .collect()
    }

    #[test]
    fn phones_in_their_usual_spellings() {
        assert_eq!(
            kinds("Call +49 (30) 1234-5678 now"),
            vec!["phone:+49 (30) 1234-5678"]
        );
        assert_eq!(kinds("ring 030.123.456.78."), vec!["phone:030.123.456.78"]);
        assert_eq!(kinds("(0)30 12 34 56"), vec!["phone:(0)30 12 34 56"]);
    }

    #[test]
    fn numbers_that_are_not_phones() {
        assert!(kinds("Sleeps 4 - 6, 2 bedrooms, 85 m2, built 2019-2023").is_empty());
        assert!(kinds("Free from 2026-01-15 to 15.02.2026, code 1234567").is_empty());
        assert!(kinds("no signal in the valley; good signal upstairs").is_empty());
        assert!(kinds("flat.me/ is our agency, we ask 100 euros").is_empty());
    }

    #[test]
    fn mails_handles_and_messengers() {
        assert_eq!(
            kinds("write to anna.k@example.org."),
            vec!["email:anna.k@example.org"]
        );
        assert_eq!(kinds("insta @sunny_flat"), vec!["msg:@sunny_flat"]);
        assert_eq!(kinds("WhatsApp me"), vec!["msg:whatsapp"]);
        assert_eq!(kinds("see t.me/flatberlin"), vec!["msg:t.me/flatberlin"]);
        assert_eq!(kinds("message me on Signal"), vec!["msg:signal"]);
    }
}
