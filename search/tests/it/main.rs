//! The search projection against a real log (SQLite, and PostgreSQL where the backend
//! matters): relevance, typos, filters, facets, updates, rebuilds, restarts.

mod search_projection;
mod support;
