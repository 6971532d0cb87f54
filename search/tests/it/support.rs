//! A log to search: a fresh SQLite directory or PostgreSQL database, and a writer of
//! catalog, stock and activity events.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use event_schemas::{
    ActivityEvent, GeoPoint, Money, ProductChanges, ProductDetails, ProductEvent, Shop, StockEvent,
};
use search::{SearchProjection, SearchRequest, SearchResults};
use testkit::TestLog;

/// A log on a fresh database (`testkit`'s), written event by event through the real
/// append path.
pub struct Backend(TestLog);

impl Deref for Backend {
    type Target = TestLog;

    fn deref(&self) -> &TestLog {
        &self.0
    }
}

impl Backend {
    pub async fn sqlite() -> Self {
        Self(TestLog::sqlite().await)
    }

    pub async fn postgres() -> Self {
        Self(TestLog::postgres().await)
    }

    pub async fn drop_database(self) {
        self.0.drop_database().await;
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

    pub async fn list(&mut self, sku: &str, details: ProductDetails) {
        let event = ProductEvent::ProductListed {
            sku: sku.into(),
            details,
        };
        self.0.append_event("product", sku, &event).await;
    }

    pub async fn update(&mut self, sku: &str, changes: ProductChanges) {
        let event = ProductEvent::ProductUpdated {
            sku: sku.into(),
            changes,
        };
        self.0.append_event("product", sku, &event).await;
    }

    pub async fn delist(&mut self, sku: &str) {
        let event = ProductEvent::ProductDelisted { sku: sku.into() };
        self.0.append_event("product", sku, &event).await;
    }

    pub async fn stock(&mut self, event: StockEvent) {
        let (sku, warehouse) = event.stock_key();
        let id = format!("{sku}@{warehouse}");
        self.0.append_event("stock", &id, &event).await;
    }

    pub async fn searched(&mut self, query: &str, hits: u64) {
        let event = ActivityEvent::SearchPerformed {
            user_id: None,
            query: query.into(),
            hits,
        };
        let id = uuid::Uuid::now_v7().to_string();
        self.0.append_event("activity", &id, &event).await;
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
