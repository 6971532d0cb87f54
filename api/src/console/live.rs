//! What the console shows live: one snapshot of the figures that move (commands,
//! projections, processes, flash sales), made once a second while anyone watches
//! and sent to every watcher (`GET /v1/admin/stream`). Pages render the same
//! snapshot first, so they read the same without JavaScript.

use serde::Serialize;

use crate::console::recent;
use crate::routes::AppState;

/// How many of the newest flash sales a snapshot follows.
pub const FLASH_SALES_SHOWN: usize = 20;

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub at: chrono::DateTime<chrono::Utc>,
    /// Last committed log position.
    pub head: i64,
    pub commands: CommandFigures,
    pub projections: Vec<ProjectionFigures>,
    pub processes: Vec<ProcessFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<crate::node::BusReadiness>,
    pub flash_sales: Vec<SaleFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandFigures {
    /// Over the last 10 seconds.
    pub per_second: f64,
    /// Over the last minute.
    pub refused_per_second: f64,
    /// Over the last minute, in milliseconds.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectionFigures {
    pub name: String,
    pub position: i64,
    /// Events behind the head.
    pub lag: i64,
    /// idle, running, done or failed.
    pub rebuild_state: projections::RebuildState,
    /// How far the last or current rebuild got, 0 to 100.
    pub rebuild_percent: u32,
    /// Why the last rebuild failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessFigures {
    pub name: &'static str,
    pub position: i64,
    pub lag: i64,
}

#[derive(Debug, Serialize)]
pub struct SaleFigures {
    /// What `GET /v1/flash-sales/{id}` answers.
    #[serde(flatten)]
    pub sale: crate::flash::SaleAnswer,
    /// How long the last buyer in the queue waits, at the admission rate.
    pub estimated_wait_seconds: u64,
}

/// How far the last or current rebuild got, 0 to 100 (0 when none ran).
pub fn rebuild_percent(status: &projections::RebuildStatus) -> u32 {
    use projections::runtime::RebuildState;
    match status.state {
        RebuildState::Done => 100,
        RebuildState::Idle => 0,
        RebuildState::Running | RebuildState::Failed if status.target <= 0 => 0,
        RebuildState::Running | RebuildState::Failed => {
            ((status.position.clamp(0, status.target) * 100) / status.target) as u32
        }
    }
}

/// The commands of the last minutes.
pub fn command_figures(window: &recent::Window) -> CommandFigures {
    CommandFigures {
        per_second: window.rate(10),
        refused_per_second: window.refusal_rate(60),
        p50_ms: window.p50_ms,
        p99_ms: window.p99_ms,
    }
}

/// Every projection this process runs, with its lag and rebuild.
pub fn projection_figures(state: &AppState) -> Vec<ProjectionFigures> {
    let head = state.commands.store().last_committed();
    state
        .projections
        .iter()
        .map(|projection| {
            let status = projection.rebuild_status();
            ProjectionFigures {
                name: projection.name().to_string(),
                position: projection.position(),
                lag: (head - projection.position()).max(0),
                rebuild_state: status.state,
                rebuild_percent: rebuild_percent(&status),
                rebuild_error: status.error,
            }
        })
        .collect()
}

/// The process managers' positions (where this node runs them).
pub async fn process_figures(state: &AppState) -> Vec<ProcessFigures> {
    let store = state.commands.store();
    let head = store.last_committed();
    let mut out = Vec::new();
    if state.node.role.takes_writes() {
        if let Ok(position) = store
            .process_checkpoint(commands::orders::ORDER_PROCESS)
            .await
        {
            out.push(ProcessFigures {
                name: "order_process",
                position,
                lag: (head - position).max(0),
            });
        }
    }
    out
}

/// The newest sales' figures.
pub async fn sale_figures(state: &AppState) -> Vec<SaleFigures> {
    let now = state.commands.clock().now();
    let query = projections::listings::ListQuery {
        limit: FLASH_SALES_SHOWN,
        after: projections::listings::page::After::Start,
    };
    let Ok(page) =
        projections::listings::flash_sales::list(state.listings.db(), None, &query, now).await
    else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(page.items.len());
    for sale in page.items {
        let Ok(answer) = crate::flash::figures(state, &sale.sale_id).await else {
            continue;
        };
        out.push(SaleFigures {
            estimated_wait_seconds: if answer.admission_rate == 0 {
                0
            } else {
                (answer.queue_length as u64).div_ceil(u64::from(answer.admission_rate))
            },
            sale: answer,
        });
    }
    out
}

/// Everything that moves, now.
pub async fn snapshot(state: &AppState) -> Snapshot {
    Snapshot {
        at: chrono::Utc::now(),
        head: state.commands.store().last_committed(),
        commands: command_figures(&recent::window(60)),
        projections: projection_figures(state),
        processes: process_figures(state).await,
        bus: state.node.readiness().0,
        flash_sales: sale_figures(state).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_reads_as_a_percentage_of_its_target() {
        let status = projections::RebuildStatus {
            state: projections::runtime::RebuildState::Running,
            position: 250,
            target: 1000,
            ..Default::default()
        };
        assert_eq!(rebuild_percent(&status), 25);
    }
}
