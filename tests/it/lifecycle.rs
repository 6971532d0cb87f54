//! The process around the data: restarts, crashes, projection rebuilds, and the data
//! directory's lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::load::{self, Workload};
use crate::on_both_backends;
use crate::support::{register_warehouses, Backend, Env};

on_both_backends!(
    answers_survive_restarts_and_crashes,
    rebuild_changes_no_answer_and_queries_keep_flowing,
    rebuilds_beside_writes_keep_reads_of_own_writes,
    a_second_server_on_the_data_dir_is_refused,
);

/// Stop (SIGTERM), crash (SIGKILL), rebuild with no server: after each start every
/// availability answer is what it was, and the stock keeps working from there.
async fn answers_survive_restarts_and_crashes(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let mut model = load::open_stock(&server, &load::skus(6), 11).await;
    let workload = Workload {
        clients: 8,
        commands_per_client: 12,
        seed: 0xfeed,
        tag: "before",
    };
    load::run(&server, &mut model, &workload).await;
    let head = server.head().await;
    assert_eq!(head, model.max_position);
    let before = load::snapshot(&server, &model, head).await;
    let ready_before = ready_without_status(&server.get("/ready").await.expect(StatusCode::OK));

    let status = server.stop().await;
    assert!(status.success(), "SIGTERM ended the server with {status}");
    let server = env.start().await;
    assert_eq!(
        ready_without_status(&server.get("/ready").await.expect(StatusCode::OK)),
        ready_before
    );
    load::assert_same(
        &before,
        &load::snapshot(&server, &model, head).await,
        "after a restart",
    );

    server.crash().await;
    let server = env.start().await;
    assert_eq!(server.head().await, head);
    load::assert_same(
        &before,
        &load::snapshot(&server, &model, head).await,
        "after a crash",
    );

    // With no server on the data directory, `rebuild` works in its own process.
    assert!(server.stop().await.success());
    let rebuilt = env.rebuild("availability").await;
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "rebuild failed: {stderr}");
    assert!(stderr.contains("in this process"), "{stderr}");
    let server = env.start().await;
    assert_eq!(server.head().await, head);
    load::assert_same(
        &before,
        &load::snapshot(&server, &model, head).await,
        "after an offline rebuild",
    );

    // The stock goes on from where it was: holds opened before still count.
    let workload = Workload {
        clients: 8,
        commands_per_client: 8,
        seed: 0xbeef,
        tag: "after",
    };
    load::run(&server, &mut model, &workload).await;
    load::verify(&server, &model).await;
    assert!(server.stop().await.success());
}

fn ready_without_status(ready: &Value) -> Value {
    let mut ready = ready.clone();
    ready.as_object_mut().unwrap().remove("status");
    ready
}

/// `commerce rebuild availability` against a running server: queries keep being
/// answered (identically) while it runs, and after it every answer is what it was.
/// A rebuild while clients write loses nothing either.
async fn rebuild_changes_no_answer_and_queries_keep_flowing(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let mut model = load::open_stock(&server, &load::skus(10), 3).await;
    let workload = Workload {
        clients: 16,
        commands_per_client: 10,
        seed: 0xcafe,
        tag: "first",
    };
    load::run(&server, &mut model, &workload).await;
    let head = server.head().await;
    let before = Arc::new(load::snapshot(&server, &model, head).await);

    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|reader| {
            let api = server.api.clone();
            let done = done.clone();
            let before = before.clone();
            tokio::spawn(async move {
                let mut queries = 0usize;
                let mut i = reader;
                // At least one full round, then on until the rebuild has ended.
                while !done.load(Ordering::Relaxed) || queries < before.len() {
                    let (path, expected) = &before[i % before.len()];
                    let answer = api.get(path).await;
                    let body = answer.expect(StatusCode::OK);
                    assert_eq!(&body, expected, "GET {path} during the rebuild");
                    queries += 1;
                    i += 1;
                }
                queries
            })
        })
        .collect();
    let rebuilt = env.rebuild("availability").await;
    done.store(true, Ordering::Relaxed);
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "rebuild failed: {stderr}");
    assert!(stderr.contains("asking the server"), "{stderr}");
    for reader in readers {
        assert!(reader.await.expect("a reader") > 0);
    }
    load::assert_same(
        &before,
        &load::snapshot(&server, &model, head).await,
        "after the rebuild",
    );
    let state = server
        .get("/v1/admin/projections/availability")
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["rebuild"]["state"], "done", "{state}");
    assert_eq!(state["position"], head, "{state}");
    assert_eq!(state["rebuild"]["position"], head, "{state}");
    assert!(
        state["rebuild"]["generation"].as_i64() >= Some(2),
        "{state}"
    );
    assert!(
        state["rebuild"]["events_applied"].as_u64() > Some(0),
        "{state}"
    );

    // Rebuild again while 16 clients write: the result is still the fold of what
    // was accepted.
    let workload = Workload {
        clients: 16,
        commands_per_client: 10,
        seed: 0xd00d,
        tag: "during",
    };
    let (rebuilt, _) = tokio::join!(
        env.rebuild("availability"),
        load::run(&server, &mut model, &workload)
    );
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "rebuild failed: {stderr}");
    load::verify(&server, &model).await;
    assert_eq!(server.head().await, model.max_position);
    assert!(server.stop().await.success());
}

