//! `Idempotency-Key`: a retried POST gets the first answer again instead of running
//! twice. Keys are scoped per credential; the key is recorded in the same transaction
//! as the command's events (see `event_log::Receipt`), so it is taken exactly
//! when the command took effect. The same key with another request is refused (422);
//! while a request with a key is in flight here, another with the same key gets 409.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use commands::{CommandError, KeyedRequest, StoredReceipt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::problem::Problem;
use crate::routes::{metered_result, AppState};

/// Longest idempotency key accepted.
const MAX_KEY_LEN: usize = 255;

/// The keys this process is working on right now.
#[derive(Debug, Default)]
pub struct InFlight {
    keys: Mutex<HashSet<(String, String)>>,
}

/// Holds a key for the life of its request.
struct Claim {
    in_flight: Arc<InFlight>,
    key: (String, String),
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.in_flight
            .keys
            .lock()
            .expect("in-flight keys poisoned")
            .remove(&self.key);
    }
}

impl InFlight {
    fn claim(self: &Arc<Self>, request: &KeyedRequest) -> Result<Claim, Problem> {
        let key = (request.scope.clone(), request.key.clone());
        if !self
            .keys
            .lock()
            .expect("in-flight keys poisoned")
            .insert(key.clone())
        {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry once it has answered",
            ));
        }
        Ok(Claim {
            in_flight: self.clone(),
            key,
        })
    }
}

/// A command's result: run now, or the stored answer of an earlier run.
pub enum Executed<T> {
    Fresh(T),
    Replayed(StoredReceipt),
}

/// The request's `Idempotency-Key`, if it sent one.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => Ok(Some(key.to_string())),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )),
    }
}

/// The id the server gives a resource the client did not name: derived from the
/// caller and its `Idempotency-Key` when it sent one (so a keyed retry names the same
/// resource, and the request's fingerprint can leave generated ids out), else a
/// fresh UUIDv7.
pub fn generated_id(
    principal: &crate::auth::Principal,
    headers: &HeaderMap,
    name: &str,
) -> Result<String, Problem> {
    Ok(match key(headers)? {
        Some(key) => {
            let mut hasher = Sha256::new();
            for part in [name, &principal.actor(), &key] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
            // 128 bits, as many as a UUID carries.
            format!("k-{}", &hex(&hasher.finalize())[..32])
        }
        None => uuid::Uuid::now_v7().to_string(),
    })
}

/// Run `command` (named `name` for metrics) under the request's idempotency key.
/// `request` is what identifies the request: the same key with a different one is
/// refused.
pub async fn run<T, F, Fut>(
    state: &AppState,
    principal: &crate::auth::Principal,
    headers: &HeaderMap,
    name: &'static str,
    request: &impl Serialize,
    command: F,
) -> Result<Executed<T>, Problem>
where
    F: FnOnce(Option<KeyedRequest>) -> Fut,
    Fut: Future<Output = Result<T, CommandError>>,
{
    let Some(key) = key(headers)? else {
        return metered_result(name, command(None))
            .await
            .map(Executed::Fresh)
            .map_err(Problem::from);
    };
    let keyed = KeyedRequest {
        scope: principal.actor(),
        key,
        request_hash: fingerprint(name, request),
    };
    let _claim = state.in_flight.claim(&keyed)?;
    if let Some(receipt) = state
        .commands
        .store()
        .find_receipt(&keyed.scope, &keyed.key)
        .await?
    {
        return replay(&keyed, receipt);
    }
    match metered_result(name, command(Some(keyed.clone()))).await {
        Ok(answer) => Ok(Executed::Fresh(answer)),
        Err(CommandError::AlreadyDone(receipt)) => replay(&keyed, receipt),
        Err(other) => Err(other.into()),
    }
}

fn replay<T>(keyed: &KeyedRequest, receipt: StoredReceipt) -> Result<Executed<T>, Problem> {
    if receipt.request_hash != keyed.request_hash {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request",
        ));
    }
    Ok(Executed::Replayed(receipt))
}

/// A request fingerprinted through its JSON value, the way routes that built a
/// `Value` of their body always were (so stored keys still match), but only when
/// an `Idempotency-Key` asks for a fingerprint: most requests come without one.
pub struct AsValue<'a, T>(pub &'a T);

impl<T: Serialize> Serialize for AsValue<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// SHA-256 of the command's name and its canonical JSON.
fn fingerprint(name: &str, request: &impl Serialize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(request).expect("requests serialise"));
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An answer, marked with `Idempotent-Replayed: true` when it is a stored one.
pub struct MaybeReplayed<R>(pub R, pub bool);

impl<R: axum::response::IntoResponse> axum::response::IntoResponse for MaybeReplayed<R> {
    fn into_response(self) -> axum::response::Response {
        let mut response = self.0.into_response();
        if self.1 {
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
        }
        response
    }
}

/// The parts of a stored answer: events recorded, the view after, and the position.
pub fn stored_answer<V: serde::de::DeserializeOwned>(
    receipt: &StoredReceipt,
) -> Result<(usize, V), Problem> {
    let events = receipt.answer["events"].as_u64().unwrap_or(0) as usize;
    let view = serde_json::from_value(receipt.answer["view"].clone()).map_err(|e| {
        tracing::error!(error = %e, "unreadable stored answer");
        Problem::unavailable(
            "storage_unavailable",
            "the stored answer of this key is unreadable",
        )
    })?;
    Ok((events, view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Booking {
        zeta: u32,
        alpha: Option<String>,
    }

    #[test]
    fn a_fingerprint_through_as_value_is_the_one_its_value_gave() {
        let booking = Booking {
            zeta: 2,
            alpha: Some("a".into()),
        };
        let value = serde_json::to_value(&booking).expect("serialises");
        assert_eq!(
            fingerprint("book_stay", &AsValue(&booking)),
            fingerprint("book_stay", &value)
        );
    }
}
