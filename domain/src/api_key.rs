//! The ApiKey aggregate: a scoped credential for a shop's backend or an operator.
//!
//! The secret is made and hashed outside the domain (it needs randomness); the
//! aggregate records the hash, the scopes and the expiry, and its revocation.

use chrono::{DateTime, Utc};
use event_schemas::api_key::API_KEY_AGGREGATE;
use event_schemas::ApiKeyEvent;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;

/// Every scope a key may carry.
pub const SCOPES: &[&str] = &[
    "catalog:write",
    "stock:write",
    "orders:write",
    "sales:write",
    "read",
    "admin",
    "buyers:act",
    "activity:write",
    "couriers:write",
    "delivery:write",
    "stays:write",
    "stays:book",
    "fulfilment:write",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ApiKeyCommand {
    Create {
        key_id: String,
        name: String,
        scopes: Vec<String>,
        key_sha256: String,
        expires_at: Option<DateTime<Utc>>,
    },
    Revoke {
        key_id: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub created: bool,
    pub revoked: bool,
}

impl ApiKey {
    pub fn decide(
        &self,
        command: &ApiKeyCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ApiKeyEvent>, DomainError> {
        match command {
            ApiKeyCommand::Create {
                key_id,
                name,
                scopes,
                key_sha256,
                expires_at,
            } => {
                let mut v = Validator::new();
                v.id("key_id", key_id);
                v.text("name", name);
                v.check(!scopes.is_empty(), "scopes", "must name at least one scope");
                for (i, scope) in scopes.iter().enumerate() {
                    v.check(
                        SCOPES.contains(&scope.as_str()),
                        &format!("scopes[{i}]"),
                        &format!("must be one of {}", SCOPES.join(", ")),
                    );
                }
                v.check(
                    key_sha256.len() == 64 && key_sha256.bytes().all(|b| b.is_ascii_hexdigit()),
                    "key_sha256",
                    "must be a hex SHA-256",
                );
                v.check(
                    expires_at.is_none_or(|at| at > now),
                    "expires_at",
                    "must lie in the future",
                );
                v.finish()?;
                if self.created {
                    return Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::KeyExists,
                        format!("key '{key_id}' already exists"),
                    ));
                }
                let mut scopes = scopes.clone();
                scopes.sort();
                scopes.dedup();
                Ok(vec![ApiKeyEvent::ApiKeyCreated {
                    key_id: key_id.clone(),
                    name: name.clone(),
                    scopes,
                    key_sha256: key_sha256.clone(),
                    expires_at: *expires_at,
                }])
            }
            ApiKeyCommand::Revoke { key_id } => {
                if !self.created {
                    return Err(DomainError::new(
                        ErrorKind::NotFound,
                        crate::Refusal::UnknownKey,
                        format!("there is no key '{key_id}'"),
                    ));
                }
                if self.revoked {
                    return Ok(vec![]);
                }
                Ok(vec![ApiKeyEvent::ApiKeyRevoked {
                    key_id: key_id.clone(),
                }])
            }
        }
    }

    pub fn apply_event(&mut self, event: &ApiKeyEvent) {
        match event {
            ApiKeyEvent::ApiKeyCreated { .. } => self.created = true,
            ApiKeyEvent::ApiKeyRevoked { .. } => self.revoked = true,
        }
    }
}

crate::aggregate::aggregate!(ApiKey, API_KEY_AGGREGATE, ApiKeyCommand, ApiKeyEvent,
    decide: |key, command, services| key.decide(command, services.now()));

impl crate::Hosted for ApiKey {
    type View = ();

    fn view(&self) {}
}
