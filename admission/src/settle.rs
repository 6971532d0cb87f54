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
