//! The problem answers a route can give whatever its handler does, added to its
//! operation from what the route table and the operation say about it: who may call
//! it, whether it takes a body or parameters. Handlers document only what is their
//! own (404, 409, ...).

use serde_json::{json, Map, Value};

use crate::auth::Requirement;
use crate::problem::PROBLEM_JSON;
use crate::routes::table::Route;

/// A common answer: its status, when a route gives it, and what it says.
struct Common {
    status: u16,
    code: &'static str,
    applies: fn(&Facts) -> bool,
    description: &'static str,
    detail: &'static str,
}

/// What decides which common answers a route gives.
struct Facts {
    requirement: Requirement,
    body: bool,
    parameters: bool,
    post: bool,
}

const COMMON: &[Common] = &[
    Common {
        status: 400,
        code: "invalid_query",
        applies: |f| f.body || f.parameters || f.post,
        description: "A path or query parameter does not parse, the body is not well-formed JSON, or an `Idempotency-Key` is sent where it is not honoured",
        detail: "Failed to deserialize query string: min_position: invalid digit found in string",
    },
    Common {
        status: 401,
        code: "missing_credential",
        applies: |f| f.requirement != Requirement::Public,
        description: "No credential, or one that is not valid (`WWW-Authenticate` says so)",
        detail: "this route needs a credential: Authorization: Bearer <key or token>",
    },
    Common {
        status: 403,
        code: "forbidden",
        applies: |f| f.requirement != Requirement::Public,
        description: "The credential may not call this route (a scope it lacks, a buyer token where none is taken)",
        detail: "this route needs the 'read' scope",
    },
    Common {
        status: 413,
        code: "payload_too_large",
        applies: |f| f.body,
        description: "The body is larger than 1 MiB",
        detail: "the body is larger than 1 MiB",
    },
    Common {
        status: 415,
        code: "unsupported_media_type",
        applies: |f| f.body,
        description: "The body is not `application/json`",
        detail: "Expected request with `Content-Type: application/json`",
    },
    Common {
        status: 422,
        code: "invalid",
        applies: |f| f.body || f.parameters,
        description: "A field is out of range or of the wrong type; `errors` names each",
        detail: "the request is invalid",
    },
    Common {
        status: 429,
        code: "rate_limited",
        applies: |f| f.requirement != Requirement::Public,
        description: "Over the caller's request rate, too many failed credentials from this address, or too many long polls open; `Retry-After` says when to come back",
        detail: "too many requests; try again shortly",
    },
    Common {
        status: 503,
        code: "overloaded",
        applies: |_| true,
        description: "Overloaded, over the 30 s request timeout, the store unavailable, or a read model not yet at `min_position`; `Retry-After` says when to come back",
        detail: "the server is overloaded; try again shortly",
    },
];

/// Add to the operation of each route the common answers it does not document itself.
pub fn add(document: &mut Value, routes: &[Route]) {
    for route in routes {
        let method = route.method.as_str().to_ascii_lowercase();
        let Some(operation) = document
            .pointer_mut(&format!("/paths/{}/{method}", escape(route.path)))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let parameters = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| {
                p.iter()
                    .any(|p| matches!(p["in"].as_str(), Some("path" | "query")))
            });
        let facts = Facts {
            requirement: route.requirement,
            body: operation.contains_key("requestBody"),
            parameters,
            post: route.method == axum::http::Method::POST,
        };
        let responses = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        for common in COMMON.iter().filter(|c| (c.applies)(&facts)) {
            responses
                .entry(common.status.to_string())
                .or_insert_with(|| {
                    answer(
                        common.description,
                        common.status,
                        common.code,
                        common.detail,
                    )
                });
        }
    }
}

/// A problem answer with its schema and an example.
pub fn answer(description: &str, status: u16, code: &str, detail: &str) -> Value {
    let title = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut content = Map::new();
    content.insert(
        PROBLEM_JSON.to_string(),
        json!({
            "schema": { "$ref": "#/components/schemas/Problem" },
            "example": problem_example(status, title, code, detail),
        }),
    );
    json!({ "description": description, "content": content })
}

fn problem_example(status: u16, title: &str, code: &str, detail: &str) -> Value {
    let mut example = json!({
        "type": format!("/problems/{code}"),
        "title": title,
        "status": status,
        "detail": detail,
    });
    if status == 422 {
        example["errors"] =
            json!([{ "field": "quantity", "message": "must be a whole number from 1 to 1000000" }]);
    }
    example
}

/// A path as one JSON pointer token (RFC 6901).
pub fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}
