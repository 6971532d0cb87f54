//! Orders: placed with catalog prices, then stock is reserved for them by the order
//! process, which follows the log.
//!
//! The order process is a process manager (DESIGN §4): it reads `OrderPlaced` events
//! after its own checkpoint, allocates and holds the stock (the reservation's id is
//! the order's, so doing it again changes nothing), and records the outcome on the
//! order. On PostgreSQL one process at a time runs it, under an advisory-lock lease;
//! another takes over when it dies. It resumes from its checkpoint after a crash.

use std::sync::Arc;
use std::time::Duration;

use domain::{DomainError, ErrorKind, Order, OrderCommand, ReservationStatus};
use event_schemas::{Destination, Metadata, OrderEvent, PricedLine, ReservationLine};
use futures::future::BoxFuture;

use crate::host::{CommandError, CommandOutcome};
use crate::service::CommandService;
use crate::store::{Database, StoreError};

/// The name of the order process's checkpoint and lease.
pub const ORDER_PROCESS: &str = "order_process";
/// How long an order's stock is held for payment.
pub const ORDER_HOLD: chrono::Duration = chrono::Duration::minutes(15);
/// How long a buyer has to pay: shorter than the hold, so a payment that comes at the
/// last moment still finds the stock held.
pub const PAYMENT_WINDOW: chrono::Duration = chrono::Duration::minutes(10);
/// How often the process looks for orders whose payment did not come.
const TIMEOUT_TICK: Duration = Duration::from_secs(1);
/// Events the process reads at a time.
const BATCH: i64 = 200;
/// How long it waits for a wake-up before looking anyway.
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// Advisory lock key of the order process's lease ("orderpm").
const LEASE_KEY: i64 = 0x6f72_6465_7270_6d00;

