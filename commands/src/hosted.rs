//! What the aggregate host needs of an aggregate, and the aggregates it hosts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    ApiKey, ApiKeyCommand, BuyerHolds, BuyerHoldsCommand, DomainError, FlashSale, FlashSaleCommand,
    Order, OrderCommand, ParkedEvents, ParkedEventsCommand, Product, ProductCommand,
    RegisterWarehouse, Reservation, ReservationCommand, Stock, StockCommand, Warehouse,
};
use event_schemas::{
    ApiKeyEvent, BuyerHoldsEvent, FlashSaleEvent, OrderEvent, ParkedEvent, ProductEvent,
    ReservationEvent, StockEvent, WarehouseEvent,
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

/// The `Hosted` impl of an aggregate whose pure rules the host calls as they are.
macro_rules! hosted {
    ($aggregate:ty, $type:expr, $command:ty, $event:ty, $view:ty,
     decide: |$state:ident, $cmd:ident, $context:ident| $decide:expr,
     view: |$viewed:ident| $make_view:expr) => {
        impl Hosted for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type View = $view;

            fn decide(
                &self,
                $cmd: &$command,
                $context: &DecideContext,
            ) -> Result<Vec<$event>, DomainError> {
                let $state = self;
                $decide
            }

            fn apply(&mut self, event: &$event) {
                self.apply_event(event);
            }

            fn view(&self) -> $view {
                let $viewed = self;
                $make_view
            }
        }
    };
}

hosted!(Warehouse, event_schemas::warehouse::WAREHOUSE_AGGREGATE, RegisterWarehouse, WarehouseEvent, (),
    decide: |state, command, _context| state.decide(command),
    view: |_state| ());
hosted!(ApiKey, event_schemas::api_key::API_KEY_AGGREGATE, ApiKeyCommand, ApiKeyEvent, (),
    decide: |state, command, context| state.decide(command, context.now),
    view: |_state| ());
hosted!(Reservation, event_schemas::reservation::RESERVATION_AGGREGATE, ReservationCommand, ReservationEvent, Reservation,
    decide: |state, command, context| state.decide(command, context.now),
    view: |state| state.clone());
hosted!(Product, event_schemas::product::PRODUCT_AGGREGATE, ProductCommand, ProductEvent, Product,
    decide: |state, command, _context| state.decide(command),
    view: |state| state.clone());
hosted!(Order, event_schemas::order::ORDER_AGGREGATE, OrderCommand, OrderEvent, Order,
    decide: |state, command, _context| state.decide(command),
    view: |state| state.clone());
hosted!(BuyerHolds, event_schemas::buyer::BUYER_HOLDS_AGGREGATE, BuyerHoldsCommand, BuyerHoldsEvent, (),
    decide: |state, command, _context| state.decide(command),
    view: |_state| ());
hosted!(ParkedEvents, event_schemas::parked::PARKED_EVENTS_AGGREGATE, ParkedEventsCommand, ParkedEvent, ParkedEvents,
    decide: |state, command, _context| state.decide(command),
    view: |state| state.clone());

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
