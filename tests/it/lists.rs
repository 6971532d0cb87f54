//! The list endpoints: everything created is listed, page by page along cursors,
//! filtered, read from the listings projection (waited for with `min_position`), the
//! same after a rebuild; a buyer lists only its own orders and reservations; a route
//! with no read model refuses `min_position` with a 400 that says so.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{as_holder, buyer, start_in_production};
use crate::on_both_backends;
use crate::shop::{list_product, open_shop};
use crate::support::{Api, Backend, Env};

on_both_backends!(every_kind_is_listed_page_by_page_and_filtered);

/// Every item of a list, following `next` with pages of `limit`; each page's
/// `position` must reach `min_position`.
async fn all_pages(api: &Api, path: &str, limit: usize, min_position: i64) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{path}{separator}limit={limit}&min_position={min_position}");
        if let Some(cursor) = &after {
            url.push_str(&format!("&after={cursor}"));
        }
        let page = api.get(&url).await.expect(StatusCode::OK);
        assert!(page["position"].as_i64().unwrap() >= min_position, "{page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit, "{page}");
        items.extend(got.iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return items,
        }
    }
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

async fn every_kind_is_listed_page_by_page_and_filtered(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    // Given a shop with two warehouses, five products in two categories and shops,
    open_shop(&server, 100, 1299).await;
    server
        .post("/v1/warehouses", &crate::support::warehouse("rtm"))
        .await
        .expect(StatusCode::CREATED);
    for (sku, category, shop) in [
        ("CUP-1", "home/kitchen/cups", "s2"),
        ("CUP-2", "home/kitchen/cups", "s2"),
        ("PLATE-1", "home/kitchen", "s1"),
        ("VASE-1", "home/decor", "s2"),
    ] {
        let product = json!({
            "sku": sku, "title": sku, "category": category,
            "shop": {"shop_id": shop, "name": "Shop", "location": {"lat": 52.0, "lon": 4.0}},
            "price": {"amount": 500, "currency": "EUR"}, "language": "en"
        });
        server
            .post("/v1/products", &product)
            .await
            .expect(StatusCode::CREATED);
    }
    list_product(&server, "GONE-1", "Gone", 100).await;
    server
        .send(server.client.delete(server.url("/v1/products/GONE-1")))
        .await
        .expect(StatusCode::OK);
    // five orders (two for ada), three reservations and two flash sales,
    for (n, customer) in ["ada", "bob", "ada", "cy", "dee"].iter().enumerate() {
        server
            .post(
                "/v1/orders",
                &json!({"order_id": format!("o-{n}"), "customer_id": customer,
                        "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    for n in 0..3 {
        server
            .post(
                "/v1/reservations",
                &json!({"reservation_id": format!("r-{n}"),
                        "lines": [{"sku": "MUG-1", "warehouse_id": "ams", "quantity": 1}]}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    server
        .post(
            "/v1/reservations/r-1/release",
            &json!({"reason": "changed my mind"}),
        )
        .await
        .expect(StatusCode::OK);
    let now = chrono::Utc::now();
    for (sale, starts_in_hours) in [("drop-now", -1), ("drop-later", 24)] {
        server
            .post(
                "/v1/flash-sales",
                &json!({
                    "sale_id": sale, "sku": "MUG-1", "warehouse_id": "ams", "units": 2,
                    "price": {"amount": 499, "currency": "EUR"},
                    "starts_at": now + chrono::Duration::hours(starts_in_hours),
                    "ends_at": now + chrono::Duration::hours(starts_in_hours + 2),
                }),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    let head = server.head().await;

    // When each list is read a page at a time, then every item comes, once, in order.
    let warehouses = all_pages(&server, "/v1/warehouses", 1, head).await;
    assert_eq!(ids(&warehouses, "warehouse_id"), ["ams", "rtm"]);
    assert_eq!(
        warehouses[0]["ships_to"][0]["region"], "nl",
        "{warehouses:?}"
    );
    let products = all_pages(&server, "/v1/products", 2, head).await;
    assert_eq!(
        ids(&products, "sku"),
        ["CUP-1", "CUP-2", "MUG-1", "PLATE-1", "VASE-1"],
        "delisted GONE-1 is left out"
    );
    assert_eq!(
        products[0]["price"],
        json!({"amount": 500, "currency": "EUR"})
    );
    let orders = all_pages(&server, "/v1/orders", 2, head).await;
    assert_eq!(
        ids(&orders, "order_id"),
        ["o-4", "o-3", "o-2", "o-1", "o-0"]
    );
    let reservations = all_pages(&server, "/v1/reservations", 2, head).await;
    assert_eq!(ids(&reservations, "reservation_id"), ["r-2", "r-1", "r-0"]);
    assert_eq!(reservations[1]["status"], "released", "{reservations:?}");
    assert_eq!(reservations[0]["status"], "held", "{reservations:?}");
    let sales = all_pages(&server, "/v1/flash-sales", 1, head).await;
    assert_eq!(ids(&sales, "sale_id"), ["drop-later", "drop-now"]);
    assert_eq!(
        (sales[0]["status"].as_str(), sales[1]["status"].as_str()),
        (Some("scheduled"), Some("open"))
    );
    // The sale's own page says the same.
    let sale = server
        .get("/v1/flash-sales/drop-later")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (sale["status"].as_str(), sale["open"].as_bool()),
        (Some("scheduled"), Some(false))
    );

    // Filters narrow the list.
    let kitchen = all_pages(&server, "/v1/products?category=home/kitchen", 10, head).await;
    assert_eq!(ids(&kitchen, "sku"), ["CUP-1", "CUP-2", "PLATE-1"]);
    let shop = all_pages(&server, "/v1/products?shop_id=s2&category=home", 10, head).await;
    assert_eq!(ids(&shop, "sku"), ["CUP-1", "CUP-2", "VASE-1"]);
    let adas = all_pages(&server, "/v1/orders?customer_id=ada", 10, head).await;
    assert_eq!(ids(&adas, "order_id"), ["o-2", "o-0"]);
    let released = all_pages(&server, "/v1/reservations?status=released", 10, head).await;
    assert_eq!(ids(&released, "reservation_id"), ["r-1"]);
    let open = all_pages(&server, "/v1/flash-sales?status=open", 10, head).await;
    assert_eq!(ids(&open, "sale_id"), ["drop-now"]);

    // Orders are reserved by the process later: the list follows their status.
    let reserved = server
        .get("/v1/orders/o-4?wait_for_status=reserved,rejected&timeout_ms=20000")
        .await
        .expect(StatusCode::OK);
    let after_reserving = reserved["position"].as_i64().unwrap();
    let statuses = all_pages(&server, "/v1/orders?status=placed", 10, after_reserving).await;
    assert!(
        !ids(&statuses, "order_id").contains(&"o-4".to_string()),
        "{statuses:?}"
    );

    // An event no list reads (a stock receipt) moves the lists' position on all the
    // same: a page asked for at the new head says it reflects it.
    server
        .post("/v1/stock/MUG-1/ams/receipts", &json!({ "quantity": 1 }))
        .await
        .expect(StatusCode::OK);
    let head = server.head().await;
    let page = server
        .get(&format!("/v1/warehouses?min_position={head}"))
        .await
        .expect(StatusCode::OK);
    assert!(
        page["position"].as_i64().unwrap() >= head,
        "{page} at {head}"
    );

    // Bad cursors and limits are refused, and say why.
    for bad in ["zz", "703a", "6b3a"] {
        let problem = server
            .get(&format!("/v1/orders?after={bad}"))
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .ends_with("invalid_cursor"),
            "{problem}"
        );
    }
    for bad in ["limit=0", "limit=101", "status=lost"] {
        let problem = server
            .get(&format!("/v1/orders?{bad}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(problem["errors"][0]["field"].is_string(), "{problem}");
    }
    server
        .get("/v1/orders?colour=red")
        .await
        .problem(StatusCode::BAD_REQUEST);

    // Every read takes min_position; a route with no read model refuses it.
    for path in [
        "/v1/orders/o-1",
        "/v1/reservations/r-0",
        "/v1/products/MUG-1",
        "/v1/flash-sales/drop-now",
        "/v1/search/suggest?prefix=mu",
    ] {
        let separator = if path.contains('?') { '&' } else { '?' };
        server
            .get(&format!("{path}{separator}min_position={head}"))
            .await
            .expect(StatusCode::OK);
    }
    let problem = server
        .get("/health?min_position=1")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        problem["type"].as_str().unwrap().ends_with("no_read_model"),
        "{problem}"
    );

    // A rebuild of the listings gives the same lists.
    let before: Vec<Vec<Value>> = vec![
        all_pages(&server, "/v1/products", 100, head).await,
        all_pages(&server, "/v1/orders", 100, after_reserving).await,
        all_pages(&server, "/v1/reservations", 100, head).await,
    ];
    let server_position = server.head().await;
    server.stop().await;
    let rebuilt = env.rebuild("listings").await;
    assert!(rebuilt.status.success(), "{rebuilt:?}");
    let server = env.start().await;
    let after: Vec<Vec<Value>> = vec![
        all_pages(&server, "/v1/products", 100, server_position).await,
        all_pages(&server, "/v1/orders", 100, server_position).await,
        all_pages(&server, "/v1/reservations", 100, server_position).await,
    ];
    // Reservations' `expired` status follows the clock, not the log; nothing expired here.
    assert_eq!(before, after);
}

/// A buyer's token lists its own orders and reservations, never another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buyer_lists_only_its_own_orders() {
    const MASTER: &str = "lists-test-master-key-0123456789ab";
    const JWT_SECRET: &str = "lists-test-jwt-secret-of-32-bytes-or-more";
    let env = Env::new(Backend::Sqlite).await;
    let server = start_in_production(&env, MASTER, JWT_SECRET, &[]).await;
    let master = as_holder(&server, MASTER);
    open_shop(&master, 10, 1299).await;
    let ada = buyer(&server, JWT_SECRET, "ada");
    let bob = buyer(&server, JWT_SECRET, "bob");
    for (api, order) in [(&ada, "a-1"), (&bob, "b-1"), (&ada, "a-2")] {
        api.post(
            "/v1/orders",
            &json!({"order_id": order, "lines": [{"sku": "MUG-1", "quantity": 1}], "ship_to": {"region": "nl"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let head = master.head().await;
    let own: BTreeSet<String> = ids(&all_pages(&ada, "/v1/orders", 10, head).await, "order_id")
        .into_iter()
        .collect();
    assert_eq!(own, BTreeSet::from(["a-1".to_string(), "a-2".to_string()]));
    let problem = ada
        .get("/v1/orders?customer_id=bob")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("own"),
        "{problem}"
    );
    assert_eq!(
        ids(
            &all_pages(&bob, "/v1/reservations", 10, head).await,
            "reservation_id"
        ),
        Vec::<String>::new()
    );
    // The shop's backend sees everyone's.
    let everyone = all_pages(&master, "/v1/orders", 10, head).await;
    assert_eq!(everyone.len(), 3);
}
