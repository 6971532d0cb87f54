//! Orders as clients see them: placed with catalog prices, read, cancelled, paid (the
//! webhook); and what the order process is given to work with (the planner, the hold
//! and payment windows).
//!
//! The order process is a process manager: it reads order events after its own
//! checkpoint and acts on each — holds the stock under the order's own reservation
//! id, so doing it again changes nothing, sells it when paid, lets it go when not.
//! What it does per event is in `order_process/steps.rs`; how it follows the log
//! (lease, checkpoint, events side by side, parking) in [`crate::order_process`].

use domain::ids::order_reservation_id;
use domain::{DomainError, ErrorKind, Order, OrderCommand};
use event_schemas::{Destination, Metadata, PricedLine, ReservationLine};
use futures::future::BoxFuture;

use crate::host::{CommandError, CommandOutcome};
use crate::service::CommandService;

/// The name of the order process's checkpoint and lease.
pub const ORDER_PROCESS: &str = "order_process";

/// An order as a buyer places it: SKUs and quantities, priced at placing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlaceOrder {
    pub order_id: String,
    pub customer: Option<String>,
    pub lines: Vec<(String, u64)>,
    pub ship_to: Destination,
    pub priority: bool,
    /// Set when the buyer places it with its own token: the stock the order process
    /// will hold for it counts against these limits of the customer's.
    pub buyer_limits: Option<domain::BuyerLimits>,
    /// A delivery quote the order uses (opened and checked by the caller).
    pub delivery: Option<event_schemas::QuotedDelivery>,
}

/// Where to take an order's lines from: the allocation policy over what the read
/// side knows of warehouses and stock (supplied by the API layer).
pub trait Planner: Send + Sync {
    /// Plan on a picture of the stock that reflects at least `min_position`: the
    /// order's own placing (so all stock received before it), or the process's own
    /// last action on these SKUs, whichever is later.
    fn plan<'a>(
        &'a self,
        lines: Vec<(String, u64)>,
        ship_to: &'a Destination,
        priority: bool,
        min_position: i64,
    ) -> BoxFuture<'a, Result<(Vec<ReservationLine>, String), DomainError>>;

    /// Plan every line from `warehouse_id` in one shipment (an order whose delivery
    /// was quoted from there), or refuse with what it is short of: such an order is
    /// never re-planned elsewhere, as that would change what its delivery costs.
    fn plan_from<'a>(
        &'a self,
        lines: Vec<(String, u64)>,
        warehouse_id: &'a str,
        min_position: i64,
    ) -> BoxFuture<'a, Result<(Vec<ReservationLine>, String), DomainError>>;
}

impl CommandService {
    /// Place an order for `lines` (sku, quantity), priced from the catalog now.
    pub async fn place_order(
        &self,
        order: PlaceOrder,
        metadata: &Metadata,
        keyed: Option<crate::host::KeyedRequest>,
    ) -> Result<(CommandOutcome, Order), CommandError> {
        let PlaceOrder {
            order_id,
            customer,
            lines,
            ship_to,
            priority,
            buyer_limits,
            delivery,
        } = order;
        let order_id = order_id.as_str();
        // The SKUs are looked up before the order decides: only ids that can exist
        // reach the store.
        let mut v = domain::validate::Validator::new();
        for (i, (sku, _)) in lines.iter().enumerate() {
            v.id(&format!("lines[{i}].sku"), sku);
        }
        v.finish()?;
        let mut priced = Vec::with_capacity(lines.len());
        for (sku, quantity) in lines {
            let unit_price = match self.product(&sku).await {
                Ok((_, product)) => product.listed(&sku)?.price.clone(),
                Err(CommandError::Refused(refusal)) if refusal.kind == ErrorKind::NotFound => {
                    return Err(DomainError::new(
                        ErrorKind::Invalid,
                        domain::Refusal::UnknownProduct,
                        format!("no product '{sku}' is listed"),
                    )
                    .into())
                }
                Err(other) => return Err(other),
            };
            priced.push(PricedLine {
                sku,
                quantity,
                unit_price,
            });
        }
        let place = OrderCommand::Place {
            order_id: order_id.to_string(),
            customer,
            lines: priced,
            ship_to,
            priority,
            delivery,
        };
        // Counted only once the order is known to be valid: bad input writes nothing.
        let counted = match (&buyer_limits, &place) {
            (
                Some(limits),
                OrderCommand::Place {
                    customer: Some(buyer),
                    lines,
                    ..
                },
            ) => {
                Order::default().decide(&place)?;
                let units = lines
                    .iter()
                    .fold(0u64, |sum, line| sum.saturating_add(line.quantity));
                self.count_order_for_buyer(buyer, order_id, units, *limits, metadata)
                    .await?;
                Some(buyer.clone())
            }
            _ => None,
        };
        // Order ids are fresh as a rule: skip loading (a repeat conflicts and loads).
        let placed = self
            .order
            .execute_new(order_id, place, metadata.clone(), keyed)
            .await;
        if let (Err(CommandError::Refused(_)), Some(buyer)) = (&placed, &counted) {
            // Not placed (its id is another order's): the units it counted go back.
            self.uncount_order(buyer, order_id, metadata).await;
        }
        placed
    }

