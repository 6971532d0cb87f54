//! The in-memory models of this crate as projections `rebuild` and the admin
//! routes know (`delivery`, `replenishment`).

use std::sync::Arc;

use projections::runtime::{InMemory, LiveCopy, ProjectionError};
use projections::{ProjectionHandle, RebuildStatus};

/// A model kept in memory, rebuilt beside the live one under `name`.
pub struct LiveHandle<M: InMemory> {
    pub name: &'static str,
    pub live: Arc<LiveCopy<M>>,
}

impl<M: InMemory + Clone> ProjectionHandle for LiveHandle<M> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn position(&self) -> i64 {
        self.live.position()
    }
    fn rebuild_status(&self) -> RebuildStatus {
        self.live.rebuild_status()
    }
    fn subscribe_rebuild(&self) -> tokio::sync::watch::Receiver<RebuildStatus> {
        self.live.subscribe_rebuild()
    }
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.live.start_rebuild()
    }
    fn rebuild_now(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>> {
        Box::pin(self.live.rebuild())
    }
}
