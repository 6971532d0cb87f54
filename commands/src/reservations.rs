//! Reservations: several stock holds for one buyer, taken all or none.
//!
//! The Reservation aggregate records the request first, then each line is held on
//! its Stock aggregate under the reservation id, with the reservation's end as the
//! hold's `expires_at`. If any line cannot be held, the holds already taken are
//! released and the reservation is recorded as failed with what each line lacked.
//! Should the process die half-way, the holds it took still run out by themselves.

use chrono::{DateTime, Utc};
use domain::{
    BuyerLimits, DomainError, Reservation, ReservationCommand, StockAction, StockCommand,
};
use event_schemas::{Destination, LineShortage, Metadata, ReservationLine};

use crate::host::{CommandError, CommandOutcome, KeyedRequest};
use crate::orders::Planner;
use crate::service::CommandService;

/// A reservation as a client asks for it: lines placed in a warehouse, and lines the
/// planner places for the destination; for the shop, or for a buyer within its
/// limits.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    pub reservation_id: String,
    /// The buyer reserving for itself, and its limits; `None` for the shop.
    pub buyer: Option<(String, BuyerLimits)>,
    pub placed: Vec<ReservationLine>,
    /// SKUs and quantities with no warehouse named: placed by the planner.
    pub to_place: Vec<(String, u64)>,
    /// Where the lines to place go (needed when there are any).
    pub ship_to: Option<Destination>,
    pub priority: bool,
    pub expires_at: DateTime<Utc>,
}

/// A reservation after a command, and the position its answer reflects.
#[derive(Debug, Clone)]
pub struct ReservationAnswer {
    pub reservation: Reservation,
    pub position: i64,
    /// The command recorded something (false when it repeated what was true).
    pub changed: bool,
}

