//! Production mode: who may call what.
//!
//! The table runs every route of the router against every kind of credential on one
//! SQLite server (the checks sit in front of the store, so one backend is enough for
//! it); one PostgreSQL test covers a revocation made on one process and honoured by
//! another on the same database.
//!
//! Not covered: a buyer's token used for another buyer's resources. No route acts for
//! a buyer yet (buyers may only call routes that ask for no scope), so there is
//! nothing to try it on; add it with the first buyer route.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{warehouse, Answer, Api, Backend, Env, Server};

/// The HS256 secret the shop signs buyer tokens with.
const JWT_SECRET: &str = "the-shop-signs-buyer-tokens-with-this";
/// How long another process may take to learn of a key change (guards against a
/// hang only: the loops stop as soon as the change is seen).
const PROPAGATION_BOUND: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(50);

/// A fresh master key: 32 random characters.
fn new_master_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `commerce serve --env production` with a master key, a buyer-token secret and
/// the manual clock, plus `extra`.
async fn start_production(env: &Env, master: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--clock", "manual"];
    args.extend_from_slice(extra);
    crate::credentials::start_in_production(env, master, JWT_SECRET, &args).await
}

/// One request, with `Authorization: Bearer <bearer>` when given.
async fn call(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<&Value>,
    bearer: Option<&str>,
) -> Answer {
    let mut request = api.client.request(method, api.url(path));
    if let Some(bearer) = bearer {
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    api.send(request).await
}

/// An API key as created: its id and its secret (shown once).
struct Key {
    id: String,
    secret: String,
}

async fn create_key(
    api: &Api,
    master: &str,
    name: &str,
    scopes: &[&str],
    expires_at: Option<DateTime<Utc>>,
) -> Key {
    let mut body = json!({"name": name, "scopes": scopes});
    if let Some(at) = expires_at {
        body["expires_at"] = json!(at.to_rfc3339());
    }
    let created = call(api, Method::POST, "/v1/keys", Some(&body), Some(master))
        .await
        .expect(StatusCode::CREATED);
    let secret = created["key"].as_str().expect("the secret").to_string();
    assert!(secret.starts_with("ck_"), "{created}");
    let mut wanted: Vec<&str> = scopes.to_vec();
    wanted.sort();
    assert_eq!(created["scopes"], json!(wanted), "{created}");
    Key {
        id: created["id"].as_str().expect("the key id").to_string(),
        secret,
    }
}

/// A buyer token for `buyer-1`, HS256-signed with `secret`, for `audience`,
/// expiring `expires_in` seconds from now (negative: already expired).
fn buyer_token(secret: &str, audience: &str, expires_in: i64) -> String {
    buyer_token_from(secret, audience, expires_in, None)
}

/// [`buyer_token`] with `iss` set to `issuer` when given.
fn buyer_token_from(secret: &str, audience: &str, expires_in: i64, issuer: Option<&str>) -> String {
    let mut claims = json!({
        "sub": "buyer-1",
        "aud": audience,
        "exp": Utc::now().timestamp() + expires_in,
    });
    if let Some(issuer) = issuer {
        claims["iss"] = json!(issuer);
    }
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a token")
}

/// The server's (manual) clock, read by advancing it by nothing.
async fn server_now(api: &Api, master: &str) -> DateTime<Utc> {
    let answer = call(
        api,
        Method::POST,
        "/v1/admin/clock/advance",
        Some(&json!({"seconds": 0})),
        Some(master),
    )
    .await
    .expect(StatusCode::OK);
    answer["now"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a time in {answer}"))
}

/// Check a 401: problem+json and a Bearer challenge.
#[track_caller]
fn assert_unauthenticated(answer: &Answer, context: &str) {
    assert_problem(answer, StatusCode::UNAUTHORIZED, context);
    let challenge = answer
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{context}: a 401 without WWW-Authenticate"));
    assert!(
        challenge.starts_with("Bearer "),
        "{context}: challenge {challenge}"
    );
}

#[track_caller]
fn assert_forbidden(answer: &Answer, context: &str) {
    assert_problem(answer, StatusCode::FORBIDDEN, context);
}

/// A problem+json answer with this status (for HEAD, which has no body to read,
/// the status and the content type).
#[track_caller]
fn assert_problem(answer: &Answer, status: StatusCode, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.text);
    if answer.text.is_empty() && context.starts_with("HEAD ") {
        assert!(
            answer
                .content_type()
                .starts_with("application/problem+json"),
            "{context}: content type {}",
            answer.content_type()
        );
    } else {
        answer.problem(status);
    }
}

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy)]
enum Need {
    Scope(&'static str),
    Master,
    /// Any valid credential, a buyer's token included.
    AnyCredential,
}

/// The kinds of caller the table tries on every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    Malformed,
    UnknownKey,
    RevokedKey,
    ExpiredKey,
    ExpiredToken,
    WrongAudienceToken,
    BadSignatureToken,
    Buyer,
    /// A valid key without the route's scope (a key with every scope on master-only
    /// routes).
    WrongScopeKey,
    /// A valid key with the route's scope and no other.
    RightScopeKey,
    AllScopesKey,
    Master,
}

