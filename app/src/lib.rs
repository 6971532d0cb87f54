//! The composition root of `commerce`: what a process is started with and what it
//! starts.
//!
//! * [`config`] — the settings of `serve` and `rebuild` (clap arguments), and the
//!   [`server::ServerConfig`] they make.
//! * [`server`] — opens the event log, the command service and the projections (the
//!   back end) under the data directory's lock, starts the background processes
//!   (order process, expiry, flash-sale ticker, projections) and serves `api`'s router.
//! * [`auto_pricing`] — automatic pricing: suggested nightly prices become a
//!   listing's prices, under a lease.
//! * [`reorder`] — the replenishment process: `ReorderSuggested` once per crossing of
//!   a reorder point, under a lease.
//! * [`rebuild`] — `commerce rebuild`: asks the running server, or rebuilds here.
//! * [`node`] — the bus between nodes: the relay to NATS (command nodes), the
//!   copy of the log taken from it (query nodes).
//! * [`datadir`] — the data directory's lock and the address file of its server.

pub mod auto_pricing;
pub mod config;
pub mod datadir;
pub mod node;
pub mod rebuild;
pub mod reorder;
pub mod server;