impl CommandService {
    /// Place the lines that name no warehouse (on a picture of the stock with
    /// everything committed so far), then hold every line, or none; the answer and the
    /// planner's explanation, if it placed anything.
    pub async fn reserve_request(
        &self,
        request: ReserveRequest,
        planner: &dyn Planner,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<(ReservationAnswer, Option<String>), CommandError> {
        let mut lines = request.placed;
        let mut explanation = None;
        if let (Some(ship_to), false) = (&request.ship_to, request.to_place.is_empty()) {
            let (placed, why) = planner
                .plan(
                    request.to_place,
                    ship_to,
                    request.priority,
                    self.store().last_committed(),
                )
                .await?;
            lines.extend(placed);
            explanation = Some(why);
        }
        let id = &request.reservation_id;
        let answer = match request.buyer {
            Some((buyer, limits)) => {
                self.reserve_as_buyer(
                    id,
                    &buyer,
                    lines,
                    request.expires_at,
                    limits,
                    metadata,
                    keyed,
                )
                .await?
            }
            None => {
                self.reserve_keyed(id, None, lines, request.expires_at, metadata, keyed)
                    .await?
            }
        };
        Ok((answer, explanation))
    }

    /// Hold every line until `expires_at`, or none.
    pub async fn reserve(
        &self,
        reservation_id: &str,
        buyer: Option<String>,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        metadata: &Metadata,
    ) -> Result<ReservationAnswer, CommandError> {
        self.reserve_keyed(reservation_id, buyer, lines, expires_at, metadata, None)
            .await
    }

    /// [`reserve`](Self::reserve), recording `keyed`'s idempotency key with the
    /// reservation's outcome.
    pub async fn reserve_keyed(
        &self,
        reservation_id: &str,
        buyer: Option<String>,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<ReservationAnswer, CommandError> {
        let request = ReservationCommand::Request {
            reservation_id: reservation_id.to_string(),
            buyer,
            created_by: metadata.actor.clone(),
            lines,
            expires_at,
        };
        // Reservation ids are fresh as a rule: skip loading (a repeat conflicts and
        // loads, then decides as for any repeat).
        let (outcome, reservation) = self
            .reservation
            .execute_new(reservation_id, request, metadata.clone(), None)
            .await?;
        if outcome.events == 0 && reservation.status != domain::ReservationStatus::Requested {
            // The same request again: answer with how it went.
            return Ok(answer(reservation, outcome, false));
        }
        // Every line is held at once: the lines are different stocks, each with its
        // own owner, and their holds ride the same group commits.
        let holds = reservation.lines.iter().map(|line| {
            let hold = StockAction::Hold {
                hold_id: reservation_id.to_string(),
                quantity: line.quantity,
                expires_at: Some(reservation.expires_at.unwrap_or(expires_at)),
            };
            self.handle_stock(stock(line, hold), metadata)
        });
        let outcomes = futures::future::join_all(holds).await;
        let mut taken = Vec::new();
        let mut shortages = Vec::new();
        let mut failure = None;
        for (line, outcome) in reservation.lines.iter().zip(outcomes) {
            match outcome {
                Ok(_) => taken.push(line.clone()),
                Err(CommandError::Refused(refusal)) => shortages.push(shortage(line, &refusal)),
                Err(other) => failure = Some(other),
            }
        }
        if let Some(failure) = failure {
            self.release_lines(reservation_id, &taken, "reservation_failed", metadata)
                .await;
            return Err(failure);
        }
        let record = if shortages.is_empty() {
            ReservationCommand::RecordHeld
        } else {
            self.release_lines(reservation_id, &taken, "reservation_failed", metadata)
                .await;
            ReservationCommand::RecordFailed { shortages }
        };
        let recorded = self
            .reservation
            .execute(reservation_id, record, metadata.clone(), keyed)
            .await;
        if let Err(CommandError::Refused(_)) = &recorded {
            // Released meanwhile (a cancellation raced the holds): let them go.
            self.release_lines(reservation_id, &taken, "reservation_released", metadata)
                .await;
        }
        let (outcome, reservation) = recorded?;
        if reservation.status == domain::ReservationStatus::Failed {
            self.reservation_ended(&reservation, metadata).await;
        }
        Ok(answer(reservation, outcome, true))
    }

    /// Sell the held units: the reservation becomes confirmed.
    pub async fn confirm_reservation(
        &self,
        reservation_id: &str,
        metadata: &Metadata,
    ) -> Result<ReservationAnswer, CommandError> {
        let (_, reservation) = self
            .on_reservation(
                reservation_id,
                ReservationCommand::CheckConfirmable,
                metadata,
            )
            .await?;
        if reservation.status == domain::ReservationStatus::Held {
            for line in &reservation.lines {
                self.sell_line_once(reservation_id, line, metadata).await?;
            }
        }
        let (outcome, reservation) = self
            .on_reservation(
                reservation_id,
                ReservationCommand::RecordConfirmed,
                metadata,
            )
            .await?;
        if outcome.events > 0 {
            self.reservation_ended(&reservation, metadata).await;
        }
        Ok(answer(reservation, outcome, true))
    }

    /// Sell one line of a reservation from its hold, exactly once: the sale is keyed
    /// by reservation and line, so an attempt after a crash (or a second confirm)
    /// recognises a sale already made, and a hold that is gone for any other reason
    /// (released, run out) is a refusal, never taken for "sold".
    async fn sell_line_once(
        &self,
        reservation_id: &str,
        line: &ReservationLine,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let sale = StockAction::Sell {
            quantity: line.quantity,
            hold_id: Some(reservation_id.to_string()),
            order_id: Some(reservation_id.to_string()),
        };
        let once = line_sale_key(reservation_id, line);
        match self
            .handle_stock_keyed(stock(line, sale), metadata, Some(once.clone()))
            .await
        {
            Ok(_) | Err(CommandError::AlreadyDone(_)) => Ok(()),
            // A sale that emptied the hold leaves no hold to decide a repeat on: the
            // receipt tells a line sold from a hold lost.
            Err(CommandError::Refused(refusal)) => {
                match self.store().find_receipt(&once.scope, &once.key).await? {
                    Some(_) => Ok(()),
                    None => Err(refusal.into()),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The lines of `reservation_id` already sold (by a confirm that did not finish).
    pub(crate) async fn lines_sold(
        &self,
        reservation_id: &str,
        lines: &[ReservationLine],
    ) -> Result<Vec<ReservationLine>, CommandError> {
        let mut sold = Vec::new();
        for line in lines {
            let once = line_sale_key(reservation_id, line);
            if self
                .store()
                .find_receipt(&once.scope, &once.key)
                .await?
                .is_some()
            {
                sold.push(line.clone());
            }
        }
        Ok(sold)
    }

    /// Move the end of every hold later, then record it.
    pub async fn extend_reservation(
        &self,
        reservation_id: &str,
        expires_at: DateTime<Utc>,
        metadata: &Metadata,
        keyed: Option<crate::host::KeyedRequest>,
    ) -> Result<ReservationAnswer, CommandError> {
        let reservation = self.reservation(reservation_id).await?.reservation;
        let extend = ReservationCommand::Extend { expires_at };
        // Refuse before touching stock when the reservation cannot be extended.
        if !reservation.decide(&extend, self.clock().now())?.is_empty() {
            for line in &reservation.lines {
                let action = StockAction::ExtendHold {
                    hold_id: reservation_id.to_string(),
                    expires_at,
                };
                self.handle_stock(stock(line, action), metadata).await?;
            }
        }
        // The key is recorded with the reservation's own event, so a retry (even one
        // after the stock holds were moved) answers the first extension.
        let (outcome, reservation) = self
            .reservation
            .execute(reservation_id, extend, metadata.clone(), keyed)
            .await?;
        Ok(answer(reservation, outcome, true))
    }

    /// Let every hold go.
    pub async fn release_reservation(
        &self,
        reservation_id: &str,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<ReservationAnswer, CommandError> {
        let reservation = self.reservation(reservation_id).await?.reservation;
        let release = ReservationCommand::Release {
            reason: reason.to_string(),
        };
        // Refuse before touching stock when the reservation cannot be released.
        if !reservation.decide(&release, self.clock().now())?.is_empty() {
            self.release_lines(reservation_id, &reservation.lines, reason, metadata)
                .await;
        }
        let (outcome, reservation) = self
            .on_reservation(reservation_id, release, metadata)
            .await?;
        if outcome.events > 0 {
            self.reservation_ended(&reservation, metadata).await;
        }
        Ok(answer(reservation, outcome, true))
    }

    /// Follow the commits this process makes to a reservation (wakes long polls).
    pub fn reservation_changes(&self, reservation_id: &str) -> tokio::sync::watch::Receiver<i64> {
        self.reservation.changes(reservation_id)
    }

    /// The reservation as it stands.
    pub async fn reservation(
        &self,
        reservation_id: &str,
    ) -> Result<ReservationAnswer, CommandError> {
        let (outcome, reservation) = self.reservation.read(reservation_id).await?;
        reservation.must_exist()?;
        Ok(answer(reservation, outcome, false))
    }

    async fn on_reservation(
        &self,
        reservation_id: &str,
        command: ReservationCommand,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, Reservation), CommandError> {
        self.reservation
            .execute(reservation_id, command, metadata.clone(), None)
            .await
    }

    /// Release the holds of these lines; a hold already gone is fine.
    async fn release_lines(
        &self,
        reservation_id: &str,
        lines: &[ReservationLine],
        reason: &str,
        metadata: &Metadata,
    ) {
        for line in lines {
            let release = StockAction::ReleaseHold {
                hold_id: reservation_id.to_string(),
                reason: reason.to_string(),
            };
            match self.handle_stock(stock(line, release), metadata).await {
                Ok(_) | Err(CommandError::Refused(_)) => {}
                // It still runs out by itself at the reservation's end.
                Err(error) => {
                    tracing::warn!(%reservation_id, sku = %line.sku, %error, "releasing a hold failed")
                }
            }
        }
    }
}

/// The idempotency key of selling one reservation line.
fn line_sale_key(reservation_id: &str, line: &ReservationLine) -> KeyedRequest {
    KeyedRequest {
        scope: "process:reservations".into(),
        key: format!("sell:{reservation_id}:{}:{}", line.sku, line.warehouse_id),
        request_hash: format!("sell:{}", line.quantity),
    }
}

fn stock(line: &ReservationLine, action: StockAction) -> StockCommand {
    StockCommand {
        sku: line.sku.clone(),
        warehouse_id: line.warehouse_id.clone(),
        action,
    }
}

fn shortage(line: &ReservationLine, refusal: &DomainError) -> LineShortage {
    LineShortage {
        sku: line.sku.clone(),
        warehouse_id: line.warehouse_id.clone(),
        wanted: line.quantity,
        available: refusal
            .facts
            .get("available")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        reason: refusal.code.code().to_string(),
    }
}

fn answer(reservation: Reservation, outcome: CommandOutcome, changed: bool) -> ReservationAnswer {
    ReservationAnswer {
        reservation,
        position: outcome.position,
        changed,
    }
}
