//! What the order process does for each order event: reserve or reject a placed
//! order, sell a paid one (or hold it again, or refund it), let the stock of a failed
//! or unpaid one go, and tell the customer. How it follows the log (lease, checkpoint,
//! events side by side, parking) is in the module above.

use domain::ids::{late_reservation_id, order_reservation_id};
use domain::order_process::{self as policy, OrderStep};
use domain::{Order, OrderCommand, ReservationStatus};
use event_schemas::{Metadata, OrderEvent, ReservationLine};

use crate::host::CommandError;
use crate::orders::{Planner, ORDER_PROCESS};
use crate::service::CommandService;

impl CommandService {
    /// Reserve stock for a placed order, or reject it. Doing it again for the same
    /// order finds the reservation already made and records the same outcome.
    /// Returns the log position of its last action.
    async fn reserve_for_order(
        &self,
        event: &OrderEvent,
        planner: &dyn Planner,
        position: i64,
        after: i64,
    ) -> Result<i64, CommandError> {
        let OrderEvent::OrderPlaced {
            order_id,
            customer,
            lines,
            ship_to,
            priority,
            ..
        } = event
        else {
            return Ok(0);
        };
        let metadata = process_metadata(position);
        // Cancelled before the process got to it: hold nothing.
        let (_, order) = self.order_at(order_id, position).await?;
        if !policy::still_wanted(OrderStep::Reserve, &order) {
            return Ok(after);
        }
        let expires_at = policy::hold_until(self.clock().now());
        // Plan and hold straight away: on a first attempt (nearly always) there is
        // no reservation to look for. A reservation left by an earlier attempt shows
        // up as a refusal, and is then finished as it was begun.
        let wanted = lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
        let planned = match &order.delivery {
            Some(quoted) => {
                planner
                    .plan_from(wanted, &quoted.pickup_warehouse, after.max(position))
                    .await
            }
            None => {
                planner
                    .plan(wanted, ship_to, *priority, after.max(position))
                    .await
            }
        };
        let (outcome, explanation) = match planned {
            Ok((planned, explanation)) => {
                let reservation_id = order_reservation_id(order_id);
                match self
                    .reserve(
                        &reservation_id,
                        customer.clone(),
                        planned,
                        expires_at,
                        &metadata,
                    )
                    .await
                {
                    Ok(answer) => (answer.reservation, explanation),
                    // An earlier attempt planned otherwise: finish what it began.
                    Err(CommandError::Refused(refusal))
                        if refusal.code == domain::Refusal::ReservationExists =>
                    {
                        let earlier = self
                            .finish_earlier_attempt(order_id, customer, expires_at, &metadata)
                            .await?;
                        (earlier.ok_or(refusal)?, String::new())
                    }
                    Err(other) => return Err(other),
                }
            }
            // Short of stock, perhaps because an earlier attempt holds it: finish that
            // attempt if there was one, else reject.
            Err(refusal) => {
                match self
                    .finish_earlier_attempt(order_id, customer, expires_at, &metadata)
                    .await?
                {
                    Some(earlier) => (earlier, String::new()),
                    None => {
                        let (outcome, _) = self
                            .order
                            .execute(order_id, policy::reject(&refusal), metadata.clone(), None)
                            .await?;
                        if let Some(buyer) = customer {
                            self.uncount_order(buyer, order_id, &metadata).await;
                        }
                        return Ok(outcome.position);
                    }
                }
            }
        };
        let record = policy::record_reservation(&outcome, explanation, self.clock().now());
        match self
            .order
            .execute(order_id, record, metadata.clone(), None)
            .await
        {
            Ok((outcome, _)) => Ok(outcome.position),
            // Cancelled while its stock was being held: let the stock go again.
            Err(CommandError::Refused(_)) => {
                self.release_for_order(&order, "order_cancelled", &metadata)
                    .await?;
                Ok(after)
            }
            Err(other) => Err(other),
        }
    }

    /// The reservation an earlier attempt for this order made, finished if it had
    /// only been begun; `None` when there is none.
    async fn finish_earlier_attempt(
        &self,
        order_id: &str,
        customer: &Option<String>,
        expires_at: chrono::DateTime<chrono::Utc>,
        metadata: &Metadata,
    ) -> Result<Option<domain::Reservation>, CommandError> {
        let reservation_id = order_reservation_id(order_id);
        let existing = match self.reservation(&reservation_id).await {
            Ok(existing) => existing.reservation,
            Err(CommandError::Refused(_)) => return Ok(None),
            Err(other) => return Err(other),
        };
        if existing.status != ReservationStatus::Requested {
            return Ok(Some(existing));
        }
        let lines = existing.lines.clone();
        let answer = self
            .reserve(
                &reservation_id,
                customer.clone(),
                lines,
                expires_at,
                metadata,
            )
            .await?;
        Ok(Some(answer.reservation))
    }

