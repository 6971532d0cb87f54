//! Events of shopper activity: what buyers viewed, carted, bought and searched for.
//! Search personalises with them and recommendations learn from them.
//!
//! Each event is its own one-event stream (a fresh UUIDv7 id), so recording activity
//! never contends on a per-user aggregate.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which activity events are stored.
pub const ACTIVITY_AGGREGATE: &str = "activity";

/// What a shopper did with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Viewed,
    Carted,
    Purchased,
    Searched,
    /// Hid a recommended item: not to be shown to them again.
    Dismissed,
    /// Opened an item from a list of recommendations.
    Clicked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ActivityEvent {
    /// A shopper's action, as the shop reported it.
    ActivityRecorded {
        user_id: String,
        kind: ActivityKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sku: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// For a click on a recommended item: the version of the model that made the
        /// list, so click-through can be measured per model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_version: Option<String>,
    },
    /// A search the query API answered (recorded in the background).
    SearchPerformed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        query: String,
        hits: u64,
    },
}

impl ActivityEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ActivityEvent::ActivityRecorded { .. } => "ActivityRecorded",
            ActivityEvent::SearchPerformed { .. } => "SearchPerformed",
        }
    }
}
