//! Warehouses in id order, with where they ship and at what cost.

use event_schemas::{GeoPoint, ShippingRate, WarehouseEvent};
use serde::Serialize;

use super::page::{After, Page};
use super::pending::Pending;
use super::upsert::{Kind, Table};
use super::{list_position, ListQuery};
use event_log::{on_reader, Database};

pub static TABLE: Table = Table {
    name: "listed_warehouses",
    columns: &[
        ("warehouse_id", Kind::Text),
        ("name", Kind::Text),
        ("region", Kind::Text),
        // The location and the shipping rates, as JSON: read whole, never queried.
        ("details", Kind::Text),
        ("registered_position", Kind::Int),
    ],
};

pub const TABLES: &[&str] = &["CREATE TABLE IF NOT EXISTS listed_warehouses (
        generation BIGINT NOT NULL,
        warehouse_id TEXT NOT NULL,
        name TEXT,
        region TEXT,
        details TEXT,
        registered_position BIGINT,
        PRIMARY KEY (generation, warehouse_id))"];

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
struct Details {
    location: GeoPoint,
    shipping_rates: Vec<ShippingRate>,
}

pub fn fold(event: &WarehouseEvent, position: i64, rows: &mut Pending) {
    let WarehouseEvent::WarehouseRegistered {
        warehouse_id: id,
        name,
        region,
        location,
        ships_to,
    } = event;
    let details = Details {
        location: *location,
        shipping_rates: ships_to.clone(),
    };
    rows.text(id, "name", name);
    rows.text(id, "region", region);
    rows.text(
        id,
        "details",
        serde_json::to_string(&details).expect("plain data serializes"),
    );
    rows.int(id, "registered_position", position);
}

/// A warehouse as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarehouseSummary {
    pub warehouse_id: String,
    pub name: String,
    pub region: String,
    pub location: GeoPoint,
    pub shipping_rates: Vec<ShippingRate>,
    pub registered_position: i64,
}

type Row = (String, String, String, String, i64);

pub async fn list(db: &Database, query: &ListQuery) -> Result<Page<WarehouseSummary>, sqlx::Error> {
    let position = list_position(db).await?;
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT w.warehouse_id, w.name, w.region, w.details, w.registered_position
             FROM projection_active a
             JOIN listed_warehouses w ON w.generation = a.generation
             WHERE a.name = $1 AND ($2 IS NULL OR w.warehouse_id > $2)
             ORDER BY w.warehouse_id
             LIMIT $3",
        )
        .bind(super::NAME)
        .bind(query.after.key())
        .bind(query.fetch())
        .fetch_all(pool)
        .await?
    });
    let items = rows
        .into_iter()
        .filter_map(|(warehouse_id, name, region, details, registered_position)| {
            // Written by `fold` from typed data: a row that does not read back is a
            // bug, left out rather than failing the whole list.
            let details: Details = serde_json::from_str(&details)
                .map_err(|error| tracing::error!(%warehouse_id, %error, "warehouse row does not parse"))
                .ok()?;
            Some(WarehouseSummary {
                warehouse_id,
                name,
                region,
                location: details.location,
                shipping_rates: details.shipping_rates,
                registered_position,
            })
        })
        .collect();
    Ok(Page::from_rows(items, query.limit, position, |w| {
        After::Key(w.warehouse_id.clone())
    }))
}
