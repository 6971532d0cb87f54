//! A small shop for the order tests: warehouse `ams` shipping to `nl`, and product
//! `MUG-1` in stock there.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::Api;

/// Register `ams`, receive `units` of MUG-1 there, and list MUG-1 at `price` cents.
pub async fn open_shop(api: &Api, units: u64, price: i64) {
    let warehouse = json!({
        "warehouse_id": "ams", "name": "Amsterdam", "region": "nl",
        "location": {"lat": 52.37, "lon": 4.89},
        "ships_to": [{"region": "nl", "cost_per_item": {"amount": 50, "currency": "EUR"},
                      "cost_per_shipment": {"amount": 495, "currency": "EUR"}, "days": 1}]
    });
    api.post("/v1/warehouses", &warehouse)
        .await
        .expect(StatusCode::CREATED);
    api.post(
        "/v1/stock/MUG-1/ams/receipts",
        &json!({ "quantity": units }),
    )
    .await
    .expect(StatusCode::OK);
    list_product(api, "MUG-1", "Mug", price).await;
}

/// List `sku` as `title` at `price` cents in shop `s1`.
pub async fn list_product(api: &Api, sku: &str, title: &str, price: i64) {
    let product = json!({
        "sku": sku, "title": title, "category": "home/things",
        "shop": {"shop_id": "s1", "name": "Shop", "location": {"lat": 52.0, "lon": 4.0}},
        "price": {"amount": price, "currency": "EUR"}, "language": "en"
    });
    api.post("/v1/products", &product)
        .await
        .expect(StatusCode::CREATED);
}
