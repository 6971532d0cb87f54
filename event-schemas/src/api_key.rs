//! Events of the ApiKey aggregate. Only the SHA-256 of a key is ever recorded.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which API key events are stored.
pub const API_KEY_AGGREGATE: &str = "api_key";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ApiKeyEvent {
    ApiKeyCreated {
        key_id: String,
        name: String,
        scopes: Vec<String>,
        /// Hex SHA-256 of the secret key; the key itself is shown once and never kept.
        key_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    ApiKeyRevoked {
        key_id: String,
    },
}

impl ApiKeyEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ApiKeyEvent::ApiKeyCreated { .. } => "ApiKeyCreated",
            ApiKeyEvent::ApiKeyRevoked { .. } => "ApiKeyRevoked",
        }
    }
}