const CALLERS: &[Caller] = &[
    Caller::Nobody,
    Caller::Malformed,
    Caller::UnknownKey,
    Caller::RevokedKey,
    Caller::ExpiredKey,
    Caller::ExpiredToken,
    Caller::WrongAudienceToken,
    Caller::BadSignatureToken,
    Caller::Buyer,
    Caller::WrongScopeKey,
    Caller::RightScopeKey,
    Caller::AllScopesKey,
    Caller::Master,
];

impl Caller {
    /// A name, also used to keep the writes of allowed callers apart.
    fn tag(self) -> &'static str {
        match self {
            Caller::Nobody => "nobody",
            Caller::Malformed => "malformed",
            Caller::UnknownKey => "unknown-key",
            Caller::RevokedKey => "revoked-key",
            Caller::ExpiredKey => "expired-key",
            Caller::ExpiredToken => "expired-token",
            Caller::WrongAudienceToken => "wrong-audience-token",
            Caller::BadSignatureToken => "bad-signature-token",
            Caller::Buyer => "buyer",
            Caller::WrongScopeKey => "wrong-scope-key",
            Caller::RightScopeKey => "right-scope-key",
            Caller::AllScopesKey => "all-scopes-key",
            Caller::Master => "master",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unauthenticated,
    Forbidden,
    Allowed,
}

/// What `caller` must get from a route that needs `need`; `None` when the caller
/// does not apply (no scope to lack, or no scope to have).
fn expected(caller: Caller, need: Need) -> Option<Outcome> {
    use Outcome::*;
    Some(match (caller, need) {
        (
            Caller::Nobody
            | Caller::Malformed
            | Caller::UnknownKey
            | Caller::RevokedKey
            | Caller::ExpiredKey
            | Caller::ExpiredToken
            | Caller::WrongAudienceToken
            | Caller::BadSignatureToken,
            _,
        ) => Unauthenticated,
        (Caller::Master, _) => Allowed,
        (Caller::Buyer, Need::AnyCredential) => Allowed,
        (Caller::Buyer, _) => Forbidden,
        (Caller::WrongScopeKey, Need::AnyCredential) => return None,
        (Caller::WrongScopeKey, _) => Forbidden,
        (Caller::RightScopeKey, Need::Master) => return None,
        (Caller::RightScopeKey, _) => Allowed,
        (Caller::AllScopesKey, Need::Master) => Forbidden,
        (Caller::AllScopesKey, _) => Allowed,
    })
}

/// One route of the router, as the table calls it. Paths and bodies take the
/// caller's tag so that the allowed callers' writes do not collide.
/// Makes a route's path or body from the caller's tag.
type PerCaller<T> = Box<dyn Fn(&str) -> T>;

struct Route {
    method: Method,
    path: PerCaller<String>,
    body: Option<PerCaller<Value>>,
    need: Need,
    /// What an allowed caller gets: the route's normal answer.
    normal: &'static [u16],
}

impl Route {
    fn new(
        method: Method,
        path: impl Fn(&str) -> String + 'static,
        need: Need,
        normal: &'static [u16],
    ) -> Self {
        Route {
            method,
            path: Box::new(path),
            body: None,
            need,
            normal,
        }
    }

