//! The envelope: what the log records around each event payload.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::upcast::{decode_str, decode_value};

use crate::activity::{ActivityEvent, ACTIVITY_AGGREGATE};
use crate::api_key::{ApiKeyEvent, API_KEY_AGGREGATE};
use crate::buyer::{BuyerHoldsEvent, BUYER_HOLDS_AGGREGATE};
use crate::delivery::{CityEvent, DeliveryFeedEvent, CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use crate::flash_sale::{FlashSaleEvent, FLASH_SALE_AGGREGATE};
use crate::order::{OrderEvent, ORDER_AGGREGATE};
use crate::parked::{ParkedEvent, PARKED_EVENTS_AGGREGATE};
use crate::product::{ProductEvent, PRODUCT_AGGREGATE};
use crate::reorder::{ReorderEvent, REORDER_AGGREGATE};
use crate::reservation::{ReservationEvent, RESERVATION_AGGREGATE};
use crate::stays::{ListingEvent, StaySearchEvent, LISTING_AGGREGATE, STAY_SEARCH_AGGREGATE};
use crate::stock::{StockEvent, STOCK_AGGREGATE};
use crate::warehouse::{WarehouseEvent, WAREHOUSE_AGGREGATE};

/// Who and what caused an event. Stored as a JSON object of strings (absent fields
/// omitted), which is also what postgres-es reads as its `HashMap<String, String>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Metadata {
    /// The request (`X-Request-Id`) or flow this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The event or command that directly caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// The credential that issued the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The client's `Idempotency-Key`, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// One committed event as the log holds it and as the bus publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope {
    /// UUIDv7, unique per event.
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// 1-based position of the event within its aggregate.
    pub sequence: i64,
    /// Global commit-ordered position in the log.
    pub position: i64,
    pub event_type: String,
    pub event_version: String,
    pub occurred_at: DateTime<Utc>,
    pub metadata: Metadata,
    /// The event, externally tagged by its type (`{"StockReceived": {...}}`).
    pub payload: serde_json::Value,
}

/// A decoded event payload, by aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedEvent {
    Warehouse(WarehouseEvent),
    Stock(StockEvent),
    ApiKey(ApiKeyEvent),
    Reservation(ReservationEvent),
    Product(ProductEvent),
    Order(OrderEvent),
    Activity(ActivityEvent),
    FlashSale(FlashSaleEvent),
    BuyerHolds(BuyerHoldsEvent),
    Parked(ParkedEvent),
    City(CityEvent),
    DeliveryFeed(DeliveryFeedEvent),
    Reorder(ReorderEvent),
    Listing(ListingEvent),
    StaySearch(StaySearchEvent),
    /// An aggregate type this build does not know (written by a newer version).
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event at position {position} ({event_type}) does not parse: {source}")]
    Payload {
        position: i64,
        event_type: String,
        source: serde_json::Error,
    },
}

impl RecordedEvent {
    /// Parse a stored payload of `aggregate_type` written at `event_version`,
    /// upcasting it first when the version is an old one (see [`crate::upcast`]).
    pub fn parse(
        aggregate_type: &str,
        event_version: &str,
        payload: &str,
    ) -> Result<Self, serde_json::Error> {
        let (a, v, p) = (aggregate_type, event_version, payload);
        Ok(match aggregate_type {
            STOCK_AGGREGATE => RecordedEvent::Stock(decode_str(a, v, p)?),
            WAREHOUSE_AGGREGATE => RecordedEvent::Warehouse(decode_str(a, v, p)?),
            API_KEY_AGGREGATE => RecordedEvent::ApiKey(decode_str(a, v, p)?),
            RESERVATION_AGGREGATE => RecordedEvent::Reservation(decode_str(a, v, p)?),
            PRODUCT_AGGREGATE => RecordedEvent::Product(decode_str(a, v, p)?),
            ORDER_AGGREGATE => RecordedEvent::Order(decode_str(a, v, p)?),
            ACTIVITY_AGGREGATE => RecordedEvent::Activity(decode_str(a, v, p)?),
            FLASH_SALE_AGGREGATE => RecordedEvent::FlashSale(decode_str(a, v, p)?),
            BUYER_HOLDS_AGGREGATE => RecordedEvent::BuyerHolds(decode_str(a, v, p)?),
            PARKED_EVENTS_AGGREGATE => RecordedEvent::Parked(decode_str(a, v, p)?),
            CITY_AGGREGATE => RecordedEvent::City(decode_str(a, v, p)?),
            DELIVERY_FEED_AGGREGATE => RecordedEvent::DeliveryFeed(decode_str(a, v, p)?),
            REORDER_AGGREGATE => RecordedEvent::Reorder(decode_str(a, v, p)?),
            LISTING_AGGREGATE => RecordedEvent::Listing(decode_str(a, v, p)?),
            STAY_SEARCH_AGGREGATE => RecordedEvent::StaySearch(decode_str(a, v, p)?),
            _ => RecordedEvent::Other,
        })
    }
}

impl Envelope {
    /// Decode the payload into the typed event of its aggregate, upcasting old versions.
    pub fn decode(&self) -> Result<RecordedEvent, DecodeError> {
        match self.aggregate_type.as_str() {
            STOCK_AGGREGATE => self.decode_as().map(RecordedEvent::Stock),
            WAREHOUSE_AGGREGATE => self.decode_as().map(RecordedEvent::Warehouse),
            API_KEY_AGGREGATE => self.decode_as().map(RecordedEvent::ApiKey),
            RESERVATION_AGGREGATE => self.decode_as().map(RecordedEvent::Reservation),
            PRODUCT_AGGREGATE => self.decode_as().map(RecordedEvent::Product),
            ORDER_AGGREGATE => self.decode_as().map(RecordedEvent::Order),
            ACTIVITY_AGGREGATE => self.decode_as().map(RecordedEvent::Activity),
            FLASH_SALE_AGGREGATE => self.decode_as().map(RecordedEvent::FlashSale),
            BUYER_HOLDS_AGGREGATE => self.decode_as().map(RecordedEvent::BuyerHolds),
            PARKED_EVENTS_AGGREGATE => self.decode_as().map(RecordedEvent::Parked),
            CITY_AGGREGATE => self.decode_as().map(RecordedEvent::City),
            DELIVERY_FEED_AGGREGATE => self.decode_as().map(RecordedEvent::DeliveryFeed),
            REORDER_AGGREGATE => self.decode_as().map(RecordedEvent::Reorder),
            LISTING_AGGREGATE => self.decode_as().map(RecordedEvent::Listing),
            STAY_SEARCH_AGGREGATE => self.decode_as().map(RecordedEvent::StaySearch),
            _ => Ok(RecordedEvent::Other),
        }
    }

    fn decode_as<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        decode_value(&self.aggregate_type, &self.event_version, &self.payload).map_err(|source| {
            DecodeError::Payload {
                position: self.position,
                event_type: self.event_type.clone(),
                source,
            }
        })
    }
}
