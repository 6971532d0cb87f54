//! The ReorderLine aggregate: one SKU in one warehouse, open (a reorder suggested,
//! stock not yet back above the reorder point) or not. A suggestion is recorded once
//! per crossing: suggesting again while open, or clearing what is not open, changes
//! nothing, so the replenishment process may repeat itself after a restart.

use event_schemas::reorder::REORDER_AGGREGATE;
use event_schemas::ReorderEvent;
use serde::{Deserialize, Serialize};

use crate::delivery::ReorderAdvice;
use crate::error::DomainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReorderCommand {
    /// Available stock is at or under the reorder point.
    Suggest {
        sku: String,
        warehouse_id: String,
        available: i64,
        advice: ReorderAdvice,
    },
    /// Available stock is above the reorder point again.
    Clear {
        sku: String,
        warehouse_id: String,
        available: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReorderLine {
    pub open: bool,
}

impl ReorderLine {
    pub fn decide(&self, command: &ReorderCommand) -> Result<Vec<ReorderEvent>, DomainError> {
        Ok(match command {
            ReorderCommand::Suggest { .. } if self.open => vec![],
            ReorderCommand::Suggest {
                sku,
                warehouse_id,
                available,
                advice,
            } => vec![ReorderEvent::ReorderSuggested {
                sku: sku.clone(),
                warehouse_id: warehouse_id.clone(),
                available: *available,
                velocity: advice.velocity,
                safety_stock: advice.safety_stock,
                reorder_point: advice.reorder_point,
                days_of_cover: advice.days_of_cover,
                suggested_quantity: advice.suggested_quantity,
            }],
            ReorderCommand::Clear { .. } if !self.open => vec![],
            ReorderCommand::Clear {
                sku,
                warehouse_id,
                available,
            } => vec![ReorderEvent::ReorderPointCleared {
                sku: sku.clone(),
                warehouse_id: warehouse_id.clone(),
                available: *available,
            }],
        })
    }

    pub fn apply_event(&mut self, event: &ReorderEvent) {
        self.open = matches!(event, ReorderEvent::ReorderSuggested { .. });
    }
}

crate::aggregate::aggregate!(ReorderLine, REORDER_AGGREGATE, ReorderCommand, ReorderEvent,
    decide: |line, command, _services| line.decide(command));

impl crate::Hosted for ReorderLine {
    type View = bool;

    fn view(&self) -> bool {
        self.open
    }
}
