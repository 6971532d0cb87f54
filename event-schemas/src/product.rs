//! Events of the Product aggregate: the catalog, where search reads products from
//! and orders take their prices.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{GeoPoint, Money};

/// Aggregate type under which product events are stored.
pub const PRODUCT_AGGREGATE: &str = "product";

/// The shop that sells a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Shop {
    pub shop_id: String,
    pub name: String,
    pub location: GeoPoint,
}

/// Everything a listing says about a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProductDetails {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// A path such as `home/kitchen/mugs`.
    pub category: String,
    pub materials: Vec<String>,
    pub shop: Shop,
    pub price: Money,
    /// ISO 639-1 code of the text's language (`en`, `de`, `fr`).
    pub language: String,
}

/// The fields an update changed; absent ones stay as they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProductChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub materials: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<Shop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ProductEvent {
    ProductListed {
        sku: String,
        details: ProductDetails,
    },
    ProductUpdated {
        sku: String,
        changes: ProductChanges,
    },
    ProductDelisted {
        sku: String,
    },
}

impl ProductEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ProductEvent::ProductListed { .. } => "ProductListed",
            ProductEvent::ProductUpdated { .. } => "ProductUpdated",
            ProductEvent::ProductDelisted { .. } => "ProductDelisted",
        }
    }
}

/// Each level of a category path, from the top: `home`, `home/kitchen`,
/// `home/kitchen/mugs` for `home/kitchen/mugs` (empty parts skipped). Search's
/// facets and the shopper taste its personalisation boosts are both keyed by these,
/// so both take them from here.
pub fn category_levels(path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}
