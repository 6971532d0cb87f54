//! Events stored at an older version are read through their upcaster by every
//! reader. `WarehouseRegistered` 1.0 kept the rates under `ships_to` (2.0 names them
//! `shipping_rates`): a log holding the 1.0 row an older build wrote is served by
//! this build, through the aggregate host (a repeat registration is recognised as
//! one), the projections (allocation ships from the warehouse by its rates) and
//! search (which follows the whole log past it).

use event_log::{AppendBatch, Database, EventSource, NewEvent, Pools};
use event_schemas::Metadata;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Env};

on_both_backends!(a_stored_v1_warehouse_registration_is_read_by_every_reader);

/// The warehouse as the API takes it; its 1.0 event carries the same fields.
fn warehouse(id: &str) -> Value {
    json!({
        "warehouse_id": id, "name": "Amsterdam", "region": "nl",
        "location": {"lat": 52.37, "lon": 4.89},
        "ships_to": [{"region": "nl", "cost_per_item": {"amount": 50, "currency": "EUR"},
                      "cost_per_shipment": {"amount": 495, "currency": "EUR"}, "days": 1}]
    })
}

/// Write the 1.0 row an older build wrote for `ams`, before any server runs.
async fn write_v1_row(env: &Env) {
    let (db, store) = env.open_log().await;
    let batch = AppendBatch {
        aggregate_type: "warehouse".into(),
        aggregate_id: "ams".into(),
        expected_sequence: 0,
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "WarehouseRegistered".into(),
            event_version: "1.0".into(),
            payload: json!({ "WarehouseRegistered": warehouse("ams") }).to_string(),
            metadata: Metadata::default(),
            occurred_at: chrono::Utc::now(),
        }],
        receipts: Vec::new(),
    };
    let results = store.append(&[batch]).await.unwrap();
    results.into_iter().next().unwrap().expect("a fresh log");
    close(db).await;
}

pub async fn close(db: Database) {
    match db.pools().clone() {
        Pools::Sqlite { writer, reader } => {
            writer.close().await;
            reader.close().await;
        }
        // Not `close()`: it waits for every connection to come back, and the store's
        // LISTEN task keeps one for as long as it runs. Dropping is enough here.
        Pools::Postgres(pool) => drop(pool),
    }
}

async fn a_stored_v1_warehouse_registration_is_read_by_every_reader(backend: Backend) {
    let env = Env::new(backend).await;
    write_v1_row(&env).await;
    let server = env.start().await;

    // The aggregate host loads the 1.0 event: the same details are a repeat, other
    // rates a conflict (so the rates were read, not dropped).
    server
        .post("/v1/warehouses", &warehouse("ams"))
        .await
        .expect(StatusCode::OK);
    let mut other_rates = warehouse("ams");
    other_rates["ships_to"][0]["days"] = json!(2);
    server
        .post("/v1/warehouses", &other_rates)
        .await
        .problem(StatusCode::CONFLICT);

    // The projections: allocation finds `ams` shipping to `nl` by its 1.0 rates.
    server
        .post("/v1/stock/MUG-1/ams/receipts", &json!({ "quantity": 3 }))
        .await
        .expect(StatusCode::OK);
    crate::shop::list_product(&server, "MUG-1", "Mug", 1299).await;
    let order = json!({"order_id": "o-1", "lines": [{"sku": "MUG-1", "quantity": 2}],
                       "ship_to": {"region": "nl"}});
    server
        .post("/v1/orders", &order)
        .await
        .expect(StatusCode::CREATED);
    let reserved = server
        .get("/v1/orders/o-1?wait_for_status=reserved,rejected&timeout_ms=20000")
        .await
        .expect(StatusCode::OK);
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    assert_eq!(
        reserved["reserved"],
        json!([{"sku": "MUG-1", "warehouse_id": "ams", "quantity": 2}])
    );

    // Search follows the whole log, the 1.0 row included.
    let head = server.head().await;
    let found = server
        .get(&format!("/v1/search?q=mug&min_position={head}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["hits"][0]["sku"], "MUG-1", "{found}");

    // A warehouse registered now is written at 2.0; the 1.0 row stays as it was.
    server
        .post("/v1/warehouses", &warehouse("rtm"))
        .await
        .expect(StatusCode::CREATED);
    let db = Database::connect(env.database_url(), env.data_dir())
        .await
        .unwrap();
    let rows = db.read_type("warehouse").await.unwrap();
    let stored: Vec<(&str, Value)> = rows
        .iter()
        .map(|r| {
            (
                r.event_version.as_str(),
                serde_json::from_str(&r.payload).unwrap(),
            )
        })
        .collect();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].0, "1.0");
    assert!(stored[0].1["WarehouseRegistered"]["ships_to"].is_array());
    assert_eq!(stored[1].0, "2.0");
    assert!(stored[1].1["WarehouseRegistered"]["ships_to"].is_null());
    assert_eq!(
        stored[1].1["WarehouseRegistered"]["shipping_rates"],
        warehouse("rtm")["ships_to"]
    );
    close(db).await;
}
