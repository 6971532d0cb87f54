//! Operations: health, readiness, metrics, the OpenAPI document, request ids.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{register_warehouses, Backend, Env};

on_both_backends!(operations_routes_answer);

async fn operations_routes_answer(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;

    let health = server.get("/health").await.expect(StatusCode::OK);
    assert_eq!(health["status"], "ok");

    let ready = server.get("/ready").await.expect(StatusCode::OK);
    assert_eq!(ready["status"], "ready", "{ready}");
    let database = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready["database"], database, "{ready}");
    assert_eq!(ready["head"], 0, "a fresh log: {ready}");

    // Commands first, so their counters and timings exist.
    register_warehouses(&server, &["wh-1"]).await;
    let received = server
        .post("/v1/stock/m-1/wh-1/receipts", &json!({"quantity": 3}))
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/stock/m-1/wh-1/sales", &json!({"quantity": 4}))
        .await
        .problem(StatusCode::CONFLICT);
    let ready = server.get("/ready").await.expect(StatusCode::OK);
    assert_eq!(ready["head"], received["position"], "{ready}");
    // A read of an aggregate is counted as a read, not as a command.
    server
        .get("/v1/orders/nobody")
        .await
        .problem(StatusCode::NOT_FOUND);

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.content_type().starts_with("text/plain"),
        "{metrics:?}"
    );
    for name in [
        "commands_total",
        "command_duration_seconds",
        "projection_lag_events",
    ] {
        assert!(
            metrics.text.contains(name),
            "no {name} in:\n{}",
            metrics.text
        );
    }
    let counted = |command: &str, outcome: &str| {
        metrics.text.lines().any(|line| {
            line.starts_with("commands_total")
                && line.contains(&format!("command=\"{command}\""))
                && line.contains(&format!("outcome=\"{outcome}\""))
        })
    };
    assert!(counted("receive_stock", "accepted"), "{}", metrics.text);
    assert!(counted("sell_stock", "refused"), "{}", metrics.text);
    assert!(
        metrics
            .text
            .lines()
            .any(|line| line.starts_with("reads_total") && line.contains("read=\"order\"")),
        "{}",
        metrics.text
    );
    assert!(
        !metrics.text.contains("command=\"read_order\""),
        "{}",
        metrics.text
    );
    // Every metric shown says what it is.
    for line in metrics.text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(
            metrics.text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP line:\n{}",
            metrics.text
        );
    }

    let openapi = server.get("/openapi.json").await;
    assert!(openapi.content_type().starts_with("application/json"));
    let openapi = openapi.expect(StatusCode::OK);
    assert_eq!(openapi["openapi"], "3.1.0");
    let paths = openapi["paths"].as_object().expect("paths");
    for path in [
        "/v1/warehouses",
        "/v1/stock/{sku}/{warehouse_id}/receipts",
        "/v1/stock/{sku}/{warehouse_id}/sales",
        "/v1/stock/{sku}/{warehouse_id}/adjustments",
        "/v1/stock/{sku}/{warehouse_id}/holds",
        "/v1/stock/{sku}/{warehouse_id}/holds/{hold_id}/release",
        "/v1/availability/{sku}",
        "/v1/availability/{sku}/{warehouse_id}",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    // This server runs in development on the system clock: the sandbox is described,
    // the manual clock's route is not.
    assert!(paths.contains_key("/v1/payments/sandbox/{order_id}"));
    assert!(!paths.contains_key("/v1/admin/clock/advance"));

    // The API reference: a page and its vendored files, from this server only.
    let page = server.get("/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    assert!(
        page.text.contains("/docs/swagger-ui-bundle.js"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("https://"), "{}", page.text);
    for (path, content_type) in [
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-initializer.js", "text/javascript"),
    ] {
        let asset = server.get(path).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        assert!(asset.content_type().starts_with(content_type), "{path}");
        assert!(asset.header("cache-control").is_some(), "{path}");
    }
    let initializer = server.get("/docs/swagger-initializer.js").await;
    assert!(
        initializer.text.contains("\"/openapi.json\""),
        "{}",
        initializer.text
    );

    let availability = format!("/v1/availability/m-1?min_position={}", received["position"]);
    // The request id a client sends comes back, on success and on a problem alike;
    // without one the server makes one up.
    for (method, path, status) in [
        (reqwest::Method::GET, "/health", StatusCode::OK),
        (reqwest::Method::GET, availability.as_str(), StatusCode::OK),
        (reqwest::Method::GET, "/v1/nowhere", StatusCode::NOT_FOUND),
        (
            reqwest::Method::POST,
            "/v1/stock/m-1/wh-1/receipts",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let request_id = format!("e2e-{}", uuid::Uuid::new_v4());
        let request = server
            .client
            .request(method.clone(), server.url(path))
            .header("x-request-id", &request_id);
        let answer = server.send(request).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text);
        assert_eq!(
            answer.header("x-request-id"),
            Some(request_id.as_str()),
            "{method} {path}"
        );
        let answer = server
            .send(server.client.request(method, server.url(path)))
            .await;
        assert!(
            answer
                .header("x-request-id")
                .is_some_and(|id| !id.is_empty()),
            "{path}: no generated request id"
        );
    }

    // The manual clock, and the route that moves it, exist only with --clock manual.
    server
        .post("/v1/admin/clock/advance", &json!({"seconds": 60}))
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(server.stop().await.success());
}
