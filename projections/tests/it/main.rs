//! The read side against real logs on SQLite and PostgreSQL.

mod availability_projection;
mod support;
