//! The events of one stock, built with its SKU and warehouse filled in.

use super::*;

/// Builds the events of one stock, so each names its SKU and warehouse once.
pub(super) struct Emitter<'a> {
    pub(super) sku: &'a str,
    pub(super) warehouse_id: &'a str,
}

impl Emitter<'_> {
    pub(super) fn received(&self, quantity: u64) -> StockEvent {
        StockEvent::StockReceived {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            quantity,
        }
    }
    pub(super) fn sold(
        &self,
        quantity: u64,
        hold_id: Option<&String>,
        order_id: &Option<String>,
    ) -> StockEvent {
        StockEvent::StockSold {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            quantity,
            hold_id: hold_id.cloned(),
            order_id: order_id.clone(),
        }
    }
    pub(super) fn adjusted(
        &self,
        previous_quantity: u64,
        new_quantity: u64,
        reason: &str,
    ) -> StockEvent {
        StockEvent::StockAdjusted {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            previous_quantity,
            new_quantity,
            reason: reason.into(),
        }
    }
    pub(super) fn shortfall(&self, on_hand: u64, held: u64) -> StockEvent {
        StockEvent::StockShortfallDetected {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            on_hand,
            held,
            shortfall: held - on_hand,
        }
    }
    pub(super) fn held(
        &self,
        hold_id: &str,
        quantity: u64,
        expires_at: Option<DateTime<Utc>>,
    ) -> StockEvent {
        StockEvent::StockHeld {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            hold_id: hold_id.into(),
            quantity,
            expires_at,
        }
    }
    pub(super) fn extended(&self, hold_id: &str, expires_at: DateTime<Utc>) -> StockEvent {
        StockEvent::StockHoldExtended {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            hold_id: hold_id.into(),
            expires_at,
        }
    }
    pub(super) fn released(&self, hold_id: &str, quantity: u64, reason: &str) -> StockEvent {
        StockEvent::StockHoldReleased {
            sku: self.sku.into(),
            warehouse_id: self.warehouse_id.into(),
            hold_id: hold_id.into(),
            quantity,
            reason: reason.into(),
        }
    }
}
