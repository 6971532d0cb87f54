//! Connections a hot path keeps for itself (the appends, the gathered loads)
//! instead of borrowing them from the pool for each statement.
//!
//! sqlx pings every connection that returns to its pool (a round trip, both
//! sides woken), so a pooled statement costs two exchanges. A kept connection is
//! taken, used and given back without one. One that failed, or whose statement
//! was dropped half way, is not given back: dropping it closes it, and the next
//! taker opens a new one.

use std::sync::Mutex;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;

/// Idle kept connections, opened with one set of options. They number at most the
/// takers ever at work at once.
#[derive(Debug)]
pub(crate) struct HeldConnections {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
}

impl HeldConnections {
    pub(crate) fn new(options: PgConnectOptions) -> Self {
        Self {
            options,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one.
    pub(crate) async fn take(&self) -> Result<PgConnection, sqlx::Error> {
        let idle = self.idle.lock().expect("held connections poisoned").pop();
        match idle {
            Some(connection) => Ok(connection),
            None => self.options.connect().await,
        }
    }

    /// Keep a connection whose last statement finished.
    pub(crate) fn give_back(&self, connection: PgConnection) {
        self.idle
            .lock()
            .expect("held connections poisoned")
            .push(connection);
    }
}
