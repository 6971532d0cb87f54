//! The Reservation aggregate: what a buyer asked to hold, over several lines, and
//! how it ended. The holds themselves live on the Stock aggregates (one hold per line
//! under the reservation id); the command side takes them all or none and records
//! the outcome here.

use chrono::{DateTime, Utc};
use event_schemas::reservation::RESERVATION_AGGREGATE;
use event_schemas::{LineShortage, ReservationEvent, ReservationLine};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;

/// Most lines one reservation may have.
pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    #[default]
    New,
    /// Recorded; its holds are being taken.
    Requested,
    Held,
    Failed,
    Confirmed,
    Released,
    /// Held, but past its end (derived from the time; the holds expire by themselves).
    Expired,
}

impl ReservationStatus {
    /// No later event changes this status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReservationStatus::Failed | ReservationStatus::Confirmed | ReservationStatus::Released
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReservationCommand {
    Request {
        reservation_id: String,
        buyer: Option<String>,
        /// Who asks (the actor of the request); see `ReservationRequested`.
        created_by: Option<String>,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
    },
    RecordHeld,
    RecordFailed {
        shortages: Vec<LineShortage>,
    },
    /// Before the holds are sold: refuses unless held and not expired.
    CheckConfirmable,
    /// Move the end later (a payment still in flight).
    Extend {
        expires_at: DateTime<Utc>,
    },
    RecordConfirmed,
    Release {
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub reservation_id: String,
    pub status: ReservationStatus,
    pub buyer: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    pub lines: Vec<ReservationLine>,
    pub expires_at: Option<DateTime<Utc>>,
    pub shortages: Vec<LineShortage>,
}

/// Lines as one reservation keeps them: the same SKU in the same warehouse summed,
/// in a stable order.
pub fn merge_lines(lines: &[ReservationLine]) -> Vec<ReservationLine> {
    let mut merged: Vec<ReservationLine> = Vec::new();
    for line in lines {
        match merged
            .iter_mut()
            .find(|m| m.sku == line.sku && m.warehouse_id == line.warehouse_id)
        {
            Some(existing) => existing.quantity = existing.quantity.saturating_add(line.quantity),
            None => merged.push(line.clone()),
        }
    }
    merged.sort();
    merged
}

/// The actor a buyer's own requests are recorded under (`created_by`).
pub fn buyer_actor(subject: &str) -> String {
    format!("buyer:{subject}")
}

impl Reservation {
    /// The status as of `now`: a held reservation past its end counts as expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> ReservationStatus {
        match (self.status, self.expires_at) {
            (ReservationStatus::Held | ReservationStatus::Requested, Some(at)) if at <= now => {
                ReservationStatus::Expired
            }
            (status, _) => status,
        }
    }

    pub fn decide(
        &self,
        command: &ReservationCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReservationEvent>, DomainError> {
        let id = self.reservation_id.clone();
        let refuse = |code: crate::Refusal, detail: String| {
            Err(DomainError::new(ErrorKind::Conflict, code, detail))
        };
        match command {
            ReservationCommand::Request {
                reservation_id,
                buyer,
                created_by,
                lines,
                expires_at,
            } => {
                let mut v = Validator::new();
                v.reference("reservation_id", reservation_id);
                v.lines(
                    lines
                        .iter()
                        .map(|l| (l.sku.as_str(), Some(l.warehouse_id.as_str()), l.quantity)),
                );
                v.check(*expires_at > now, "expires_at", "must lie in the future");
                v.finish()?;
                let lines = merge_lines(lines);
                let mut v = Validator::new();
                for line in &lines {
                    v.quantity(
                        &format!("{} in {}", line.sku, line.warehouse_id),
                        line.quantity,
                    );
                }
                v.finish()?;
                if self.status != ReservationStatus::New {
                    // The same request again changes nothing; another one under this id is refused.
                    return if self.lines == lines
                        && self.buyer == *buyer
                        && self.created_by == *created_by
                    {
                        Ok(vec![])
                    } else {
                        refuse(
                            crate::Refusal::ReservationExists,
                            format!("reservation '{reservation_id}' exists with other lines"),
                        )
                    };
                }
                Ok(vec![ReservationEvent::ReservationRequested {
                    reservation_id: reservation_id.clone(),
                    buyer: buyer.clone(),
                    created_by: created_by.clone(),
                    lines,
                    expires_at: *expires_at,
                }])
            }
            ReservationCommand::RecordHeld => match self.status {
                ReservationStatus::Requested => Ok(vec![ReservationEvent::ReservationHeld {
                    reservation_id: id,
                    expires_at: self.expires_at.unwrap_or(now),
                }]),
                ReservationStatus::Held => Ok(vec![]),
                other => refuse(
                    crate::Refusal::ReservationNotRequested,
                    format!("reservation is {other:?}"),
                ),
            },
            ReservationCommand::RecordFailed { shortages } => match self.status {
                ReservationStatus::Requested => Ok(vec![ReservationEvent::ReservationFailed {
                    reservation_id: id,
                    shortages: shortages.clone(),
                }]),
                ReservationStatus::Failed => Ok(vec![]),
                other => refuse(
                    crate::Refusal::ReservationNotRequested,
                    format!("reservation is {other:?}"),
                ),
            },
            ReservationCommand::CheckConfirmable => match self.status_at(now) {
                ReservationStatus::Held | ReservationStatus::Confirmed => Ok(vec![]),
                other => Err(self.not_held(other)),
            },
            ReservationCommand::Extend { expires_at } => match self.status_at(now) {
                ReservationStatus::Held => match self.expires_at {
                    Some(current) if *expires_at > current => {
                        Ok(vec![ReservationEvent::ReservationExtended {
                            reservation_id: id,
                            expires_at: *expires_at,
                        }])
                    }
                    Some(current) if *expires_at == current => Ok(vec![]),
                    _ => {
                        let mut v = Validator::new();
                        v.fail(
                            "ttl_seconds",
                            "must end later than the reservation does now",
                        );
                        v.finish().map(|()| vec![])
                    }
                },
                other => Err(self.not_held(other)),
            },
            ReservationCommand::RecordConfirmed => match self.status {
                ReservationStatus::Held => Ok(vec![ReservationEvent::ReservationConfirmed {
                    reservation_id: id,
                }]),
                ReservationStatus::Confirmed => Ok(vec![]),
                ReservationStatus::New => Err(self.unknown()),
                other => refuse(
                    crate::Refusal::ReservationNotHeld,
                    format!("the reservation is {}", status_name(other)),
                ),
            },
            ReservationCommand::Release { reason } => match self.status {
                ReservationStatus::Held | ReservationStatus::Requested => {
                    Ok(vec![ReservationEvent::ReservationReleased {
                        reservation_id: id,
                        reason: reason.clone(),
                    }])
                }
                ReservationStatus::Released | ReservationStatus::Failed => Ok(vec![]),
                ReservationStatus::New => Err(self.unknown()),
                other => refuse(
                    crate::Refusal::ReservationNotHeld,
                    format!("the reservation is {}", status_name(other)),
                ),
            },
        }
    }

    /// The reservation, if it was ever requested; else the refusal a read answers.
    pub fn must_exist(&self) -> Result<(), DomainError> {
        match self.status {
            ReservationStatus::New => Err(self.unknown()),
            _ => Ok(()),
        }
    }

    fn unknown(&self) -> DomainError {
        DomainError::new(
            ErrorKind::NotFound,
            crate::Refusal::UnknownReservation,
            "there is no such reservation",
        )
    }

    /// Why a reservation in `status` (not held) cannot be confirmed or extended.
    fn not_held(&self, status: ReservationStatus) -> DomainError {
        match status {
            ReservationStatus::New => self.unknown(),
            ReservationStatus::Expired => DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::ReservationExpired,
                "the reservation's holds ran out",
            ),
            other => DomainError::new(
                ErrorKind::Conflict,
                crate::Refusal::ReservationNotHeld,
                format!("the reservation is {}", status_name(other)),
            ),
        }
    }

    pub fn apply_event(&mut self, event: &ReservationEvent) {
        match event {
            ReservationEvent::ReservationRequested {
                reservation_id,
                buyer,
                created_by,
                lines,
                expires_at,
            } => {
                self.reservation_id = reservation_id.clone();
                self.buyer = buyer.clone();
                self.created_by = created_by.clone();
                self.lines = lines.clone();
                self.expires_at = Some(*expires_at);
                self.status = ReservationStatus::Requested;
            }
            ReservationEvent::ReservationHeld { expires_at, .. } => {
                self.expires_at = Some(*expires_at);
                self.status = ReservationStatus::Held;
            }
            ReservationEvent::ReservationFailed { shortages, .. } => {
                self.shortages = shortages.clone();
                self.status = ReservationStatus::Failed;
            }
            ReservationEvent::ReservationConfirmed { .. } => {
                self.status = ReservationStatus::Confirmed
            }
            ReservationEvent::ReservationReleased { .. } => {
                self.status = ReservationStatus::Released
            }
            ReservationEvent::ReservationExtended { expires_at, .. } => {
                self.expires_at = Some(*expires_at)
            }
        }
    }
}

pub fn status_name(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::New => "new",
        ReservationStatus::Requested => "requested",
        ReservationStatus::Held => "held",
        ReservationStatus::Failed => "failed",
        ReservationStatus::Confirmed => "confirmed",
        ReservationStatus::Released => "released",
        ReservationStatus::Expired => "expired",
    }
}

crate::aggregate::aggregate!(Reservation, RESERVATION_AGGREGATE, ReservationCommand, ReservationEvent,
    decide: |reservation, command, services| reservation.decide(command, services.now()));

impl crate::Hosted for Reservation {
    type View = Reservation;

    fn view(&self) -> Reservation {
        self.clone()
    }
}
