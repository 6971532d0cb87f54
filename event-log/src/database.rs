//! The connections to the database that holds the log, on SQLite or PostgreSQL.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backend::LogBackend;
use crate::postgres::PostgresLog;
use crate::sqlite::SqliteLog;
use crate::tail::LogTail;
use crate::types::StoreError;

/// Connections to the database that holds the log and the SQL read models: the one
/// handle the write side (through [`crate::EventStore`]) and the read side share,
/// with the log's newest records kept in memory once the store is open (the
/// [`LogTail`] every reader of the process takes them from).
#[derive(Debug, Clone)]
pub struct Database {
    pools: Pools,
    tail: Arc<OnceLock<Arc<LogTail>>>,
}

/// The connection pools of either backend.
#[derive(Debug, Clone)]
pub enum Pools {
    /// `writer` has exactly one connection: SQLite has one writer, so commit order
    /// is rowid order. `reader` serves concurrent reads (WAL mode).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

impl Database {
    fn new(pools: Pools) -> Self {
        Self {
            pools,
            tail: Default::default(),
        }
    }

    /// The connection pools, to run SQL on whichever backend this is.
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// The log's tail in memory, once a store has opened this database.
    pub fn tail(&self) -> Option<&Arc<LogTail>> {
        self.tail.get()
    }

    /// Keep `tail` as the log's tail (the first store to open the database keeps its own).
    pub(crate) fn keep_tail(&self, tail: LogTail) -> &Arc<LogTail> {
        self.tail.get_or_init(|| Arc::new(tail))
    }

    /// PostgreSQL when `url` is given, else SQLite at `data_dir/commerce.db`.
    pub async fn connect(url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        match url {
            Some(url) if url.starts_with("postgres") => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    // No ping before each use: it doubles the round trips of every
                    // statement. A connection that broke fails its statement instead,
                    // is dropped, and the caller's retry gets another.
                    .test_before_acquire(false)
                    .connect(url)
                    .await?;
                Ok(Database::new(Pools::Postgres(pool)))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let options: SqliteConnectOptions = url
                    .parse()
                    .map_err(|e: sqlx::Error| StoreError::Open(e.to_string()))?;
                Self::sqlite(options).await
            }
            Some(other) => Err(StoreError::Open(format!(
                "DATABASE_URL must start with postgres:// or sqlite:, not '{}'",
                other.split(':').next().unwrap_or_default()
            ))),
            None => {
                let options = SqliteConnectOptions::new().filename(data_dir.join("commerce.db"));
                Self::sqlite(options).await
            }
        }
    }

    async fn sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        // FULL synchronous: an acknowledged append survives power loss, not only a crash.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Database::new(Pools::Sqlite { writer, reader }))
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.pools {
            Pools::Sqlite { .. } => "sqlite",
            Pools::Postgres(_) => "postgres",
        }
    }

    /// The log's operations on this backend (sharing these pools).
    pub(crate) fn log_backend(&self) -> Arc<dyn LogBackend> {
        match &self.pools {
            Pools::Sqlite { writer, reader } => Arc::new(SqliteLog {
                writer: writer.clone(),
                reader: reader.clone(),
            }),
            Pools::Postgres(pool) => Arc::new(PostgresLog::new(pool.clone())),
        }
    }
}
