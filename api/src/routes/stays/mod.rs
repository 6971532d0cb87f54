//! Stays' routes (short-term rentals). Who may call what:
//!
//! * hosts (`hosts`): a host's token (the `host` role) acts on its own listings
//!   only; a key with `stays:write` acts for any host (a channel manager). Create,
//!   change and unlist listings, set calendars and automatic pricing, answer
//!   requests to book, cancel stays, see price suggestions.
//! * guests (`guests`): a buyer's token books, cancels and reviews its own stays; a
//!   key with `stays:book` books for a guest it names. A guest's open stays count
//!   against the buyer limits, so one token cannot hold a city's calendar.
//! * everyone with `read` (`search`): search, a listing's page.
//! * admins (`admin`): flagged listings and their moderation, double-booking alarms.

pub mod admin;
pub mod guests;
pub mod hosts;
pub mod search;

use std::sync::Arc;

use ::stays::LiveStays;
use event_schemas::StaySearchEvent;

use super::activity::BackgroundRecorder;
use super::{AppState, MIN_POSITION_WAIT};
use crate::auth::Principal;
use crate::problem::Problem;

/// The stays model of this process and what its routes need.
#[derive(Clone)]
pub struct StaysState {
    pub live: Arc<LiveStays>,
    /// Searches and listing views, recorded without slowing either down.
    pub recorder: BackgroundRecorder<StaySearchEvent>,
    /// How long a hold waits for payment, in minutes.
    pub hold_minutes: u32,
    /// Booked nights under a primary key, and the double-booking alarm.
    pub nights: Arc<projections::Projector<projections::stay_nights::StayNights>>,
}

/// Wait until the stays model reflects `min_position`, or answer 503 (422 past the
/// head).
async fn await_stays(state: &AppState, wanted: Option<i64>) -> Result<(), Problem> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    state.known_position(wanted).await?;
    let live = &state.stays.live;
    live.wait_for(wanted, MIN_POSITION_WAIT)
        .await
        .map_err(|stale| super::stale_read(stale, live.position(), wanted))
}

/// The guest a request acts for: a buyer's token for itself (naming another is
/// refused), a key or the operator for the guest it names.
fn acting_guest(principal: &Principal, named: Option<String>) -> Result<String, Problem> {
    let forbidden =
        |detail: &str| Problem::new(axum::http::StatusCode::FORBIDDEN, "not_your_stay", detail);
    match principal {
        Principal::Buyer { subject } => match named {
            Some(other) if other != *subject => {
                Err(forbidden("a buyer's token books only for its own buyer"))
            }
            _ => Ok(subject.clone()),
        },
        Principal::Host { .. } => Err(forbidden("a host's token does not book stays")),
        _ => named.ok_or_else(|| {
            Problem::invalid(vec![domain::FieldError {
                field: "guest_id".into(),
                message: "a key books for the guest it names".into(),
            }])
        }),
    }
}
