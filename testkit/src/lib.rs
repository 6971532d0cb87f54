//! Test fixtures shared by the crates' integration tests (a dev-dependency only):
//! temporary databases on either backend, a log written through the real append
//! path (`event-log`'s), stored rows of old event versions, and test events.
//!
//! It depends on `event-log` and `event-schemas` only, so the write side's tests and
//! the read side's can both use it without depending on each other.
//!
//! * [`PgDatabase`], [`Fresh`], [`Kind`] — a database of its own per test.
//! * [`TestLog`] — an opened log with a writer that keeps each stream's sequence.
//! * [`events`](mod@events) — test events and batches for the store's contract.
//! * [`stays`] — a listing's details.

pub mod events;
mod log;
mod pg;
pub mod stays;

pub use events::{batch, event, event_with, events, full_metadata};
pub use log::TestLog;
pub use pg::{admin_url, with_database, PgDatabase};

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use event_log::{Database, EventStore};
use futures::FutureExt;

/// How long any one test may run before it is failed as hung. A safety net only:
/// no check depends on it.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// How long to wait for an outcome that must come (a wake-up, a notification)
/// before failing: generous, it only bounds a test that would otherwise hang.
pub const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
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

/// Run one check on a fresh store of `kind`, with the database it reads from.
pub async fn run_check<C>(kind: Kind, check: C)
where
    C: for<'a> FnOnce(&'a EventStore, &'a Database) -> futures::future::BoxFuture<'a, ()>,
{
    let fresh = Fresh::new(kind).await;
    fresh
        .run(async {
            let db = fresh.connect().await;
            let read = db.clone();
            let store = EventStore::open(db).await.expect("open the event store");
            // Connections left open (pools, the commit listener) are ended by the
            // forced drop of the database.
            check(&store, &read).await;
        })
        .await;
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
