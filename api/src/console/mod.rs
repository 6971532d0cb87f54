//! The operator console: what a shop's staff look at during a sale or a rebuild,
//! served by `commerce serve` itself at `/console`.
//!
//! Pages are rendered on the server ([`maud`]) and read fine without JavaScript;
//! htmx (vendored) swaps pages without full loads, and a small script of ours
//! follows `GET /v1/admin/stream` (Server-Sent Events) to keep figures live.
//!
//! * [`session`] — signing in with an admin key: the session cookie, CSRF tokens.
//! * [`layout`] — the frame and headers every page shares.
//! * [`pages`] — one module per page.
//! * [`live`] — the snapshot of moving figures pages and the stream share.
//! * [`stream`] — the SSE route, one snapshot maker for all clients, capped.
//! * [`recent`] — the last minutes of commands, second by second.
//! * [`chart`] — inline SVG charts.
//! * [`assets`] — the style sheet and scripts, built into the binary.

pub mod assets;
pub mod chart;
pub mod layout;
pub mod live;
pub mod pages;
pub mod recent;
pub mod session;
pub mod stream;
