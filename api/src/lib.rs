//! The HTTP face and the command line of `commerce`.
//!
//! * [`cli`] — `commerce serve | rebuild | bench` (clap).
//! * [`bench`] — `commerce bench append | replay`, each beside a baseline.
//! * [`server`] — wires the event log, the command service and the projections into
//!   one process guarded by its data directory's lock, and serves HTTP.
//! * [`routes`] — the command API (POSTs), the query API (GETs), admin and ops routes.
//! * [`problem`] — RFC 9457 problem+json answers for every refusal and bad input.
//! * [`openapi`] — the OpenAPI 3.1 document generated from the routes.

// Handlers answer `Result<_, Problem>`; a problem is built once per refused request,
// so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod allocation;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod client_address;
pub mod datadir;
pub mod flash;
pub mod idempotency;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod rebuild;
pub mod routes;
pub mod seed;
pub mod server;
pub mod telemetry;

pub use cli::run;
