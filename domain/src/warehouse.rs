//! The Warehouse aggregate: a place that holds stock and ships to regions.

use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::{GeoPoint, Money, ShippingRate, WarehouseEvent};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::limits::MAX_SHIPPING_RATES;
use crate::validate::Validator;

/// Register a warehouse. Registering the same warehouse again with the same details
/// changes nothing; with other details it is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterWarehouse {
    pub warehouse_id: String,
    pub name: String,
    pub region: String,
    pub location: GeoPoint,
    pub ships_to: Vec<ShippingRate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Warehouse {
    pub registered: Option<RegisterWarehouse>,
}

impl Warehouse {
    pub fn decide(&self, command: &RegisterWarehouse) -> Result<Vec<WarehouseEvent>, DomainError> {
        validate(command)?;
        match &self.registered {
            Some(existing) if existing == command => Ok(vec![]),
            Some(_) => Err(DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::WarehouseExists,
                format!(
                    "warehouse '{}' is already registered with other details",
                    command.warehouse_id
                ),
            )),
            None => Ok(vec![WarehouseEvent::WarehouseRegistered {
                warehouse_id: command.warehouse_id.clone(),
                name: command.name.clone(),
                region: command.region.clone(),
                location: command.location,
                ships_to: command.ships_to.clone(),
            }]),
        }
    }

    pub fn apply_event(&mut self, event: &WarehouseEvent) {
        match event {
            WarehouseEvent::WarehouseRegistered {
                warehouse_id,
                name,
                region,
                location,
                ships_to,
            } => {
                self.registered = Some(RegisterWarehouse {
                    warehouse_id: warehouse_id.clone(),
                    name: name.clone(),
                    region: region.clone(),
                    location: *location,
                    ships_to: ships_to.clone(),
                })
            }
        }
    }
}

fn validate(command: &RegisterWarehouse) -> Result<(), DomainError> {
    let mut v = Validator::new();
    v.id("warehouse_id", &command.warehouse_id);
    v.text("name", &command.name);
    v.id("region", &command.region);
    let GeoPoint { lat, lon } = command.location;
    v.geo("location.", lat, lon);
    v.check(
        command.ships_to.len() <= MAX_SHIPPING_RATES,
        "ships_to",
        "lists too many regions",
    );
    for (i, rate) in command.ships_to.iter().enumerate() {
        v.id(&format!("ships_to[{i}].region"), &rate.region);
        money(
            &mut v,
            &format!("ships_to[{i}].cost_per_item"),
            &rate.cost_per_item,
        );
        money(
            &mut v,
            &format!("ships_to[{i}].cost_per_shipment"),
            &rate.cost_per_shipment,
        );
        v.check(
            rate.days <= 365,
            &format!("ships_to[{i}].days"),
            "must be 0 to 365",
        );
    }
    let mut regions: Vec<&str> = command.ships_to.iter().map(|r| r.region.as_str()).collect();
    regions.sort_unstable();
    v.check(
        regions.windows(2).all(|w| w[0] != w[1]),
        "ships_to",
        "names a region twice",
    );
    v.finish()
}

/// Money: a non-negative amount below 10^12 minor units and a three-letter currency.
pub fn money(v: &mut Validator, field: &str, value: &Money) {
    v.check(
        (0..1_000_000_000_000).contains(&value.amount),
        &format!("{field}.amount"),
        "must be a non-negative whole number of minor units",
    );
    v.check(
        value.currency.len() == 3 && value.currency.bytes().all(|b| b.is_ascii_uppercase()),
        &format!("{field}.currency"),
        "must be a three-letter ISO 4217 code such as USD",
    );
}

crate::aggregate::aggregate!(Warehouse, WAREHOUSE_AGGREGATE, RegisterWarehouse, WarehouseEvent,
    decide: |warehouse, command, _services| warehouse.decide(command));

impl crate::Hosted for Warehouse {
    type View = ();

    fn view(&self) {}
}
