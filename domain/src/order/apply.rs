//! How an order's events change its state.

use super::*;

impl Order {
    pub fn apply_event(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::OrderPlaced {
                order_id,
                customer,
                lines,
                total,
                ship_to,
                priority,
            } => {
                self.order_id = order_id.clone();
                self.customer = customer.clone();
                self.lines = lines.clone();
                self.total = Some(total.clone());
                self.ship_to = Some(ship_to.clone());
                self.priority = *priority;
                self.status = OrderStatus::Placed;
            }
            OrderEvent::DeliveryQuoted { delivery, .. } => {
                self.delivery = Some(delivery.clone());
            }
            OrderEvent::FlashSaleOrderPlaced {
                order_id,
                customer,
                sale_id,
                line,
                warehouse_id,
                total,
                payment_due,
            } => {
                self.order_id = order_id.clone();
                self.customer = Some(customer.clone());
                self.lines = vec![line.clone()];
                self.total = Some(total.clone());
                self.reserved = vec![ReservationLine {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    warehouse_id: warehouse_id.clone(),
                }];
                self.expires_at = Some(*payment_due);
                self.payment_due = Some(*payment_due);
                self.explanation = Some(format!("held by flash sale '{sale_id}'"));
                self.flash_sale = Some(sale_id.clone());
                self.status = OrderStatus::Reserved;
            }
            OrderEvent::StayOrderPlaced {
                order_id,
                customer,
                listing_id,
                stay_id,
                total,
                payment_due,
            } => {
                self.order_id = order_id.clone();
                self.customer = Some(customer.clone());
                self.total = Some(total.clone());
                self.expires_at = Some(*payment_due);
                self.payment_due = Some(*payment_due);
                self.explanation = Some(format!("stay '{stay_id}' held by listing '{listing_id}'"));
                self.stay = Some(OrderedStay {
                    listing_id: listing_id.clone(),
                    stay_id: stay_id.clone(),
                });
                self.status = OrderStatus::Reserved;
            }
            OrderEvent::OrderStockReserved {
                lines,
                expires_at,
                payment_due,
                explanation,
                ..
            } => {
                self.reserved = lines.clone();
                self.expires_at = Some(*expires_at);
                self.payment_due = Some(*payment_due);
                self.explanation = Some(explanation.clone());
                self.status = OrderStatus::Reserved;
            }
            OrderEvent::OrderRejected { detail, .. } => {
                self.rejection = Some(detail.clone());
                self.status = OrderStatus::Rejected;
            }
            OrderEvent::OrderCancelled { .. } => self.status = OrderStatus::Cancelled,
            OrderEvent::OrderPaid {
                payment_id, amount, ..
            } => {
                self.payments.push(payment_id.clone());
                self.paid = Some((payment_id.clone(), amount.clone()));
                self.status = OrderStatus::Paid;
            }
            OrderEvent::OrderConfirmed { .. } => self.status = OrderStatus::Confirmed,
            OrderEvent::FulfillmentRequested { warehouse_id, .. } => {
                self.shipments.push((warehouse_id.clone(), None));
            }
            OrderEvent::ShipmentDispatched {
                warehouse_id,
                tracking_number,
                ..
            } => {
                if let Some(shipment) = self.shipments.iter_mut().find(|(w, _)| w == warehouse_id) {
                    shipment.1 = Some(tracking_number.clone());
                }
            }
            OrderEvent::CustomerNotified { .. } => {}
            OrderEvent::OrderPaymentFailed { payment_id, .. } => {
                self.payments.push(payment_id.clone());
                self.status = OrderStatus::PaymentFailed;
            }
            OrderEvent::OrderPaymentTimedOut { .. } => self.status = OrderStatus::TimedOut,
            OrderEvent::PaymentAmountMismatch { payment_id, .. } => {
                self.payments.push(payment_id.clone());
                self.amount_mismatch = true;
            }
            OrderEvent::RefundRequested {
                payment_id, reason, ..
            } => {
                if !self.payments.contains(payment_id) {
                    self.payments.push(payment_id.clone());
                }
                self.refund_reason = Some(reason.clone());
                self.status = OrderStatus::Refunded;
            }
            OrderEvent::DuplicatePaymentRefunded { payment_id, .. } => {
                self.payments.push(payment_id.clone());
            }
        }
    }
}
