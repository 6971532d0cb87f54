//! Names on the NATS server: one deployment's stream and subjects, all under one
//! prefix (`--nats-prefix`), so several deployments, and test runs, share a server.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::BusError;

/// A deployment's names: stream `<PREFIX>_EVENTS`, subjects
/// `<prefix>.<aggregate_type>.<event_type>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    prefix: String,
}

/// How long the server remembers message ids to drop a repeated publish.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

impl Naming {
    /// Names under `prefix`: letters, digits, `_` and `-`, 1 to 64 of them.
    pub fn new(prefix: &str) -> Result<Self, BusError> {
        let valid = !prefix.is_empty()
            && prefix.len() <= 64
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(BusError::Config(format!(
                "the NATS prefix must be 1 to 64 letters, digits, '_' or '-', not '{prefix}'"
            )));
        }
        Ok(Self {
            prefix: prefix.to_string(),
        })
    }

    /// The consumer name of the query node named `node` (letters, digits, `_` and
    /// `-`): each query node needs its own, or one would delete the other's.
    pub fn query_consumer(&self, node: &str) -> Result<String, BusError> {
        Naming::new(node).map_err(|_| {
            BusError::Config(format!(
                "a node name must be 1 to 64 letters, digits, '_' or '-', not '{node}'"
            ))
        })?;
        Ok(format!("{}-query-{node}", self.prefix))
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The stream every event goes to (`COMMERCE_EVENTS` for the prefix `commerce`).
    pub fn stream(&self) -> String {
        format!("{}_EVENTS", self.prefix.to_uppercase().replace('-', "_"))
    }

    /// The subject of one event.
    pub fn subject(&self, aggregate_type: &str, event_type: &str) -> String {
        format!("{}.{aggregate_type}.{event_type}", self.prefix)
    }

    /// Every subject of the deployment.
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.prefix)
    }

    /// The CloudEvents `source` of every event of the deployment.
    pub fn source(&self) -> String {
        format!("/commerce/{}", self.prefix)
    }

    /// The stream, made if missing: every subject of the deployment, on disk, kept
    /// (no age or size limit: it is the log), with the publishes of the last two
    /// minutes remembered by message id.
    pub async fn ensure_stream(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<stream::Stream, BusError> {
        jetstream
            .get_or_create_stream(stream::Config {
                name: self.stream(),
                subjects: vec![self.all_subjects()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(BusError::nats)
    }
}

/// The sequence of the stream's last message (0 when it is empty), asked of the
/// server now.
pub async fn last_sequence(stream: &mut stream::Stream) -> Result<u64, BusError> {
    Ok(stream
        .info()
        .await
        .map_err(BusError::nats)?
        .state
        .last_sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let naming = Naming::new("commerce").unwrap();
        assert_eq!(naming.stream(), "COMMERCE_EVENTS");
        assert_eq!(
            naming.subject("stock", "StockReceived"),
            "commerce.stock.StockReceived"
        );
        assert_eq!(naming.all_subjects(), "commerce.>");
        assert_eq!(Naming::new("run-7").unwrap().stream(), "RUN_7_EVENTS");
    }

    #[test]
    fn a_prefix_that_would_break_subjects_is_refused() {
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(65)] {
            assert!(Naming::new(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
