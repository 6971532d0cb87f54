//! A background process's lease: one process per database runs it at a time. On
//! PostgreSQL it is a session advisory lock held on one connection for as long as
//! the process runs (it ends with the connection, so a crashed holder frees it);
//! SQLite has one process per database and needs none.

use std::time::Duration;

use crate::{Database, Pools, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::Postgres;

/// How often the lease's connection is checked.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// A lease held (or, on SQLite, not needed).
pub struct Lease {
    connection: Option<PoolConnection<Postgres>>,
    checked: tokio::time::Instant,
}

impl Lease {
    /// Take the lease named by `key`; `None` while another process holds it.
    pub async fn take(db: &Database, key: i64) -> Result<Option<Lease>, StoreError> {
        let connection = match db.pools() {
            Pools::Postgres(pool) => {
                let mut connection = pool.acquire().await?;
                let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *connection)
                    .await?;
                if !held {
                    return Ok(None);
                }
                Some(connection)
            }
            Pools::Sqlite { .. } => None,
        };
        Ok(Some(Lease {
            connection,
            checked: tokio::time::Instant::now(),
        }))
    }

    /// Fails once the lease's connection is gone (the lock with it): the process
    /// must stop and take the lease again. Checks at most every few seconds.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        if let Some(connection) = self.connection.as_mut() {
            if self.checked.elapsed() >= CHECK_EVERY {
                sqlx::query("SELECT 1").execute(&mut **connection).await?;
                self.checked = tokio::time::Instant::now();
            }
        }
        Ok(())
    }
}
