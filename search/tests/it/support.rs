//! A log to search: a fresh SQLite directory or PostgreSQL database, and a writer of
//! catalog, stock and activity events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use commands::{AppendBatch, Database, EventStore, NewEvent};
use event_schemas::{
    ActivityEvent, ActivityKind, GeoPoint, Metadata, Money, ProductChanges, ProductDetails,
    ProductEvent, Shop, StockEvent,
};
use projections::ReadDb;
use search::{SearchProjection, SearchRequest, SearchResults};

pub struct Backend {
    pub store: EventStore,
    pub read: ReadDb,
    pub dir: tempfile::TempDir,
    pg_database: Option<String>,
    sequences: BTreeMap<String, i64>,
    pub last_position: i64,
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Backend {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(None, dir.path()).await.unwrap();
        Self::open(db, dir, None).await
    }

    pub async fn postgres() -> Self {
        let name = format!("commerce_search_{}", uuid::Uuid::now_v7().simple());
        let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = format!("{}/{name}", admin_url().rsplit_once('/').unwrap().0);
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(Some(&url), dir.path()).await.unwrap();
        Self::open(db, dir, Some(name)).await
    }

    async fn open(db: Database, dir: tempfile::TempDir, pg_database: Option<String>) -> Self {
        let store = EventStore::open(db.clone()).await.unwrap();
        let read = match db {
            Database::Sqlite { writer, reader } => ReadDb::Sqlite { writer, reader },
            Database::Postgres(pool) => ReadDb::Postgres(pool),
        };
        Self {
            store,
            read,
            dir,
            pg_database,
            sequences: BTreeMap::new(),
            last_position: 0,
        }
    }

    pub async fn drop_database(self) {
        if let (Some(name), ReadDb::Postgres(pool)) = (&self.pg_database, &self.read) {
            pool.close().await;
            if let Ok(admin) = sqlx::PgPool::connect(&admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
            }
        }
    }

    /// The search projection over this log, committing at the given interval when
    /// nobody waits.
    pub async fn open_search_committing_every(
        &self,
        interval: std::time::Duration,
    ) -> Arc<SearchProjection> {
        let projection = SearchProjection::open_with_commit_interval(
            self.read.clone(),
            self.dir.path().join("search"),
            interval,
        )
        .await
        .unwrap();
        projection.spawn_live(self.store.committed());
        projection
    }

    pub async fn open_search(&self) -> Arc<SearchProjection> {
        let projection = SearchProjection::open(self.read.clone(), self.dir.path().join("search"))
            .await
            .unwrap();
        projection.spawn_live(self.store.committed());
        projection
    }

    async fn append(
        &mut self,
        aggregate_type: &str,
        id: &str,
        event_type: &str,
        payload: serde_json::Value,
    ) {
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
                event_version: "1.0".into(),
                payload,
                metadata: Metadata::default(),
                occurred_at: chrono::Utc::now(),
            }],
            receipts: Vec::new(),
        };
        let result = self.store.append(&[batch]).await.unwrap();
        let positions = result.into_iter().next().unwrap().expect("no other writer");
        *sequence += 1;
        self.last_position = positions[0];
    }

    pub async fn list(&mut self, sku: &str, details: ProductDetails) {
        let event = ProductEvent::ProductListed {
            sku: sku.into(),
            details,
        };
        self.append(
            "product",
            sku,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }

    pub async fn update(&mut self, sku: &str, changes: ProductChanges) {
        let event = ProductEvent::ProductUpdated {
            sku: sku.into(),
            changes,
        };
        self.append(
            "product",
            sku,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }

    pub async fn delist(&mut self, sku: &str) {
        let event = ProductEvent::ProductDelisted { sku: sku.into() };
        self.append(
            "product",
            sku,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }

    pub async fn stock(&mut self, event: StockEvent) {
        let (sku, warehouse) = event.stock_key();
        let id = format!("{sku}@{warehouse}");
        self.append(
            "stock",
            &id,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }

    pub async fn activity(&mut self, user_id: &str, kind: ActivityKind, sku: &str) {
        let event = ActivityEvent::ActivityRecorded {
            user_id: user_id.into(),
            kind,
            sku: Some(sku.into()),
            query: None,
        };
        let id = uuid::Uuid::now_v7().to_string();
        self.append(
            "activity",
            &id,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }

    pub async fn searched(&mut self, query: &str, hits: u64) {
        let event = ActivityEvent::SearchPerformed {
            user_id: None,
            query: query.into(),
            hits,
        };
        let id = uuid::Uuid::now_v7().to_string();
        self.append(
            "activity",
            &id,
            event.event_type(),
            serde_json::to_value(&event).unwrap(),
        )
        .await;
    }
}

/// A product with sensible defaults; tests change what they are about.
pub fn product(title: &str) -> ProductDetails {
    ProductDetails {
        title: title.into(),
        description: String::new(),
        tags: Vec::new(),
        category: "home/kitchen".into(),
        materials: Vec::new(),
        shop: Shop {
            shop_id: "shop-1".into(),
            name: "Corner Shop".into(),
            location: GeoPoint {
                lat: 52.52,
                lon: 13.405,
            },
        },
        price: Money {
            amount: 1000,
            currency: "EUR".into(),
        },
        language: "en".into(),
    }
}

/// Search once the projection reflects everything written so far.
pub async fn search_at(
    projection: &SearchProjection,
    position: i64,
    request: SearchRequest,
) -> SearchResults {
    projection
        .wait_for(position, Duration::from_secs(10))
        .await
        .expect("the projection catches up");
    let view = projection.view();
    assert!(view.position >= position);
    search::search(&view, &request).unwrap()
}

pub fn request(q: &str) -> SearchRequest {
    SearchRequest {
        q: q.into(),
        limit: 20,
        ..Default::default()
    }
}

pub fn skus(results: &SearchResults) -> Vec<String> {
    results.hits.iter().map(|h| h.product.sku.clone()).collect()
}
