//! The append bench's baselines: plain cqrs-es `execute` and raw single-row INSERTs.

use super::*;

/// Plain cqrs-es: load, handle and commit each command with optimistic concurrency.
pub(super) async fn cqrs_execute_baseline(
    db: &Database,
    run_id: &str,
    skus: usize,
    writers: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let workload = Arc::new(Workload::new(run_id, skus, writers, "C"));
    let services = Services::new(
        Arc::new(SystemClock),
        Arc::new(HashSet::from([workload.warehouse.clone()])),
    );
    eprintln!(
        "baseline: cqrs-es execute, same writers and commands, {} s",
        duration.as_secs()
    );
    let tally = match db.pools() {
        event_log::Pools::Postgres(pool) => {
            let cqrs = Arc::new(postgres_es::postgres_cqrs::<Stock>(
                pool.clone(),
                vec![],
                services,
            ));
            drive_cqrs(cqrs, workload, writers, duration).await
        }
        event_log::Pools::Sqlite { writer, .. } => {
            let cqrs = Arc::new(sqlite_es::sqlite_cqrs::<Stock>(
                writer.clone(),
                vec![],
                services,
            ));
            drive_cqrs(cqrs, workload, writers, duration).await
        }
    };
    Ok(tally.per_second())
}

pub(super) async fn drive_cqrs<ES>(
    cqrs: Arc<CqrsFramework<Stock, ES>>,
    workload: Arc<Workload>,
    writers: usize,
    duration: Duration,
) -> Tally
where
    ES: cqrs_es::EventStore<Stock> + 'static,
    ES::AC: Send,
{
    drive(writers, duration, move |w, k| {
        let cqrs = cqrs.clone();
        let command = workload.next(w, k);
        async move {
            let id = event_schemas::stock::stock_aggregate_id(&command.sku, &command.warehouse_id);
            match cqrs.execute(&id, command.clone()).await {
                Ok(()) => match command.action {
                    StockAction::Receive { .. } => Attempt::Receipt,
                    _ => Attempt::Sale,
                },
                Err(AggregateError::UserError(_)) => Attempt::Refused,
                Err(_) => Attempt::Failed,
            }
        }
    })
    .await
}

/// Raw single-row INSERTs of a receipt's payload, autocommit, over 64 connections.
pub(super) async fn raw_insert_baseline(
    db: &Database,
    run_id: &str,
    duration: Duration,
) -> anyhow::Result<f64> {
    let table = format!("bench_raw_{run_id}");
    let create = format!(
        "CREATE TABLE {table} (aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, sequence BIGINT NOT NULL,
         event_type TEXT NOT NULL, event_version TEXT NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL,
         PRIMARY KEY (aggregate_type, aggregate_id, sequence))"
    );
    let insert = format!(
        "INSERT INTO {table} (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('stock', $1, $2, 'StockReceived', '1.0', $3, '{{}}')"
    );
    let payload = serde_json::to_string(&StockEvent::StockReceived {
        sku: "B-raw".into(),
        warehouse_id: format!("bench-{run_id}"),
        quantity: 2,
    })?;
    eprintln!(
        "baseline: raw single-row INSERTs over {RAW_INSERT_CONNECTIONS} connections, {} s",
        duration.as_secs()
    );
    let drop = format!("DROP TABLE {table}");
    macro_rules! measure {
        ($pool:expr) => {{
            let pool = $pool;
            sqlx::query(&create).execute(&pool).await?;
            let insert = Arc::new(insert);
            let payload = Arc::new(payload);
            let tally = drive(RAW_INSERT_CONNECTIONS as usize, duration, move |w, k| {
                let pool = pool.clone();
                let insert = insert.clone();
                let payload = payload.clone();
                async move {
                    let done = sqlx::query(&insert)
                        .bind(format!("raw-{w}"))
                        .bind(k as i64 + 1)
                        .bind(payload.as_str())
                        .execute(&pool)
                        .await;
                    if done.is_ok() {
                        Attempt::Receipt
                    } else {
                        Attempt::Failed
                    }
                }
            })
            .await;
            tally
        }};
    }
    let tally = match db.pools() {
        event_log::Pools::Postgres(pool) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(RAW_INSERT_CONNECTIONS)
                .connect_with((*pool.connect_options()).clone())
                .await?;
            let tally = measure!(pool.clone());
            sqlx::query(&drop).execute(&pool).await?;
            tally
        }
        event_log::Pools::Sqlite { writer, .. } => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(RAW_INSERT_CONNECTIONS)
                .connect_with((*writer.connect_options()).clone())
                .await?;
            let tally = measure!(pool.clone());
            sqlx::query(&drop).execute(&pool).await?;
            tally
        }
    };
    Ok(tally.per_second())
}
