//! What a buyer holds with its own token — its reservations, and the stock the order
//! process holds for the orders it places — counted against the buyer's limits
//! ([`domain::buyer_holds`]) where the count is kept, before any stock is held.

use chrono::{DateTime, Utc};
use domain::{BuyerHoldsCommand, BuyerLimits, Reservation, ReservationCommand, ReservationStatus};
use event_schemas::{Metadata, ReservationLine};

use crate::host::{CommandError, KeyedRequest};
use crate::reservations::ReservationAnswer;
use crate::service::CommandService;

impl CommandService {
    /// Hold every line for `buyer`, or none, within the buyer's limits: the units are
    /// counted on the buyer's stream first (so two reservations at once cannot both
    /// pass the limit), and counted off again when nothing ends up held.
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve_as_buyer(
        &self,
        reservation_id: &str,
        buyer: &str,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        limits: BuyerLimits,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<ReservationAnswer, CommandError> {
        // Counted only once the request is known to be valid: bad input writes nothing.
        let request = ReservationCommand::Request {
            reservation_id: reservation_id.to_string(),
            buyer: Some(buyer.to_string()),
            created_by: metadata.actor.clone(),
            lines: lines.clone(),
            expires_at,
        };
        Reservation::default().decide(&request, self.clock().now())?;
        let units = lines
            .iter()
            .fold(0u64, |sum, line| sum.saturating_add(line.quantity));
        let take = BuyerHoldsCommand::Take {
            buyer: buyer.to_string(),
            reservation_id: reservation_id.to_string(),
            units,
            expires_at,
            limits,
        };
        let (counted, ()) = self
            .buyer_holds
            .execute(buyer, take, metadata.clone(), None)
            .await?;
        let reserved = self
            .reserve_keyed(
                reservation_id,
                Some(buyer.to_string()),
                lines,
                expires_at,
                metadata,
                keyed,
            )
            .await;
        let held = matches!(
            &reserved,
            Ok(answer) if matches!(answer.reservation.status, ReservationStatus::Held | ReservationStatus::Confirmed)
        );
        // Only this request's own count is taken back: a repeat that was refused
        // must not uncount the reservation it collided with.
        if counted.events > 0 && !held {
            self.uncount(buyer, reservation_id, metadata).await;
        }
        reserved
    }

    /// Move a buyer's reservation's end later, within the buyer's longest hold and
    /// the reservation's longest life.
    pub async fn extend_as_buyer(
        &self,
        reservation_id: &str,
        buyer: &str,
        expires_at: DateTime<Utc>,
        limits: BuyerLimits,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<ReservationAnswer, CommandError> {
        let current = self.reservation(reservation_id).await?.reservation;
        // The reservation's own refusals (run out, released) come first.
        current.decide(
            &ReservationCommand::Extend { expires_at },
            self.clock().now(),
        )?;
        let extend = BuyerHoldsCommand::Extend {
            reservation_id: reservation_id.to_string(),
            expires_at,
            limits,
        };
        self.buyer_holds
            .execute(buyer, extend, metadata.clone(), None)
            .await?;
        self.extend_reservation(reservation_id, expires_at, metadata, keyed)
            .await
    }

    /// Count the units of an order a buyer places with its own token, before it is
    /// placed: the order process will hold them for the payment window. Refused
    /// (`buyer_hold_limit`) when the buyer holds too much already.
    pub(crate) async fn count_order_for_buyer(
        &self,
        buyer: &str,
        order_id: &str,
        units: u64,
        limits: BuyerLimits,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let now = self.clock().now();
        let hold = domain::order_process::ORDER_HOLD;
        // The process's hold is as long as it is, whatever a buyer may ask for itself.
        let limits = BuyerLimits {
            max_ttl_seconds: limits.max_ttl_seconds.max(hold.num_seconds()),
            ..limits
        };
        let take = BuyerHoldsCommand::Take {
            buyer: buyer.to_string(),
            reservation_id: domain::ids::order_reservation_id(order_id),
            units,
            expires_at: now + hold,
            limits,
        };
        self.buyer_holds
            .execute(buyer, take, metadata.clone(), None)
            .await
            .map(drop)
    }

    /// An order a buyer placed will hold nothing (refused, rejected, cancelled before
    /// its stock was held): its units stop counting.
    pub(crate) async fn uncount_order(&self, buyer: &str, order_id: &str, metadata: &Metadata) {
        let reservation_id = domain::ids::order_reservation_id(order_id);
        self.uncount(buyer, &reservation_id, metadata).await;
    }

    /// A reservation ended: its buyer's count, if it was counted, lets its units go.
    pub(crate) async fn reservation_ended(&self, reservation: &Reservation, metadata: &Metadata) {
        if let Some(buyer) = &reservation.buyer {
            self.uncount(buyer, &reservation.reservation_id, metadata)
                .await;
        }
    }

    pub(crate) async fn uncount(&self, buyer: &str, reservation_id: &str, metadata: &Metadata) {
        let back = BuyerHoldsCommand::Return {
            reservation_id: reservation_id.to_string(),
        };
        if let Err(error) = self
            .buyer_holds
            .execute(buyer, back, metadata.clone(), None)
            .await
        {
            // The units stop counting at the reservation's end all the same.
            tracing::warn!(%buyer, %reservation_id, %error, "returning a buyer's units failed");
        }
    }
}
