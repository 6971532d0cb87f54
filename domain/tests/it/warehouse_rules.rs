//! The rules of the Warehouse aggregate, through the cqrs-es test framework.

use cqrs_es::test::TestFramework;
use domain::{DomainError, ErrorKind, RegisterWarehouse, Services, Warehouse};
use event_schemas::{GeoPoint, Money, ShippingRate, WarehouseEvent};

use crate::support::{field, invalid, refusal, ID_CHARS, ID_LENGTH, TEXT};

fn warehouses() -> TestFramework<Warehouse> {
    TestFramework::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
}

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: "USD".into(),
    }
}

fn rate(region: &str) -> ShippingRate {
    ShippingRate {
        region: region.into(),
        cost_per_item: usd(150),
        cost_per_shipment: usd(499),
        days: 3,
    }
}

fn register() -> RegisterWarehouse {
    RegisterWarehouse {
        warehouse_id: "wh-berlin".into(),
        name: "Berlin Nord".into(),
        region: "eu-central".into(),
        location: GeoPoint {
            lat: 52.52,
            lon: 13.405,
        },
        ships_to: vec![rate("eu-central"), rate("eu-west")],
    }
}

fn registered(command: &RegisterWarehouse) -> WarehouseEvent {
    WarehouseEvent::WarehouseRegistered {
        warehouse_id: command.warehouse_id.clone(),
        name: command.name.clone(),
        region: command.region.clone(),
        location: command.location,
        ships_to: command.ships_to.clone(),
    }
}

/// Register `command` and expect it refused as invalid with exactly these errors.
#[track_caller]
fn expect_invalid(command: RegisterWarehouse, errors: &[(&str, &str)]) {
    warehouses()
        .given_no_previous_events()
        .when(command)
        .then_expect_error(invalid(errors));
}

#[test]
fn registering_a_warehouse_records_it() {
    let command = register();
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
    let mut state = Warehouse::default();
    state.apply_event(&registered(&command));
    assert_eq!(state.registered, Some(command));
}

#[test]
fn a_warehouse_may_ship_nowhere_yet() {
    let command = RegisterWarehouse {
        ships_to: vec![],
        ..register()
    };
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
}

#[test]
fn registering_again_with_the_same_details_changes_nothing() {
    warehouses()
        .given(vec![registered(&register())])
        .when(register())
        .then_expect_events(vec![]);
}

#[test]
fn registering_again_with_other_details_is_refused() {
    let others = [
        RegisterWarehouse {
            name: "Berlin Süd".into(),
            ..register()
        },
        RegisterWarehouse {
            region: "eu-west".into(),
            ..register()
        },
        RegisterWarehouse {
            location: GeoPoint {
                lat: 52.5,
                lon: 13.405,
            },
            ..register()
        },
        RegisterWarehouse {
            ships_to: vec![rate("eu-central")],
            ..register()
        },
    ];
    for other in others {
        warehouses()
            .given(vec![registered(&register())])
            .when(other)
            .then_expect_error(DomainError::new(
                ErrorKind::Conflict,
                domain::Refusal::WarehouseExists,
                "warehouse 'wh-berlin' is already registered with other details",
            ));
    }
}

#[test]
fn an_invalid_registration_of_a_known_warehouse_is_invalid_not_a_conflict() {
    let err = refusal(
        warehouses()
            .given(vec![registered(&register())])
            .when(RegisterWarehouse {
                name: String::new(),
                ..register()
            }),
    );
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.errors, vec![field("name", TEXT)]);
}

#[test]
fn latitudes_outside_plus_minus_90_are_invalid() {
    for lat in [90.000_1, -90.5, 180.0, f64::NAN, f64::INFINITY] {
        expect_invalid(
            RegisterWarehouse {
                location: GeoPoint { lat, lon: 0.0 },
                ..register()
            },
            &[("location.lat", "must be between -90 and 90")],
        );
    }
}

#[test]
fn longitudes_outside_plus_minus_180_are_invalid() {
    for lon in [180.5, -181.0, f64::NAN, f64::NEG_INFINITY] {
        expect_invalid(
            RegisterWarehouse {
                location: GeoPoint { lat: 0.0, lon },
                ..register()
            },
            &[("location.lon", "must be between -180 and 180")],
        );
    }
}

#[test]
fn the_poles_and_the_antimeridian_are_valid_locations() {
    for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)] {
        let command = RegisterWarehouse {
            location: GeoPoint { lat, lon },
            ..register()
        };
        warehouses()
            .given_no_previous_events()
            .when(command.clone())
            .then_expect_events(vec![registered(&command)]);
    }
}

