//! Delivery pricing through the API: a city's policy, a courier, weather and orders
//! move a zone's multiplier and the quotes priced there (capped, explained, sealed),
//! time moves the multiplier on by its dwell, an emergency bounds every quote priced
//! at or after its position, the model rebuilds to the same answers, bad input is
//! refused; in production, who may call which delivery route.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{advance, buyer, key, start_in_production};
use crate::on_both_backends;
use crate::support::{Api, Backend, Env};

async fn wait(api: &Api, order_id: &str, statuses: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{order_id}?wait_for_status={statuses}&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

on_both_backends!(
    a_zone_prices_by_demand_weather_and_emergencies,
    an_order_pays_the_fee_its_quote_promised,
    an_emergency_declared_under_load_bounds_every_later_quote,
);

/// Four km east of the Amsterdam warehouse `open_shop` registers.
pub(crate) const DROPOFF: (f64, f64) = (52.37, 4.949);

pub(crate) fn amsterdam(cap: f64) -> Value {
    json!({
        "city_id": "ams", "time_zone": "Europe/Amsterdam",
        "center": {"lat": 52.37, "lon": 4.89}, "radius_km": 20.0,
        "currency": "EUR", "base_fee": 199, "per_km": 50, "floor": 199, "ceiling": 2000,
        "multiplier_cap": cap, "free_delivery_from": 100000, "rush_hours": []
    })
}

fn quote_body(min_position: i64) -> Value {
    json!({
        "warehouse_id": "ams",
        "dropoff": {"lat": DROPOFF.0, "lon": DROPOFF.1},
        "order_value": 2500,
        "min_position": min_position
    })
}

fn kinds(quote: &Value) -> Vec<&str> {
    quote["multipliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect()
}

async fn a_zone_prices_by_demand_weather_and_emergencies(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    crate::shop::open_shop(&server, 100, 1299).await;

    // Given Amsterdam's policy (setting it again changes nothing) and a courier
    let set = server
        .post("/v1/delivery/cities", &amsterdam(1.4))
        .await
        .expect(StatusCode::OK);
    assert_eq!(set["changed"], true, "{set}");
    let again = server
        .post("/v1/delivery/cities", &amsterdam(1.4))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["changed"], false, "{again}");
    let online = server
        .post(
            "/v1/delivery/couriers/c1",
            &json!({"status": "online", "location": {"lat": DROPOFF.0, "lon": DROPOFF.1}}),
        )
        .await
        .expect(StatusCode::CREATED);

    // When a quiet zone is quoted, the fee is the base by distance, sealed for 10 min
    let quiet = server
        .post(
            "/v1/delivery/quotes",
            &quote_body(online["position"].as_i64().unwrap()),
        )
        .await
        .expect(StatusCode::OK);
    let distance = quiet["distance_km"].as_f64().unwrap();
    assert!((distance - 4.0).abs() < 0.1, "{quiet}");
    assert_eq!(
        quiet["fee"]["amount"],
        199 + (50.0 * distance).round() as i64,
        "{quiet}"
    );
    assert_eq!(quiet["fee"]["currency"], "EUR");
    assert!(kinds(&quiet).is_empty(), "{quiet}");
    assert_eq!(quiet["pickup_warehouse"], "ams");
    assert!(quiet["quote_id"].as_str().unwrap().starts_with("v1."));
    let issued: chrono::DateTime<chrono::Utc> =
        quiet["issued_at"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        quiet["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires - issued, chrono::Duration::minutes(10));
    let cell = quiet["dropoff_cell"].as_str().unwrap().to_string();

    // When it rains over the city, the quote names the rain
    let rain = server
        .post(
            "/v1/delivery/weather",
            &json!({"city_id": "ams", "condition": "rain",
                    "from": (issued - chrono::Duration::minutes(1)).to_rfc3339(),
                    "until": (issued + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await
        .expect(StatusCode::CREATED);
    let wet = server
        .post(
            "/v1/delivery/quotes",
            &quote_body(rain["position"].as_i64().unwrap()),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(kinds(&wet), vec!["weather"], "{wet}");
    assert!(
        wet["explanation"].as_str().unwrap().starts_with("Rain"),
        "{wet}"
    );

    // When twelve orders are placed for delivery there, against one courier
    let mut last = 0;
    for i in 0..12 {
        let order = json!({"order_id": format!("d-{i}"), "lines": [{"sku": "MUG-1", "quantity": 1}],
                           "ship_to": {"region": "nl", "lat": DROPOFF.0, "lon": DROPOFF.1}});
        let placed = server
            .post("/v1/orders", &order)
            .await
            .expect(StatusCode::CREATED);
        last = placed["position"].as_i64().unwrap();
    }
    // Then the zone shows them, and its multiplier moved one step (then dwells)
    let zone = server
        .get(&format!("/v1/delivery/zones/{cell}?min_position={last}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(zone["demand"], 12.0, "{zone}");
    assert_eq!(zone["supply"], 1, "{zone}");
    assert!(zone["ratio"].as_f64().unwrap() > 2.0, "{zone}");
    assert_eq!(zone["demand_multiplier"], 1.1, "{zone}");
    assert_eq!(zone["city_id"], "ams");
    // And a quote there stacks rain and demand, and the city's cap of 1.4 binds
    let busy = server
        .post("/v1/delivery/quotes", &quote_body(last))
        .await
        .expect(StatusCode::OK);
    assert_eq!(kinds(&busy), vec!["weather", "demand"], "{busy}");
    assert_eq!(busy["applied"], 1.4, "{busy}");
    assert_eq!(busy["bindings"][0]["rule"], "global_cap", "{busy}");
    assert_eq!(
        busy["explanation"], "Rain and high demand near you: 1.3 × 1.1, capped at 1.4",
        "{busy}"
    );
    // And after the dwell time, with the orders still in the window, it moves again
    advance(&server, 6 * 60).await;
    let later = server
        .get(&format!("/v1/delivery/zones/{cell}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(later["demand_multiplier"], 1.2, "{later}");

    // When an emergency is declared, every quote priced at or after its position
    // knows it (with no earlier days charged, its cap is the ordinary cap)
    let declared = server
        .post(
            "/v1/delivery/cities/ams/emergency",
            &json!({"reason": "storm"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(declared["emergency"], true);
    let at = declared["position"].as_i64().unwrap();
    let during = server
        .post("/v1/delivery/quotes", &quote_body(at))
        .await
        .expect(StatusCode::OK);
    assert!(during["position"].as_i64().unwrap() >= at, "{during}");
    assert!(during["applied"].as_f64().unwrap() <= 1.4, "{during}");
    let ended = server
        .send(
            server
                .client
                .delete(server.url("/v1/delivery/cities/ams/emergency")),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(ended["emergency"], false);
    server
        .post(
            "/v1/delivery/cities/nowhere/emergency",
            &json!({"reason": "storm"}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);

    // The city's forecast needs a week of history; courier moves are suggested
    let forecast = server
        .get("/v1/delivery/cities/ams/forecast")
        .await
        .expect(StatusCode::OK);
    assert_eq!(forecast["forecast"], Value::Null, "{forecast}");
    let moves = server
        .get("/v1/delivery/rebalancing?city=ams")
        .await
        .expect(StatusCode::OK);
    assert!(moves["moves"].is_array(), "{moves}");
    server
        .get("/v1/delivery/rebalancing?city=nowhere")
        .await
        .problem(StatusCode::NOT_FOUND);

    // A rebuild replays the log to the same zone
    let before = server
        .get(&format!("/v1/delivery/zones/{cell}"))
        .await
        .expect(StatusCode::OK);
    let rebuilt = env.rebuild("delivery").await;
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "rebuild failed: {stderr}");
    let after = server.head().await;
    let zone_after = server
        .get(&format!("/v1/delivery/zones/{cell}?min_position={after}"))
        .await
        .expect(StatusCode::OK);
    for field in ["demand", "supply", "ratio", "demand_multiplier"] {
        assert_eq!(
            zone_after[field], before[field],
            "{field}: {before} then {zone_after}"
        );
    }

    bad_input_is_refused(&server).await;
}

async fn bad_input_is_refused(server: &Api) {
    let paris =
        json!({"warehouse_id": "ams", "dropoff": {"lat": 48.85, "lon": 2.35}, "order_value": 0});
    let problem = server
        .post("/v1/delivery/quotes", &paris)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["type"], "/problems/outside_delivery_area",
        "{problem}"
    );
    let nowhere = json!({"dropoff": {"lat": DROPOFF.0, "lon": DROPOFF.1}, "order_value": 0});
    server
        .post("/v1/delivery/quotes", &nowhere)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let far_pickup = json!({"pickup": {"lat": 52.0, "lon": 5.5}, "dropoff": {"lat": DROPOFF.0, "lon": DROPOFF.1}, "order_value": 0});
    let problem = server
        .post("/v1/delivery/quotes", &far_pickup)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["type"], "/problems/no_pickup_warehouse",
        "{problem}"
    );
    let unknown = json!({"warehouse_id": "nope", "dropoff": {"lat": DROPOFF.0, "lon": DROPOFF.1}, "order_value": 0});
    server
        .post("/v1/delivery/quotes", &unknown)
        .await
        .problem(StatusCode::NOT_FOUND);
    let tomorrow = json!({"warehouse_id": "ams", "dropoff": {"lat": DROPOFF.0, "lon": DROPOFF.1},
                          "order_value": 0, "at": "2999-01-01T00:00:00Z"});
    server
        .post("/v1/delivery/quotes", &tomorrow)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .get("/v1/delivery/zones/not-a-cell")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .post("/v1/delivery/couriers/c2", &json!({"status": "online"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    server
        .post(
            "/v1/delivery/weather",
            &json!({"city_id": "ams", "condition": "snow", "from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let mut mars = amsterdam(1.4);
    mars["time_zone"] = json!("Mars/Olympus");
    server
        .post("/v1/delivery/cities", &mars)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad_window = amsterdam(1.4);
    bad_window["rush_hours"] = json!([{"days": ["funday"], "from": "25:00", "until": "19:00"}]);
    let problem = server
        .post("/v1/delivery/cities", &bad_window)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");
}

fn quoted_order(order_id: &str, quantity: u64, quote: &str, to: (f64, f64)) -> Value {
    json!({"order_id": order_id, "lines": [{"sku": "MUG-1", "quantity": quantity}],
           "ship_to": {"region": "nl", "lat": to.0, "lon": to.1},
           "delivery_quote_id": quote})
}

async fn an_order_pays_the_fee_its_quote_promised(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    crate::shop::open_shop(&server, 100, 1299).await;
    let set = server
        .post("/v1/delivery/cities", &amsterdam(2.0))
        .await
        .expect(StatusCode::OK);
    // A quote for goods worth 25.00 does not serve a mug of 12.99
    let dearer = server
        .post(
            "/v1/delivery/quotes",
            &quote_body(set["position"].as_i64().unwrap()),
        )
        .await
        .expect(StatusCode::OK);
    let problem = server
        .post(
            "/v1/orders",
            &quoted_order("q-0", 1, dearer["quote_id"].as_str().unwrap(), DROPOFF),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "/problems/quote_order_value", "{problem}");
    let mut body = quote_body(set["position"].as_i64().unwrap());
    body["order_value"] = json!(1299);
    let quote = server
        .post("/v1/delivery/quotes", &body)
        .await
        .expect(StatusCode::OK);
    let token = quote["quote_id"].as_str().unwrap();
    let fee = quote["fee"]["amount"].as_i64().unwrap();

    // When an order uses the quote, its total is the goods and the quoted fee
    let placed = server
        .post("/v1/orders", &quoted_order("q-1", 1, token, DROPOFF))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        placed["goods_total"],
        json!({"amount": 1299, "currency": "EUR"}),
        "{placed}"
    );
    assert_eq!(
        placed["total"],
        json!({"amount": 1299 + fee, "currency": "EUR"}),
        "{placed}"
    );
    assert_eq!(placed["delivery"]["fee"]["amount"], fee, "{placed}");
    assert_eq!(placed["delivery"]["pickup_warehouse"], "ams");
    // And it ships from the quote's warehouse, and the total is what is paid
    let reserved = wait(&server, "q-1", "reserved,rejected").await;
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    assert_eq!(reserved["reserved"][0]["warehouse_id"], "ams");
    assert!(reserved["explanation"]
        .as_str()
        .unwrap()
        .contains("quoted pickup warehouse"));
    server
        .post("/v1/payments/sandbox/q-1", &json!({"status": "succeeded"}))
        .await
        .expect(StatusCode::OK);
    let confirmed = wait(&server, "q-1", "confirmed,paid").await;
    assert!(
        ["confirmed", "paid"].contains(&confirmed["status"].as_str().unwrap()),
        "{confirmed}"
    );
    assert_eq!(
        confirmed["total"]["amount"],
        1299 + fee,
        "the fee never changes"
    );

    // A quote the warehouse cannot fill from its own stock: rejected, never re-priced
    let short = server
        .post("/v1/orders", &quoted_order("q-big", 500, token, DROPOFF))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(short["status"], "placed");
    let rejected = wait(&server, "q-big", "reserved,rejected").await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert!(
        rejected["explanation"]
            .as_str()
            .unwrap()
            .contains("quoted pickup warehouse ams"),
        "{rejected}"
    );

    // A changed, misplaced or pointless quote is refused and writes nothing
    // A character inside the seal (the last one also carries padding bits, so a
    // change there may not decode at all: malformed rather than forged).
    let mut forged: Vec<char> = token.chars().collect();
    let at = forged.len() - 5;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let problem = server
        .post("/v1/orders", &quoted_order("q-2", 1, &forged, DROPOFF))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "/problems/quote_forged", "{problem}");
    let problem = server
        .post("/v1/orders", &quoted_order("q-2", 1, token, (52.30, 4.80)))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "/problems/quote_other_cell", "{problem}");
    let mut pointless = quoted_order("q-2", 1, token, DROPOFF);
    pointless["ship_to"] = json!({"region": "nl"});
    server
        .post("/v1/orders", &pointless)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    // And once it has expired, too
    advance(&server, 11 * 60).await;
    let problem = server
        .post("/v1/orders", &quoted_order("q-2", 1, token, DROPOFF))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "/problems/quote_expired", "{problem}");
    server
        .get("/v1/orders/q-2")
        .await
        .problem(StatusCode::NOT_FOUND);
}

/// The server's time now (the manual clock, moved by nothing).
async fn now(server: &Api) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(advance(server, 0).await, 0).unwrap()
}

/// Conditions over the dropoff for the next two hours: rain, a local event, demand.
async fn conditions(server: &Api, day: usize, rain: bool, event: bool, demand: bool) {
    let at = now(server).await;
    let (from, until) = (
        (at - chrono::Duration::minutes(1)).to_rfc3339(),
        (at + chrono::Duration::hours(2)).to_rfc3339(),
    );
    if rain {
        server
            .post(
                "/v1/delivery/weather",
                &json!({"city_id": "ams", "condition": "rain", "from": from, "until": until}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    if event {
        server
            .post(
                "/v1/delivery/local-events",
                &json!({"event_id": format!("fair-{day}"), "name": "Fair",
                        "location": {"lat": DROPOFF.0, "lon": DROPOFF.1}, "radius_km": 1.0,
                        "starts_at": from, "ends_at": until, "expected_attendance": 5000}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    if demand {
        for i in 0..12 {
            let order = json!({"order_id": format!("busy-{day}-{i}"),
                               "lines": [{"sku": "MUG-1", "quantity": 1}],
                               "ship_to": {"region": "nl", "lat": DROPOFF.0, "lon": DROPOFF.1}});
            server
                .post("/v1/orders", &order)
                .await
                .expect(StatusCode::CREATED);
        }
    }
}

/// A quote for one mug to the dropoff, once the model has seen everything so far.
async fn quote_now(server: &Api) -> Value {
    let mut body = quote_body(server.head().await);
    body["order_value"] = json!(1299);
    server
        .post("/v1/delivery/quotes", &body)
        .await
        .expect(StatusCode::OK)
}

async fn an_emergency_declared_under_load_bounds_every_later_quote(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;
    crate::shop::open_shop(&server, 1_000, 1299).await;
    server
        .post("/v1/delivery/cities", &amsterdam(3.0))
        .await
        .expect(StatusCode::OK);
    server
        .post(
            "/v1/delivery/couriers/c1",
            &json!({"status": "online", "location": {"lat": DROPOFF.0, "lon": DROPOFF.1}}),
        )
        .await
        .expect(StatusCode::CREATED);
    // Given five days on which an order paid delivery at 1.3 (rain), 1.15 (a fair),
    // 1.495 (both), 1.43 (rain, demand) and 1.265 (a fair, demand)
    let days = [
        (true, false, false),
        (false, true, false),
        (true, true, false),
        (true, false, true),
        (false, true, true),
    ];
    let mut charged = Vec::new();
    for (day, (rain, event, demand)) in days.into_iter().enumerate() {
        conditions(&server, day, rain, event, demand).await;
        let quote = quote_now(&server).await;
        charged.push(quote["applied"].as_f64().unwrap());
        server
            .post(
                "/v1/orders",
                &quoted_order(
                    &format!("paid-{day}"),
                    1,
                    quote["quote_id"].as_str().unwrap(),
                    DROPOFF,
                ),
            )
            .await
            .expect(StatusCode::CREATED);
        advance(&server, 24 * 3600).await;
    }
    charged.sort_by(|a, b| b.total_cmp(a));
    let cap = charged[3];
    assert!((cap - 1.265).abs() < 1e-9, "{charged:?}");
    // And today all three at once: 1.3 × 1.15 × 1.1
    conditions(&server, 5, true, true, true).await;
    let before = quote_now(&server).await;
    assert!(before["applied"].as_f64().unwrap() > cap, "{before}");

    // When an emergency is declared while four clients keep quoting
    let declared = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(i64::MAX));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            let declared = declared.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut after = 0;
                while after < 20 {
                    let quote = server
                        .post("/v1/delivery/quotes", &{
                            let mut body = quote_body(0);
                            body["order_value"] = json!(1299);
                            body.as_object_mut().unwrap().remove("min_position");
                            body
                        })
                        .await
                        .expect(StatusCode::OK);
                    let position = quote["position"].as_i64().unwrap();
                    if position >= declared.load(std::sync::atomic::Ordering::SeqCst) {
                        after += 1;
                    }
                    seen.push((position, quote["applied"].as_f64().unwrap()));
                }
                seen
            })
        })
        .collect();
    let emergency = server
        .post(
            "/v1/delivery/cities/ams/emergency",
            &json!({"reason": "storm"}),
        )
        .await
        .expect(StatusCode::OK);
    let at = emergency["position"].as_i64().unwrap();
    declared.store(at, std::sync::atomic::Ordering::SeqCst);
    // Then every quote priced at or after its position obeys the cap, the
    // 4th-highest daily charge before today
    let mut later = 0;
    for client in clients {
        for (position, applied) in client.await.unwrap() {
            if position >= at {
                later += 1;
                assert!(
                    applied <= cap + 1e-9,
                    "priced at {position} ≥ {at}: {applied} > {cap}"
                );
            }
        }
    }
    assert!(later >= 80, "{later} quotes after the declaration");
}

const MASTER: &str = "delivery-tests-master-key-0123456";
const JWT_SECRET: &str = "delivery-tests-sign-buyer-tokens-with-this";
const QUOTE_SECRET: &str = "delivery-tests-seal-quotes-with-this-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_delivery_route_asks_its_own_scope() {
    let env = Env::new(Backend::Sqlite).await;
    let server =
        start_in_production(&env, MASTER, JWT_SECRET, &["--quote-secrets", QUOTE_SECRET]).await;
    let master = crate::credentials::as_holder(&server, MASTER);
    crate::shop::open_shop(&master, 10, 1299).await;
    let operator = key(&master, "operations", &["delivery:write"]).await;
    let courier_app = key(&master, "courier app", &["couriers:write"]).await;
    let reader = key(&master, "shop backend", &["read"]).await;
    let shopper = buyer(&server, JWT_SECRET, "shopper-1");

    // Only operators set cities; couriers' apps report couriers only
    reader
        .post("/v1/delivery/cities", &amsterdam(2.0))
        .await
        .problem(StatusCode::FORBIDDEN);
    courier_app
        .post("/v1/delivery/cities", &amsterdam(2.0))
        .await
        .problem(StatusCode::FORBIDDEN);
    let set = operator
        .post("/v1/delivery/cities", &amsterdam(2.0))
        .await
        .expect(StatusCode::OK);
    let courier = json!({"status": "online", "location": {"lat": DROPOFF.0, "lon": DROPOFF.1}});
    operator
        .post("/v1/delivery/couriers/c1", &courier)
        .await
        .problem(StatusCode::FORBIDDEN);
    shopper
        .post("/v1/delivery/couriers/c1", &courier)
        .await
        .problem(StatusCode::FORBIDDEN);
    courier_app
        .post("/v1/delivery/couriers/c1", &courier)
        .await
        .expect(StatusCode::CREATED);
    let weather = json!({"city_id": "ams", "condition": "rain", "from": "2026-01-01T00:00:00Z", "until": "2026-01-01T01:00:00Z"});
    shopper
        .post("/v1/delivery/weather", &weather)
        .await
        .problem(StatusCode::FORBIDDEN);
    shopper
        .post(
            "/v1/delivery/cities/ams/emergency",
            &json!({"reason": "storm"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);

    // Buyers and shops quote; a buyer's quote is sealed for that buyer
    let position = set["position"].as_i64().unwrap();
    let mine = shopper
        .post("/v1/delivery/quotes", &quote_body(position))
        .await
        .expect(StatusCode::OK);
    reader
        .post("/v1/delivery/quotes", &quote_body(position))
        .await
        .expect(StatusCode::OK);
    let token = mine["quote_id"].as_str().unwrap();
    let issued = mine["issued_at"].as_str().unwrap().parse().unwrap();
    let terms = domain::delivery::QuoteTerms::open(token, &[QUOTE_SECRET.as_bytes()], issued)
        .expect("sealed with the configured secret");
    assert_eq!(terms.buyer.as_deref(), Some("shopper-1"), "{terms:?}");
    assert_eq!(terms.fee, mine["fee"]["amount"].as_u64().unwrap());
    // Buyers do not read the operators' views
    shopper
        .get("/v1/delivery/rebalancing?city=ams")
        .await
        .problem(StatusCode::FORBIDDEN);
    reader
        .get("/v1/delivery/rebalancing?city=ams")
        .await
        .expect(StatusCode::OK);
}
