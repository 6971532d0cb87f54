//! End-to-end tests of `commerce`: the real binary over HTTP, each scenario once on
//! SQLite (a fresh data directory) and once on PostgreSQL (a fresh database on
//! `TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! No test sleeps to wait for an outcome: servers are ready once they print their
//! `listening on` line, and reads pass `min_position` to see earlier writes. The one
//! exception is a key change reaching another process, polled in a bounded loop.
//! The production-mode authorization table (`auth`) runs on SQLite only, with one
//! PostgreSQL test of a revocation across processes.

mod support;

mod abuse;
mod abuse_properties;
mod auth;
mod bad_input;
mod cluster;
mod console;
mod crash;
mod credentials;
mod delivery;
mod flash_sales;
mod lifecycle;
mod lists;
mod load;
mod ops;
mod orders;
mod payments;
mod products;
mod recommendations;
mod reservations;
mod search;
mod shop;
mod snapshots;
mod stays;
mod stock_flow;
mod tail;
mod upcasting;
mod webhooks;
