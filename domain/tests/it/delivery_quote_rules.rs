//! Delivery quotes as sealed tokens, one given/when/then each: a quote opens as it
//! was sealed until it expires; a changed, foreign, malformed or oversized token does
//! not; secrets rotate; an order may use a quote only for its buyer, zone and currency.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::delivery::quote::MAX_TOKEN_LEN;
use domain::delivery::{
    Binding, Multiplier, MultiplierKind, OrderFacts, QuoteProblem, QuoteTerms, Rule,
};
use event_schemas::values::GeoPoint;
use proptest::prelude::*;

const SECRET: &[u8] = b"the server's quote secret, 32 bytes";
const OLD_SECRET: &[u8] = b"last month's quote secret";

fn issued() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 27, 18, 0, 0).unwrap()
}

fn terms() -> QuoteTerms {
    QuoteTerms {
        fee: 421,
        currency: "EUR".into(),
        base: 299,
        multipliers: vec![
            Multiplier {
                kind: MultiplierKind::Weather,
                value: 1.3,
            },
            Multiplier {
                kind: MultiplierKind::Demand,
                value: 1.4,
            },
        ],
        bindings: vec![Binding {
            rule: Rule::GlobalCap,
            before: 1.82,
            after: 1.5,
        }],
        pickup: GeoPoint {
            lat: 52.52,
            lon: 13.405,
        },
        pickup_warehouse: "ber-1".into(),
        dropoff_cell: "881f1d4887fffff".into(),
        buyer: Some("ada".into()),
        asked_by: "buyer:ada".into(),
        order_value: 2_500,
        issued_at: issued(),
        expires_at: issued() + Duration::minutes(10),
        priced_at_position: 1_234,
    }
}

fn order<'a>(buyer: Option<&'a str>) -> OrderFacts<'a> {
    OrderFacts {
        dropoff_cell: "881f1d4887fffff",
        currency: Some("EUR"),
        buyer,
        actor: "key:shop",
    }
}

#[test]
fn a_sealed_quote_opens_with_its_terms_until_it_expires() {
    let token = terms().seal(SECRET);
    let just_before = issued() + Duration::minutes(10) - Duration::milliseconds(1);
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], just_before),
        Ok(terms())
    );
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], issued() + Duration::minutes(10)),
        Err(QuoteProblem::Expired)
    );
}

#[test]
fn a_quote_sealed_under_another_secret_is_forged() {
    let token = terms().seal(b"someone else's secret");
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], issued()),
        Err(QuoteProblem::Forged)
    );
}

#[test]
fn a_quote_whose_fee_was_changed_is_forged() {
    let token = terms().seal(SECRET);
    let mut cheaper = terms();
    cheaper.fee = 1;
    // The cheaper terms, carrying the seal of the real ones.
    let (_, seal) = token.rsplit_once('.').unwrap();
    let cheaper_token = cheaper.seal(b"any secret");
    let (cheaper_terms, _) = cheaper_token.rsplit_once('.').unwrap();
    let tampered = format!("{cheaper_terms}.{seal}");
    assert_eq!(
        QuoteTerms::open(&tampered, &[SECRET], issued()),
        Err(QuoteProblem::Forged)
    );
}

#[test]
fn a_quote_sealed_before_a_rotation_opens_while_the_old_secret_is_listed() {
    let token = terms().seal(OLD_SECRET);
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET, OLD_SECRET], issued()),
        Ok(terms())
    );
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], issued()),
        Err(QuoteProblem::Forged)
    );
}

#[test]
fn what_is_not_a_token_is_malformed() {
    let too_long = format!("v1.{}.x", "a".repeat(MAX_TOKEN_LEN));
    for token in [
        "",
        "v1",
        "v1.abc",
        "v2.abc.def",
        "v1.abc.!!!",
        too_long.as_str(),
    ] {
        assert_eq!(
            QuoteTerms::open(token, &[SECRET], issued()),
            Err(QuoteProblem::Malformed),
            "{token:.40}"
        );
    }
}

#[test]
fn a_sealed_payload_that_is_not_terms_is_malformed() {
    use base64::Engine;
    use hmac::Mac;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"{\"fee\":1}");
    let signed = format!("v1.{payload}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(signed.as_bytes());
    let seal = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    assert_eq!(
        QuoteTerms::open(&format!("{signed}.{seal}"), &[SECRET], issued()),
        Err(QuoteProblem::Malformed)
    );
}

#[test]
fn an_order_uses_a_quote_only_for_its_buyer_zone_and_currency() {
    let quote = terms();
    assert_eq!(quote.honours(&order(Some("ada"))), Ok(()));
    assert_eq!(
        quote.honours(&order(Some("bob"))),
        Err(QuoteProblem::OtherBuyer)
    );
    assert_eq!(quote.honours(&order(None)), Err(QuoteProblem::OtherBuyer));
    let elsewhere = OrderFacts {
        dropoff_cell: "881f1d4889fffff",
        ..order(Some("ada"))
    };
    assert_eq!(quote.honours(&elsewhere), Err(QuoteProblem::OtherCell));
    let dollars = OrderFacts {
        currency: Some("USD"),
        ..order(Some("ada"))
    };
    assert_eq!(quote.honours(&dollars), Err(QuoteProblem::OtherCurrency));
}

#[test]
fn a_shops_quote_serves_only_orders_the_shops_key_places() {
    let quote = QuoteTerms {
        buyer: None,
        asked_by: "key:shop".into(),
        ..terms()
    };
    assert_eq!(quote.honours(&order(None)), Ok(()));
    assert_eq!(quote.honours(&order(Some("ada"))), Ok(()));
    let other = OrderFacts {
        actor: "key:other-shop",
        ..order(None)
    };
    assert_eq!(quote.honours(&other), Err(QuoteProblem::OtherCaller));
}

#[test]
fn a_quote_for_a_later_moment_cannot_be_used_before_it() {
    let later = QuoteTerms {
        issued_at: issued() + Duration::hours(2),
        expires_at: issued() + Duration::hours(2) + Duration::minutes(10),
        ..terms()
    };
    let token = later.seal(SECRET);
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], issued()),
        Err(QuoteProblem::NotYetValid)
    );
    assert_eq!(
        QuoteTerms::open(&token, &[SECRET], issued() + Duration::hours(2)),
        Ok(later)
    );
}

proptest! {
    /// Changing any one character of a sealed token never yields an open quote with
    /// other terms: it is refused, or (a change the encoding ignores) the same terms.
    #[test]
    fn no_single_character_change_opens_other_terms(at in 0usize..400, with in 0u8..64) {
        let token = terms().seal(SECRET);
        let at = at % token.len();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bytes = token.into_bytes();
        bytes[at] = alphabet[with as usize];
        let changed = String::from_utf8(bytes).unwrap();
        match QuoteTerms::open(&changed, &[SECRET], issued()) {
            Ok(opened) => prop_assert_eq!(opened, terms()),
            Err(problem) => prop_assert!(matches!(problem, QuoteProblem::Forged | QuoteProblem::Malformed)),
        }
    }
}
