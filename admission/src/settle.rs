//! What a queued purchase's outcome means for its ticket, decided once for both
//! backends: admitted, back to the head of the queue, sold out (every waiting ticket
//! is told), refused for this buyer, or a failure to try again.

use commands::flash_sales::Purchase;
use commands::CommandError;

use crate::TicketState;

/// A queued purchase's outcome, as admission acts on it.
#[derive(Debug)]
pub enum Settled {
    /// The buyer holds units: the ticket's final state.
    Admitted(TicketState),
    /// Every unit is held by someone who may not pay: the ticket goes back to the
    /// head of the queue and waits until a hold comes back.
    AllHeld,
    /// Nothing is left: this ticket and every waiting one are told so.
    SoldOut,
    /// The purchase was refused for this buyer: the ticket's final state.
    Refused(TicketState),
    /// Not the buyer's fault (the database, a full queue): tried again.
    Failed(CommandError),
}

/// How the ticket of a queued purchase that came to `outcome` is settled.
pub fn settle(outcome: Result<Purchase, CommandError>) -> Settled {
    match outcome {
        Ok(Purchase {
            order_id,
            quantity,
            expires_at,
            position,
        }) => Settled::Admitted(TicketState::Admitted {
            order_id,
            quantity,
            expires_at,
            position,
        }),
        Err(CommandError::Refused(refusal)) if refusal.code == domain::Refusal::AllHeld => {
            Settled::AllHeld
        }
        Err(CommandError::Refused(refusal)) if refusal.code == domain::Refusal::SoldOut => {
            Settled::SoldOut
        }
        Err(CommandError::Refused(refusal)) => Settled::Refused(TicketState::Refused {
            code: refusal.code.code().to_string(),
            detail: refusal.detail,
        }),
        Err(other) => Settled::Failed(other),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use domain::{DomainError, ErrorKind, Refusal};

    use super::*;

    fn refused(code: Refusal) -> Result<Purchase, CommandError> {
        Err(CommandError::Refused(DomainError::new(
            ErrorKind::Conflict,
            code,
            "refused",
        )))
    }

    #[test]
    fn a_purchase_that_holds_units_admits_its_ticket() {
        let expires_at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 5, 0).unwrap();
        let outcome = Ok(Purchase {
            order_id: "flash:drop.1.ada".into(),
            quantity: 1,
            expires_at,
            position: 7,
        });
        let Settled::Admitted(state) = settle(outcome) else {
            panic!("admitted");
        };
        assert_eq!(
            state,
            TicketState::Admitted {
                order_id: "flash:drop.1.ada".into(),
                quantity: 1,
                expires_at,
                position: 7,
            }
        );
    }

    #[test]
    fn every_unit_held_puts_the_ticket_back_and_sold_out_tells_everyone() {
        assert!(matches!(
            settle(refused(Refusal::AllHeld)),
            Settled::AllHeld
        ));
        assert!(matches!(
            settle(refused(Refusal::SoldOut)),
            Settled::SoldOut
        ));
    }

    #[test]
    fn any_other_refusal_is_the_buyers_final_answer() {
        let Settled::Refused(TicketState::Refused { code, detail }) =
            settle(refused(Refusal::PurchaseLimit))
        else {
            panic!("refused");
        };
        assert_eq!(
            (code.as_str(), detail.as_str()),
            ("purchase_limit", "refused")
        );
    }

    #[test]
    fn a_failure_not_of_the_buyers_making_is_tried_again() {
        assert!(matches!(
            settle(Err(CommandError::Overloaded)),
            Settled::Failed(CommandError::Overloaded)
        ));
    }
}
