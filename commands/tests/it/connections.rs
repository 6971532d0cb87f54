//! The connections the log keeps for itself on PostgreSQL (the appends' and the
//! gathered loads', which skip the pool): when the server drops them, the store
//! opens new ones rather than failing on a dead one for good.

use testkit::{batch, events, TestLog};

/// Call `operation` until it succeeds, failing the test after `attempts` calls.
async fn until_ok<T, E: std::fmt::Debug, F>(attempts: usize, mut operation: impl FnMut() -> F)
where
    F: std::future::Future<Output = Result<T, E>>,
{
    for attempt in 1..=attempts {
        match operation().await {
            Ok(_) => return,
            Err(error) => eprintln!("attempt {attempt} failed: {error:?}"),
        }
    }
    panic!("still failing after {attempts} attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_and_loads_go_on_after_the_server_drops_their_connections() {
    let log = TestLog::postgres().await;
    let store = &log.store;
    let first = store
        .append(&[batch("kept", 0, events("kept", 1, 1))])
        .await
        .unwrap();
    assert!(first[0].is_ok());
    let (_, loaded) = store.load_latest("test", "kept").await.unwrap();
    assert_eq!(loaded.len(), 1);

    // Every connection of the test's database goes, the kept ones with the rest.
    let admin = sqlx::PgPool::connect(log.pg_url().unwrap()).await.unwrap();
    let dropped: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(
        dropped >= 2,
        "the store's connections were open ({dropped})"
    );

    // A dead kept connection fails its statement once and is not kept again: the
    // appends above ran one at a time, so one kept connection is dead, and a later
    // attempt opens a new one (three allow for slack).
    until_ok(3, || async {
        match store
            .append(&[batch("kept", 1, events("kept", 2, 1))])
            .await
        {
            Ok(results) if results[0].is_ok() => Ok(()),
            Ok(results) => Err(format!("{results:?}")),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    until_ok(3, || store.load_latest("test", "kept")).await;
    let (_, events) = store.load_latest("test", "kept").await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2],
        "the append that was acknowledged landed once"
    );
    admin.close().await;
    log.drop_database().await;
}
