//! Product: listed once with valid details, updated field by field, delisted.

use cqrs_es::test::TestFramework;
use domain::{ErrorKind, Product, ProductCommand, Services};
use event_schemas::{GeoPoint, Money, ProductChanges, ProductDetails, ProductEvent, Shop};

fn products() -> TestFramework<Product> {
    TestFramework::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
}

fn details() -> ProductDetails {
    ProductDetails {
        title: "Stoneware mug".into(),
        description: "A mug for tea".into(),
        tags: vec!["mug".into()],
        category: "home/kitchen/mugs".into(),
        materials: vec!["stoneware".into()],
        shop: Shop {
            shop_id: "shop-1".into(),
            name: "Clay & Co".into(),
            location: GeoPoint {
                lat: 52.37,
                lon: 4.89,
            },
        },
        price: Money {
            amount: 1299,
            currency: "EUR".into(),
        },
        language: "en".into(),
    }
}

fn list(details: ProductDetails) -> ProductCommand {
    ProductCommand::List {
        sku: "MUG-1".into(),
        details,
    }
}

fn listed() -> ProductEvent {
    ProductEvent::ProductListed {
        sku: "MUG-1".into(),
        details: details(),
    }
}

#[test]
fn a_product_is_listed_once_and_listing_it_again_the_same_changes_nothing() {
    products()
        .given_no_previous_events()
        .when(list(details()))
        .then_expect_events(vec![listed()]);
    products()
        .given(vec![listed()])
        .when(list(details()))
        .then_expect_events(vec![]);
    let mut other = details();
    other.title = "Another".into();
    let refusal = products()
        .given(vec![listed()])
        .when(list(other))
        .inspect_result()
        .unwrap_err();
    assert_eq!(refusal.code, "product_exists");
}

#[test]
fn bad_details_are_refused_with_every_field_named() {
    let mut bad = details();
    bad.title = " ".into();
    bad.category = "Home//Mugs".into();
    bad.price.amount = -1;
    bad.shop.location.lat = 91.0;
    bad.language = "xx".into();
    bad.tags = vec![String::new()];
    let refusal = products()
        .given_no_previous_events()
        .when(list(bad))
        .inspect_result()
        .unwrap_err();
    assert_eq!(refusal.kind, ErrorKind::Invalid);
    let fields: Vec<&str> = refusal.errors.iter().map(|e| e.field.as_str()).collect();
    for field in [
        "title",
        "category",
        "price.amount",
        "shop.location.lat",
        "language",
        "tags[0]",
    ] {
        assert!(fields.contains(&field), "{field} not named in {fields:?}");
    }
}

#[test]
fn an_update_records_only_what_changed() {
    let changes = ProductChanges {
        price: Some(Money {
            amount: 999,
            currency: "EUR".into(),
        }),
        title: Some("Stoneware mug".into()),
        ..Default::default()
    };
    products()
        .given(vec![listed()])
        .when(ProductCommand::Update {
            sku: "MUG-1".into(),
            changes,
        })
        .then_expect_events(vec![ProductEvent::ProductUpdated {
            sku: "MUG-1".into(),
            changes: ProductChanges {
                price: Some(Money {
                    amount: 999,
                    currency: "EUR".into(),
                }),
                ..Default::default()
            },
        }]);
    let invalid = products()
        .given(vec![listed()])
        .when(ProductCommand::Update {
            sku: "MUG-1".into(),
            changes: ProductChanges {
                language: Some("tlh".into()),
                ..Default::default()
            },
        })
        .inspect_result()
        .unwrap_err();
    assert_eq!(invalid.kind, ErrorKind::Invalid);
}

#[test]
fn a_delisted_product_is_gone_until_listed_again() {
    let delisted = ProductEvent::ProductDelisted {
        sku: "MUG-1".into(),
    };
    products()
        .given(vec![listed()])
        .when(ProductCommand::Delist {
            sku: "MUG-1".into(),
        })
        .then_expect_events(vec![delisted.clone()]);
    products()
        .given(vec![listed(), delisted.clone()])
        .when(ProductCommand::Delist {
            sku: "MUG-1".into(),
        })
        .then_expect_events(vec![]);
    let update = products()
        .given(vec![listed(), delisted.clone()])
        .when(ProductCommand::Update {
            sku: "MUG-1".into(),
            changes: ProductChanges::default(),
        })
        .inspect_result()
        .unwrap_err();
    assert_eq!(update.kind, ErrorKind::NotFound);
    products()
        .given(vec![listed(), delisted])
        .when(list(details()))
        .then_expect_events(vec![listed()]);
}