/// An order as a buyer places it: SKUs and quantities, priced at placing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlaceOrder {
    pub order_id: String,
    pub customer: Option<String>,
    pub lines: Vec<(String, u64)>,
    pub ship_to: Destination,
    pub priority: bool,
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
        } = order;
        let order_id = order_id.as_str();
        let mut priced = Vec::with_capacity(lines.len());
        for (sku, quantity) in lines {
            let product = match self.product(&sku).await {
                Ok((_, product)) => product,
                Err(CommandError::Refused(refusal)) if refusal.kind == ErrorKind::NotFound => {
                    return Err(DomainError::new(
                        ErrorKind::Invalid,
                        "unknown_product",
                        format!("no product '{sku}' is listed"),
                    )
                    .into())
                }
                Err(other) => return Err(other),
            };
            let unit_price = product.details.map(|d| d.price).ok_or_else(|| {
                DomainError::new(
                    ErrorKind::Invalid,
                    "unknown_product",
                    format!("no product '{sku}' is listed"),
                )
            })?;
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
        };
        // Order ids are fresh as a rule: skip loading (a repeat conflicts and loads).
        self.order
            .execute_new(order_id, place, metadata.clone(), keyed)
            .await
    }

    /// The order as it stands.
    pub async fn order(&self, order_id: &str) -> Result<(CommandOutcome, Order), CommandError> {
        self.order
            .execute(order_id, OrderCommand::Inspect, Metadata::default(), None)
            .await
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
        }
        self.order
            .execute(order_id, cancel, metadata.clone(), None)
            .await
    }

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
        let (_, order) = self.order(order_id).await?;
        if order.status != domain::OrderStatus::Placed {
            return Ok(after);
        }
        let expires_at = self.clock().now() + ORDER_HOLD;
        let (outcome, explanation) = match self.reservation(order_id).await {
            // Done before (the process stopped before its checkpoint): same outcome.
            Ok(existing) if existing.reservation.status != ReservationStatus::Requested => {
                (existing.reservation, String::new())
            }
            // Begun before: finish it with the lines it recorded.
            Ok(existing) => {
                let lines = existing.reservation.lines.clone();
                let answer = self
                    .reserve(order_id, customer.clone(), lines, expires_at, &metadata)
                    .await?;
                (answer.reservation, String::new())
            }
            Err(CommandError::Refused(_)) => {
                let wanted = lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
                match planner
                    .plan(wanted, ship_to, *priority, after.max(position))
                    .await
                {
                    Ok((planned, explanation)) => {
                        let answer = self
                            .reserve(order_id, customer.clone(), planned, expires_at, &metadata)
                            .await?;
                        (answer.reservation, explanation)
                    }
                    Err(refusal) => {
                        let reject = OrderCommand::Reject {
                            reason: refusal.code.to_string(),
                            detail: refusal.detail.clone(),
                        };
                        let (outcome, _) =
                            self.order.execute(order_id, reject, metadata, None).await?;
                        return Ok(outcome.position);
                    }
                }
            }
            Err(other) => return Err(other),
        };
        let record = match outcome.status {
            ReservationStatus::Held | ReservationStatus::Confirmed => {
                OrderCommand::RecordReserved {
                    lines: outcome.lines.clone(),
                    expires_at: outcome.expires_at.unwrap_or(expires_at),
                    payment_due: self.clock().now() + PAYMENT_WINDOW,
                    explanation,
                }
            }
            _ => OrderCommand::Reject {
                reason: "insufficient_stock".into(),
                detail: outcome
                    .shortages
                    .iter()
                    .map(|s| {
                        format!(
                            "{} in {}: {} wanted, {} available",
                            s.sku, s.warehouse_id, s.wanted, s.available
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            },
        };
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

    /// A paid order: sell its held units and ask for its shipments. If its holds ran
    /// out meanwhile, hold again if the stock is there, else refund.
    async fn settle_payment(
        &self,
        order_id: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let (_, order) = self.order(order_id).await?;
        if order.status != domain::OrderStatus::Paid {
            return Ok(());
        }
        let sold = if let Some(sale_id) = &order.flash_sale {
            self.sell_flash_units(&order, sale_id, metadata).await?
        } else {
            match self.confirm_reservation(order_id, metadata).await {
                Ok(answer) => Some(answer.reservation.lines),
                Err(CommandError::Refused(_)) => self.hold_again_and_sell(&order, metadata).await?,
                Err(other) => return Err(other),
            }
        };
        match sold {
            Some(lines) => {
                let mut shipments: std::collections::BTreeMap<String, Vec<ReservationLine>> =
                    Default::default();
                for line in lines {
                    shipments
                        .entry(line.warehouse_id.clone())
                        .or_default()
                        .push(line);
                }
                let confirm = OrderCommand::Confirm {
                    shipments: shipments.into_iter().collect(),
                };
                self.on_order(order_id, confirm, metadata).await?;
            }
            None => {
                let refund = OrderCommand::RequestRefund {
                    reason: "the stock could no longer be held when the payment came".into(),
                };
                self.on_order(order_id, refund, metadata).await?;
                self.notify(order_id, "Your payment came after the items were released and they are no longer available; it will be refunded.", metadata).await?;
            }
        }
        Ok(())
    }

    /// A late payment: hold the order's lines again under a second reservation and
    /// sell them; `None` when the stock is not there any more.
    async fn hold_again_and_sell(
        &self,
        order: &Order,
        metadata: &Metadata,
    ) -> Result<Option<Vec<ReservationLine>>, CommandError> {
        let late_id = format!("{}.late", order.order_id);
        let expires_at = self.clock().now() + ORDER_HOLD;
        let held = self
            .reserve(
                &late_id,
                order.customer.clone(),
                order.reserved.clone(),
                expires_at,
                metadata,
            )
            .await?;
        if held.reservation.status != ReservationStatus::Held
            && held.reservation.status != ReservationStatus::Confirmed
        {
            return Ok(None);
        }
        let sold = self.confirm_reservation(&late_id, metadata).await?;
        Ok(Some(sold.reservation.lines))
    }

    /// A failed payment: let the stock go and tell the customer.
    async fn payment_failed(
        &self,
        order_id: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let (_, order) = self.order(order_id).await?;
        self.release_for_order(&order, "payment_failed", metadata)
            .await?;
        self.notify(
            order_id,
            "Your payment failed; the items are no longer held for you.",
            metadata,
        )
        .await?;
        Ok(())
    }

    /// No payment in time: let the stock go, mark the order, tell the customer.
    async fn time_out(&self, order_id: &str, metadata: &Metadata) -> Result<(), CommandError> {
        let (_, order) = self.order(order_id).await?;
        let due = order
            .payment_due
            .is_some_and(|due| due <= self.clock().now());
        if order.status != domain::OrderStatus::Reserved || !due {
            return Ok(());
        }
        self.release_for_order(&order, "payment_timed_out", metadata)
            .await?;
        self.on_order(order_id, OrderCommand::TimeOut, metadata)
            .await?;
        self.notify(
            order_id,
            "No payment came in time; the items are no longer held for you.",
            metadata,
        )
        .await?;
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

    /// Record something the customer must be told.
    async fn notify(
        &self,
        order_id: &str,
        message: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let notify = OrderCommand::Notify {
            message: message.to_string(),
        };
        self.on_order(order_id, notify, metadata).await
    }

    /// Let an order's stock go: a flash-sale order's units back to the sale (for the
    /// next buyer), any other order's reservation back to stock.
    async fn release_for_order(
        &self,
        order: &Order,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let order_id = order.order_id.as_str();
        if let Some(sale_id) = &order.flash_sale {
            return self
                .return_flash_units(order_id, sale_id, reason, metadata)
                .await;
        }
        match self.release_reservation(order_id, reason, metadata).await {
            Ok(_) | Err(CommandError::Refused(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Act on one order event as the order process.
    async fn on_order_event(
        &self,
        event: &OrderEvent,
        planner: &dyn Planner,
        position: i64,
        due: &mut Vec<(chrono::DateTime<chrono::Utc>, String)>,
        after: i64,
    ) -> Result<i64, CommandError> {
        let metadata = process_metadata(position);
        match event {
            OrderEvent::OrderPlaced { .. } => {
                self.reserve_for_order(event, planner, position, after)
                    .await
            }
            OrderEvent::OrderStockReserved {
                order_id,
                payment_due,
                ..
            }
            | OrderEvent::FlashSaleOrderPlaced {
                order_id,
                payment_due,
                ..
            } => {
                due.push((*payment_due, order_id.clone()));
                Ok(after)
            }
            OrderEvent::OrderPaid { order_id, .. } => self
                .settle_payment(order_id, &metadata)
                .await
                .map(|()| after),
            OrderEvent::OrderPaymentFailed { order_id, .. } => self
                .payment_failed(order_id, &metadata)
                .await
                .map(|()| after),
            _ => Ok(after),
        }
    }
}

fn process_metadata(position: i64) -> Metadata {
    Metadata {
        causation_id: Some(format!("position:{position}")),
        actor: Some(format!("process:{ORDER_PROCESS}")),
        ..Default::default()
    }
}

/// Run the order process for as long as the process lives: take the lease, follow
/// the log from the checkpoint, act on each placed order once.
pub fn spawn_order_process(service: Arc<CommandService>, planner: Arc<dyn Planner>) {
    tokio::spawn(async move {
        loop {
            match run_while_leased(&service, planner.as_ref()).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "order process stopped; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Hold the lease (a session advisory lock on one connection, on PostgreSQL) and
/// follow the log until something fails.
async fn run_while_leased(
    service: &CommandService,
    planner: &dyn Planner,
) -> Result<(), StoreError> {
    let _lease = match service.store().database() {
        Database::Postgres(pool) => {
            let mut connection = pool.acquire().await?;
            let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LEASE_KEY)
                .fetch_one(&mut *connection)
                .await?;
            if !held {
                // Another process runs it; look again later.
                tokio::time::sleep(Duration::from_secs(2)).await;
                return Ok(());
            }
            Some(connection)
        }
        // SQLite has one process per database.
        Database::Sqlite { .. } => None,
    };
    let mut committed = service.store().committed();
    let mut position = service.store().process_checkpoint(ORDER_PROCESS).await?;
    // Orders awaiting payment, by when it is due: everything reserved so far (stale
    // entries are harmless: timing out an order that moved on does nothing).
    let mut due = std::collections::BTreeSet::new();
    let mut scanned = 0;
    loop {
        let records = service
            .store()
            .read_type_after(event_schemas::order::ORDER_AGGREGATE, scanned, 1_000)
            .await?;
        let Some(last) = records.last().map(|r| r.0) else {
            break;
        };
        for (_, payload) in &records {
            if let Ok(
                OrderEvent::OrderStockReserved {
                    order_id,
                    payment_due,
                    ..
                }
                | OrderEvent::FlashSaleOrderPlaced {
                    order_id,
                    payment_due,
                    ..
                },
            ) = serde_json::from_str(payload)
            {
                due.insert((payment_due, order_id));
            }
        }
        scanned = last;
    }
    loop {
        let records = service
            .store()
            .read_type_after(event_schemas::order::ORDER_AGGREGATE, position, BATCH)
            .await?;
        let mut events = Vec::with_capacity(records.len());
        for (at, payload) in &records {
            let event: OrderEvent = serde_json::from_str(payload)
                .map_err(|e| StoreError::Corrupt(format!("event at position {at}: {e}")))?;
            events.push((*at, event));
        }
        // Independent orders are worked on side by side; orders that share a SKU (and
        // every event of one order) stay in log order, so allocation sees what the
        // orders before it took.
        let groups = independent_groups(&events);
        let work = groups.into_iter().map(|group| {
            let events = &events;
            async move {
                let mut reserved = Vec::new();
                let mut after = 0;
                for index in group {
                    let (at, event) = &events[index];
                    after = service.on_order_event(event, planner, *at, &mut reserved, after).await.map_err(|error| {
                        tracing::warn!(position = at, %error, "the order process could not act on an event");
                        error
                    })?;
                }
                Ok::<_, CommandError>(reserved)
            }
        });
        for outcome in futures::future::join_all(work).await {
            // Leave the checkpoint before this batch, and try it again: every step
            // is idempotent.
            let reserved = outcome.map_err(|error| StoreError::Commit(error.to_string()))?;
            due.extend(reserved);
        }
        if let Some((last, _)) = events.last() {
            position = *last;
            service
                .store()
                .save_process_checkpoint(ORDER_PROCESS, position)
                .await?;
        }
        let now = service.clock().now();
        while due.first().is_some_and(|(at, _)| *at <= now) {
            let (_, order_id) = due.pop_first().expect("checked non-empty");
            if let Err(error) = service
                .time_out(&order_id, &process_metadata(position))
                .await
            {
                tracing::warn!(%order_id, %error, "timing out an order failed; will retry");
                due.insert((now + chrono::Duration::seconds(1), order_id));
                break;
            }
        }
        if records.len() as i64 == BATCH {
            continue;
        }
        let _ = tokio::time::timeout(TIMEOUT_TICK.min(IDLE_RECHECK), committed.changed()).await;
    }
}

/// Split a batch of order events into groups that can be worked on at once: events of
/// one order, and placed orders that share a SKU, land in the same group, in order.
fn independent_groups(events: &[(i64, OrderEvent)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..events.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_by_key: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    for (index, (_, event)) in events.iter().enumerate() {
        let mut keys = vec![format!("order:{}", order_id_of(event))];
        if let OrderEvent::OrderPlaced { lines, .. } = event {
            keys.extend(lines.iter().map(|l| format!("sku:{}", l.sku)));
        }
        for key in keys {
            match first_by_key.get(&key) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, index), root(&mut parent, other));
                    parent[a] = b;
                }
                None => {
                    first_by_key.insert(key, index);
                }
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for index in 0..events.len() {
        let group = root(&mut parent, index);
        groups.entry(group).or_default().push(index);
    }
    groups.into_values().collect()
}

fn order_id_of(event: &OrderEvent) -> &str {
    match event {
        OrderEvent::OrderPlaced { order_id, .. }
        | OrderEvent::OrderStockReserved { order_id, .. }
        | OrderEvent::FlashSaleOrderPlaced { order_id, .. }
        | OrderEvent::OrderRejected { order_id, .. }
        | OrderEvent::OrderCancelled { order_id, .. }
        | OrderEvent::OrderPaid { order_id, .. }
        | OrderEvent::OrderConfirmed { order_id }
        | OrderEvent::FulfillmentRequested { order_id, .. }
        | OrderEvent::OrderPaymentFailed { order_id, .. }
        | OrderEvent::OrderPaymentTimedOut { order_id }
        | OrderEvent::CustomerNotified { order_id, .. }
        | OrderEvent::PaymentAmountMismatch { order_id, .. }
        | OrderEvent::RefundRequested { order_id, .. }
        | OrderEvent::DuplicatePaymentRefunded { order_id, .. } => order_id,
    }
}