/// Rebuild after rebuild while clients write and read their writes back: every read
/// at a write's position shows that write (a swap never goes back in time), and every
/// rebuild ends well. Writers stop after a fixed number of writes: a log growing as
/// fast as the machine writes would have each rebuild chase a longer tail, and end
/// only as fast as the machine happens to read.
async fn rebuilds_beside_writes_keep_reads_of_own_writes(backend: Backend) {
    const MOST_RECEIPTS: usize = 400;
    let env = Env::new(backend).await;
    let server = env.start().await;
    register_warehouses(&server, &["wh-1"]).await;
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let api = server.api.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let (sku, mut receipts) = (format!("rw-{i}"), 0);
                while (!done.load(Ordering::Relaxed) && receipts < MOST_RECEIPTS) || receipts == 0 {
                    let path = format!("/v1/stock/{sku}/wh-1/receipts");
                    let written = api
                        .post(&path, &json!({"quantity": 1}))
                        .await
                        .expect(StatusCode::OK);
                    receipts += 1;
                    let position = written["position"].as_i64().unwrap();
                    let read = api
                        .get(&format!(
                            "/v1/availability/{sku}/wh-1?min_position={position}"
                        ))
                        .await
                        .expect(StatusCode::OK);
                    assert!(
                        read["position"].as_i64().unwrap() >= position,
                        "asked for position {position}, read {read}"
                    );
                    assert_eq!(read["on_hand"], receipts, "after {written}: {read}");
                }
                (sku, receipts)
            })
        })
        .collect();
    for round in 0..15 {
        let rebuilt = env.rebuild("availability").await;
        let stderr = String::from_utf8_lossy(&rebuilt.stderr);
        assert!(rebuilt.status.success(), "rebuild {round} failed: {stderr}");
    }
    done.store(true, Ordering::Relaxed);
    let head = server.head().await;
    for writer in writers {
        let (sku, receipts) = writer.await.expect("a writer");
        let read = server
            .get(&format!("/v1/availability/{sku}/wh-1?min_position={head}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(read["on_hand"], receipts, "{read}");
    }
    let state = server
        .get("/v1/admin/projections/availability")
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["rebuild"]["state"], "done", "{state}");
    assert!(
        state["rebuild"]["generation"].as_i64() >= Some(16),
        "{state}"
    );
    assert!(server.stop().await.success());
}

/// A second `serve` on a data directory in use ends at once, non-zero, saying why;
/// the first server is untouched.
async fn a_second_server_on_the_data_dir_is_refused(backend: Backend) {
    let env = Env::new(backend).await;
    let server = env.start().await;
    let second = env.run_cli(&["serve", "--listen", "127.0.0.1:0"]).await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "a second server on {} started: {stderr}",
        env.data_dir().display()
    );
    assert!(
        stderr.to_lowercase().contains("lock"),
        "the refusal does not mention the lock: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("listening on"),
        "the second server said it listens"
    );
    server.get("/health").await.expect(StatusCode::OK);
    assert!(server.stop().await.success());
}
