//! Stays through the API: a host's listing is found by search with its score
//! explained, booked (the check-out day free for the next guest), paid through the
//! payment webhook and confirmed; an unpaid hold lapses and frees its nights;
//! overlapping requests at once make exactly one hold, also from two processes on
//! one database; a night recorded for two stays past the aggregate raises the
//! double-booking alarm; a guest's cancellation is refunded by the listing's
//! policy; in production, who may call which stays route, and a flagged listing
//! hidden until an admin approves it.

use chrono::{Duration, NaiveDate, Utc};
use event_log::{AppendBatch, NewEvent};
use event_schemas::Metadata;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::credentials::{advance, as_holder, buyer, key, start_in_production};
use crate::on_both_backends;
use crate::support::{Api, Backend, Env};

on_both_backends!(
    a_stay_is_found_booked_paid_and_an_unpaid_hold_lapses,
    overlapping_requests_at_once_make_exactly_one_hold,
    a_night_recorded_twice_past_the_aggregate_raises_the_alarm,
    a_guest_cancellation_is_refunded_by_the_policy,
    a_refund_lost_to_a_crash_after_the_cancellation_is_still_asked,
);

/// A date `days` after today (UTC; every listing here is in Berlin, and a month
/// ahead the difference cannot matter).
fn day(days: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(days)
}

/// A listing of `host` in Berlin: 100.00 a night, 30.00 cleaning, instant book.
pub fn listing(id: &str, host: &str, photo_hash: &str) -> Value {
    json!({
        "listing_id": id,
        "host_id": host,
        "title": format!("Loft {id} by the canal"),
        "description": format!("A bright loft number {id}, two minutes from the station, with a balcony."),
        "photos": [{"url": format!("https://photos.example/{id}.jpg"), "content_hash": photo_hash}],
        "location": {"lat": 52.52, "lon": 13.405},
        "time_zone": "Europe/Berlin",
        "property_type": "apartment",
        "capacity": 4,
        "amenities": ["wifi", "kitchen"],
        "currency": "EUR",
        "nightly_price": 10000,
        "cleaning_fee": 3000,
        "cancellation_policy": "moderate",
        "min_nights": 1,
        "max_nights": 30,
        "check_in_time": "15:00",
        "check_out_time": "11:00",
        "instant_book": true
    })
}

/// The refusal's code: the last part of its problem type.
fn code(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

pub(crate) fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

pub(crate) fn booking(stay_id: &str, guest: &str, from: i64, until: i64) -> Value {
    json!({
        "stay_id": stay_id, "guest_id": guest,
        "check_in": day(from), "check_out": day(until), "guests": 2
    })
}

async fn search(api: &Api, from: i64, until: i64, min_position: i64) -> Value {
    api.get(&format!(
        "/v1/stays/search?lat=52.52&lon=13.40&radius_km=10&check_in={}&check_out={}&guests=2&min_position={min_position}",
        day(from),
        day(until)
    ))
    .await
    .expect(StatusCode::OK)
}

fn ids(found: &Value) -> Vec<&str> {
    found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["listing_id"].as_str().unwrap())
        .collect()
}

async fn order_status(api: &Api, order_id: &str, statuses: &str) -> Value {
    api.get(&format!(
        "/v1/orders/{order_id}?wait_for_status={statuses}&timeout_ms=20000"
    ))
    .await
    .expect(StatusCode::OK)
}

async fn pay(api: &Api, order_id: &str) -> Value {
    api.post(
        &format!("/v1/payments/sandbox/{order_id}"),
        &json!({ "status": "succeeded" }),
    )
    .await
    .expect(StatusCode::OK)
}

/// The events written after `head`, by type, but for searches: those are recorded
/// in the background and may land at any time after the search.
async fn written_since(env: &Env, head: i64) -> Vec<String> {
    let db = event_log::Database::connect(env.database_url(), env.data_dir())
        .await
        .unwrap();
    db.read_envelopes_after(head, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aggregate_type != event_schemas::stays::STAY_SEARCH_AGGREGATE)
        .map(|e| e.event_type)
        .collect()
}

