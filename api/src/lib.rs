//! The HTTP face of `commerce`: routes, extractors, authentication, problem+json and
//! OpenAPI. What it serves is composed in `app`.
//!
//! * [`router`] — the axum application over the route table, with its layers.
//! * [`routes`] — the command API (POSTs), the query API (GETs), admin and ops routes.
//! * [`problem`] — RFC 9457 problem+json answers for every refusal and bad input.
//! * [`openapi`] — the OpenAPI 3.1 document generated from the routes.
//! * [`console`] — the operator console: server-rendered pages and a live stream.

// Handlers answer `Result<_, Problem>`; a problem is built once per refused request,
// so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod allocation;
pub mod auth;
pub mod client_address;
pub mod console;
pub mod flash;
pub mod idempotency;
pub mod limits;
pub mod node;
pub mod openapi;
pub mod problem;
pub mod router;
pub mod routes;
pub mod telemetry;