    fn with_body(mut self, body: impl Fn(&str) -> Value + 'static) -> Self {
        self.body = Some(Box::new(body));
        self
    }
}

/// Every route of the router (but the public /health and /ready), and one that does
/// not exist.
fn routes(revoked_key_id: &str) -> Vec<Route> {
    use Need::*;
    let revoked_key_id = revoked_key_id.to_string();
    vec![
        Route::new(
            Method::POST,
            |_| "/v1/warehouses".into(),
            Scope("stock:write"),
            &[201],
        )
        .with_body(|tag| warehouse(&format!("wh-{tag}"))),
        Route::new(
            Method::POST,
            |_| "/v1/stock/sku-1/wh-1/receipts".into(),
            Scope("stock:write"),
            &[200],
        )
        .with_body(|_| json!({"quantity": 5})),
        Route::new(
            Method::POST,
            |_| "/v1/stock/sku-1/wh-1/sales".into(),
            Scope("stock:write"),
            &[200],
        )
        .with_body(|tag| json!({"quantity": 1, "order_id": format!("order-{tag}")})),
        Route::new(
            Method::POST,
            |_| "/v1/stock/sku-1/wh-1/adjustments".into(),
            Scope("stock:write"),
            &[200],
        )
        // A different count per caller, so each one records an event.
        .with_body(|tag| json!({"new_quantity": 900 + tag.len(), "reason": "cycle count"})),
        Route::new(
            Method::POST,
            |_| "/v1/stock/sku-1/wh-1/holds".into(),
            Scope("stock:write"),
            &[201],
        )
        .with_body(|tag| json!({"hold_id": format!("hold-{tag}"), "quantity": 1})),
        // Releases holds the setup made for the allowed callers.
        Route::new(
            Method::POST,
            |tag| format!("/v1/stock/sku-1/wh-1/holds/release-{tag}/release"),
            Scope("stock:write"),
            &[200],
        )
        .with_body(|_| json!({"reason": "cart abandoned"})),
        Route::new(
            Method::GET,
            |_| "/v1/availability/sku-1".into(),
            Scope("read"),
            &[200],
        ),
        Route::new(
            Method::GET,
            |_| "/v1/warehouses".into(),
            Scope("read"),
            &[200],
        ),
        Route::new(
            Method::GET,
            |_| "/v1/products".into(),
            Scope("read"),
            &[200],
        ),
        Route::new(
            Method::GET,
            |_| "/v1/availability/sku-1/wh-1".into(),
            Scope("read"),
            &[200],
        ),
        // HEAD is served by the GET handler, so it must ask what GET asks.
        Route::new(
            Method::HEAD,
            |_| "/v1/availability/sku-1".into(),
            Scope("read"),
            &[200],
        ),
        Route::new(
            Method::GET,
            |_| "/v1/admin/projections/availability".into(),
            Scope("admin"),
            &[200],
        ),
        // 409 when the previous allowed caller's rebuild still runs.
        Route::new(
            Method::POST,
            |_| "/v1/admin/projections/availability/rebuild".into(),
            Scope("admin"),
            &[202, 409],
        ),
        Route::new(
            Method::POST,
            |_| "/v1/admin/clock/advance".into(),
            Scope("admin"),
            &[200],
        )
        .with_body(|_| json!({"seconds": 0})),
        Route::new(Method::GET, |_| "/metrics".into(), Scope("admin"), &[200]),
        Route::new(Method::POST, |_| "/v1/keys".into(), Master, &[201])
            .with_body(|tag| json!({"name": format!("made by {tag}"), "scopes": ["read"]})),
        Route::new(Method::GET, |_| "/v1/keys".into(), Master, &[200]),
        // Revoking the revoked key again: a harmless repeat.
        Route::new(
            Method::DELETE,
            move |_| format!("/v1/keys/{revoked_key_id}"),
            Master,
            &[200],
        ),
        // Unknown routes ask for a credential, so nobody learns which routes exist.
        Route::new(
            Method::GET,
            |_| "/v1/no-such-route".into(),
            AnyCredential,
            &[404],
        ),
        // As do known routes called with a method they do not take.
        Route::new(
            Method::PUT,
            |_| "/v1/warehouses".into(),
            AnyCredential,
            &[405],
        )
        .with_body(|tag| warehouse(&format!("wh-put-{tag}"))),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_every_kind_of_caller_as_the_table_says() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let server = start_production(
        &env,
        &master,
        &[
            "--key-rate-limit",
            "0",
            "--auth-failures-per-minute",
            "1000",
        ],
    )
    .await;

    // Liveness, readiness, the API's description and its reference page are public,
    // and a credential there is not looked at.
    for bearer in [None, Some("nonsense")] {
        for path in ["/health", "/ready", "/openapi.json", "/docs"] {
            let answer = call(&server, Method::GET, path, None, bearer).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        }
    }

    // Keys, one per scope, one with all of them.
    let stock_key = create_key(&server, &master, "stock", &["stock:write"], None).await;
    let read_key = create_key(&server, &master, "read", &["read"], None).await;
    let admin_key = create_key(&server, &master, "admin", &["admin"], None).await;
    let all_scopes = ["stock:write", "read", "admin"];
    let all_key = create_key(&server, &master, "all", &all_scopes, None).await;

    // A key that works until it is revoked.
    let revoked_key = create_key(&server, &master, "revoked", &all_scopes, None).await;
    call(
        &server,
        Method::GET,
        "/v1/search",
        None,
        Some(&revoked_key.secret),
    )
    .await
    .expect(StatusCode::OK);
    let revoked = call(
        &server,
        Method::DELETE,
        &format!("/v1/keys/{}", revoked_key.id),
        None,
        Some(&master),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(revoked["revoked"], true, "{revoked}");
    call(
        &server,
        Method::DELETE,
        "/v1/keys/no-such-key",
        None,
        Some(&master),
    )
    .await
    .problem(StatusCode::NOT_FOUND);

    // A key that works until the server's clock passes its expiry.
    let now = server_now(&server, &master).await;
    let expired_key = create_key(
        &server,
        &master,
        "expiring",
        &all_scopes,
        Some(now + chrono::Duration::seconds(60)),
    )
    .await;
    call(
        &server,
        Method::GET,
        "/v1/search",
        None,
        Some(&expired_key.secret),
    )
    .await
    .expect(StatusCode::OK);
    call(
        &server,
        Method::POST,
        "/v1/admin/clock/advance",
        Some(&json!({"seconds": 120})),
        Some(&master),
    )
    .await
    .expect(StatusCode::OK);

    let listed = call(&server, Method::GET, "/v1/keys", None, Some(&master))
        .await
        .expect(StatusCode::OK);
    let listed = listed["keys"].as_array().expect("keys").clone();
    assert_eq!(listed.len(), 6, "{listed:?}");
    let state_of = |id: &str| {
        let key = listed
            .iter()
            .find(|k| k["id"] == id)
            .unwrap_or_else(|| panic!("key {id} is listed: {listed:?}"));
        assert!(key.get("key").is_none(), "a listing shows no secret: {key}");
        (key["revoked"].clone(), key["expired"].clone())
    };
    assert_eq!(state_of(&revoked_key.id), (json!(true), json!(false)));
    assert_eq!(state_of(&expired_key.id), (json!(false), json!(true)));
    assert_eq!(state_of(&stock_key.id), (json!(false), json!(false)));

    // Stock to move, and holds for the allowed callers of the release route to let go.
    for (path, body) in [
        ("/v1/warehouses", warehouse("wh-1")),
        ("/v1/stock/sku-1/wh-1/receipts", json!({"quantity": 1000})),
    ] {
        let answer = call(&server, Method::POST, path, Some(&body), Some(&master)).await;
        assert!(answer.status.is_success(), "{path}: {answer:?}");
    }
    for caller in [Caller::RightScopeKey, Caller::AllScopesKey, Caller::Master] {
        let body = json!({"hold_id": format!("release-{}", caller.tag()), "quantity": 2});
        call(
            &server,
            Method::POST,
            "/v1/stock/sku-1/wh-1/holds",
            Some(&body),
            Some(&master),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    // The availability read model reflects the setup before the table reads it.
    let setup = server.head().await;
    call(
        &server,
        Method::GET,
        &format!("/v1/availability/sku-1?min_position={setup}"),
        None,
        Some(&master),
    )
    .await
    .expect(StatusCode::OK);

    let buyer = buyer_token(JWT_SECRET, "commerce", 3600);
    let expired_token = buyer_token(JWT_SECRET, "commerce", -3600);
    let wrong_audience_token = buyer_token(JWT_SECRET, "another-shop", 3600);
    let bad_signature_token = buyer_token("not-the-shops-secret", "commerce", 3600);
    let unknown_key = format!("ck_{}", "0".repeat(64));

    let key_with = |scope: &str| match scope {
        "stock:write" => &stock_key,
        "read" => &read_key,
        "admin" => &admin_key,
        other => panic!("no key for scope {other}"),
    };
    let key_without = |scope: &str| match scope {
        "read" => &stock_key,
        _ => &read_key,
    };
    // The credential `caller` presents on a route that needs `need`, and the actor
    // its writes must name.
    let credential = |caller: Caller, need: Need| -> (Option<String>, Option<String>) {
        let key = |key: &Key| (Some(key.secret.clone()), Some(format!("key:{}", key.id)));
        match (caller, need) {
            (Caller::Nobody, _) => (None, None),
            (Caller::Malformed, _) => (Some("nonsense".into()), None),
            (Caller::UnknownKey, _) => (Some(unknown_key.clone()), None),
            (Caller::RevokedKey, _) => (Some(revoked_key.secret.clone()), None),
            (Caller::ExpiredKey, _) => (Some(expired_key.secret.clone()), None),
            (Caller::ExpiredToken, _) => (Some(expired_token.clone()), None),
            (Caller::WrongAudienceToken, _) => (Some(wrong_audience_token.clone()), None),
            (Caller::BadSignatureToken, _) => (Some(bad_signature_token.clone()), None),
            (Caller::Buyer, _) => (Some(buyer.clone()), Some("buyer:buyer-1".into())),
            (Caller::WrongScopeKey, Need::Scope(scope)) => key(key_without(scope)),
            (Caller::WrongScopeKey, _) => key(&all_key),
            (Caller::RightScopeKey, Need::Scope(scope)) => key(key_with(scope)),
            (Caller::RightScopeKey, _) => key(&read_key),
            (Caller::AllScopesKey, _) => key(&all_key),
            (Caller::Master, _) => (Some(master.clone()), Some("master".into())),
        }
    };

    let mut head = server.head().await;
    let mut writes: Vec<(i64, String, String)> = Vec::new();
    let mut calls = 0;
    for route in routes(&revoked_key.id) {
        for &caller in CALLERS {
            let Some(outcome) = expected(caller, route.need) else {
                continue;
            };
            let (bearer, actor) = credential(caller, route.need);
            let path = (route.path)(caller.tag());
            let body = route.body.as_ref().map(|body| body(caller.tag()));
            let context = format!("{} {path} as {}", route.method, caller.tag());
            let answer = call(
                &server,
                route.method.clone(),
                &path,
                body.as_ref(),
                bearer.as_deref(),
            )
            .await;
            calls += 1;
            match outcome {
                Outcome::Unauthenticated => {
                    assert_unauthenticated(&answer, &context);
                    let challenge = answer.header("www-authenticate").unwrap_or("");
                    if caller == Caller::Nobody {
                        assert!(!challenge.contains("error="), "{context}: {challenge}");
                    } else {
                        assert!(
                            challenge.contains(r#"error="invalid_token""#),
                            "{context}: {challenge}"
                        );
                    }
                }
                Outcome::Forbidden => assert_forbidden(&answer, &context),
                Outcome::Allowed => assert!(
                    route.normal.contains(&answer.status.as_u16()),
                    "{context}: expected one of {:?}, got {} {}",
                    route.normal,
                    answer.status,
                    answer.text
                ),
            }
            let after = server.head().await;
            if outcome == Outcome::Allowed {
                if after != head {
                    let answer = answer.json();
                    assert_eq!(answer["position"], after, "{context}: {answer}");
                    let actor = actor.clone().expect("an allowed caller has an actor");
                    writes.push((after, actor, context));
                }
                head = after;
            } else {
                assert_eq!(after, head, "{context} was refused yet wrote to the log");
            }
        }
    }
    assert!(calls > 200, "only {calls} calls were made");

    // Every allowed kind of caller wrote something, and its events name it.
    for actor in [
        format!("key:{}", stock_key.id),
        format!("key:{}", all_key.id),
        "master".to_string(),
    ] {
        assert!(
            writes.iter().any(|(_, a, _)| *a == actor),
            "no write by {actor}: {writes:?}"
        );
    }
    let actors = actors_in_sqlite(&env, writes.iter().map(|(p, _, _)| *p)).await;
    for ((position, actor, context), recorded) in writes.iter().zip(actors) {
        assert_eq!(
            recorded.as_deref(),
            Some(actor.as_str()),
            "the actor of the event at {position} ({context})"
        );
    }

    // Refusals are counted, by reason.
    let metrics = call(
        &server,
        Method::GET,
        "/metrics",
        None,
        Some(&admin_key.secret),
    )
    .await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text);
    for reason in [
        "invalid_credential",
        "unknown_key",
        "revoked_key",
        "expired_key",
        "invalid_token",
        "forbidden",
    ] {
        assert!(
            metrics
                .text
                .lines()
                .any(|line| line.starts_with("auth_failures_total")
                    && line.contains(&format!("reason=\"{reason}\""))),
            "no auth_failures_total for {reason} in:\n{}",
            metrics.text
        );
    }
}

/// The `actor` in the metadata of the events at `positions`, read from the SQLite
/// file while the server runs (read-only).
async fn actors_in_sqlite(env: &Env, positions: impl Iterator<Item = i64>) -> Vec<Option<String>> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(env.data_dir().join("commerce.db"))
        .read_only(true);
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("the SQLite log opens read-only");
    let mut actors = Vec::new();
    for position in positions {
        let metadata: String = sqlx::query_scalar("SELECT metadata FROM events WHERE position = ?")
            .bind(position)
            .fetch_one(&mut db)
            .await
            .unwrap_or_else(|e| panic!("the event at {position}: {e}"));
        let metadata: Value = serde_json::from_str(&metadata).expect("metadata is JSON");
        actors.push(metadata["actor"].as_str().map(str::to_string));
    }
    let _ = db.close().await;
    actors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_that_fails_too_often_is_refused_while_others_are_not() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let server = start_production(&env, &master, &["--auth-failures-per-minute", "3"]).await;
    let read_key = create_key(&server, &master, "read", &["read"], None).await;
    let admin_key = create_key(&server, &master, "admin", &["admin"], None).await;

    // A missing credential is not a failed attempt.
    for _ in 0..5 {
        let answer = call(&server, Method::GET, "/v1/availability/sku-1", None, None).await;
        assert_unauthenticated(&answer, "no credential");
    }
    for attempt in 1..=3 {
        let answer = call(
            &server,
            Method::GET,
            "/v1/availability/sku-1",
            None,
            Some("nonsense"),
        )
        .await;
        assert_unauthenticated(&answer, &format!("bad credential {attempt}"));
    }
    // Three failures used up the minute's allowance: this address is refused now for
    // anything but a valid credential (an attacker sharing an address — a NAT, a
    // proxy — must not lock out honest callers).
    let answer = call(
        &server,
        Method::GET,
        "/v1/availability/sku-1",
        None,
        Some("nonsense"),
    )
    .await;
    answer.problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after = answer
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("a 429 without a Retry-After in seconds"));
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    for (what, bearer) in [
        ("a valid key", read_key.secret.as_str()),
        ("the master key", master.as_str()),
    ] {
        let answer = call(
            &server,
            Method::GET,
            "/v1/availability/sku-1",
            None,
            Some(bearer),
        )
        .await;
        answer.problem(StatusCode::NOT_FOUND);
        assert!(answer.text.contains("sku-1"), "{what}: {}", answer.text);
    }
    // Public routes still answer.
    call(&server, Method::GET, "/health", None, None)
        .await
        .expect(StatusCode::OK);
    server.head().await;

    // Another address is not refused, and sees the failures counted.
    let elsewhere = Api {
        base: server.base.clone(),
        client: reqwest::Client::builder()
            .local_address(IpAddr::from([127, 0, 0, 2]))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client on 127.0.0.2"),
    };
    let metrics = call(
        &elsewhere,
        Method::GET,
        "/metrics",
        None,
        Some(&admin_key.secret),
    )
    .await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text);
    assert!(
        metrics
            .text
            .lines()
            .any(|line| line.starts_with("auth_failures_total")
                && line.contains("reason=\"invalid_credential\"")),
        "no auth_failures_total in:\n{}",
        metrics.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_over_its_rate_is_refused_while_other_keys_are_not() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let server = start_production(
        &env,
        &master,
        &[
            "--key-rate-limit",
            "1",
            "--auth-failures-per-minute",
            "1000",
        ],
    )
    .await;
    let busy = create_key(&server, &master, "busy", &["read"], None).await;
    let quiet = create_key(&server, &master, "quiet", &["read"], None).await;

    // A burst far above one request a second.
    let burst = (0..30).map(|_| {
        call(
            &server,
            Method::GET,
            "/v1/availability/sku-1",
            None,
            Some(&busy.secret),
        )
    });
    let answers = futures::future::join_all(burst).await;
    let mut limited = 0;
    for answer in &answers {
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            answer.problem(StatusCode::TOO_MANY_REQUESTS);
            let retry_after = answer
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .expect("a 429 with a Retry-After in seconds");
            assert!(retry_after >= 1, "Retry-After {retry_after}");
        } else {
            // No stock was ever recorded: the route's normal answer.
            answer.problem(StatusCode::NOT_FOUND);
        }
    }
    assert!(limited > 0, "no request of the burst was limited");
    assert!(
        limited < answers.len(),
        "even the first request was limited"
    );

    // The other key has a rate of its own, and the master key none.
    for bearer in [&quiet.secret, &master] {
        call(
            &server,
            Method::GET,
            "/v1/availability/sku-1",
            None,
            Some(bearer),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_revoked_on_one_process_stops_working_on_another() {
    let env_a = Env::new(Backend::Postgres).await;
    let env_b = env_a.sibling();
    let master = new_master_key();
    let args = [
        "--key-rate-limit",
        "0",
        "--auth-failures-per-minute",
        "1000",
    ];
    let a = start_production(&env_a, &master, &args).await;
    let b = start_production(&env_b, &master, &args).await;

    let key = create_key(&a, &master, "shared", &["read"], None).await;
    let read = |api: &Api| {
        let api = api.clone();
        let secret = key.secret.clone();
        async move {
            call(
                &api,
                Method::GET,
                "/v1/availability/sku-1",
                None,
                Some(&secret),
            )
            .await
        }
    };
    // The process that made the key knows it at once.
    read(&a).await.problem(StatusCode::NOT_FOUND);

    // The other learns of it from the shared log.
    let deadline = Instant::now() + PROPAGATION_BOUND;
    loop {
        let answer = read(&b).await;
        if answer.status != StatusCode::UNAUTHORIZED {
            answer.problem(StatusCode::NOT_FOUND);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not accept the key made on A within {PROPAGATION_BOUND:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }

    call(
        &a,
        Method::DELETE,
        &format!("/v1/keys/{}", key.id),
        None,
        Some(&master),
    )
    .await
    .expect(StatusCode::OK);
    assert_unauthenticated(&read(&a).await, "the revoked key on A");

    let deadline = Instant::now() + PROPAGATION_BOUND;
    loop {
        let answer = read(&b).await;
        if answer.status == StatusCode::UNAUTHORIZED {
            assert_unauthenticated(&answer, "the revoked key on B");
            break;
        }
        answer.problem(StatusCode::NOT_FOUND);
        assert!(
            Instant::now() < deadline,
            "B still accepted the key revoked on A after {PROPAGATION_BOUND:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    // B lists it as revoked too.
    let listed = call(&b, Method::GET, "/v1/keys", None, Some(&master))
        .await
        .expect(StatusCode::OK);
    let listed = &listed["keys"];
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["revoked"], true, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_mode_needs_a_master_key_of_sixteen_bytes() {
    let env = Env::new(Backend::Sqlite).await;
    let refusals = [
        (
            vec!["serve", "--env", "production", "--listen", "127.0.0.1:0"],
            "needs a master key",
        ),
        (
            vec![
                "serve",
                "--env",
                "production",
                "--listen",
                "127.0.0.1:0",
                "--master-key",
                "fifteen-bytes!!",
            ],
            "at least 16 bytes",
        ),
        // Development mode and the manual clock never reach beyond this machine.
        (
            vec!["serve", "--listen", "0.0.0.0:0"],
            "listens only on a loopback address",
        ),
        (
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--master-key",
                "a-production-master-key",
            ],
            "use --env production",
        ),
        (
            vec![
                "serve",
                "--env",
                "production",
                "--listen",
                "0.0.0.0:0",
                "--master-key",
                "a-production-master-key",
                "--clock",
                "manual",
            ],
            "--clock manual is for development and tests",
        ),
    ];
    for (args, message) in refusals {
        let output = env.run_cli(&args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "`commerce {}` started: {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains(message),
            "`commerce {}` did not say '{message}':\n{stderr}",
            args.join(" ")
        );
    }
    // Sixteen bytes will do.
    let server = start_production(&env, "sixteen-bytes!!!", &[]).await;
    call(
        &server,
        Method::GET,
        "/v1/search",
        None,
        Some("sixteen-bytes!!!"),
    )
    .await
    .expect(StatusCode::OK);
}

/// `POST /v1/keys` with an Idempotency-Key: a retry answers the same key, secret
/// included, and creates nothing; the key reused for another body is refused; under
/// another master key the secret cannot be derived again, and the retry says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_created_with_an_idempotency_key_is_created_once_and_shown_again() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let server = start_production(&env, &master, &[]).await;
    let create = |api: &Api, master: &str, body: &Value| {
        api.client
            .post(api.url("/v1/keys"))
            .header("authorization", format!("Bearer {master}"))
            .header("idempotency-key", "make-reader-1")
            .json(body)
    };
    let body = json!({"name": "reader", "scopes": ["read"]});
    let first = server.send(create(&server, &master, &body)).await;
    assert_eq!(first.header("idempotent-replayed"), None);
    let first = first.expect(StatusCode::CREATED);
    let retry = server.send(create(&server, &master, &body)).await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let retry = retry.expect(StatusCode::CREATED);
    for field in ["id", "key", "name", "scopes", "position"] {
        assert_eq!(first[field], retry[field], "{field}: {first} vs {retry}");
    }
    let secret = first["key"].as_str().expect("the secret");
    assert!(secret.starts_with("ck_"), "{first}");
    // The secret works, and exactly one key exists.
    call(
        &server,
        Method::GET,
        "/v1/availability/sku-1",
        None,
        Some(secret),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    let listed = call(&server, Method::GET, "/v1/keys", None, Some(&master))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(1), "{listed}");
    // The same Idempotency-Key for another key is refused, and makes nothing.
    let other = json!({"name": "writer", "scopes": ["stock:write"]});
    server
        .send(create(&server, &master, &other))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    // Without the key, each request is a new key.
    let plain = call(
        &server,
        Method::POST,
        "/v1/keys",
        Some(&body),
        Some(&master),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_ne!(plain["id"], first["id"], "{plain}");
    assert!(server.stop().await.success());

    // Another master key cannot derive the first key's secret: the retry says so.
    let rotated = new_master_key();
    let server = start_production(&env, &rotated, &[]).await;
    server
        .send(create(&server, &rotated, &body))
        .await
        .problem(StatusCode::CONFLICT);
    let listed = call(&server, Method::GET, "/v1/keys", None, Some(&rotated))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(2), "{listed}");
    assert!(server.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hs256_secrets_shorter_than_32_bytes_are_refused_at_start() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let short = "thirty-one-bytes-are-too-short!";
    assert_eq!(short.len(), 31);
    let serve = |jwt: Option<&str>| {
        let mut args = vec![
            "serve",
            "--env",
            "production",
            "--listen",
            "127.0.0.1:0",
            "--master-key",
            master.as_str(),
        ];
        if let Some(secret) = jwt {
            args.extend(["--jwt-secret", secret]);
        }
        env.command(&args)
    };
    let run = |mut command: tokio::process::Command| async move {
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .expect("a refused start ends")
            .expect("commerce runs")
    };
    let refused = |output: std::process::Output, how: &str| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{how}: started: {stderr}");
        for words in ["--jwt-secret", "at least 32 bytes", "this one is 31"] {
            assert!(
                stderr.contains(words),
                "{how}: does not say '{words}':\n{stderr}"
            );
        }
    };
    refused(run(serve(Some(short))).await, "--jwt-secret");
    let mut from_env = serve(None);
    from_env.env("COMMERCE_JWT_SECRET", short);
    refused(run(from_env).await, "COMMERCE_JWT_SECRET");
    refused(
        run(env.command(&["serve", "--listen", "127.0.0.1:0", "--jwt-secret", short])).await,
        "development mode",
    );

    // Thirty-two bytes will do, and its tokens work.
    let secret = "thirty-two-bytes-are-just-right!";
    assert_eq!(secret.len(), 32);
    let server = env
        .start_with(&[
            "--env",
            "production",
            "--master-key",
            master.as_str(),
            "--jwt-secret",
            secret,
        ])
        .await;
    let token = buyer_token(secret, "commerce", 3600);
    call(&server, Method::GET, "/v1/search", None, Some(&token))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_an_issuer_buyer_tokens_must_carry_it() {
    let env = Env::new(Backend::Sqlite).await;
    let master = new_master_key();
    let issuer = "https://login.shop.example";
    let no_issuer = buyer_token(JWT_SECRET, "commerce", 3600);
    let wrong_issuer = buyer_token_from(
        JWT_SECRET,
        "commerce",
        3600,
        Some("https://login.elsewhere.example"),
    );
    let right_issuer = buyer_token_from(JWT_SECRET, "commerce", 3600, Some(issuer));

    // Without --jwt-issuer, `iss` is not looked at.
    let server = start_production(&env, &master, &[]).await;
    for token in [&no_issuer, &wrong_issuer, &right_issuer] {
        call(&server, Method::GET, "/v1/search", None, Some(token))
            .await
            .expect(StatusCode::OK);
    }
    assert!(server.stop().await.success());

    let server = start_production(&env, &master, &["--jwt-issuer", issuer]).await;
    for (token, what) in [(&no_issuer, "no iss"), (&wrong_issuer, "another iss")] {
        let answer = call(&server, Method::GET, "/v1/search", None, Some(token)).await;
        assert_unauthenticated(&answer, what);
    }
    call(
        &server,
        Method::GET,
        "/v1/search",
        None,
        Some(&right_issuer),
    )
    .await
    .expect(StatusCode::OK);
    // A buyer route works too, as the buyer the token names.
    for (path, body) in [
        ("/v1/warehouses", warehouse("wh-1")),
        ("/v1/stock/sku-1/wh-1/receipts", json!({"quantity": 10})),
    ] {
        let answer = call(&server, Method::POST, path, Some(&body), Some(&master)).await;
        assert!(answer.status.is_success(), "{path}: {answer:?}");
    }
    let reserve = |id: &str| json!({"reservation_id": id, "lines": [{"sku": "sku-1", "quantity": 1, "warehouse_id": "wh-1"}]});
    let refused = call(
        &server,
        Method::POST,
        "/v1/reservations",
        Some(&reserve("cart-no-iss")),
        Some(&no_issuer),
    )
    .await;
    assert_unauthenticated(&refused, "a reservation with a token without iss");
    let held = call(
        &server,
        Method::POST,
        "/v1/reservations",
        Some(&reserve("cart-1")),
        Some(&right_issuer),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(held["reservation_id"], "cart-1", "{held}");
    call(
        &server,
        Method::GET,
        "/v1/reservations/cart-1",
        None,
        Some(&right_issuer),
    )
    .await
    .expect(StatusCode::OK);
    assert!(server.stop().await.success());

    // An issuer with nothing to check it on is a mistake, said at start.
    let output = env
        .run_cli(&[
            "serve",
            "--env",
            "production",
            "--listen",
            "127.0.0.1:0",
            "--master-key",
            master.as_str(),
            "--jwt-issuer",
            issuer,
        ])
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started: {stderr}");
    assert!(stderr.contains("--jwt-issuer"), "{stderr}");
}
