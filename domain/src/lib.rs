//! The business rules: aggregates, their commands and errors, and pure policies.
//!
//! Nothing here does I/O: no runtime, no database, no HTTP, no system clock. Each
//! aggregate has a pure `decide` (command + state → events or a refusal) and `apply`
//! (state + event → state); the cqrs-es [`cqrs_es::Aggregate`] impls wrap them so
//! the cqrs-es test framework and baselines can drive the same rules.

pub mod allocation;
/// The cqrs-es [`cqrs_es::Aggregate`] impl of an aggregate whose pure
/// `decide(&self, &Command)` needs no services: cqrs-es tests and baselines then run
/// the very same rules.
macro_rules! aggregate_without_services {
    ($aggregate:ty, $type:expr, $command:ty, $event:ty) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = $crate::DomainError;
            type Services = ();

            async fn handle(
                &mut self,
                command: Self::Command,
                _services: &Self::Services,
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), Self::Error> {
                for event in self.decide(&command)? {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                self.apply_event(&event);
            }
        }
    };
}

pub mod api_key;
pub mod buyer_holds;
pub mod clock;
pub mod error;
pub mod flash_sale;
pub mod ids;
pub mod limits;
pub mod order;
pub mod parked_events;
pub mod product;
pub mod refusal;
pub mod reservation;
pub mod stock;
pub mod validate;
pub mod warehouse;

pub use allocation::{
    allocate, offers_for_region, AllocationError, AllocationRequest, OrderLine, Plan, Shipment,
    Shortfall, WarehouseOffer,
};
pub use api_key::{ApiKey, ApiKeyCommand, SCOPES};
pub use buyer_holds::{BuyerHolds, BuyerHoldsCommand, BuyerLimits};
pub use clock::Clock;
pub use error::{DomainError, ErrorKind, FieldError};
pub use flash_sale::{FlashSale, FlashSaleCommand, FlashSaleStatus, ScheduleFlashSale};
pub use order::{Order, OrderCommand, OrderStatus};
pub use parked_events::{Parked, ParkedEvents, ParkedEventsCommand};
pub use product::{Product, ProductCommand};
pub use refusal::Refusal;
pub use reservation::{Reservation, ReservationCommand, ReservationStatus};
pub use stock::{Stock, StockAction, StockCommand, StockServices, WarehouseRegistry};
pub use warehouse::{RegisterWarehouse, Warehouse, WarehouseServices};
