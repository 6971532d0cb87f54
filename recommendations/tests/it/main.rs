//! The recommendations following a real log (SQLite, through the append path).

mod follower;
mod snapshot;
mod training;
