//! The flash sale as the host runs it (its cqrs-es impl) and the view a command is
//! answered with.

use super::*;

crate::aggregate::aggregate!(FlashSale, FLASH_SALE_AGGREGATE, FlashSaleCommand, FlashSaleEvent,
    decide: |sale, command, services| sale.decide(command, services.now()));

/// A flash sale's figures, and for a purchase the buyer's hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlashSaleView {
    pub sale_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub status: FlashSaleStatus,
    pub units: u64,
    pub sold: u64,
    pub held: u64,
    pub remaining: u64,
    pub price: Option<Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_user_limit: u64,
    pub payment_window_seconds: u64,
    /// When the first buyer hold runs out.
    pub earliest_expiry: Option<DateTime<Utc>>,
    /// For a purchase: the buyer's open hold (order id, quantity, until when).
    pub purchase: Option<(String, u64, DateTime<Utc>)>,
}

impl crate::Hosted for FlashSale {
    type View = FlashSaleView;

    fn view(&self) -> FlashSaleView {
        FlashSaleView {
            sale_id: self.sale_id.clone(),
            sku: self.sku.clone(),
            warehouse_id: self.warehouse_id.clone(),
            status: self.status,
            units: self.units,
            sold: self.sold,
            held: self.held(),
            remaining: self.remaining(),
            price: self.price.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            per_user_limit: self.per_user_limit,
            payment_window_seconds: self.payment_window_seconds,
            earliest_expiry: self.earliest_expiry(),
            purchase: None,
        }
    }

    fn view_for(&self, command: &FlashSaleCommand, now: DateTime<Utc>) -> FlashSaleView {
        let mut view = self.view();
        if let FlashSaleCommand::Purchase { user_id, .. } = command {
            view.purchase = self.open_hold_of(user_id, now);
        }
        view
    }
}
