//! The read side against real logs on SQLite and PostgreSQL.

mod availability_projection;
mod listings_statuses;
mod live_availability;
mod open_holds_projection;
mod stay_nights_batches;
mod support;
mod warehouses_upcast;
