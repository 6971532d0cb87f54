//! Hosts and guests as the model knows them: a host's listings and how reliably
//! they answer requests and keep stays; a guest's recent stays and views, which
//! personalisation compares listings with.

use std::collections::VecDeque;

/// Interactions a guest's profile keeps (the most recent).
pub const PROFILE_LENGTH: usize = 50;
/// What a view counts for against a stay.
pub const VIEW_WEIGHT: f64 = 0.3;

#[derive(Debug, Clone, Default)]
pub struct Host {
    /// Their listings (indexes into the model's listings), in creation order.
    pub listings: Vec<u32>,
    /// Requests answered in time.
    pub answered_in_time: u32,
    /// Requests decided: answered (in time or late), or left unanswered past their
    /// deadline. Requests still open are not counted.
    pub requests_decided: u32,
    pub confirmed: u32,
    pub cancelled_by_host: u32,
}

impl Host {
    /// The share of requests answered in time (1 with no request decided yet:
    /// instant-book hosts never get one).
    pub fn response_rate(&self) -> f64 {
        if self.requests_decided == 0 {
            1.0
        } else {
            f64::from(self.answered_in_time) / f64::from(self.requests_decided)
        }
    }

    /// The share of confirmed stays the host cancelled.
    pub fn cancellation_rate(&self) -> f64 {
        if self.confirmed == 0 {
            0.0
        } else {
            (f64::from(self.cancelled_by_host) / f64::from(self.confirmed)).min(1.0)
        }
    }
}

/// One thing a guest did with a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub listing: u32,
    /// The nightly price they paid (a stay) or were shown (a view).
    pub nightly: u64,
    /// 1 for a stay, [`VIEW_WEIGHT`] for a view.
    pub weight: f64,
    /// The stay's key, so a request later held counts once.
    pub stay: Option<u64>,
}

/// A guest's most recent interactions.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub recent: VecDeque<Interaction>,
}

impl Profile {
    pub fn record(&mut self, interaction: Interaction) {
        if interaction.stay.is_some() && self.recent.iter().any(|i| i.stay == interaction.stay) {
            return;
        }
        if self.recent.len() == PROFILE_LENGTH {
            self.recent.pop_front();
        }
        self.recent.push_back(interaction);
    }
}
