//! Examples for every request and response body that does not carry its own: built
//! from the schema, field by field, from each field's own `example` where it has one
//! and otherwise from its type and bounds, so an example always fits its schema.
//! Problem answers get a problem with their status.

use serde_json::{json, Map, Value};

use super::answers;
use crate::problem::PROBLEM_JSON;

/// How deep an example follows nested schemas (none of ours is recursive; this
/// only guards against a schema that someday is).
const MAX_DEPTH: usize = 8;

pub fn add(document: &mut Value) {
    let schemas = document
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            if let Some(content) = operation
                .get_mut("requestBody")
                .and_then(|body| body.get_mut("content"))
                .and_then(Value::as_object_mut)
            {
                for media in content.values_mut() {
                    fill(media, &schemas);
                }
            }
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let description = response["description"].as_str().unwrap_or("").to_string();
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for (media_type, media) in content.iter_mut() {
                    if media_type == PROBLEM_JSON {
                        fill_problem(media, status, &description);
                    } else {
                        fill(media, &schemas);
                    }
                }
            }
        }
    }
}

fn has_example(media: &Value) -> bool {
    media.get("example").is_some() || media.get("examples").is_some()
}

fn fill(media: &mut Value, schemas: &Value) {
    if has_example(media) {
        return;
    }
    if let Some(schema) = media.get("schema") {
        let example = example(schema, schemas, 0);
        media["example"] = example;
    }
}

fn fill_problem(media: &mut Value, status: &str, description: &str) {
    if has_example(media) {
        return;
    }
    let status: u16 = status.parse().unwrap_or(500);
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let code = reason.to_lowercase().replace(' ', "_");
    let detail = if description.is_empty() {
        reason
    } else {
        description
    };
    media["example"] = answers::answer(description, status, &code, detail)["content"][PROBLEM_JSON]
        ["example"]
        .clone();
}

/// An example of `schema`, which may refer to `#/components/schemas/...`.
fn example(schema: &Value, schemas: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return match schemas.get(name) {
            Some(target) => example(target, schemas, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            match example(part, schemas, depth + 1) {
                Value::Object(fields) => merged.extend(fields),
                other if parts.len() == 1 => return other,
                _ => {}
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema.get(key).and_then(Value::as_array) {
            // The first choice that is not `null`: the example shows the value.
            let choice = choices
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) != Some("null"))
                .or(choices.first());
            return choice.map_or(Value::Null, |c| example(c, schemas, depth + 1));
        }
    }
    match type_of(schema) {
        Some("object") => object(schema, schemas, depth),
        Some("array") => {
            let item = schema
                .get("items")
                .map_or(Value::Null, |items| example(items, schemas, depth + 1));
            let count = schema
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            Value::Array(vec![item; count as usize])
        }
        Some("integer") => json!(number(schema) as i64),
        Some("number") => json!(number(schema)),
        Some("boolean") => json!(false),
        Some("string") => string(schema),
        Some("null") => Value::Null,
        _ if schema.get("properties").is_some() => object(schema, schemas, depth),
        _ => json!({}),
    }
}

/// The schema's type; of `["string", "null"]` the one that is not null.
fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

fn object(schema: &Value, schemas: &Value, depth: usize) -> Value {
    let mut fields = Map::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            fields.insert(name.clone(), example(property, schemas, depth + 1));
        }
    }
    Value::Object(fields)
}

/// A number within the schema's bounds: its minimum where it has one.
fn number(schema: &Value) -> f64 {
    let minimum = schema.get("minimum").and_then(Value::as_f64);
    let maximum = schema.get("maximum").and_then(Value::as_f64);
    match (minimum, maximum) {
        (Some(min), _) if min > 0.0 => min,
        (_, Some(max)) if max < 0.0 => max,
        _ => 0.0,
    }
}

fn string(schema: &Value) -> Value {
    let text = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => "2026-01-01T12:00:00Z",
        Some("date") => "2026-01-01",
        Some("uuid") => "0193a0b2-7c4e-7d21-9f3a-5b6c7d8e9f01",
        _ => "example",
    };
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let mut text = text.to_string();
    while text.len() < min {
        text.push('x');
    }
    if let Some(max) = max {
        text.truncate(max);
    }
    json!(text)
}