async fn a_stay_is_found_booked_paid_and_an_unpaid_hold_lapses(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start_with(&["--clock", "manual"]).await;

    // Given a host's listing, found by a search for its dates with every component
    // of its score explained
    let created = server
        .post("/v1/stays", &listing("loft", "host-1", &hash(1)))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["status"], "active", "{created}");
    let found = search(&server, 30, 33, created["position"].as_i64().unwrap()).await;
    assert_eq!(ids(&found), ["loft"], "{found}");
    let hit = &found["hits"][0];
    assert_eq!(hit["total_price"], 3 * 10000 + 3000, "{hit}");
    let components: Vec<&str> = hit["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        components,
        [
            "quality",
            "relevance",
            "personalisation",
            "price",
            "availability"
        ]
    );
    let sum: f64 = hit["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    assert!((sum - hit["score"].as_f64().unwrap()).abs() < 1e-9, "{hit}");

    // When a guest books three nights, naming the search
    let mut first = booking("s-1", "guest-1", 30, 33);
    first["search_id"] = found["search_id"].clone();
    let held = server
        .post("/v1/stays/loft/bookings", &first)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(held["price"]["total"], 33000);
    assert_eq!(held["order_id"], "stay:4.loft.s-1");
    // Then overlapping nights are refused with the nights taken, writing nothing,
    let head = server.head().await;
    let taken = server
        .post(
            "/v1/stays/loft/bookings",
            &booking("s-2", "guest-2", 32, 34),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(code(&taken), "stay_nights_taken", "{taken}");
    assert_eq!(taken["taken_nights"], json!([day(32).to_string()]));
    assert_eq!(written_since(&env, head).await, Vec::<String>::new());
    // bad input is refused with nothing written,
    for (body, field) in [
        (booking("s-x", "guest-2", 35, 35), "check_out"),
        (booking("s-x", "guest-2", -1, 2), "check_in"),
        (booking("s-x", "guest-2", 800, 801), "check_out"),
        (
            json!({"stay_id": "s-x", "guest_id": "g", "check_in": day(40), "check_out": day(41), "guests": 9}),
            "guests",
        ),
    ] {
        let refused = server
            .post("/v1/stays/loft/bookings", &body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.to_string().contains(field), "{field}: {refused}");
    }
    assert_eq!(written_since(&env, head).await, Vec::<String>::new());
    // and the check-out day is the next guest's check-in.
    let adjacent = server
        .post(
            "/v1/stays/loft/bookings",
            &booking("s-3", "guest-3", 33, 35),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(adjacent["status"], "held", "{adjacent}");
    let gone = search(&server, 31, 32, adjacent["position"].as_i64().unwrap()).await;
    assert_eq!(gone["total"], 0, "a held night is not free: {gone}");

    // When the first guest pays, the stay is confirmed
    pay(&server, "stay:4.loft.s-1").await;
    let confirmed = order_status(&server, "stay:4.loft.s-1", "confirmed").await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    let stay = server
        .get(&format!(
            "/v1/stays/loft/bookings/s-1?min_position={}",
            confirmed["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(stay["status"], "confirmed", "{stay}");

    // and the unpaid hold lapses when its payment window passes: its nights are
    // free again, for search and for booking.
    advance(&server, 16 * 60).await;
    let timed_out = order_status(&server, "stay:4.loft.s-3", "timed_out").await;
    assert_eq!(timed_out["status"], "timed_out", "{timed_out}");
    let lapsed = server
        .get(&format!(
            "/v1/stays/loft/bookings/s-3?min_position={}",
            timed_out["position"]
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(lapsed["status"], "lapsed", "{lapsed}");
    let free = search(&server, 33, 35, server.head().await).await;
    assert_eq!(ids(&free), ["loft"], "{free}");
    server
        .post(
            "/v1/stays/loft/bookings",
            &booking("s-4", "guest-4", 33, 35),
        )
        .await
        .expect(StatusCode::CREATED);

    // A booking retried with its Idempotency-Key is answered as it was the first time.
    let keyed = || {
        server.send(
            server
                .client
                .post(server.url("/v1/stays/loft/bookings"))
                .header("idempotency-key", "book-once")
                .json(&json!({"guest_id": "guest-5", "check_in": day(40), "check_out": day(41), "guests": 1})),
        )
    };
    let first = keyed().await;
    let first_stay = first.expect(StatusCode::CREATED);
    let again = keyed().await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let again_stay = again.expect(StatusCode::CREATED);
    assert_eq!(again_stay["stay_id"], first_stay["stay_id"]);
    assert_eq!(again_stay["status"], "held", "{again_stay}");

    // No double booking was ever recorded.
    let alarms = server
        .get("/v1/admin/stays/double-bookings")
        .await
        .expect(StatusCode::OK);
    assert_eq!(alarms["double_bookings"], json!([]));
    let ready = server.get("/ready").await.expect(StatusCode::OK);
    assert_eq!(ready["status"], "ready", "{ready}");
}

async fn overlapping_requests_at_once_make_exactly_one_hold(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    // On PostgreSQL a second process on the same database takes half the requests.
    let sibling_env = env.sibling();
    let second = match backend {
        Backend::Postgres => Some(sibling_env.start().await),
        Backend::Sqlite => None,
    };
    let created = server
        .post("/v1/stays", &listing("cabin", "host-1", &hash(2)))
        .await
        .expect(StatusCode::CREATED);
    if let Some(second) = &second {
        // The second process knows the listing before the race starts.
        second
            .get(&format!(
                "/v1/stays/cabin?min_position={}",
                created["position"]
            ))
            .await
            .expect(StatusCode::OK);
    }

    // When 100 guests ask at once for overlapping nights
    let requests = (0..100).map(|i| {
        let api: &Api = match (&second, i % 2) {
            (Some(second), 1) => second,
            _ => &server,
        };
        let body = booking(
            &format!("race-{i}"),
            &format!("guest-{i}"),
            20 + i % 3,
            23 + i % 3,
        );
        async move {
            let answer = api.post("/v1/stays/cabin/bookings", &body).await;
            (answer.status, answer.json())
        }
    });
    let answers = futures::future::join_all(requests).await;

    // Then exactly one holds; every other is refused for taken nights
    let held: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(held.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            assert_eq!(code(body), "stay_nights_taken", "{body}");
        }
    }
    // and the booked-nights projection agrees: no alarm.
    let head = server.head().await;
    let page = server
        .get(&format!("/v1/stays/cabin?min_position={head}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["listing"]["listing_id"], "cabin");
    let alarms = server
        .get("/v1/admin/stays/double-bookings")
        .await
        .expect(StatusCode::OK);
    assert_eq!(alarms["double_bookings"], json!([]));
}

/// Append `StayHeld` for `stay_id` on `listing_id`'s stream directly, past the
/// aggregate (as a logic error would), while no server runs.
async fn append_past_the_aggregate(
    env: &Env,
    listing_id: &str,
    stay_id: &str,
    from: i64,
    until: i64,
) {
    let nights: Vec<Value> = (from..until)
        .map(|d| json!({"night": day(d), "price": 10000}))
        .collect();
    let stay = json!({
        "stay_id": stay_id, "guest": "intruder", "check_in": day(from), "check_out": day(until),
        "guests": 1, "order_id": format!("stay:{}.{listing_id}.{stay_id}", listing_id.len()),
        "price": {"currency": "EUR", "nights": nights, "cleaning_fee": 3000,
                  "total": 10000 * (until - from) + 3000}
    });
    let held = json!({"StayHeld": {
        "listing_id": listing_id, "stay": stay,
        "expires_at": Utc::now() + Duration::hours(1)
    }});
    append_listing_event(env, listing_id, "StayHeld", held).await;
}

/// Append one event to `listing_id`'s stream directly, while no server runs.
async fn append_listing_event(env: &Env, listing_id: &str, event_type: &str, payload: Value) {
    let (db, store) = env.open_log().await;
    let stream = store.load("listing", listing_id, 0).await.unwrap();
    let batch = AppendBatch {
        aggregate_type: "listing".into(),
        aggregate_id: listing_id.into(),
        expected_sequence: stream.len() as i64,
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: event_type.into(),
            event_version: "1.0".into(),
            payload: payload.to_string(),
            metadata: Metadata::default(),
            occurred_at: Utc::now(),
        }],
        receipts: Vec::new(),
    };
    let appended = store.append(&[batch]).await.unwrap();
    appended
        .into_iter()
        .next()
        .unwrap()
        .expect("the stream's next event");
    assert!(store.head_position().await.unwrap() > 0);
    crate::upcasting::close(db).await;
}

async fn a_night_recorded_twice_past_the_aggregate_raises_the_alarm(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    server
        .post("/v1/stays", &listing("barn", "host-1", &hash(3)))
        .await
        .expect(StatusCode::CREATED);
    server
        .post(
            "/v1/stays/barn/bookings",
            &booking("s-1", "guest-1", 10, 13),
        )
        .await
        .expect(StatusCode::CREATED);
    server.stop().await;

    // Given a second stay of the same nights appended behind the aggregate's back
    append_past_the_aggregate(&env, "barn", "s-evil", 12, 14).await;

    // Then the booked-nights projection does not apply it: the alarm names the
    // listing and night, /ready says degraded, the metric counts it
    let server = env.start().await;
    let head = server.head().await;
    let alarms = server
        .get(&format!(
            "/v1/admin/stays/double-bookings?min_position={head}"
        ))
        .await
        .expect(StatusCode::OK);
    let found = alarms["double_bookings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(found.len(), 1, "{alarms}");
    assert_eq!(found[0]["listing_id"], "barn");
    assert_eq!(found[0]["night"], day(12).to_string());
    assert_eq!(found[0]["stay_id"], "s-evil");
    assert_eq!(found[0]["held_by"], "s-1");
    let ready = server.get("/ready").await.expect(StatusCode::OK);
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["alarms"], json!(["stay_double_booking"]));
    let metrics = server.get("/metrics").await;
    assert!(
        metrics.text.contains("stay_double_booked_nights 1"),
        "{}",
        metrics.text
    );
}

async fn a_guest_cancellation_is_refunded_by_the_policy(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    server
        .post("/v1/stays", &listing("flat", "host-1", &hash(4)))
        .await
        .expect(StatusCode::CREATED);
    server
        .post("/v1/stays/flat/bookings", &booking("s-1", "guest-1", 3, 5))
        .await
        .expect(StatusCode::CREATED);
    pay(&server, "stay:4.flat.s-1").await;
    order_status(&server, "stay:4.flat.s-1", "confirmed").await;

    // When the guest cancels two to three days before check-in (moderate: half the
    // nights, the cleaning fee whole)
    let cancelled = server
        .post("/v1/stays/flat/bookings/s-1/cancellation", &json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["refund"], 10000 + 3000, "{cancelled}");
    // Then the order is refunded that amount, and the nights are free again
    let refunded = order_status(&server, "stay:4.flat.s-1", "refunded").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    server
        .post("/v1/stays/flat/bookings", &booking("s-2", "guest-2", 3, 5))
        .await
        .expect(StatusCode::CREATED);
}

async fn a_refund_lost_to_a_crash_after_the_cancellation_is_still_asked(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    server
        .post("/v1/stays", &listing("loft", "host-1", &hash(9)))
        .await
        .expect(StatusCode::CREATED);
    server
        .post(
            "/v1/stays/loft/bookings",
            &booking("s-1", "guest-1", 30, 33),
        )
        .await
        .expect(StatusCode::CREATED);
    pay(&server, "stay:4.loft.s-1").await;
    order_status(&server, "stay:4.loft.s-1", "confirmed").await;
    server.stop().await;

    // Given a cancellation the listing recorded, and a crash before the order was
    // asked for the refund
    let cancelled = json!({"StayCancelled": {
        "listing_id": "loft", "stay_id": "s-1", "by": "guest",
        "refund": 16000, "refund_share": 0.5
    }});
    append_listing_event(&env, "loft", "StayCancelled", cancelled).await;

    // Then the restarted server asks the order for it, once
    let server = env.start().await;
    let refunded = order_status(&server, "stay:4.loft.s-1", "refunded").await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    assert_eq!(refunded["refund_reason"], "stay_cancelled", "{refunded}");
    server.stop().await;
    let (db, store) = env.open_log().await;
    let refunds: Vec<Value> = store
        .load("order", "stay:4.loft.s-1", 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.payload_json().unwrap().get("RefundRequested").cloned())
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"]["amount"], 16000);
    crate::upcasting::close(db).await;
}

/// A host's token: a buyer token with the `host` role.
fn host(server: &Api, jwt_secret: &str, subject: &str) -> Api {
    let claims = json!({
        "sub": subject, "role": "host", "aud": "commerce",
        "exp": Utc::now().timestamp() + 3600,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(jwt_secret.as_bytes()),
    )
    .unwrap();
    as_holder(server, &token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_hosts_change_their_own_listings_and_guests_see_their_own_stays() {
    const MASTER: &str = "master-key-for-stays-tests";
    const SECRET: &str = "a-buyer-token-secret-of-32-bytes-at-least";
    let env = Env::new(Backend::Sqlite).await;
    let server = start_in_production(&env, MASTER, SECRET, &[]).await;
    let master = as_holder(&server, MASTER);
    let (alice, bob) = (host(&master, SECRET, "alice"), host(&master, SECRET, "bob"));
    let (ann, ben) = (buyer(&master, SECRET, "ann"), buyer(&master, SECRET, "ben"));

    // A host creates its own listing (naming another host is refused); a buyer may
    // not create one
    let mut own = listing("alice-1", "alice", &hash(5));
    own.as_object_mut().unwrap().remove("host_id");
    alice
        .post("/v1/stays", &own)
        .await
        .expect(StatusCode::CREATED);
    let refused = alice
        .post("/v1/stays", &listing("alice-2", "bob", &hash(6)))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(code(&refused), "not_your_listing");
    ann.post("/v1/stays", &listing("ann-1", "ann", &hash(7)))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Another host may not change it, block its nights or answer its requests
    let changed = bob
        .send(bob.client.put(bob.url("/v1/stays/alice-1")).json(&listing(
            "alice-1",
            "bob",
            &hash(5),
        )))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(code(&changed), "not_your_listing", "{changed}");
    bob.post(
        "/v1/stays/alice-1/calendar",
        &json!({"from": day(5), "until": day(6), "change": "blocked"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A key with stays:write acts for the listing's host; one without is refused
    let channel = key(&master, "channel-manager", &["stays:write"]).await;
    channel
        .post(
            "/v1/stays/alice-1/calendar",
            &json!({"from": day(50), "until": day(52), "change": "price", "nightly_price": 15000}),
        )
        .await
        .expect(StatusCode::OK);
    let reader = key(&master, "reader", &["read"]).await;
    reader
        .post("/v1/stays", &listing("r-1", "alice", &hash(8)))
        .await
        .problem(StatusCode::FORBIDDEN);

    // A guest books for itself only, and sees only its own stays
    let mut stay = booking("ann-stay", "ann", 20, 22);
    stay.as_object_mut().unwrap().remove("guest_id");
    ann.post("/v1/stays/alice-1/bookings", &stay)
        .await
        .expect(StatusCode::CREATED);
    ann.post(
        "/v1/stays/alice-1/bookings",
        &booking("ann-2", "ben", 24, 25),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    ann.get("/v1/stays/alice-1/bookings/ann-stay")
        .await
        .expect(StatusCode::OK);
    ben.get("/v1/stays/alice-1/bookings/ann-stay")
        .await
        .problem(StatusCode::NOT_FOUND);
    ben.post(
        "/v1/stays/alice-1/bookings/ann-stay/cancellation",
        &json!({}),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    // A host's token is not a guest's
    alice
        .post(
            "/v1/stays/alice-1/bookings",
            &booking("a-1", "alice", 26, 27),
        )
        .await
        .problem(StatusCode::FORBIDDEN);

    // The host sees the listing's stays (a key acting for it too); another host, a
    // guest or a reader does not
    let listed = alice
        .get("/v1/stays/alice-1/bookings")
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["stays"][0]["stay_id"], "ann-stay");
    assert_eq!(listed["stays"][0]["status"], "held");
    assert_eq!(listed["stays"][0]["guest"], "ann");
    let held = channel
        .get("/v1/stays/alice-1/bookings?status=held")
        .await
        .expect(StatusCode::OK);
    assert_eq!(held["total"], 1, "{held}");
    let confirmed = alice
        .get("/v1/stays/alice-1/bookings?status=confirmed")
        .await
        .expect(StatusCode::OK);
    assert_eq!(confirmed["total"], 0, "{confirmed}");
    let after = alice
        .get(&format!("/v1/stays/alice-1/bookings?after={}", day(22)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(after["total"], 0, "checked out on the 22nd: {after}");
    let bad = alice
        .get("/v1/stays/alice-1/bookings?status=paid")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&bad), "invalid_command", "{bad}");
    let others = bob
        .get("/v1/stays/alice-1/bookings")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(code(&others), "not_your_listing", "{others}");
    ann.get("/v1/stays/alice-1/bookings")
        .await
        .problem(StatusCode::FORBIDDEN);
    reader
        .get("/v1/stays/alice-1/bookings")
        .await
        .problem(StatusCode::FORBIDDEN);
    channel
        .get("/v1/stays/nowhere/bookings")
        .await
        .problem(StatusCode::NOT_FOUND);

    // Bob's listing reuses Alice's photo: flagged, hidden from search until an admin
    // approves it
    let copied = bob
        .post("/v1/stays", &{
            let mut copy = listing("bob-1", "bob", &hash(5));
            copy.as_object_mut().unwrap().remove("host_id");
            copy
        })
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(copied["status"], "flagged", "{copied}");
    let kinds: Vec<&str> = copied["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"photo_reused"), "{copied}");
    let position = copied["position"].as_i64().unwrap();
    let hidden = search(&reader, 60, 62, position).await;
    assert_eq!(ids(&hidden), ["alice-1"], "{hidden}");
    bob.post("/v1/stays/bob-1/review", &json!({"decision": "approved"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    let flagged = master
        .get("/v1/admin/stays/flagged")
        .await
        .expect(StatusCode::OK);
    assert!(flagged.to_string().contains("bob-1"), "{flagged}");
    let approved = master
        .post("/v1/stays/bob-1/review", &json!({"decision": "approved"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(approved["status"], "active");
    let shown = search(&reader, 60, 62, approved["position"].as_i64().unwrap()).await;
    let mut shown_ids = ids(&shown);
    shown_ids.sort();
    assert_eq!(shown_ids, ["alice-1", "bob-1"], "{shown}");
}
