//! Recommendations through the API: a shopper's list follows what they do at once
//! (a view brings similar items, a dismissal hides one on the very next request, a
//! click is recorded with the list's model version), similar items for a product
//! page, cold start, bad input; in production, who may read whose list.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{as_holder, key, start_in_production};
use crate::on_both_backends;
use crate::support::{register_warehouses, Api, Backend, Env};

on_both_backends!(a_list_follows_what_the_shopper_does);

const MASTER: &str = "recommendation-tests-master-key-0123";
const JWT_SECRET: &str = "recommendation-tests-sign-buyer-tokens-with-this";

fn product(sku: &str, title: &str, category: &str, tags: &[&str], shop: &str) -> Value {
    let material = match category.split('/').nth(1) {
        Some("kitchen") => "stoneware",
        Some("textiles") => "linen",
        _ => "brass",
    };
    json!({
        "sku": sku,
        "title": title,
        "description": "Made by hand",
        "tags": tags,
        "category": category,
        "materials": [material],
        "shop": {"shop_id": shop, "name": shop, "location": {"lat": 52.37, "lon": 4.89}},
        "price": {"amount": 1500, "currency": "EUR"},
        "language": "en"
    })
}

/// A small catalog, every item in stock; answers the position of the last write.
async fn catalog(api: &Api) -> i64 {
    register_warehouses(api, &["ams"]).await;
    let items = [
        product(
            "MUG-1",
            "Stoneware mug",
            "home/kitchen/mugs",
            &["mug", "coffee"],
            "clay",
        ),
        product(
            "MUG-2",
            "Espresso mug",
            "home/kitchen/mugs",
            &["mug", "coffee"],
            "clay",
        ),
        product(
            "MUG-3",
            "Tea mug",
            "home/kitchen/mugs",
            &["mug", "tea"],
            "kiln",
        ),
        product(
            "APRON-1",
            "Linen apron",
            "home/textiles",
            &["linen"],
            "loom",
        ),
        product("LAMP-1", "Desk lamp", "office/lighting", &["lamp"], "light"),
    ];
    let mut at = 0;
    for item in &items {
        api.post("/v1/products", item)
            .await
            .expect(StatusCode::CREATED);
        let sku = item["sku"].as_str().unwrap();
        let received = api
            .post(
                &format!("/v1/stock/{sku}/ams/receipts"),
                &json!({"quantity": 10}),
            )
            .await
            .expect(StatusCode::OK);
        at = received["position"].as_i64().unwrap();
    }
    at
}

fn skus(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["sku"].as_str().unwrap().to_string())
        .collect()
}

async fn activity(api: &Api, user: &str, kind: &str, sku: &str) -> i64 {
    api.post(
        "/v1/activity",
        &json!({"user_id": user, "type": kind, "sku": sku}),
    )
    .await
    .expect(StatusCode::CREATED)["position"]
        .as_i64()
        .unwrap()
}

