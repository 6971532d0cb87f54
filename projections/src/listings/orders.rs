//! Orders, newest first, by status and buyer.

use event_schemas::OrderEvent;
use serde::Serialize;

use super::page::{After, Page};
use super::pending::Pending;
use super::upsert::{Kind, Table};
use super::{list_position, ListQuery};
use event_log::{on_reader, Database};

pub static TABLE: Table = Table {
    name: "listed_orders",
    columns: &[
        ("order_id", Kind::Text),
        ("customer", Kind::Text),
        ("status", Kind::Text),
        ("total_amount", Kind::Int),
        ("currency", Kind::Text),
        ("flash_sale_id", Kind::Text),
        ("placed_position", Kind::Int),
    ],
};

pub const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS listed_orders (
        generation BIGINT NOT NULL,
        order_id TEXT NOT NULL,
        customer TEXT,
        status TEXT,
        total_amount BIGINT,
        currency TEXT,
        flash_sale_id TEXT,
        placed_position BIGINT,
        PRIMARY KEY (generation, order_id))",
    "CREATE INDEX IF NOT EXISTS listed_orders_newest ON listed_orders (generation, placed_position)",
];

/// The status an order has after `event`, as the order itself names it (the
/// events that change no status answer `None`).
pub fn status_after(event: &OrderEvent) -> Option<&'static str> {
    Some(match event {
        OrderEvent::OrderPlaced { .. } => "placed",
        OrderEvent::FlashSaleOrderPlaced { .. }
        | OrderEvent::OrderStockReserved { .. }
        | OrderEvent::StayOrderPlaced { .. } => "reserved",
        OrderEvent::OrderRejected { .. } => "rejected",
        OrderEvent::OrderCancelled { .. } => "cancelled",
        OrderEvent::OrderPaid { .. } => "paid",
        OrderEvent::OrderConfirmed { .. } => "confirmed",
        OrderEvent::OrderPaymentFailed { .. } => "payment_failed",
        OrderEvent::OrderPaymentTimedOut { .. } => "timed_out",
        OrderEvent::RefundRequested { .. } => "refunded",
        OrderEvent::FulfillmentRequested { .. }
        | OrderEvent::ShipmentDispatched { .. }
        | OrderEvent::CustomerNotified { .. }
        | OrderEvent::PaymentAmountMismatch { .. }
        | OrderEvent::DuplicatePaymentRefunded { .. }
        | OrderEvent::DeliveryQuoted { .. } => return None,
    })
}

pub fn fold(event: &OrderEvent, position: i64, rows: &mut Pending) {
    let id = event.order_id();
    match event {
        OrderEvent::OrderPlaced {
            customer, total, ..
        } => {
            if let Some(customer) = customer {
                rows.text(id, "customer", customer);
            }
            rows.int(id, "total_amount", total.amount);
            rows.text(id, "currency", &total.currency);
            rows.int(id, "placed_position", position);
        }
        OrderEvent::FlashSaleOrderPlaced {
            customer,
            sale_id,
            total,
            ..
        } => {
            rows.text(id, "customer", customer);
            rows.text(id, "flash_sale_id", sale_id);
            rows.int(id, "total_amount", total.amount);
            rows.text(id, "currency", &total.currency);
            rows.int(id, "placed_position", position);
        }
        OrderEvent::StayOrderPlaced {
            customer, total, ..
        } => {
            rows.text(id, "customer", customer);
            rows.int(id, "total_amount", total.amount);
            rows.text(id, "currency", &total.currency);
            rows.int(id, "placed_position", position);
        }
        _ => {}
    }
    if let Some(status) = status_after(event) {
        rows.text(id, "status", status);
    }
}

/// An order as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderSummary {
    pub order_id: String,
    pub customer_id: Option<String>,
    pub status: String,
    pub total_amount: i64,
    pub currency: String,
    pub flash_sale_id: Option<String>,
    /// Log position of the event that placed it.
    pub placed_position: i64,
}

/// Filters of the order list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub customer: Option<String>,
}

type Row = (
    String,
    Option<String>,
    String,
    i64,
    String,
    Option<String>,
    i64,
);

/// How many orders are in each status, the commonest first.
pub async fn counts_by_status(db: &Database) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT o.status, COUNT(*)
             FROM projection_active a
             JOIN listed_orders o ON o.generation = a.generation
             WHERE a.name = $1 AND o.placed_position IS NOT NULL AND o.status IS NOT NULL
             GROUP BY o.status
             ORDER BY COUNT(*) DESC, o.status",
        )
        .bind(super::NAME)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

pub async fn list(
    db: &Database,
    filter: &OrderFilter,
    query: &ListQuery,
) -> Result<Page<OrderSummary>, sqlx::Error> {
    let position = list_position(db).await?;
    let rows: Vec<Row> = on_reader!(db, pool => {
        sqlx::query_as(
            "SELECT o.order_id, o.customer, o.status, o.total_amount, o.currency, o.flash_sale_id, o.placed_position
             FROM projection_active a
             JOIN listed_orders o ON o.generation = a.generation
             WHERE a.name = $1
               AND o.placed_position IS NOT NULL
               AND ($2 IS NULL OR o.status = $2)
               AND ($3 IS NULL OR o.customer = $3)
               AND ($4 IS NULL OR o.placed_position < $4)
             ORDER BY o.placed_position DESC
             LIMIT $5",
        )
        .bind(super::NAME)
        .bind(filter.status.as_deref())
        .bind(filter.customer.as_deref())
        .bind(query.after.position())
        .bind(query.fetch())
        .fetch_all(pool)
        .await?
    });
    let items = rows
        .into_iter()
        .map(
            |(
                order_id,
                customer_id,
                status,
                total_amount,
                currency,
                flash_sale_id,
                placed_position,
            )| {
                OrderSummary {
                    order_id,
                    customer_id,
                    status,
                    total_amount,
                    currency,
                    flash_sale_id,
                    placed_position,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, query.limit, position, |o| {
        After::Position(o.placed_position)
    }))
}
