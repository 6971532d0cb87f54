//! The catalog through the API: list, update, delist, read back.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Env};

on_both_backends!(a_product_is_listed_updated_and_delisted);

fn mug() -> Value {
    json!({
        "sku": "MUG-1",
        "title": "Stoneware mug",
        "description": "Holds tea",
        "tags": ["mug", "tea"],
        "category": "home/kitchen/mugs",
        "materials": ["stoneware"],
        "shop": {"shop_id": "shop-1", "name": "Clay & Co", "location": {"lat": 52.37, "lon": 4.89}},
        "price": {"amount": 1299, "currency": "EUR"},
        "language": "en"
    })
}

async fn a_product_is_listed_updated_and_delisted(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let head = server.head().await;
    let listed = server
        .post("/v1/products", &mug())
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (listed["sku"].as_str(), listed["listed"].as_bool()),
        (Some("MUG-1"), Some(true))
    );
    assert!(listed["position"].as_i64().unwrap() > head);
    let again = server
        .post("/v1/products", &mug())
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["position"], listed["position"]);
    let mut other = mug();
    other["title"] = json!("Another mug");
    server
        .post("/v1/products", &other)
        .await
        .problem(StatusCode::CONFLICT);

    let before_bad = server.head().await;
    let mut bad = mug();
    bad["sku"] = json!("BAD-1");
    bad["price"]["amount"] = json!(-5);
    bad["language"] = json!("xx");
    bad["category"] = json!("Home/Mugs");
    let problem = server
        .post("/v1/products", &bad)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["price.amount", "language", "category"] {
        assert!(fields.contains(&field), "{field} missing in {problem}");
    }
    assert_eq!(
        server.head().await,
        before_bad,
        "a refused listing wrote nothing"
    );

    let patched = server
        .send(
            server
                .client
                .patch(server.url("/v1/products/MUG-1"))
                .json(&json!({"price": {"amount": 999, "currency": "EUR"}})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["price"]["amount"], 999);
    assert_eq!(patched["title"], "Stoneware mug", "untouched fields stay");
    let read = server
        .get("/v1/products/MUG-1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(read["price"]["amount"], 999);

    let delisted = server
        .send(server.client.delete(server.url("/v1/products/MUG-1")))
        .await
        .expect(StatusCode::OK);
    assert_eq!(delisted["listed"], false);
    server
        .get("/v1/products/MUG-1")
        .await
        .problem(StatusCode::NOT_FOUND);
    server
        .send(
            server
                .client
                .patch(server.url("/v1/products/MUG-1"))
                .json(&json!({"title": "x"})),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    // Listing it again brings it back.
    server
        .post("/v1/products", &mug())
        .await
        .expect(StatusCode::CREATED);
    server
        .get("/v1/products/NOPE")
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(server.stop().await.success());
}
