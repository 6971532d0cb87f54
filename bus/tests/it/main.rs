//! The bus against the machine's NATS server (`NATS_URL`, 127.0.0.1:4222 by
//! default) and PostgreSQL: each test on its own prefix, stream and database.

mod relay_and_copy;

/// The NATS server tests use.
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A prefix no other test run uses.
pub fn fresh_prefix() -> bus::Naming {
    bus::Naming::new(&format!("t{}", uuid::Uuid::now_v7().simple())).unwrap()
}
