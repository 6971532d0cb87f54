//! The rules of the City aggregate (delivery pricing policy and emergencies), through
//! the cqrs-es test framework.

use chrono::NaiveTime;
use cqrs_es::test::TestFramework;
use domain::{City, CityCommand, CityPolicy, ErrorKind, Services};
use event_schemas::{CityEvent, DeliveryPolicy, GeoPoint, RushWindow};

use crate::support::{invalid, refusal};

fn cities() -> TestFramework<City> {
    TestFramework::with(Services::fixed_at(chrono::DateTime::UNIX_EPOCH))
}

fn berlin() -> CityPolicy {
    CityPolicy {
        city_id: "berlin".into(),
        time_zone: "Europe/Berlin".into(),
        center: GeoPoint {
            lat: 52.52,
            lon: 13.405,
        },
        radius_km: 25.0,
        policy: DeliveryPolicy {
            currency: "EUR".into(),
            base_fee: 199,
            per_km: 50,
            floor: 199,
            ceiling: 1_500,
            multiplier_cap: 2.5,
            free_delivery_from: Some(5_000),
        },
        rush_hours: vec![RushWindow {
            days: vec![],
            from: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
        }],
    }
}

fn policy_set(city: &CityPolicy) -> CityEvent {
    CityEvent::PricingPolicySet {
        city_id: city.city_id.clone(),
        time_zone: city.time_zone.clone(),
        center: city.center,
        radius_km: city.radius_km,
        policy: city.policy.clone(),
        rush_hours: city.rush_hours.clone(),
    }
}

fn declare() -> CityCommand {
    CityCommand::DeclareEmergency {
        city_id: "berlin".into(),
        reason: "blizzard".into(),
    }
}

#[test]
fn a_policy_is_set_and_setting_it_again_changes_nothing() {
    cities()
        .given_no_previous_events()
        .when(CityCommand::SetPolicy(berlin()))
        .then_expect_events(vec![policy_set(&berlin())]);
    cities()
        .given(vec![policy_set(&berlin())])
        .when(CityCommand::SetPolicy(berlin()))
        .then_expect_events(vec![]);
}

#[test]
fn a_policy_needs_a_real_time_zone_a_floor_under_its_ceiling_and_a_sane_cap() {
    let mut city = berlin();
    city.time_zone = "Mars/Olympus".into();
    city.policy.floor = 2_000;
    city.policy.multiplier_cap = 9.0;
    city.radius_km = 0.0;
    cities()
        .given_no_previous_events()
        .when(CityCommand::SetPolicy(city))
        .then_expect_error(invalid(&[
            ("time_zone", "must be an IANA time zone, e.g. Europe/Berlin"),
            ("radius_km", "must be above 0 and at most 200"),
            ("policy.floor", "must not be above the ceiling"),
            ("policy.multiplier_cap", "must be between 1 and 5"),
        ]));
}

#[test]
fn an_emergency_needs_a_city_with_a_policy() {
    let error = refusal(cities().given_no_previous_events().when(declare()));
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert_eq!(error.code, domain::Refusal::UnknownCity);
}

#[test]
fn an_emergency_is_declared_once_and_ended_once() {
    let declared = CityEvent::EmergencyDeclared {
        city_id: "berlin".into(),
        reason: "blizzard".into(),
    };
    let ended = CityEvent::EmergencyEnded {
        city_id: "berlin".into(),
    };
    cities()
        .given(vec![policy_set(&berlin())])
        .when(declare())
        .then_expect_events(vec![declared.clone()]);
    cities()
        .given(vec![policy_set(&berlin()), declared.clone()])
        .when(declare())
        .then_expect_events(vec![]);
    let end = || CityCommand::EndEmergency {
        city_id: "berlin".into(),
    };
    cities()
        .given(vec![policy_set(&berlin()), declared.clone()])
        .when(end())
        .then_expect_events(vec![ended.clone()]);
    cities()
        .given(vec![policy_set(&berlin()), declared, ended])
        .when(end())
        .then_expect_events(vec![]);
}