    /// A paid order: sell its held units and ask for its shipments. If its holds ran
    /// out meanwhile, hold again if the stock is there, else refund.
    async fn settle_payment(
        &self,
        order_id: &str,
        position: i64,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let (_, order) = self.order_at(order_id, position).await?;
        if !policy::still_wanted(OrderStep::Settle, &order) {
            return Ok(());
        }
        let sold = if let Some(stay) = &order.stay {
            self.confirm_paid_stay(&order, stay, metadata).await?
        } else if let Some(sale_id) = &order.flash_sale {
            self.sell_flash_units(&order, sale_id, metadata).await?
        } else {
            match self
                .confirm_reservation(&order_reservation_id(order_id), metadata)
                .await
            {
                Ok(answer) => Some(answer.reservation.lines),
                Err(CommandError::Refused(_)) => self.hold_again_and_sell(&order, metadata).await?,
                Err(other) => return Err(other),
            }
        };
        for command in policy::settlement(sold) {
            self.on_order(order_id, command, metadata).await?;
        }
        Ok(())
    }

    /// A late payment: hold the order's lines again under a second reservation and
    /// sell them; `None` when the stock is not there any more. Lines an unfinished
    /// confirm already sold from the first reservation are not held again.
    async fn hold_again_and_sell(
        &self,
        order: &Order,
        metadata: &Metadata,
    ) -> Result<Option<Vec<ReservationLine>>, CommandError> {
        let sold_before = self
            .lines_sold(&order_reservation_id(&order.order_id), &order.reserved)
            .await?;
        let rest = policy::lines_to_hold_again(order, &sold_before)?;
        if rest.is_empty() {
            return Ok(Some(sold_before));
        }
        let late_id = late_reservation_id(&order.order_id);
        let expires_at = policy::hold_until(self.clock().now());
        let held = self
            .reserve(&late_id, order.customer.clone(), rest, expires_at, metadata)
            .await?;
        if held.reservation.status != ReservationStatus::Held
            && held.reservation.status != ReservationStatus::Confirmed
        {
            policy::hold_again_failed(&sold_before)?;
            return Ok(None);
        }
        let sold = self.confirm_reservation(&late_id, metadata).await?;
        let mut lines = sold_before;
        lines.extend(sold.reservation.lines);
        Ok(Some(lines))
    }

    /// A failed payment: let the stock go and tell the customer.
    async fn payment_failed(
        &self,
        order_id: &str,
        position: i64,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let (_, order) = self.order_at(order_id, position).await?;
        self.release_for_order(&order, "payment_failed", metadata)
            .await?;
        for command in policy::payment_failed() {
            self.on_order(order_id, command, metadata).await?;
        }
        Ok(())
    }

    /// No payment in time: let the stock go, mark the order, tell the customer. The
    /// order is read as of `position` at least (what the process has read).
    pub(crate) async fn time_out(
        &self,
        order_id: &str,
        position: i64,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let (_, order) = self.order_at(order_id, position).await?;
        if !policy::payment_overdue(&order, self.clock().now()) {
            return Ok(());
        }
        self.release_for_order(&order, "payment_timed_out", metadata)
            .await?;
        for command in policy::time_out() {
            self.on_order(order_id, command, metadata).await?;
        }
        Ok(())
    }

    /// Run an order command for the process; its answer is not needed.
    async fn on_order(
        &self,
        order_id: &str,
        command: OrderCommand,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        self.order
            .execute(order_id, command, metadata.clone(), None)
            .await
            .map(drop)
    }

    /// Let an order's stock go: a flash-sale order's units back to the sale (for the
    /// next buyer), any other order's reservation back to stock.
    pub(crate) async fn release_for_order(
        &self,
        order: &Order,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let order_id = order.order_id.as_str();
        if let Some(stay) = &order.stay {
            return self.release_stay(order, stay, reason, metadata).await;
        }
        if let Some(sale_id) = &order.flash_sale {
            return self
                .return_flash_units(order_id, sale_id, reason, metadata)
                .await;
        }
        let reservation_id = order_reservation_id(order_id);
        match self
            .release_reservation(&reservation_id, reason, metadata)
            .await
        {
            Ok(_) | Err(CommandError::Refused(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Whether the order process does anything for this event besides putting the
    /// order on the payment clock: events it does not act on are not worth a task.
    pub(crate) fn acts_on(event: &OrderEvent) -> bool {
        policy::step_for(event) != OrderStep::Nothing
    }

    /// Act on one order event as the order process (one that [`acts_on`](Self::acts_on)
    /// says needs it); the log position of its last action, or `after`.
    pub(crate) async fn on_order_event(
        &self,
        event: &OrderEvent,
        planner: &dyn Planner,
        position: i64,
        after: i64,
    ) -> Result<i64, CommandError> {
        let metadata = process_metadata(position);
        let order_id = event.order_id();
        match policy::step_for(event) {
            OrderStep::Reserve => {
                self.reserve_for_order(event, planner, position, after)
                    .await
            }
            OrderStep::Settle => self
                .settle_payment(order_id, position, &metadata)
                .await
                .map(|()| after),
            OrderStep::ReleaseUnpaid => self
                .payment_failed(order_id, position, &metadata)
                .await
                .map(|()| after),
            OrderStep::Nothing => Ok(after),
        }
    }
}

pub(crate) fn process_metadata(position: i64) -> Metadata {
    Metadata {
        causation_id: Some(format!("position:{position}")),
        actor: Some(format!("process:{ORDER_PROCESS}")),
        ..Default::default()
    }
}
