//! Write transactions of the read models (the SQL projections), on the log's
//! database: on SQLite through the one writer connection the log's appends use too.

use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::Transaction;

use crate::{Database, Pools};

/// A write transaction on either backend.
pub enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Database {
    /// Begin a write transaction. On SQLite it is IMMEDIATE: it takes the write lock
    /// up front, so a read followed by a write never fails on a stale snapshot.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        Ok(match self.pools() {
            Pools::Sqlite { writer, .. } => {
                WriteTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Read models are derived from the log and their checkpoint commits
                // with them: a commit lost in a crash is simply re-applied, so they
                // need not wait for the disk.
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                WriteTx::Postgres(tx)
            }
        })
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await,
            WriteTx::Postgres(tx) => tx.commit().await,
        }
    }

    /// Run a statement that takes no parameters.
    pub async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => sqlx::query(sql).execute(&mut **tx).await.map(drop),
            WriteTx::Postgres(tx) => sqlx::query(sql).execute(&mut **tx).await.map(drop),
        }
    }
}
