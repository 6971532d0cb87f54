//! Products in SKU order, by category (a path and everything under it) and shop;
//! delisted products are left out.

use event_schemas::ProductEvent;
use serde::Serialize;

use super::page::{After, Page};
use super::pending::Pending;
use super::upsert::{Kind, Table};
use super::{list_position, ListQuery};
use event_log::{on_reader, Database};

pub static TABLE: Table = Table {
    name: "listed_products",
    columns: &[
        ("sku", Kind::Text),
        ("title", Kind::Text),
        ("category", Kind::Text),
        ("shop_id", Kind::Text),
        ("price_amount", Kind::Int),
        ("currency", Kind::Text),
        ("language", Kind::Text),
        ("delisted", Kind::Int),
        ("listed_position", Kind::Int),
    ],
};

pub const TABLES: &[&str] = &["CREATE TABLE IF NOT EXISTS listed_products (
        generation BIGINT NOT NULL,
        sku TEXT NOT NULL,
        title TEXT,
        category TEXT,
        shop_id TEXT,
        price_amount BIGINT,
        currency TEXT,
        language TEXT,
        delisted BIGINT,
        listed_position BIGINT,
        PRIMARY KEY (generation, sku))"];

pub fn fold(event: &ProductEvent, position: i64, rows: &mut Pending) {
    match event {
        ProductEvent::ProductListed { sku, details } => {
            rows.text(sku, "title", &details.title);
            rows.text(sku, "category", &details.category);
            rows.text(sku, "shop_id", &details.shop.shop_id);
            rows.int(sku, "price_amount", details.price.amount);
            rows.text(sku, "currency", &details.price.currency);
            rows.text(sku, "language", &details.language);
            rows.int(sku, "delisted", 0);
            rows.int(sku, "listed_position", position);
        }
        ProductEvent::ProductUpdated { sku, changes } => {
            if let Some(title) = &changes.title {
                rows.text(sku, "title", title);
            }
            if let Some(category) = &changes.category {
                rows.text(sku, "category", category);
            }
            if let Some(shop) = &changes.shop {
                rows.text(sku, "shop_id", &shop.shop_id);
            }
            if let Some(price) = &changes.price {
                rows.int(sku, "price_amount", price.amount);
                rows.text(sku, "currency", &price.currency);
            }
            if let Some(language) = &changes.language {
                rows.text(sku, "language", language);
            }
        }
        ProductEvent::ProductDelisted { sku } => rows.int(sku, "delisted", 1),
    }
}

/// A product as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductSummary {
    pub sku: String,
    pub title: String,
    pub category: String,
    pub shop_id: String,
    pub price_amount: i64,
    pub currency: String,
    pub language: String,
    /// Log position of the listing.
    pub listed_position: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// A category path: the products in it and in every category under it.
    pub category: Option<String>,
    pub shop_id: Option<String>,
}

type Row = (String, String, String, String, i64, String, String, i64);

pub async fn list(
    db: &Database,
    filter: &ProductFilter,
    query: &ListQuery,
) -> Result<Page<ProductSummary>, sqlx::Error> {
    let position = list_position(db).await?;
    // `home/kitchen` takes `home/kitchen` and `home/kitchen/...`: the paths between
    // `home/kitchen/` and `home/kitchen0` ('0' follows '/'), with no LIKE to escape.
    let (under_from, under_to) = match &filter.category {
        Some(category) => (Some(format!("{category}/")), Some(format!("{category}0"))),
        None => (None, None),
    };
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT p.sku, p.title, p.category, p.shop_id, p.price_amount, p.currency, p.language, p.listed_position
             FROM projection_active a
             JOIN listed_products p ON p.generation = a.generation
             WHERE a.name = $1
               AND p.delisted = 0
               AND ($2 IS NULL OR p.category = $2 OR (p.category >= $3 AND p.category < $4))
               AND ($5 IS NULL OR p.shop_id = $5)
               AND ($6 IS NULL OR p.sku > $6)
             ORDER BY p.sku
             LIMIT $7",
        )
        .bind(super::NAME)
        .bind(filter.category.as_deref())
        .bind(under_from)
        .bind(under_to)
        .bind(filter.shop_id.as_deref())
        .bind(query.after.key())
        .bind(query.fetch())
        .fetch_all(pool)
        .await?
    });
    let items = rows
        .into_iter()
        .map(
            |(sku, title, category, shop_id, price_amount, currency, language, listed_position)| {
                ProductSummary {
                    sku,
                    title,
                    category,
                    shop_id,
                    price_amount,
                    currency,
                    language,
                    listed_position,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, query.limit, position, |p| {
        After::Key(p.sku.clone())
    }))
}