async fn a_list_follows_what_the_shopper_does(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let at = catalog(&server).await;

    // A shopper with no history gets a non-empty list, at the model's position.
    let cold = server
        .get(&format!("/v1/recommendations/ada?min_position={at}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&cold).len(), 5, "{cold}");
    assert!(cold["position"].as_i64().unwrap() >= at);
    assert_eq!(
        cold["model_version"],
        format!("p{}", cold["position"].as_i64().unwrap())
    );

    // A view brings similar items first, explained by the item viewed.
    let at = activity(&server, "ada", "viewed", "MUG-1").await;
    let list = server
        .get(&format!(
            "/v1/recommendations/ada?min_position={at}&limit=2"
        ))
        .await
        .expect(StatusCode::OK);
    let first = skus(&list);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|sku| sku.starts_with("MUG-")), "{list}");
    assert!(
        !first.contains(&"MUG-1".to_string()),
        "a viewed item is not recommended"
    );
    let top = &list["items"][0];
    assert_eq!(
        top["because"], "similar to Stoneware mug you viewed",
        "{list}"
    );
    assert!(top["sources"]["content"].as_f64().unwrap() > 0.0);
    assert!(top["title"].is_string() && top["category"] == "home/kitchen/mugs");

    // A dismissed item is gone on the very next request.
    let dismissed = first[0].clone();
    let at = activity(&server, "ada", "dismissed", &dismissed).await;
    let list = server
        .get(&format!("/v1/recommendations/ada?min_position={at}"))
        .await
        .expect(StatusCode::OK);
    assert!(!skus(&list).contains(&dismissed), "{list}");

    // A click is recorded with the list's model version.
    let clicked = server
        .post(
            "/v1/activity",
            &json!({"user_id": "ada", "type": "clicked", "sku": skus(&list)[0],
                    "model_version": list["model_version"]}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(clicked["type"], "clicked");
    let misplaced = server
        .post(
            "/v1/activity",
            &json!({"user_id": "ada", "type": "viewed", "sku": "MUG-2", "model_version": "p1"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        misplaced["errors"][0]["field"], "model_version",
        "{misplaced}"
    );

    // The category filter, and similar items for a product page.
    let office = server
        .get("/v1/recommendations/bob?category=office")
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&office), ["LAMP-1"]);
    let similar = server
        .get("/v1/products/MUG-1/similar?limit=3")
        .await
        .expect(StatusCode::OK);
    // The other mugs first; nothing of another top category; never the mug itself.
    let like_mug = skus(&similar);
    assert!(like_mug.len() >= 2 && !like_mug.contains(&"MUG-1".to_string()));
    assert!(
        like_mug[..2].iter().all(|sku| sku.starts_with("MUG-")),
        "{similar}"
    );
    assert!(!like_mug.contains(&"LAMP-1".to_string()), "{similar}");

    // The latent model: retrained on demand, named by every list, rolled back to the
    // one before. It trains on the model as it stands: first let it take the click.
    server
        .get(&format!(
            "/v1/recommendations/ada?min_position={}",
            clicked["position"]
        ))
        .await
        .expect(StatusCode::OK);
    let first = server
        .post("/v1/admin/recommendations/retrain", &json!({}))
        .await
        .expect(StatusCode::OK);
    let trained = server
        .post("/v1/admin/recommendations/retrain", &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(trained["previous_version"], first["version"], "{trained}");
    let version = trained["version"].as_str().unwrap().to_string();
    assert_eq!(version, format!("als{}", trained["position"]), "{trained}");
    assert!(trained["interactions"].as_u64().unwrap() >= 2, "{trained}");
    let list = server
        .get("/v1/recommendations/ada")
        .await
        .expect(StatusCode::OK);
    assert!(
        list["model_version"]
            .as_str()
            .unwrap()
            .ends_with(&format!(".{version}")),
        "{list}"
    );
    let rolled_back = server
        .post("/v1/admin/recommendations/rollback", &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        rolled_back["previous_version"],
        version.as_str(),
        "{rolled_back}"
    );
    assert_eq!(rolled_back["version"], first["version"], "{rolled_back}");
    let state = server
        .get("/v1/admin/recommendations")
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["version"], rolled_back["version"], "{state}");

    // Bad input writes nothing and says what is wrong.
    for (path, field) in [
        ("/v1/recommendations/ada?limit=51", "limit"),
        ("/v1/recommendations/ada?limit=0", "limit"),
        ("/v1/recommendations/ada?context_sku=a%20b", "context_sku"),
        ("/v1/recommendations/%20?limit=5", "user_id"),
        ("/v1/products/MUG-1/similar?limit=99", "limit"),
    ] {
        let problem = server
            .get(path)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    server
        .get("/v1/products/NOPE/similar")
        .await
        .problem(StatusCode::NOT_FOUND);
    server
        .get("/v1/recommendations/ada?colour=red")
        .await
        .problem(StatusCode::BAD_REQUEST);
}

/// A list tells what its shopper did: only their own token, a `buyers:act` key or
/// the master key reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_shopper_or_who_acts_for_them_reads_a_list() {
    let env = Env::new(Backend::Sqlite).await;
    let server = start_in_production(&env, MASTER, JWT_SECRET, &["--buyer-rate-limit", "0"]).await;
    let master = as_holder(&server, MASTER);
    catalog(&master).await;
    let ada = crate::credentials::buyer(&server, JWT_SECRET, "ada");
    let at = activity(&ada, "ada", "viewed", "APRON-1").await;

    let own = ada
        .get(&format!("/v1/recommendations/ada?min_position={at}"))
        .await
        .expect(StatusCode::OK);
    assert!(!skus(&own).is_empty());
    let refused = ada
        .get("/v1/recommendations/bob")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(refused["type"], "/problems/not_your_profile", "{refused}");

    let reader = key(&master, "reader", &["read"]).await;
    let refused = reader
        .get("/v1/recommendations/ada")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(refused["type"], "/problems/not_your_profile", "{refused}");
    // Similar items tell nothing of anyone: the read scope is enough.
    reader
        .get("/v1/products/MUG-1/similar")
        .await
        .expect(StatusCode::OK);

    let acting = key(&master, "shop-backend", &["read", "buyers:act"]).await;
    for api in [&acting, &master] {
        let list = api
            .get("/v1/recommendations/ada")
            .await
            .expect(StatusCode::OK);
        assert_eq!(skus(&list), skus(&own));
    }
}
