//! Every event the system records, and the envelope that carries them.
//!
//! This crate owns the wire format of the event log: the payload types of each
//! aggregate's events (externally tagged, as cqrs-es and postgres-es store them),
//! the [`Envelope`] with its metadata, the upcasting of old event versions, and
//! the JSON Schemas generated from these types (checked in under `json/`).
//! An event type, once shipped, is never changed in place: a new shape gets a new
//! version and an upcaster.

pub mod activity;
pub mod api_key;
pub mod buyer;
pub mod delivery;
pub mod envelope;
pub mod flash_sale;
pub mod order;
pub mod parked;
pub mod product;
pub mod reorder;
pub mod reservation;
pub mod schemas;
pub mod stays;
pub mod stock;
pub mod upcast;
pub mod values;
pub mod warehouse;

pub use activity::{ActivityEvent, ActivityKind};
pub use api_key::ApiKeyEvent;
pub use buyer::BuyerHoldsEvent;
pub use delivery::{CityEvent, DeliveryFeedEvent, DeliveryPolicy, RushWindow, WeatherCondition};
pub use envelope::{DecodeError, Envelope, Metadata, RecordedEvent};
pub use flash_sale::FlashSaleEvent;
pub use order::{Destination, OrderEvent, PricedLine, QuotedDelivery};
pub use parked::ParkedEvent;
pub use product::{ProductChanges, ProductDetails, ProductEvent, Shop};
pub use reorder::ReorderEvent;
pub use reservation::{LineShortage, ReservationEvent, ReservationLine};
pub use stays::{ListingEvent, StaySearchEvent};
pub use stock::StockEvent;
pub use upcast::{current_version, decode_str, decode_value, upcast};
pub use values::{GeoPoint, Money, ShippingRate};
pub use warehouse::WarehouseEvent;

/// The version event types are written with today, unless their own module says
/// otherwise (`WarehouseRegistered` is at
/// [`warehouse::WAREHOUSE_REGISTERED_VERSION`]). Writers take an event's version from
/// `cqrs_es::DomainEvent::event_version`, which knows both.
pub const CURRENT_EVENT_VERSION: &str = "1.0";

/// The cqrs-es view of our events, so cqrs-es can store, load and test them.
macro_rules! cqrs_domain_event {
    ($($event:ty),*) => {$(
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                <$event>::event_type(self).to_string()
            }
            fn event_version(&self) -> String {
                CURRENT_EVENT_VERSION.to_string()
            }
        }
    )*};
}

impl cqrs_es::DomainEvent for WarehouseEvent {
    fn event_type(&self) -> String {
        WarehouseEvent::event_type(self).to_string()
    }
    fn event_version(&self) -> String {
        WarehouseEvent::event_version(self).to_string()
    }
}

cqrs_domain_event!(
    StockEvent,
    ApiKeyEvent,
    ReservationEvent,
    ProductEvent,
    OrderEvent,
    ActivityEvent,
    FlashSaleEvent,
    ParkedEvent,
    BuyerHoldsEvent,
    CityEvent,
    DeliveryFeedEvent,
    ReorderEvent,
    ListingEvent,
    StaySearchEvent
);
