//! A PostgreSQL database of its own per test, on the server `TEST_DATABASE_URL`
//! names (the local one by default).

use sqlx::Connection;
use uuid::Uuid;

/// The server and maintenance database that test databases are created from.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `database` (query string kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// A PostgreSQL database of its own, created for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        Self::create_named("commerce_it").await
    }

    /// A database named `{prefix}_{uuid}`.
    pub async fn create_named(prefix: &str) -> Self {
        let name = format!("{prefix}_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url())
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_DATABASE_URL: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url(), &name);
        Self { name, url }
    }

    /// Best effort: a database left behind is named `commerce_*` and harms no run.
    pub async fn drop_database(&self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}