    /// The order as it stands.
    pub async fn order(&self, order_id: &str) -> Result<(CommandOutcome, Order), CommandError> {
        let (outcome, order) = self.order.read(order_id).await?;
        order.must_exist()?;
        Ok((outcome, order))
    }

    /// The reservation the order process made for an order (none before it got to it).
    pub async fn order_reservation(
        &self,
        order_id: &str,
    ) -> Result<crate::reservations::ReservationAnswer, CommandError> {
        self.reservation(&order_reservation_id(order_id)).await
    }

    /// Follow the commits this process makes to an order (wakes long polls).
    pub fn order_changes(&self, order_id: &str) -> tokio::sync::watch::Receiver<i64> {
        self.order.changes(order_id)
    }

    /// The order as it stands, reflecting the log at least up to `position` (the
    /// order process acts on events it read from the log).
    pub(crate) async fn order_at(
        &self,
        order_id: &str,
        position: i64,
    ) -> Result<(CommandOutcome, Order), CommandError> {
        let (outcome, order) = self.order.read_at(order_id, position).await?;
        order.must_exist()?;
        Ok((outcome, order))
    }

    /// Cancel an order not yet paid: its stock goes back.
    pub async fn cancel_order(
        &self,
        order_id: &str,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, Order), CommandError> {
        let (_, order) = self.order(order_id).await?;
        let cancel = OrderCommand::Cancel {
            reason: reason.to_string(),
        };
        // Refuse before touching stock when the order cannot be cancelled.
        if !order.decide(&cancel)?.is_empty() {
            // No reservation yet (the process has not got to it), or done with: fine.
            self.release_for_order(&order, reason, metadata).await?;
            if let (Some(buyer), None) = (&order.customer, &order.flash_sale) {
                self.uncount_order(buyer, order_id, metadata).await;
            }
        }
        self.order
            .execute(order_id, cancel, metadata.clone(), None)
            .await
    }
}

/// A shipment that left its warehouse.
#[derive(Debug, Clone)]
pub struct Shipment {
    pub warehouse_id: String,
    pub carrier: String,
    pub tracking_number: String,
}

impl CommandService {
    /// Record that the shipment of `order_id` from `warehouse_id` left, as the
    /// fulfilment service reports it (repeating a report changes nothing).
    pub async fn dispatch_shipment(
        &self,
        order_id: &str,
        shipment: Shipment,
        metadata: &Metadata,
        keyed: Option<crate::KeyedRequest>,
    ) -> Result<(CommandOutcome, Order), CommandError> {
        let dispatch = OrderCommand::DispatchShipment {
            warehouse_id: shipment.warehouse_id,
            carrier: shipment.carrier,
            tracking_number: shipment.tracking_number,
        };
        self.order
            .execute(order_id, dispatch, metadata.clone(), keyed)
            .await
    }
}

impl CommandService {
    /// Record what the payment provider says about an order's payment.
    pub async fn record_payment(
        &self,
        order_id: &str,
        payment_id: &str,
        succeeded: bool,
        amount: event_schemas::Money,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, Order), CommandError> {
        let record = OrderCommand::RecordPayment {
            payment_id: payment_id.to_string(),
            succeeded,
            amount,
        };
        self.order
            .execute(order_id, record, metadata.clone(), None)
            .await
    }
}