#[test]
fn currencies_must_be_three_upper_case_letters() {
    const CURRENCY: &str = "must be a three-letter ISO 4217 code such as USD";
    for currency in ["usd", "US", "USDD", "", "U$D", "ÜSD"] {
        let mut command = register();
        command.ships_to[0].cost_per_item.currency = currency.into();
        expect_invalid(command, &[("ships_to[0].cost_per_item.currency", CURRENCY)]);
        let mut command = register();
        command.ships_to[1].cost_per_shipment.currency = currency.into();
        expect_invalid(
            command,
            &[("ships_to[1].cost_per_shipment.currency", CURRENCY)],
        );
    }
}

#[test]
fn amounts_must_be_non_negative_and_below_10_to_the_12() {
    const AMOUNT: &str = "must be a non-negative whole number of minor units";
    for amount in [-1, 1_000_000_000_000, i64::MAX, i64::MIN] {
        let mut command = register();
        command.ships_to[0].cost_per_item.amount = amount;
        expect_invalid(command, &[("ships_to[0].cost_per_item.amount", AMOUNT)]);
    }
    let mut command = register();
    command.ships_to[0].cost_per_item.amount = 0;
    command.ships_to[0].cost_per_shipment.amount = 999_999_999_999;
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
}

#[test]
fn names_must_be_1_to_200_characters_not_blank() {
    for name in [String::new(), "  \t".into(), "n".repeat(201)] {
        expect_invalid(RegisterWarehouse { name, ..register() }, &[("name", TEXT)]);
    }
    let command = RegisterWarehouse {
        name: "ß".repeat(200),
        ..register()
    };
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
}

#[test]
fn warehouse_ids_and_regions_must_be_ids() {
    for (id, message) in [
        (String::new(), ID_LENGTH),
        ("w".repeat(65), ID_LENGTH),
        ("wh@1".into(), ID_CHARS),
        ("wh/1".into(), ID_CHARS),
    ] {
        expect_invalid(
            RegisterWarehouse {
                warehouse_id: id.clone(),
                ..register()
            },
            &[("warehouse_id", message)],
        );
        expect_invalid(
            RegisterWarehouse {
                region: id.clone(),
                ..register()
            },
            &[("region", message)],
        );
        let mut command = register();
        command.ships_to[1].region = id;
        expect_invalid(command, &[("ships_to[1].region", message)]);
    }
}

#[test]
fn delivery_takes_at_most_a_year() {
    let mut command = register();
    command.ships_to[0].days = 366;
    expect_invalid(command, &[("ships_to[0].days", "must be 0 to 365")]);
    let mut command = register();
    command.ships_to[0].days = 365;
    command.ships_to[1].days = 0;
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
}

#[test]
fn a_region_may_be_listed_once() {
    let command = RegisterWarehouse {
        ships_to: vec![rate("eu-west"), rate("eu-central"), rate("eu-west")],
        ..register()
    };
    expect_invalid(command, &[("ships_to", "names a region twice")]);
}

#[test]
fn at_most_200_shipping_rates() {
    let rates = |n: usize| (0..n).map(|i| rate(&format!("r{i}"))).collect::<Vec<_>>();
    expect_invalid(
        RegisterWarehouse {
            ships_to: rates(201),
            ..register()
        },
        &[("ships_to", "lists too many regions")],
    );
    let command = RegisterWarehouse {
        ships_to: rates(200),
        ..register()
    };
    warehouses()
        .given_no_previous_events()
        .when(command.clone())
        .then_expect_events(vec![registered(&command)]);
}

#[test]
fn every_field_error_is_reported_at_once() {
    let mut command = RegisterWarehouse {
        warehouse_id: "a/b".into(),
        name: String::new(),
        region: String::new(),
        location: GeoPoint {
            lat: 91.0,
            lon: 181.0,
        },
        ships_to: vec![rate("eu"), rate("eu")],
    };
    command.ships_to[0].cost_per_item.currency = "eur".into();
    command.ships_to[1].days = 400;
    expect_invalid(
        command,
        &[
            ("warehouse_id", ID_CHARS),
            ("name", TEXT),
            ("region", ID_LENGTH),
            ("location.lat", "must be between -90 and 90"),
            ("location.lon", "must be between -180 and 180"),
            (
                "ships_to[0].cost_per_item.currency",
                "must be a three-letter ISO 4217 code such as USD",
            ),
            ("ships_to[1].days", "must be 0 to 365"),
            ("ships_to", "names a region twice"),
        ],
    );
}
