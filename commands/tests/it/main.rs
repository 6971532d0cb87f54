//! The `commands` integration tests: the event store contract on SQLite and on a real
//! PostgreSQL server (`TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; each test creates and drops its own
//! database).

mod support;

mod confirmations;
mod connections;
mod gaps;
mod host;
mod multi_process;
mod store_contract;
mod upcasting;
