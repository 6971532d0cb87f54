//! The bus between nodes, as a node starts it: command and single nodes given
//! `--events` relay the log to NATS; query nodes copy it from there.

use api::node::{NodeRole, NodeState};
use bus::Naming;
use event_log::EventStore;

use crate::config::NodeArgs;

/// Start what the node's role runs on the bus, and answer the node's state.
pub async fn start_bus(settings: &NodeArgs, store: &EventStore) -> anyhow::Result<NodeState> {
    let naming = Naming::new(&settings.nats_prefix)?;
    let mut node = NodeState {
        role: settings.role,
        ..Default::default()
    };
    let Some(url) = &settings.events else {
        if settings.role == NodeRole::Query {
            anyhow::bail!(
                "--role query copies the log from NATS: give it --events nats://host:port"
            );
        }
        return Ok(node);
    };
    match settings.role {
        NodeRole::Query => {
            let Some(name) = &settings.node_name else {
                anyhow::bail!(
                    "--role query needs --node-name, its own among the query nodes (it names the node's consumer on the stream)"
                );
            };
            let consumer_name = naming.query_consumer(name)?;
            let client = bus::connect(url, &format!("commerce query node {name}")).await?;
            node.copy = Some(bus::copier::spawn_copier(
                store.clone(),
                client,
                naming,
                consumer_name,
            ));
        }
        NodeRole::All | NodeRole::Command => {
            let client = bus::connect(url, "commerce relay").await?;
            node.relay = Some(bus::relay::spawn_relay(store.clone(), client, naming));
        }
    }
    Ok(node)
}
