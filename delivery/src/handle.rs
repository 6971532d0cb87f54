//! The pricing model as one of the projections `rebuild` and the admin routes know.

use std::sync::Arc;

use projections::runtime::ProjectionError;
use projections::{ProjectionHandle, RebuildStatus};

use crate::LivePricing;

/// `delivery`: the pricing model, rebuilt beside the live one.
pub struct PricingHandle(pub Arc<LivePricing>);

impl ProjectionHandle for PricingHandle {
    fn name(&self) -> &'static str {
        "delivery"
    }
    fn position(&self) -> i64 {
        self.0.position()
    }
    fn rebuild_status(&self) -> RebuildStatus {
        self.0.rebuild_status()
    }
    fn subscribe_rebuild(&self) -> tokio::sync::watch::Receiver<RebuildStatus> {
        self.0.subscribe_rebuild()
    }
    fn start_rebuild(&self) -> Result<RebuildStatus, ProjectionError> {
        self.0.start_rebuild()
    }
    fn rebuild_now(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RebuildStatus, ProjectionError>> {
        Box::pin(self.0.rebuild())
    }
}
