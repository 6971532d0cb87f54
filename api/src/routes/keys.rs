//! `/v1/keys`: API keys, managed with the master key.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use domain::ApiKeyCommand;
use projections::api_keys::KeyRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{metered, AppState};
use crate::auth::{sha256, Principal};
use crate::idempotency::{self, hex, Executed, MaybeReplayed};
use crate::problem::{Body, PathParams, Problem};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    #[schema(min_length = 1, max_length = 200, example = "shop backend")]
    pub name: String,
    /// Any of catalog:write, stock:write, orders:write, sales:write, read, admin, buyers:act, activity:write.
    #[schema(min_items = 1, example = json!(["stock:write", "read"]))]
    pub scopes: Vec<String>,
    /// When the key stops working by itself; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new key. `key` is shown this once: only its SHA-256 is kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    pub id: String,
    pub key: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub position: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub expired: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevokedKey {
    pub id: String,
    pub revoked: bool,
    pub position: i64,
}

fn info(key: KeyRecord, now: DateTime<Utc>) -> KeyInfo {
    KeyInfo {
        expired: key.expires_at.is_some_and(|at| at <= now),
        id: key.key_id,
        name: key.name,
        scopes: key.scopes,
        expires_at: key.expires_at,
        revoked: key.revoked,
    }
}

/// A fresh secret: `ck_` and 256 random bits in hex.
fn new_secret() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!(error = %e, "no randomness for a key");
        Problem::unavailable("no_randomness", "could not make a key; try again")
    })?;
    Ok(format!("ck_{}", hex(&bytes)))
}

/// Create an API key (master key only). With an `Idempotency-Key`, a retry answers
/// the same key, secret included: such a key's id comes from the idempotency key and
/// its secret is derived from the id under the master key, so nothing stores it.
#[utoipa::path(post, path = "/v1/keys", tag = "keys",
    request_body = CreateKeyBody,
    responses(
        (status = 201, description = "Created; with Idempotency-Key, a retry answers the same key again", body = CreatedKey),
        (status = 409, description = "The key's secret cannot be derived again (the master key changed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the master key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<CreateKeyBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<CreatedKey>)>, Problem> {
    let metadata = state.metadata(&headers, &principal);
    // With an Idempotency-Key the id and secret follow from it (a retry gets the
    // same ones back); without, they are fresh.
    let (id, secret) = match idempotency::key(&headers)? {
        Some(key) => derived_key(&state, &principal.actor(), &key),
        None => (uuid::Uuid::now_v7().to_string(), new_secret()?),
    };
    let command = ApiKeyCommand::Create {
        key_id: id.clone(),
        name: body.name.clone(),
        scopes: body.scopes.clone(),
        key_sha256: hex(&sha256(secret.as_bytes())),
        expires_at: body.expires_at,
    };
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "create_api_key",
        &body,
        |keyed| state.commands.handle_api_key(command, &metadata, keyed),
    )
    .await?;
    let (position, replayed) = match executed {
        Executed::Fresh(outcome) => (outcome.position, false),
        Executed::Replayed(receipt) => (receipt.position, true),
    };
    // Usable at once on this node; other nodes follow within a second.
    state.auth.keys.refresh().await.map_err(|e| {
        tracing::error!(error = %e, "refreshing keys failed");
        Problem::unavailable(
            "storage_unavailable",
            "the key was created but could not be loaded yet",
        )
    })?;
    let key = state.auth.keys.get(&id).ok_or_else(|| {
        Problem::unavailable(
            "storage_unavailable",
            "the key was created but is not visible yet",
        )
    })?;
    if key.sha256 != sha256(secret.as_bytes()) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "key_secret_unavailable",
            "this key was created with another master key; its secret cannot be shown again",
        ));
    }
    Ok(MaybeReplayed(
        (
            StatusCode::CREATED,
            Json(CreatedKey {
                id,
                key: secret,
                name: key.name,
                scopes: key.scopes,
                expires_at: key.expires_at,
                position,
            }),
        ),
        replayed,
    ))
}

/// The id and secret of a key created under an Idempotency-Key: the id a hash of the
/// credential's scope and the key, the secret an HMAC of the id under the master key.
fn derived_key(state: &AppState, scope: &str, idempotency_key: &str) -> (String, String) {
    // The id does not depend on the master key, so a retry after it changed still
    // finds the key (and says its secret cannot be shown).
    let seed = sha256(format!("commerce api key id\0{scope}\0{idempotency_key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&seed[..16]);
    let id = uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string();
    let secret = state
        .auth
        .derive_key_secret(format!("secret\0{id}").as_bytes());
    (id, format!("ck_{}", hex(&secret)))
}

/// List API keys, without their secrets (master key only).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>) -> Json<KeyList> {
    let now = state.commands.clock().now();
    Json(KeyList {
        keys: state
            .auth
            .keys
            .list()
            .into_iter()
            .map(|k| info(k, now))
            .collect(),
    })
}

/// Revoke an API key: it stops working on every node within a second.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RevokedKey),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Json<RevokedKey>, Problem> {
    if state.auth.keys.get(&id).is_none() {
        state.auth.keys.refresh().await.ok();
    }
    let metadata = state.metadata(&headers, &principal);
    let command = ApiKeyCommand::Revoke { key_id: id.clone() };
    let outcome = metered(
        "revoke_api_key",
        state.commands.handle_api_key(command, &metadata, None),
    )
    .await?;
    state.auth.keys.refresh().await.ok();
    Ok(Json(RevokedKey {
        id,
        revoked: true,
        position: outcome.position,
    }))
}
