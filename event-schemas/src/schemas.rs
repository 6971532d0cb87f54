//! JSON Schemas of the envelope and every event, generated from the Rust types.
//!
//! `json/` holds them checked in, for consumers of the bus; the crate's tests fail
//! when they drift from the types (`UPDATE_SCHEMAS=1 cargo test -p event-schemas`
//! rewrites them).

use schemars::{schema_for, Schema};

use crate::{
    ActivityEvent, ApiKeyEvent, BuyerHoldsEvent, CityEvent, DeliveryFeedEvent, Envelope,
    FlashSaleEvent, ListingEvent, OrderEvent, ParkedEvent, ProductEvent, ReorderEvent,
    ReservationEvent, StaySearchEvent, StockEvent, WarehouseEvent,
};

/// Every schema this crate publishes, by file name.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        ("api_key_event.json", schema_for!(ApiKeyEvent)),
        ("buyer_holds_event.json", schema_for!(BuyerHoldsEvent)),
        ("parked_event.json", schema_for!(ParkedEvent)),
        ("city_event.json", schema_for!(CityEvent)),
        ("delivery_feed_event.json", schema_for!(DeliveryFeedEvent)),
        ("envelope.json", schema_for!(Envelope)),
        ("listing_event.json", schema_for!(ListingEvent)),
        ("stay_search_event.json", schema_for!(StaySearchEvent)),
        ("order_event.json", schema_for!(OrderEvent)),
        ("product_event.json", schema_for!(ProductEvent)),
        ("reorder_event.json", schema_for!(ReorderEvent)),
        ("activity_event.json", schema_for!(ActivityEvent)),
        ("flash_sale_event.json", schema_for!(FlashSaleEvent)),
        ("reservation_event.json", schema_for!(ReservationEvent)),
        ("stock_event.json", schema_for!(StockEvent)),
        ("warehouse_event.json", schema_for!(WarehouseEvent)),
    ]
}

/// The text a schema is checked in as.
pub fn render(schema: &Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema always serialises");
    text.push('\n');
    text
}
