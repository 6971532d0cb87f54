//! Several stores on one database, as several processes would open it: commit
//! wake-ups across them (PostgreSQL `LISTEN/NOTIFY`) and concurrent migrations.

use commands::{Conflict, EventStore};
use futures::future::join_all;

use crate::support::{batch, events, wait_committed, Fresh, Kind};

/// How many stores start at once in the migration tests.
const STARTING: usize = 6;

/// Contract 6: A second store on the same database sees the first one's commits through its
/// `committed()` watch, and the other way round; a commit is announced only once it
/// is visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_other_process_sees_commits() {
    let fresh = Fresh::new(Kind::Postgres).await;
    fresh
        .run(async {
            let first_db = fresh.connect().await;
            let read = first_db.clone();
            let first = EventStore::open(first_db).await.unwrap();
            let second = EventStore::open(fresh.connect().await).await.unwrap();
            assert_eq!(second.last_committed(), 0);
            let mut seen_by_second = second.committed();
            let mut seen_by_first = first.committed();

            let positions = first
                .append(&[batch("x", 0, events("x", 1, 2))])
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            wait_committed(&mut seen_by_second, positions[1]).await;
            assert_eq!(second.last_committed(), positions[1]);

            // The other way round: the second store appends after what it was told.
            assert_eq!(second.load("test", "x", 0).await.unwrap().len(), 2);
            let theirs = second
                .append(&[batch("x", 2, events("x", 3, 1))])
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            wait_committed(&mut seen_by_first, theirs[0]).await;
            assert_eq!(first.last_committed(), theirs[0]);
            assert_eq!(
                first
                    .append(&[batch("x", 2, events("x-stale", 3, 1))])
                    .await
                    .unwrap(),
                vec![Err(Conflict)]
            );

            // While a commit is held open, nobody hears of it or reads it: NOTIFY is
            // delivered on commit only.
            let before = theirs[0];
            let held = first
                .append_holding(&[batch("y", 0, events("y", 1, 1))], async {
                    assert_eq!(second.last_committed(), before);
                    let visible = read.read_envelopes_after(before, 10).await.unwrap();
                    assert!(
                        visible.is_empty(),
                        "uncommitted events visible: {visible:?}"
                    );
                })
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            wait_committed(&mut seen_by_second, held[0]).await;

            // Many commits in a row: the watch ends at the last.
            let mut last = 0;
            for n in 0..20 {
                last = first
                    .append(&[batch(&format!("z{n}"), 0, events("z", 1, 1))])
                    .await
                    .unwrap()
                    .remove(0)
                    .unwrap()[0];
            }
            wait_committed(&mut seen_by_second, last).await;
            assert_eq!(second.last_committed(), last);
            assert_eq!(second.head_position().await.unwrap(), last);
        })
        .await;
}

/// Several stores starting at once on an empty database each migrate it; none fails.
async fn concurrent_migrations(kind: Kind) {
    let fresh = Fresh::new(kind).await;
    fresh
        .run(async {
            // Separate connections, as separate processes would have. Connected one
            // after another: on a brand-new SQLite file, connecting at once can fail
            // with "database is locked" while the first connection switches it to WAL,
            // before any migration runs (see the report on this suite).
            let mut databases = Vec::new();
            for _ in 0..STARTING {
                databases.push(fresh.connect().await);
            }
            let stores = join_all(databases.into_iter().map(EventStore::open)).await;
            let stores: Vec<EventStore> = stores
                .into_iter()
                .map(|store| store.expect("a concurrent migration failed"))
                .collect();
            // Twice more at once on one connection pool.
            let again =
                join_all((0..2).map(|_| EventStore::open(stores[0].database().clone()))).await;
            for store in again {
                store.expect("a repeated migration failed");
            }
            // Every store works on the one log.
            let mut expected = 0;
            for (n, store) in stores.iter().enumerate() {
                let positions = store
                    .append(&[batch("m", expected, events("m", expected + 1, 2))])
                    .await
                    .unwrap()
                    .remove(0)
                    .unwrap_or_else(|_| panic!("store {n} conflicted"));
                assert_eq!(positions.len(), 2);
                expected += 2;
            }
            for store in &stores {
                assert_eq!(
                    store.load("test", "m", 0).await.unwrap().len(),
                    expected as usize
                );
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_migrations() {
    concurrent_migrations(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_migrations() {
    concurrent_migrations(Kind::Sqlite).await;
}
