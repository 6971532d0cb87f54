//! The business rules: aggregates, their commands and errors, and pure policies.
//!
//! Nothing here does I/O: no runtime, no database, no HTTP, no system clock. Each
//! aggregate has a pure `decide` (command + state → events or a refusal) and `apply`
//! (state + event → state); [`aggregate`] turns them into the one contract every
//! aggregate has, cqrs-es' [`cqrs_es::Aggregate`] with [`Services`], plus [`Hosted`]
//! for what the host needs besides.

pub mod aggregate;
pub mod allocation;
pub mod api_key;
pub mod buyer_holds;
pub mod city;
pub mod clock;
pub mod delivery;
pub mod error;
pub mod flash_sale;
pub mod ids;
pub mod limits;
pub mod order;
pub mod order_process;
pub mod parked_events;
pub mod product;
pub mod refusal;
pub mod reorder_line;
pub mod reservation;
pub mod stays;
pub mod stock;
pub mod validate;
pub mod warehouse;

pub use aggregate::{Hosted, Services};
pub use allocation::{
    allocate, offers_for_region, AllocationError, AllocationRequest, OrderLine, Plan, Shipment,
    Shortfall, WarehouseOffer,
};
pub use api_key::{ApiKey, ApiKeyCommand, SCOPES};
pub use buyer_holds::{BuyerHolds, BuyerHoldsCommand, BuyerLimits};
pub use city::{City, CityCommand, CityPolicy, CityView};
pub use clock::Clock;
pub use error::{DomainError, ErrorKind, FieldError};
pub use flash_sale::{
    FlashSale, FlashSaleCommand, FlashSaleStatus, FlashSaleView, ScheduleFlashSale,
};
pub use order::{Order, OrderCommand, OrderStatus};
pub use parked_events::{Parked, ParkedEvents, ParkedEventsCommand};
pub use product::{Product, ProductCommand};
pub use refusal::Refusal;
pub use reorder_line::{ReorderCommand, ReorderLine};
pub use reservation::{Reservation, ReservationCommand, ReservationStatus};
pub use stays::{Listing, ListingCommand, ListingView};
pub use stock::{Stock, StockAction, StockCommand, StockLevels, WarehouseRegistry};
pub use warehouse::{RegisterWarehouse, Warehouse};
