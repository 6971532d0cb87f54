//! Backends for the contract suite: a fresh SQLite directory or a fresh PostgreSQL
//! database per test, and helpers to build events.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use commands::{AppendBatch, Database, EventStore, NewEvent};
use event_schemas::Metadata;
use futures::FutureExt;
use projections::ReadDb;
use sqlx::Connection;
use uuid::Uuid;

/// How long any one test may run before it is failed as hung. A safety net only:
/// no check depends on it.
const WATCHDOG: Duration = Duration::from_secs(120);

/// How long to wait for an outcome that must come (a wake-up, a notification)
/// before failing: generous, it only bounds a test that would otherwise hang.
pub const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The server and maintenance database that test databases are created from.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `database` (query string kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// A PostgreSQL database of its own, created for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        let name = format!("commerce_it_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url())
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_DATABASE_URL: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url(), &name);
        Self { name, url }
    }

    /// Best effort: a database left behind is named `commerce_it_*` and harms no run.
    pub async fn drop_database(&self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}

/// The read side's handle on the pools of a `Database`.
pub fn read_db(db: &Database) -> ReadDb {
    match db.clone() {
        Database::Sqlite { writer, reader } => ReadDb::Sqlite { writer, reader },
        Database::Postgres(pool) => ReadDb::Postgres(pool),
    }
}

/// A fresh, empty database of one backend: its directory (SQLite) or its own
/// database on the server (PostgreSQL), not yet opened as a store.
pub struct Fresh {
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl Fresh {
    pub async fn new(kind: Kind) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = match kind {
            Kind::Sqlite => None,
            Kind::Postgres => Some(PgDatabase::create().await),
        };
        Self { dir, pg }
    }

    /// A new connection to this database, as another process would open it.
    pub async fn connect(&self) -> Database {
        Database::connect(self.pg.as_ref().map(|pg| pg.url.as_str()), self.dir.path())
            .await
            .expect("connect to the test database")
    }

    /// Run `test` on this database, then drop it (also when the test panics).
    pub async fn run<F: Future<Output = ()>>(&self, test: F) {
        let outcome = tokio::time::timeout(WATCHDOG, AssertUnwindSafe(test).catch_unwind()).await;
        if let Some(pg) = &self.pg {
            pg.drop_database().await;
        }
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => panic!("test still running after {WATCHDOG:?}: hung"),
        }
    }
}

/// Run one contract check on a fresh store of `kind`.
pub async fn run_check<C>(kind: Kind, check: C)
where
    C: for<'a> FnOnce(&'a EventStore, &'a ReadDb) -> futures::future::BoxFuture<'a, ()>,
{
    let fresh = Fresh::new(kind).await;
    fresh
        .run(async {
            let db = fresh.connect().await;
            let read = read_db(&db);
            let store = EventStore::open(db).await.expect("open the event store");
            // Connections left open (pools, the commit listener) are ended by the
            // forced drop of the database.
            check(&store, &read).await;
        })
        .await;
}

/// Generate one test per backend for each check: `sqlite::name` and `postgres::name`
/// call `check_name(&EventStore, &ReadDb)` on a fresh store.
#[macro_export]
macro_rules! contract {
    ($($name:ident => $check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::support::run_check($crate::support::Kind::Sqlite, |store, read| {
                        Box::pin(super::$check(store, read))
                    })
                    .await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::support::run_check($crate::support::Kind::Postgres, |store, read| {
                        Box::pin(super::$check(store, read))
                    })
                    .await;
                }
            )*
        }
    };
}

/// Metadata with every field set, distinct per `tag`.
pub fn full_metadata(tag: &str) -> Metadata {
    Metadata {
        correlation_id: Some(format!("corr-{tag}")),
        causation_id: Some(format!("cause-{tag}")),
        actor: Some(format!("actor-{tag}")),
        idempotency_key: Some(format!("idem-{tag}")),
    }
}

/// An event with a payload naming `tag`, stamped now (to the microsecond, which is
/// what both backends keep).
pub fn event(tag: &str) -> NewEvent {
    event_with(tag, full_metadata(tag))
}

pub fn event_with(tag: &str, metadata: Metadata) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestHappened".into(),
        event_version: "1.0".into(),
        payload: serde_json::json!({
            "TestHappened": {
                "tag": tag,
                "n": 42,
                "nested": {"list": [1, 2.5, "three", null, true], "text": "ünïcødé \"quoted\""}
            }
        }),
        metadata,
        occurred_at: Utc::now().trunc_subsecs(6),
    }
}

pub fn batch(aggregate_id: &str, expected_sequence: i64, events: Vec<NewEvent>) -> AppendBatch {
    AppendBatch {
        aggregate_type: "test".into(),
        aggregate_id: aggregate_id.into(),
        expected_sequence,
        events,
        receipts: Vec::new(),
    }
}

/// `count` events tagged `aggregate_id/1`, `aggregate_id/2`, ... from `first`.
pub fn events(aggregate_id: &str, first: i64, count: i64) -> Vec<NewEvent> {
    (first..first + count)
        .map(|n| event(&format!("{aggregate_id}/{n}")))
        .collect()
}

/// Wait until the watch shows at least `position`, failing after [`PATIENCE`].
pub async fn wait_committed(rx: &mut tokio::sync::watch::Receiver<i64>, position: i64) {
    let reached = tokio::time::timeout(PATIENCE, rx.wait_for(|p| *p >= position))
        .await
        .map(|seen| seen.map(drop));
    match reached {
        Ok(result) => result.expect("the store's head sender is alive"),
        Err(_) => panic!(
            "committed() never reached {position} (it shows {})",
            *rx.borrow()
        ),
    }
}
