//! Backends for the contract suite (a fresh SQLite directory or a fresh PostgreSQL
//! database per test) and helpers to build events: `testkit`'s, shared with the
//! read side's tests.

pub use testkit::{batch, event, event_with, events, run_check, wait_committed, Fresh, Kind};

/// Generate one test per backend for each check: `sqlite::name` and `postgres::name`
/// call `check_name(&EventStore, &Database)` on a fresh store.
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
