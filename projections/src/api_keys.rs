//! API keys as the authentication layer needs them: by the SHA-256 of the secret,
//! in memory, following the log. Every process keeps its own copy, refreshed on each
//! commit it hears of (its own and, through LISTEN/NOTIFY, other processes') and at
//! least every second, so a revoked key stops working everywhere within a second.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use event_log::{Database, LogError};
use event_schemas::api_key::API_KEY_AGGREGATE;
use event_schemas::ApiKeyEvent;
use serde::Serialize;
use tokio::sync::watch;

/// The longest a process goes without looking for key changes.
const REFRESH_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
/// The shortest gap between two looks, so a burst of commits costs one query.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// A key as listed; the secret is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// Log position of the key's creation.
    pub created_at_position: i64,
    #[serde(skip)]
    pub sha256: [u8; 32],
}

#[derive(Default)]
struct Keys {
    by_id: BTreeMap<String, KeyRecord>,
    by_hash: HashMap<[u8; 32], String>,
    position: i64,
}

pub struct ApiKeys {
    db: Database,
    keys: RwLock<Keys>,
    refreshing: tokio::sync::Mutex<()>,
}

impl ApiKeys {
    /// Load every key from the log.
    pub async fn open(db: Database) -> Result<Arc<Self>, LogError> {
        let keys = Arc::new(Self {
            db,
            keys: Default::default(),
            refreshing: Default::default(),
        });
        keys.refresh().await?;
        Ok(keys)
    }

    /// Apply the key events committed since the last look (every commit this
    /// process has heard of: a key created here is found right after).
    pub async fn refresh(&self) -> Result<(), LogError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let target = self.db.heard_head();
        let mut after = self.keys.read().expect("key table poisoned").position;
        loop {
            let recent = self
                .db
                .read_recent(after, Some(API_KEY_AGGREGATE), i64::MAX)
                .await?;
            if !recent.records.is_empty() {
                let mut keys = self.keys.write().expect("key table poisoned");
                for record in recent.records {
                    let event: ApiKeyEvent = record.decode_as()?;
                    keys.apply(record.position, event);
                }
            }
            if recent.reached >= target {
                return Ok(());
            }
            after = recent.reached;
        }
    }

    /// Refresh on every commit heard of, and at least every second.
    pub fn spawn_follow(self: &Arc<Self>, mut committed: watch::Receiver<i64>) {
        let keys = self.clone();
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(REFRESH_AT_LEAST_EVERY, committed.changed()).await;
                if let Err(error) = keys.refresh().await {
                    tracing::warn!(%error, "refreshing API keys failed");
                }
                tokio::time::sleep(REFRESH_AT_MOST_EVERY).await;
            }
        });
    }

    /// The key whose secret hashes to `sha256`, if there is one.
    pub fn find(&self, sha256: &[u8; 32]) -> Option<KeyRecord> {
        let keys = self.keys.read().expect("key table poisoned");
        let id = keys.by_hash.get(sha256)?;
        keys.by_id.get(id).cloned()
    }

    pub fn get(&self, key_id: &str) -> Option<KeyRecord> {
        self.keys
            .read()
            .expect("key table poisoned")
            .by_id
            .get(key_id)
            .cloned()
    }

    pub fn list(&self) -> Vec<KeyRecord> {
        self.keys
            .read()
            .expect("key table poisoned")
            .by_id
            .values()
            .cloned()
            .collect()
    }
}

impl Keys {
    fn apply(&mut self, position: i64, event: ApiKeyEvent) {
        self.position = position;
        match event {
            ApiKeyEvent::ApiKeyCreated {
                key_id,
                name,
                scopes,
                key_sha256,
                expires_at,
            } => {
                let Some(sha256) = parse_hex(&key_sha256) else {
                    tracing::warn!(%key_id, "ignoring a key with an unreadable hash");
                    return;
                };
                self.by_hash.insert(sha256, key_id.clone());
                self.by_id.insert(
                    key_id.clone(),
                    KeyRecord {
                        key_id,
                        name,
                        scopes,
                        expires_at,
                        revoked: false,
                        created_at_position: position,
                        sha256,
                    },
                );
            }
            ApiKeyEvent::ApiKeyRevoked { key_id } => {
                if let Some(key) = self.by_id.get_mut(&key_id) {
                    key.revoked = true;
                }
            }
        }
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
