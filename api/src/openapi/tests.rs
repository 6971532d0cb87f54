//! Checks of the document's structure that need no server.

use serde_json::Value;

use super::*;
use crate::auth::Requirement;
use crate::routes::table::routes;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of the document, with its path and method.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((path.clone(), method.to_string(), operation.clone()));
            }
        }
    }
    found
}

fn operation(document: &Value, path: &str, method: &str) -> Value {
    document
        .pointer(&format!("/paths/{}/{method}", answers::escape(path)))
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

#[test]
fn every_route_is_documented_with_the_security_of_the_table() {
    let document = document();
    for route in routes() {
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = operation(&document, route.path, &method);
        assert_eq!(
            operation["security"],
            serde_json::to_value(security(route.requirement)).unwrap(),
            "{} {}",
            route.method,
            route.path
        );
    }
}

#[test]
fn path_parameters_are_the_ones_in_the_path_and_the_rest_are_query_parameters() {
    for (path, method, operation) in operations(&document()) {
        let Some(parameters) = operation["parameters"].as_array() else {
            continue;
        };
        for parameter in parameters {
            let name = parameter["name"].as_str().unwrap();
            let placed = parameter["in"].as_str().unwrap();
            let in_path = path.contains(&format!("{{{name}}}"));
            assert_eq!(
                placed == "path",
                in_path,
                "{method} {path}: parameter {name} is declared in {placed}"
            );
        }
    }
}

#[test]
fn every_body_and_every_answer_has_an_example() {
    for (path, method, operation) in operations(&document()) {
        let mut contents: Vec<(String, Value)> = Vec::new();
        if let Some(content) = operation["requestBody"]["content"].as_object() {
            contents.extend(
                content
                    .iter()
                    .map(|(t, c)| (format!("request {t}"), c.clone())),
            );
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            if let Some(content) = response["content"].as_object() {
                contents.extend(
                    content
                        .iter()
                        .map(|(t, c)| (format!("{status} {t}"), c.clone())),
                );
            }
        }
        assert!(!contents.is_empty(), "{method} {path} has no body at all");
        for (what, content) in contents {
            assert!(
                content.get("example").is_some() || content.get("examples").is_some(),
                "{method} {path}: {what} has no example"
            );
        }
    }
}

#[test]
fn every_route_documents_the_problems_its_kind_can_answer() {
    let document = document();
    for route in routes() {
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = operation(&document, route.path, &method);
        let responses = operation["responses"].as_object().unwrap();
        let mut expected = vec!["503"];
        if route.requirement != Requirement::Public {
            expected.extend(["401", "403", "429"]);
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["400", "413", "415", "422"]);
        }
        for status in expected {
            assert!(
                responses.contains_key(status),
                "{} {} does not document {status}",
                route.method,
                route.path
            );
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"][crate::problem::PROBLEM_JSON]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{} {} {status} is not a problem",
                    route.method,
                    route.path
                );
            }
        }
    }
}

#[test]
fn schema_bounds_are_the_servers() {
    use domain::limits::{MAX_COUNTED_QUANTITY, MAX_ID_LEN, MAX_QUANTITY_PER_COMMAND};
    let document = document();
    let schema = |name: &str, field: &str| {
        document["components"]["schemas"][name]["properties"][field].clone()
    };
    let quantity = schema("ReceiptBody", "quantity");
    assert_eq!(quantity["minimum"], 1);
    assert_eq!(quantity["maximum"], MAX_QUANTITY_PER_COMMAND);
    let count = schema("AdjustmentBody", "new_quantity");
    assert_eq!(count["minimum"], 0);
    assert_eq!(count["maximum"], MAX_COUNTED_QUANTITY);
    assert_eq!(
        schema("RegisterWarehouseBody", "warehouse_id")["maxLength"],
        MAX_ID_LEN
    );
}

#[test]
fn operation_ids_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for (path, method, operation) in operations(&document()) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            seen.insert(id.clone()),
            "{method} {path}: operationId {id} is taken"
        );
    }
}
