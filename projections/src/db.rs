//! Connections the read side works with.

use sqlx::postgres::{PgPool, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::Transaction;

/// The database holding the log and the SQL read models.
#[derive(Debug, Clone)]
pub enum ReadDb {
    /// `writer` is the one connection allowed to write (shared with the log's
    /// appends); `reader` serves queries.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// A write transaction on either backend.
pub enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl ReadDb {
    /// Begin a write transaction. On SQLite it is IMMEDIATE: it takes the write lock
    /// up front, so a read followed by a write never fails on a stale snapshot.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        Ok(match self {
            ReadDb::Sqlite { writer, .. } => {
                WriteTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            ReadDb::Postgres(pool) => {
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

/// Run `$body` with `$t` bound to the transaction of whichever backend `$tx` holds.
/// Both backends take `$1`-style parameters, so most SQL is written once.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::db::WriteTx::Sqlite($t) => $body,
            $crate::db::WriteTx::Postgres($t) => $body,
        }
    };
}

/// Run `$body` with `$p` bound to the pool that serves queries.
#[macro_export]
macro_rules! on_reader {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::db::ReadDb::Sqlite { reader: $p, .. } => $body,
            $crate::db::ReadDb::Postgres($p) => $body,
        }
    };
}
