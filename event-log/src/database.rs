//! The connections to the database that holds the log, on SQLite or PostgreSQL.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backend::LogBackend;
use crate::postgres::PostgresLog;
use crate::sqlite::SqliteLog;
use crate::types::StoreError;

/// Connections to the database that holds the log and the SQL read models: the one
/// handle the write side (through [`crate::EventStore`]) and the read side share.
#[derive(Debug, Clone)]
pub enum Database {
    /// `writer` has exactly one connection: SQLite has one writer, so commit order
    /// is rowid order. `reader` serves concurrent reads (WAL mode).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

impl Database {
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
                Ok(Database::Postgres(pool))
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
        Ok(Database::Sqlite { writer, reader })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// The log's operations on this backend (sharing these pools).
    pub(crate) fn log_backend(&self) -> Arc<dyn LogBackend> {
        match self {
            Database::Sqlite { writer, reader } => Arc::new(SqliteLog {
                writer: writer.clone(),
                reader: reader.clone(),
            }),
            Database::Postgres(pool) => Arc::new(PostgresLog { pool: pool.clone() }),
        }
    }
}
