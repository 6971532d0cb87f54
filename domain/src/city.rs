//! The City aggregate: where delivery is priced, by which policy, and whether an
//! emergency is declared there. One stream per city.
//!
//! Setting the same policy again, declaring an emergency already declared or ending
//! one that is not, changes nothing (an operator's retry is harmless); an emergency
//! needs a city with a policy.

use chrono_tz::Tz;
use event_schemas::delivery::CITY_AGGREGATE;
use event_schemas::{CityEvent, DeliveryPolicy, GeoPoint, RushWindow};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;
use crate::Refusal;

/// A city is at most this wide around its centre.
pub const MAX_CITY_RADIUS_KM: f64 = 200.0;
/// Rush-hour windows per city at most.
pub const MAX_RUSH_WINDOWS: usize = 16;
/// No multiplier cap above this is accepted: a fee may not be raised more than fivefold.
pub const MAX_MULTIPLIER_CAP: f64 = 5.0;

/// A city's pricing as its operator sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityPolicy {
    pub city_id: String,
    pub time_zone: String,
    pub center: GeoPoint,
    pub radius_km: f64,
    pub policy: DeliveryPolicy,
    pub rush_hours: Vec<RushWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CityCommand {
    SetPolicy(CityPolicy),
    DeclareEmergency { city_id: String, reason: String },
    EndEmergency { city_id: String },
}

impl CityCommand {
    pub fn city_id(&self) -> &str {
        match self {
            CityCommand::SetPolicy(policy) => &policy.city_id,
            CityCommand::DeclareEmergency { city_id, .. }
            | CityCommand::EndEmergency { city_id } => city_id,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct City {
    pub policy: Option<CityPolicy>,
    /// The reason of the emergency declared now, if one is.
    pub emergency: Option<String>,
}

impl City {
    pub fn decide(&self, command: &CityCommand) -> Result<Vec<CityEvent>, DomainError> {
        match command {
            CityCommand::SetPolicy(policy) => {
                validate(policy)?;
                if self.policy.as_ref() == Some(policy) {
                    return Ok(vec![]);
                }
                Ok(vec![CityEvent::PricingPolicySet {
                    city_id: policy.city_id.clone(),
                    time_zone: policy.time_zone.clone(),
                    center: policy.center,
                    radius_km: policy.radius_km,
                    policy: policy.policy.clone(),
                    rush_hours: policy.rush_hours.clone(),
                }])
            }
            CityCommand::DeclareEmergency { city_id, reason } => {
                let mut v = Validator::new();
                v.id("city_id", city_id);
                v.text("reason", reason);
                v.finish()?;
                self.known(city_id)?;
                if self.emergency.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![CityEvent::EmergencyDeclared {
                    city_id: city_id.clone(),
                    reason: reason.clone(),
                }])
            }
            CityCommand::EndEmergency { city_id } => {
                self.known(city_id)?;
                if self.emergency.is_none() {
                    return Ok(vec![]);
                }
                Ok(vec![CityEvent::EmergencyEnded {
                    city_id: city_id.clone(),
                }])
            }
        }
    }

    fn known(&self, city_id: &str) -> Result<(), DomainError> {
        match self.policy {
            Some(_) => Ok(()),
            None => Err(DomainError::new(
                ErrorKind::NotFound,
                Refusal::UnknownCity,
                format!("city '{city_id}' has no pricing policy"),
            )),
        }
    }

    pub fn apply_event(&mut self, event: &CityEvent) {
        match event {
            CityEvent::PricingPolicySet {
                city_id,
                time_zone,
                center,
                radius_km,
                policy,
                rush_hours,
            } => {
                self.policy = Some(CityPolicy {
                    city_id: city_id.clone(),
                    time_zone: time_zone.clone(),
                    center: *center,
                    radius_km: *radius_km,
                    policy: policy.clone(),
                    rush_hours: rush_hours.clone(),
                })
            }
            CityEvent::EmergencyDeclared { reason, .. } => self.emergency = Some(reason.clone()),
            CityEvent::EmergencyEnded { .. } => self.emergency = None,
        }
    }
}

fn validate(city: &CityPolicy) -> Result<(), DomainError> {
    let mut v = Validator::new();
    v.id("city_id", &city.city_id);
    v.check(
        city.time_zone.parse::<Tz>().is_ok(),
        "time_zone",
        "must be an IANA time zone, e.g. Europe/Berlin",
    );
    v.geo("center.", city.center.lat, city.center.lon);
    v.check(
        city.radius_km > 0.0 && city.radius_km <= MAX_CITY_RADIUS_KM,
        "radius_km",
        "must be above 0 and at most 200",
    );
    let p = &city.policy;
    v.check(
        p.currency.len() == 3 && p.currency.bytes().all(|b| b.is_ascii_uppercase()),
        "policy.currency",
        "must be three capital letters (ISO 4217)",
    );
    const MOST: u64 = 1_000_000_000;
    for (field, amount) in [
        ("policy.base_fee", p.base_fee),
        ("policy.per_km", p.per_km),
        ("policy.floor", p.floor),
        ("policy.ceiling", p.ceiling),
    ] {
        v.check(
            amount <= MOST,
            field,
            "must be at most 1000000000 minor units",
        );
    }
    v.check(
        p.floor <= p.ceiling,
        "policy.floor",
        "must not be above the ceiling",
    );
    v.check(
        (1.0..=MAX_MULTIPLIER_CAP).contains(&p.multiplier_cap),
        "policy.multiplier_cap",
        "must be between 1 and 5",
    );
    if let Some(from) = p.free_delivery_from {
        v.check(
            from <= 1_000_000_000_000,
            "policy.free_delivery_from",
            "must be below 10^12 minor units",
        );
    }
    v.check(
        city.rush_hours.len() <= MAX_RUSH_WINDOWS,
        "rush_hours",
        "lists more than 16 windows",
    );
    for (i, window) in city.rush_hours.iter().enumerate() {
        v.check(
            window.from != window.until,
            &format!("rush_hours[{i}].until"),
            "must differ from from",
        );
        v.check(
            window.days.len() <= 7,
            &format!("rush_hours[{i}].days"),
            "lists more than seven days",
        );
    }
    v.finish()
}

crate::aggregate::aggregate!(City, CITY_AGGREGATE, CityCommand, CityEvent,
    decide: |city, command, _services| city.decide(command));

/// What the routes answer after a city command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityView {
    pub has_policy: bool,
    pub emergency: bool,
}

impl crate::Hosted for City {
    type View = CityView;

    fn view(&self) -> CityView {
        CityView {
            has_policy: self.policy.is_some(),
            emergency: self.emergency.is_some(),
        }
    }
}
