//! The rules of path parameters, by name: the same id in any route follows one rule
//! (domain/validate.rs), so it is written once here rather than on every handler.

use serde_json::{json, Value};

use domain::ids::MAX_DERIVED_ID_LEN;
use domain::limits::MAX_ID_LEN;

/// An id a client chose: 1–64 letters, digits, `-`, `_`, `.`.
const CLIENT_ID: &str = "^[A-Za-z0-9._-]+$";
/// An order or reservation id: a client's, or one a process derived (`order:<id>`).
const REFERENCE: &str = "^([a-z-]{1,16}:)?[A-Za-z0-9._-]+$";

/// Free text (a shopper's id): not blank, no control characters.
const TEXT: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

fn rule(name: &str) -> Option<Value> {
    Some(match name {
        "sku" | "warehouse_id" | "hold_id" | "sale_id" => {
            json!({"type": "string", "minLength": 1, "maxLength": MAX_ID_LEN, "pattern": CLIENT_ID, "example": example(name)})
        }
        "id" | "order_id" => {
            json!({"type": "string", "minLength": 1, "maxLength": MAX_DERIVED_ID_LEN, "pattern": REFERENCE, "example": "order-1001"})
        }
        "user_id" => {
            json!({"type": "string", "minLength": 1, "maxLength": domain::limits::MAX_TEXT_LEN, "pattern": TEXT, "example": "user-42"})
        }
        "name" => json!({"type": "string", "enum": crate::routes::admin::PROJECTIONS}),
        _ => return None,
    })
}

fn example(name: &str) -> &'static str {
    match name {
        "sku" => "MUG-1",
        "warehouse_id" => "ams-1",
        "hold_id" => "cart-7f3a",
        _ => "drop-1",
    }
}

/// Give each path parameter with a rule its schema.
pub fn add(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        // Keys are named by the server (a UUID): no rule but a string.
        if path.starts_with("/v1/keys/") {
            continue;
        }
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters.iter_mut().filter(|p| p["in"] == "path") {
                if let Some(schema) = parameter["name"].as_str().and_then(rule) {
                    parameter["schema"] = schema;
                }
            }
        }
    }
}
