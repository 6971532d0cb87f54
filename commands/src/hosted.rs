//! What the aggregate host needs of an aggregate, and the aggregates it hosts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    ApiKey, ApiKeyCommand, DomainError, FlashSale, FlashSaleCommand, Order, OrderCommand, Product,
    ProductCommand, RegisterWarehouse, Reservation, ReservationCommand, Stock, StockCommand,
    Warehouse,
};
use event_schemas::{
    ApiKeyEvent, FlashSaleEvent, OrderEvent, ProductEvent, ReservationEvent, StockEvent,
    WarehouseEvent,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::warehouses::KnownWarehouses;

/// What a command is decided with besides the aggregate's state.
#[derive(Clone)]
pub struct DecideContext {
    pub now: DateTime<Utc>,
    pub warehouses: Arc<KnownWarehouses>,
}

/// An aggregate the host can own: pure decide and apply, and a view of its state for
/// the command's answer.
pub trait Hosted: Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    const TYPE: &'static str;
    type Command: Send + Sync + 'static;
    type Event: cqrs_es::DomainEvent + 'static;
    type View: Serialize + Send + 'static;

    fn decide(
        &self,
        command: &Self::Command,
        context: &DecideContext,
    ) -> Result<Vec<Self::Event>, DomainError>;
    fn apply(&mut self, event: &Self::Event);
    fn view(&self) -> Self::View;
    /// The view answered to `command`; most aggregates answer the same to every one.
    fn view_for(&self, command: &Self::Command) -> Self::View {
        let _ = command;
        self.view()
    }
}

/// A stock's levels after a command, and when its next hold runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StockLevels {
    pub on_hand: u64,
    pub held: u64,
    pub available: u64,
    #[serde(skip_serializing, default)]
    pub next_expiry: Option<DateTime<Utc>>,
}

impl Hosted for Stock {
    const TYPE: &'static str = event_schemas::stock::STOCK_AGGREGATE;
    type Command = StockCommand;
    type Event = StockEvent;
    type View = StockLevels;

    fn decide(
        &self,
        command: &StockCommand,
        context: &DecideContext,
    ) -> Result<Vec<StockEvent>, DomainError> {
        Stock::decide(self, command, context.now, context.warehouses.as_ref())
    }

    fn apply(&mut self, event: &StockEvent) {
        self.apply_event(event);
    }

    fn view(&self) -> StockLevels {
        StockLevels {
            on_hand: self.on_hand,
            held: self.held(),
            available: self.available(),
            next_expiry: self.next_expiry(),
        }
    }
}

impl Hosted for Warehouse {
    const TYPE: &'static str = event_schemas::warehouse::WAREHOUSE_AGGREGATE;
    type Command = RegisterWarehouse;
    type Event = WarehouseEvent;
    type View = ();

    fn decide(
        &self,
        command: &RegisterWarehouse,
        _context: &DecideContext,
    ) -> Result<Vec<WarehouseEvent>, DomainError> {
        Warehouse::decide(self, command)
    }

    fn apply(&mut self, event: &WarehouseEvent) {
        self.apply_event(event);
    }

    fn view(&self) {}
}

impl Hosted for ApiKey {
    const TYPE: &'static str = event_schemas::api_key::API_KEY_AGGREGATE;
    type Command = ApiKeyCommand;
    type Event = ApiKeyEvent;
    type View = ();

    fn decide(
        &self,
        command: &ApiKeyCommand,
        context: &DecideContext,
    ) -> Result<Vec<ApiKeyEvent>, DomainError> {
        ApiKey::decide(self, command, context.now)
    }

    fn apply(&mut self, event: &ApiKeyEvent) {
        self.apply_event(event);
    }

    fn view(&self) {}
}

impl Hosted for Reservation {
    const TYPE: &'static str = event_schemas::reservation::RESERVATION_AGGREGATE;
    type Command = ReservationCommand;
    type Event = ReservationEvent;
    type View = Reservation;

    fn decide(
        &self,
        command: &ReservationCommand,
        context: &DecideContext,
    ) -> Result<Vec<ReservationEvent>, DomainError> {
        Reservation::decide(self, command, context.now)
    }

    fn apply(&mut self, event: &ReservationEvent) {
        self.apply_event(event);
    }

    fn view(&self) -> Reservation {
        self.clone()
    }
}

impl Hosted for Product {
    const TYPE: &'static str = event_schemas::product::PRODUCT_AGGREGATE;
    type Command = ProductCommand;
    type Event = ProductEvent;
    type View = Product;

    fn decide(
        &self,
        command: &ProductCommand,
        _context: &DecideContext,
    ) -> Result<Vec<ProductEvent>, DomainError> {
        Product::decide(self, command)
    }

    fn apply(&mut self, event: &ProductEvent) {
        self.apply_event(event);
    }

    fn view(&self) -> Product {
        self.clone()
    }
}

impl Hosted for Order {
    const TYPE: &'static str = event_schemas::order::ORDER_AGGREGATE;
    type Command = OrderCommand;
    type Event = OrderEvent;
    type View = Order;

    fn decide(
        &self,
        command: &OrderCommand,
        _context: &DecideContext,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        Order::decide(self, command)
    }

    fn apply(&mut self, event: &OrderEvent) {
        self.apply_event(event);
    }

    fn view(&self) -> Order {
        self.clone()
    }
}

/// A flash sale's figures, and for a purchase the buyer's hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlashSaleView {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub status: domain::FlashSaleStatus,
    pub units: u64,
    pub sold: u64,
    pub held: u64,
    pub remaining: u64,
    pub price: Option<event_schemas::Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_user_limit: u64,
    pub payment_window_seconds: u64,
    /// When the first buyer hold runs out.
    pub earliest_expiry: Option<DateTime<Utc>>,
    /// For a purchase: the buyer's open hold (order id, quantity, until when).
    pub purchase: Option<(String, u64, DateTime<Utc>)>,
}

impl Hosted for FlashSale {
    const TYPE: &'static str = event_schemas::flash_sale::FLASH_SALE_AGGREGATE;
    type Command = FlashSaleCommand;
    type Event = FlashSaleEvent;
    type View = FlashSaleView;

    fn decide(
        &self,
        command: &FlashSaleCommand,
        _context: &DecideContext,
    ) -> Result<Vec<FlashSaleEvent>, DomainError> {
        FlashSale::decide(self, command)
    }

    fn apply(&mut self, event: &FlashSaleEvent) {
        self.apply_event(event);
    }

    fn view(&self) -> FlashSaleView {
        FlashSaleView {
            sale_id: self.sale_id.clone(),
            sku: self.sku.clone(),
            warehouse_id: self.warehouse_id.clone(),
            status: self.status,
            units: self.units,
            sold: self.sold,
            held: self.held(),
            remaining: self.remaining(),
            price: self.price.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            per_user_limit: self.per_user_limit,
            payment_window_seconds: self.payment_window_seconds,
            earliest_expiry: self.earliest_expiry(),
            purchase: None,
        }
    }

    fn view_for(&self, command: &FlashSaleCommand) -> FlashSaleView {
        let mut view = self.view();
        if let FlashSaleCommand::Purchase { user_id, now, .. } = command {
            view.purchase = self
                .open_hold_of(user_id, *now)
                .map(|(order_id, hold)| (order_id.clone(), hold.quantity, hold.expires_at));
        }
        view
    }
}
