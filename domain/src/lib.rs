//! The business rules: aggregates, their commands and errors, and pure policies.
//!
//! Nothing here does I/O: no runtime, no database, no HTTP, no system clock. Each
//! aggregate has a pure `decide` (command + state → events or a refusal) and `apply`
//! (state + event → state); the cqrs-es [`cqrs_es::Aggregate`] impls wrap them so
//! the cqrs-es test framework and baselines can drive the same rules.

pub mod allocation;
pub mod api_key;
pub mod clock;
pub mod error;
pub mod limits;
pub mod order;
pub mod product;
pub mod reservation;
pub mod stock;
pub mod validate;
pub mod warehouse;

pub use allocation::{
    allocate, offers_for_region, AllocationError, AllocationRequest, OrderLine, Plan, Shipment,
    Shortfall, WarehouseOffer,
};
pub use api_key::{ApiKey, ApiKeyCommand, SCOPES};
pub use clock::Clock;
pub use error::{DomainError, ErrorKind, FieldError};
pub use order::{Order, OrderCommand, OrderStatus};
pub use product::{Product, ProductCommand};
pub use reservation::{Reservation, ReservationCommand, ReservationStatus};
pub use stock::{Stock, StockAction, StockCommand, StockServices, WarehouseRegistry};
pub use warehouse::{RegisterWarehouse, Warehouse, WarehouseServices};
