//! An opened log on a fresh database, and a writer that appends to it through the
//! real append path, keeping each stream's sequence.

use std::collections::BTreeMap;

use event_log::{AppendBatch, Database, EventStore, NewEvent};
use event_schemas::Metadata;

use crate::PgDatabase;

/// A fresh database of either backend with its log open.
pub struct TestLog {
    pub store: EventStore,
    /// The same connections, as readers (projections) take them.
    pub read: Database,
    pub dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    sequences: BTreeMap<String, i64>,
    /// The position of the last event [`append`](Self::append) wrote.
    pub last_position: i64,
}

impl TestLog {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::connect(None, dir.path()).await.unwrap();
        Self::open(db, dir, None).await
    }

    pub async fn postgres() -> Self {
        let pg = PgDatabase::create_named("commerce_log").await;
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::connect(Some(&pg.url), dir.path()).await.unwrap();
        Self::open(db, dir, Some(pg)).await
    }

    async fn open(db: Database, dir: tempfile::TempDir, pg: Option<PgDatabase>) -> Self {
        let store = EventStore::open(db.clone()).await.unwrap();
        Self {
            store,
            read: db,
            dir,
            pg,
            sequences: BTreeMap::new(),
            last_position: 0,
        }
    }

    /// The PostgreSQL database's URL, if this log is on PostgreSQL.
    pub fn pg_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|pg| pg.url.as_str())
    }

    /// Drop the PostgreSQL database, if there is one (its connections with it).
    pub async fn drop_database(self) {
        // Not `pool.close()`: it waits for every connection to come back, and the
        // store's LISTEN task keeps one while it runs; the drop is forced anyway.
        if let Some(pg) = &self.pg {
            pg.drop_database().await;
        }
    }

    /// Append one event to stream `aggregate_type`/`id` through the store, after the
    /// stream's last; its position.
    pub async fn append(
        &mut self,
        aggregate_type: &str,
        id: &str,
        event_type: &str,
        event_version: &str,
        payload: serde_json::Value,
    ) -> i64 {
        let sequence = self
            .sequences
            .entry(format!("{aggregate_type}/{id}"))
            .or_default();
        let batch = AppendBatch {
            aggregate_type: aggregate_type.into(),
            aggregate_id: id.into(),
            expected_sequence: *sequence,
            events: vec![NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: event_type.into(),
                event_version: event_version.into(),
                payload: payload.to_string(),
                metadata: Metadata::default(),
                occurred_at: chrono::Utc::now(),
            }],
            receipts: Vec::new(),
        };
        let result = self.store.append(&[batch]).await.unwrap();
        let positions = result.into_iter().next().unwrap().expect("no other writer");
        *sequence += 1;
        self.last_position = positions[0];
        positions[0]
    }

    /// Append a typed event at the type and version it is written with today.
    pub async fn append_event<E>(&mut self, aggregate_type: &str, id: &str, event: &E) -> i64
    where
        E: cqrs_es::DomainEvent,
    {
        let payload = serde_json::to_value(event).expect("events serialise");
        self.append(
            aggregate_type,
            id,
            &event.event_type(),
            &event.event_version(),
            payload,
        )
        .await
    }
}
