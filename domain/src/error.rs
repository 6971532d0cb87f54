//! Why a command was refused.

use serde::Serialize;

/// The class of a refusal, which the API maps onto a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The command itself is malformed for the rules (422).
    Invalid,
    /// The command names something that does not exist (404).
    NotFound,
    /// The command is valid but the current state refuses it (409).
    Conflict,
    /// The caller may not do this, however valid (403), e.g. over a purchase limit.
    Forbidden,
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A refused command: what kind of refusal, a human sentence, and facts the caller
/// can act on (for example what is available).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{detail}")]
pub struct DomainError {
    pub kind: ErrorKind,
    /// Why, as a type; `code.code()` is the stable machine-readable code.
    pub code: crate::Refusal,
    pub detail: String,
    /// Per-field problems of an invalid command.
    pub errors: Vec<FieldError>,
    /// Extra facts, e.g. `{"available": 3}`.
    pub facts: serde_json::Map<String, serde_json::Value>,
}

impl DomainError {
    pub fn new(kind: ErrorKind, code: crate::Refusal, detail: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            facts: Default::default(),
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(ErrorKind::Invalid, crate::Refusal::InvalidCommand, detail)
        }
    }

    pub fn with_fact(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.facts.insert(name.to_string(), value.into());
        self
    }
}
