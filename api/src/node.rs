//! What this process is in a deployment: a single node (`all`), a command node that
//! takes the writes and relays the log to NATS, or a query node serving read models
//! from its own copy of the log. A route the node does not serve answers 421
//! `wrong_node` saying which role does, so a misrouted client learns where to go
//! instead of getting an answer from state that is not kept here.

use axum::http::StatusCode;
use bus::copier::CopyReport;
use bus::relay::{RelayReport, RelayState};
use serde::Serialize;
use tokio::sync::watch;

use crate::problem::Problem;

/// A node's role (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Writes and every read model, in one process (the single-node default).
    #[default]
    All,
    /// Writes, with only the read models the write side needs.
    Command,
    /// Read models only, from a copy of the log taken from NATS.
    Query,
}

/// Which roles serve a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedBy {
    /// Every node (operations, and reads every role keeps).
    Any,
    /// Nodes that take writes.
    CommandSide,
    /// Nodes that run the read models the write side does not need (search,
    /// recommendations).
    QuerySide,
}

impl NodeRole {
    /// The role as `--role` and `/ready` name it.
    pub fn name(self) -> &'static str {
        match self {
            NodeRole::All => "all",
            NodeRole::Command => "command",
            NodeRole::Query => "query",
        }
    }

    /// Whether the node takes writes, and so runs the processes that write.
    pub fn takes_writes(self) -> bool {
        self.serves(ServedBy::CommandSide)
    }

    /// Whether the node runs the read models only queries need (search,
    /// recommendations).
    pub fn runs_query_side(self) -> bool {
        self.serves(ServedBy::QuerySide)
    }

    /// Whether a node of this role serves a route served by `served_by`.
    pub fn serves(self, served_by: ServedBy) -> bool {
        matches!(
            (self, served_by),
            (NodeRole::All, _)
                | (_, ServedBy::Any)
                | (NodeRole::Command, ServedBy::CommandSide)
                | (NodeRole::Query, ServedBy::QuerySide)
        )
    }
}

/// The answer of a route this node does not serve.
pub fn wrong_node(served_by: ServedBy) -> Problem {
    let detail = match served_by {
        ServedBy::CommandSide => {
            "this is a query node: it serves reads only; send writes to a command node"
        }
        _ => "this is a command node: search and recommendations are served by query nodes",
    };
    Problem::new(StatusCode::MISDIRECTED_REQUEST, "wrong_node", detail)
}

/// This node's role and, where it has them, its relay's and its copy's reports.
#[derive(Debug, Clone, Default)]
pub struct NodeState {
    pub role: NodeRole,
    pub relay: Option<watch::Receiver<RelayReport>>,
    pub copy: Option<watch::Receiver<CopyReport>>,
}

/// The bus as `/ready` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BusReadiness {
    /// This process's relay: `starting`, `standby` (another process relays),
    /// `relaying` or `failing`, the position published through, the lag.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayReport>,
    /// A query node's copy of the log: the stream sequence and position copied
    /// through, the lag.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyReport>,
}

impl NodeState {
    /// The bus's state now, and the alarms it raises: `relay_failing`, `copy_failing`.
    pub fn readiness(&self) -> (Option<BusReadiness>, Vec<&'static str>) {
        let relay = self.relay.as_ref().map(|r| r.borrow().clone());
        let copy = self.copy.as_ref().map(|c| c.borrow().clone());
        let mut alarms = Vec::new();
        if relay
            .as_ref()
            .is_some_and(|r| r.state == RelayState::Failing)
        {
            alarms.push("relay_failing");
        }
        if copy.as_ref().is_some_and(|c| c.error.is_some()) {
            alarms.push("copy_failing");
        }
        let bus = (relay.is_some() || copy.is_some()).then_some(BusReadiness { relay, copy });
        (bus, alarms)
    }
}
