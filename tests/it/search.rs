//! Search through the API: list products, find them (read your writes with
//! `min_position`), filter, suggest, personalise, bad input (a query's words are
//! bounded), and `commerce rebuild search` while the server runs; in production, who
//! may personalise with whose profile.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{as_holder, key, start_in_production};
use crate::on_both_backends;
use crate::support::{Api, Backend, Env};

on_both_backends!(products_are_searchable_over_http);

fn product(sku: &str, title: &str, category: &str, amount: i64) -> Value {
    json!({
        "sku": sku,
        "title": title,
        "description": "Made by hand in a small studio",
        "tags": ["gift"],
        "category": category,
        "materials": ["stoneware"],
        "shop": {"shop_id": "shop-1", "name": "Clay Works", "location": {"lat": 52.37, "lon": 4.89}},
        "price": {"amount": amount, "currency": "EUR"},
        "language": "en"
    })
}

fn skus(answer: &Value) -> Vec<String> {
    answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sku"].as_str().unwrap().to_string())
        .collect()
}

async fn products_are_searchable_over_http(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    server
        .post(
            "/v1/products",
            &product("MUG-1", "Stoneware mug", "home/kitchen/mugs", 1299),
        )
        .await
        .expect(StatusCode::CREATED);
    server
        .post(
            "/v1/products",
            &product("VASE-1", "Tall vase", "home/decor", 4500),
        )
        .await
        .expect(StatusCode::CREATED);
    let listed = server
        .post(
            "/v1/products",
            &product("MUG-2", "Espresso mug", "home/kitchen/mugs", 900),
        )
        .await
        .expect(StatusCode::CREATED);
    let at = listed["position"].as_i64().unwrap();

    let found = server
        .get(&format!(
            "/v1/search?q=mug&sort=price_asc&min_position={at}"
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&found), ["MUG-2", "MUG-1"]);
    assert!(found["position"].as_i64().unwrap() >= at);
    assert_eq!(found["total"], 2);
    assert_eq!(found["facets"]["category"][0]["value"], "home");
    assert_eq!(found["facets"]["category"][0]["count"], 2);
    assert!(found["hits"][0]["highlight"]["title"]
        .as_str()
        .unwrap()
        .contains("<b>mug</b>"));

    let typo = server
        .get("/v1/search?q=stonewere%20mugg")
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&typo)[0], "MUG-1");
    let filtered = server
        .get("/v1/search?category=home/decor&price_min=4500&price_max=4500")
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&filtered), ["VASE-1"]);
    let near = server
        .get("/v1/search?lat=52.37&lon=4.89&radius_km=1&sort=distance")
        .await
        .expect(StatusCode::OK);
    assert_eq!(near["total"], 3);
    let none = server
        .get("/v1/search?q=vasse%20xylophone")
        .await
        .expect(StatusCode::OK);
    assert_eq!(none["total"], 1, "the relaxed query still finds the vase");

    let recorded = server
        .post(
            "/v1/activity",
            &json!({"user_id": "ada", "type": "viewed", "sku": "VASE-1"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let at = recorded["position"].as_i64().unwrap();
    // With an Idempotency-Key a retried report is recorded once.
    let keyed = || {
        server
            .client
            .post(server.url("/v1/activity"))
            .header("idempotency-key", "view-42")
            .json(&json!({"user_id": "bob", "type": "carted", "sku": "MUG-1"}))
    };
    let first = server.send(keyed()).await.expect(StatusCode::CREATED);
    let again = server.send(keyed()).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.expect(StatusCode::CREATED)["position"],
        first["position"]
    );
    let browse = server
        .get(&format!("/v1/search?user_id=ada&min_position={at}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&browse)[0], "VASE-1", "ada looked at decor");
    assert_eq!(browse["total"], 3);

    let suggested = server
        .get("/v1/search/suggest?prefix=esp")
        .await
        .expect(StatusCode::OK);
    assert_eq!(suggested["suggestions"][0]["text"], "Espresso mug");

    for bad in [
        "/v1/search?limit=0",
        "/v1/search?limit=101",
        "/v1/search?lat=91&lon=0",
        "/v1/search?lat=10",
        "/v1/search?sort=distance",
        "/v1/search?radius_km=5",
        "/v1/search?price_min=10&price_max=5",
        "/v1/search/suggest?prefix=",
    ] {
        server
            .get(bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Ten words are searched; an eleventh is refused before any search is made.
    let ten = ["tall", "vase"].repeat(5).join("%20");
    let found = server
        .get(&format!("/v1/search?q={ten}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&found), ["VASE-1"]);
    for (path, field) in [
        (format!("/v1/search?q={ten}%20tall"), "q"),
        // Words as search counts them: punctuation separates them too.
        (format!("/v1/search?q={ten},tall"), "q"),
        (format!("/v1/search/suggest?prefix={ten}%20ta"), "prefix"),
    ] {
        let refused = server
            .get(&path)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused["errors"][0]["field"], field, "{refused}");
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at most 10 words"),
            "{refused}"
        );
    }
    let suggested = server
        .get(&format!("/v1/search/suggest?prefix={ten}"))
        .await
        .expect(StatusCode::OK);
    // (The ten-word search may be a popular query by now: the title is among them.)
    let titles: Vec<&Value> = suggested["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["source"] == "title")
        .map(|s| &s["text"])
        .collect();
    assert_eq!(titles, [&json!("Tall vase")], "{suggested}");

    for bad in [
        "/v1/search?sort=cheapest",
        "/v1/search?price_min=-1",
        "/v1/search?nope=1",
    ] {
        server.get(bad).await.problem(StatusCode::BAD_REQUEST);
    }
    server
        .post("/v1/activity", &json!({"user_id": "ada", "type": "viewed"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);

    // A rebuild through the running server answers like the live index.
    let before = server
        .get("/v1/search?q=mug&sort=price_desc")
        .await
        .expect(StatusCode::OK);
    let rebuilt = env.rebuild("search").await;
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "rebuild failed: {stderr}");
    let after = server
        .get("/v1/search?q=mug&sort=price_desc")
        .await
        .expect(StatusCode::OK);
    assert_eq!(skus(&before), skus(&after));
    assert_eq!(before["facets"], after["facets"]);
}

const MASTER: &str = "search-tests-master-key-0123456789";
const JWT_SECRET: &str = "search-tests-sign-buyer-tokens-with-this";

fn buyer(server: &Api, subject: &str) -> Api {
    crate::credentials::buyer(server, JWT_SECRET, subject)
}

/// A profile tells what its shopper looked at: a search is personalised with one only
/// for that buyer's own token, a `buyers:act` key or the master key. Two lamps match
/// `lamp` alike; ada looked at the office one, bob at the garden one, so the order of
/// the hits shows whose profile was used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_shopper_or_who_acts_for_them_personalises_a_search() {
    let env = Env::new(Backend::Sqlite).await;
    let server = start_in_production(&env, MASTER, JWT_SECRET, &["--buyer-rate-limit", "0"]).await;
    let master = as_holder(&server, MASTER);
    let mut garden = product("LAMP-GARDEN", "Lamp for the garden", "home/garden", 2000);
    garden["shop"]["shop_id"] = json!("shop-garden");
    let mut office = product(
        "LAMP-OFFICE",
        "Lamp for the office",
        "office/lighting",
        2000,
    );
    office["shop"]["shop_id"] = json!("shop-office");
    for lamp in [&garden, &office] {
        master
            .post("/v1/products", lamp)
            .await
            .expect(StatusCode::CREATED);
    }
    let (ada, bob) = (buyer(&server, "ada"), buyer(&server, "bob"));
    let mut at = 0;
    for (shopper, sku) in [(&ada, "LAMP-OFFICE"), (&bob, "LAMP-GARDEN")] {
        // The token names the shopper; the body names nobody.
        let recorded = shopper
            .post("/v1/activity", &json!({"type": "purchased", "sku": sku}))
            .await
            .expect(StatusCode::CREATED);
        at = at.max(recorded["position"].as_i64().unwrap());
    }
    let lamps = |api: &Api, user: Option<&str>| {
        let mut path = format!("/v1/search?q=lamp&min_position={at}");
        if let Some(user) = user {
            path.push_str(&format!("&user_id={user}"));
        }
        let api = api.clone();
        async move { api.get(&path).await }
    };
    let ada_first = ["LAMP-OFFICE", "LAMP-GARDEN"];
    let bob_first = ["LAMP-GARDEN", "LAMP-OFFICE"];

    // A buyer is personalised as themselves, named or not, and may name nobody else.
    for user in [None, Some("ada")] {
        let found = lamps(&ada, user).await.expect(StatusCode::OK);
        assert_eq!(skus(&found), ada_first, "ada as {user:?}");
    }
    let found = lamps(&bob, None).await.expect(StatusCode::OK);
    assert_eq!(skus(&found), bob_first);
    let refused = lamps(&ada, Some("bob"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(refused["type"], "/problems/not_your_profile", "{refused}");

    // A key that acts for buyers (and the master key) may name any shopper.
    let acting = key(&master, "shop-backend", &["read", "buyers:act"]).await;
    for api in [&acting, &master] {
        let found = lamps(api, Some("bob")).await.expect(StatusCode::OK);
        assert_eq!(skus(&found), bob_first);
        let found = lamps(api, Some("ada")).await.expect(StatusCode::OK);
        assert_eq!(skus(&found), ada_first);
    }

    // A key that only reads searches for nobody in particular.
    let reader = key(&master, "reader", &["read"]).await;
    let refused = lamps(&reader, Some("ada"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(refused["type"], "/problems/not_your_profile", "{refused}");
    let found = lamps(&reader, None).await.expect(StatusCode::OK);
    assert_eq!(found["total"], 2);
}
