//! Stays: hosts' listings and guests' bookings. Every listing command goes to the
//! listing's owner (so one listing's bookings are decided one after another); a
//! booking that is held places the order the guest pays through, and the order
//! process confirms the stay once paid, or lets its nights go.

use domain::stays::{BookStay, Canceller, ListingView, StayStatus, StayView};
use domain::{BuyerHoldsCommand, BuyerLimits, ListingCommand, OrderCommand};
use event_schemas::stays::{StaySearchEvent, STAY_SEARCH_AGGREGATE};
use event_schemas::{Metadata, Money};

use crate::host::{CommandError, CommandOutcome, KeyedRequest};
use crate::service::CommandService;

/// What a guest's booking answers: the stay, and the position of the last event.
#[derive(Debug, Clone)]
pub struct Booked {
    pub outcome: CommandOutcome,
    pub stay: StayView,
}

/// The order a booking or a host's acceptance that holds a stay places: the hold's
/// companion, appended in the same commit.
pub(crate) fn order_for_stay(
    command: &ListingCommand,
    listing: &ListingView,
) -> Option<(String, OrderCommand)> {
    if !matches!(
        command,
        ListingCommand::Book { .. } | ListingCommand::Respond { .. }
    ) {
        return None;
    }
    let stay = listing.stay.as_ref()?;
    Some((stay.order_id.clone(), stay_order(stay)?))
}

/// The order a held stay is paid through (none for a stay not held).
fn stay_order(stay: &StayView) -> Option<OrderCommand> {
    let (StayStatus::Held, Some(payment_due)) = (stay.status, stay.ends) else {
        return None;
    };
    Some(OrderCommand::PlaceForStay {
        order_id: stay.order_id.clone(),
        customer: stay.guest.clone(),
        listing_id: stay.listing_id.clone(),
        stay_id: stay.stay_id.clone(),
        total: Money {
            amount: i64::try_from(stay.price.total).unwrap_or(i64::MAX),
            currency: stay.price.currency.clone(),
        },
        payment_due,
    })
}

impl CommandService {
    /// Any listing command; answers the listing (and the stay it was about).
    pub async fn handle_listing(
        &self,
        command: ListingCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<(CommandOutcome, ListingView), CommandError> {
        let id = command.listing_id().to_string();
        self.listing
            .execute(&id, command, metadata.clone(), keyed)
            .await
    }

    /// The listing as it stands, reflecting the log up to `min_position`.
    pub async fn listing(
        &self,
        listing_id: &str,
        min_position: i64,
    ) -> Result<(CommandOutcome, ListingView), CommandError> {
        self.listing.read_at(listing_id, min_position).await
    }

    /// One stay as it stands, reflecting the log up to `min_position`.
    pub async fn stay(
        &self,
        listing_id: &str,
        stay_id: &str,
        min_position: i64,
    ) -> Result<(CommandOutcome, StayView), CommandError> {
        let show = ListingCommand::ShowStay {
            listing_id: listing_id.to_string(),
            stay_id: stay_id.to_string(),
        };
        let (outcome, view) = self
            .listing
            .execute_at(listing_id, show, Metadata::default(), min_position)
            .await?;
        Ok((outcome, view.stay.ok_or(CommandError::Contended)?))
    }

    /// Every stay of a listing, for its host, reflecting the log up to
    /// `min_position` (refused for another host's listing).
    pub async fn listing_stays(
        &self,
        listing_id: &str,
        host_id: &str,
        min_position: i64,
    ) -> Result<(CommandOutcome, Vec<StayView>), CommandError> {
        let show = ListingCommand::ShowStays {
            listing_id: listing_id.to_string(),
            host_id: host_id.to_string(),
        };
        let (outcome, view) = self
            .listing
            .execute_at(listing_id, show, Metadata::default(), min_position)
            .await?;
        Ok((outcome, view.stays))
    }

    /// A guest books a stay: the listing holds the nights (or, booking on request,
    /// keeps them for the host's answer), and a held stay gets the order it is paid
    /// through. `buyer_limits`: a buyer booking with its own token counts each
    /// open stay against its limits, so one token cannot hold a city's calendar.
    pub async fn book_stay(
        &self,
        listing_id: &str,
        stay: BookStay,
        buyer_limits: Option<BuyerLimits>,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<Booked, CommandError> {
        let command = ListingCommand::Book {
            listing_id: listing_id.to_string(),
            stay: stay.clone(),
        };
        if let Some(limits) = buyer_limits {
            // Bookable before counted: a refused booking writes nothing.
            let check = ListingCommand::CheckBooking {
                listing_id: listing_id.to_string(),
                stay: stay.clone(),
            };
            self.listing
                .execute(listing_id, check, metadata.clone(), None)
                .await?;
            self.count_stay_for_buyer(listing_id, &stay, limits, metadata)
                .await?;
        }
        // The held stay's order is placed in the same commit (the key with it).
        let booked = self
            .listing
            .execute_creating(listing_id, command, metadata.clone(), keyed.clone())
            .await;
        let (outcome, view) = match booked {
            Ok(booked) => booked,
            Err(refused) => {
                // Lost the nights to another guest between the check and the
                // booking: the stay it counted does not exist.
                if buyer_limits.is_some() {
                    let hold_id = domain::ids::stay_hold_id(listing_id, &stay.stay_id);
                    self.uncount(&stay.guest, &hold_id, metadata).await;
                }
                return Err(refused);
            }
        };
        let held = view.stay.ok_or(CommandError::Contended)?;
        self.place_stay_order(held, outcome, metadata, keyed).await
    }

    /// A held stay's order, unless it was placed with the hold (its companion):
    /// placed once (a retry finds it), recording `keyed`.
    async fn place_stay_order(
        &self,
        stay: StayView,
        outcome: CommandOutcome,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<Booked, CommandError> {
        let place = match stay_order(&stay) {
            Some(place) if outcome.linked_events == 0 => place,
            // Placed with the hold; or requested (the host answers first), or no
            // longer held.
            _ => return Ok(Booked { outcome, stay }),
        };
        // Held before (a retry) or its order could not be decided with the hold: the
        // order is new unless this is a retry, and waits for its payment: created
        // without an owner (a retry's append conflicts, and an owner then loads the
        // order and decides again).
        let (placed, _) = self
            .order
            .create(&stay.order_id, place, metadata.clone(), keyed)
            .await?;
        Ok(Booked {
            outcome: CommandOutcome {
                position: outcome.position.max(placed.position),
                events: outcome.events + placed.events,
                linked_events: placed.events,
            },
            stay,
        })
    }

    /// The host answers a request to book; an accepted one is held and gets its
    /// order.
    pub async fn respond_to_stay(
        &self,
        command: ListingCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<Booked, CommandError> {
        let id = command.listing_id().to_string();
        let (outcome, view) = self
            .listing
            .execute_creating(&id, command, metadata.clone(), keyed.clone())
            .await?;
        let stay = view.stay.ok_or(CommandError::Contended)?;
        if stay.status == StayStatus::Lapsed {
            // Declined: the request no longer counts against its guest.
            let hold_id = domain::ids::stay_hold_id(&stay.listing_id, &stay.stay_id);
            self.uncount(&stay.guest, &hold_id, metadata).await;
        }
        self.place_stay_order(stay, outcome, metadata, keyed).await
    }

    /// Cancel a stay; a paid one's refund (by the listing's policy) is asked of its
    /// order. A retry finds the stay cancelled and asks again, which the order
    /// takes once.
    pub async fn cancel_stay(
        &self,
        listing_id: &str,
        stay_id: &str,
        by: Canceller,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, StayView), CommandError> {
        let command = ListingCommand::Cancel {
            listing_id: listing_id.to_string(),
            stay_id: stay_id.to_string(),
            by,
        };
        let (mut outcome, view) = self.handle_listing(command, metadata, None).await?;
        let stay = view.stay.ok_or(CommandError::Contended)?;
        if let (StayStatus::Cancelled, Some(refund)) = (stay.status, stay.refund) {
            let back = OrderCommand::RefundStay {
                amount: refund,
                reason: "stay_cancelled".into(),
            };
            let (refunded, _) = self
                .order
                .execute(&stay.order_id, back, metadata.clone(), None)
                .await?;
            outcome.position = outcome.position.max(refunded.position);
        }
        if stay.status == StayStatus::Lapsed {
            // An unpaid stay given up: its order (placed once it was held) is
            // cancelled, so a payment that still comes is refunded, never taken.
            let cancel = OrderCommand::Cancel {
                reason: "stay_cancelled".into(),
            };
            match self
                .order
                .execute(&stay.order_id, cancel, metadata.clone(), None)
                .await
            {
                Ok((cancelled, order)) => {
                    outcome.position = outcome.position.max(cancelled.position);
                    if let Some(ordered) = &order.stay {
                        self.stay_ended_for_guest(&order, ordered, metadata).await;
                    }
                }
                // A request never answered has no order; a paid one is settled.
                Err(CommandError::Refused(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok((outcome, stay))
    }

    /// Count an open stay against the guest's limits (one unit per stay, for as long
    /// as a request may wait for its host).
    async fn count_stay_for_buyer(
        &self,
        listing_id: &str,
        stay: &BookStay,
        limits: BuyerLimits,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let window = domain::stays::RESPONSE_WINDOW;
        let limits = BuyerLimits {
            max_ttl_seconds: limits.max_ttl_seconds.max(window.num_seconds()),
            max_life_seconds: limits.max_life_seconds.max(window.num_seconds()),
            ..limits
        };
        let take = BuyerHoldsCommand::Take {
            buyer: stay.guest.clone(),
            reservation_id: domain::ids::stay_hold_id(listing_id, &stay.stay_id),
            units: 1,
            expires_at: self.clock().now() + window,
            limits,
        };
        self.buyer_holds
            .execute(&stay.guest, take, metadata.clone(), None)
            .await
            .map(drop)
    }

    /// Record stay searches and listing views, each as its own stream; answers the
    /// last position.
    pub async fn record_stay_browsing(
        &self,
        events: Vec<StaySearchEvent>,
        metadata: &Metadata,
    ) -> Result<i64, CommandError> {
        self.record_each_alone(STAY_SEARCH_AGGREGATE, &events, metadata)
            .await
    }
}

impl CommandService {
    /// A paid stay's order: the listing confirms the stay (`Some`, nothing to ship),
    /// or its nights went to someone else after the hold ran out (`None`: refund).
    pub(crate) async fn confirm_paid_stay(
        &self,
        order: &domain::Order,
        stay: &domain::order::OrderedStay,
        metadata: &Metadata,
    ) -> Result<Option<Vec<event_schemas::ReservationLine>>, CommandError> {
        let confirm = ListingCommand::Confirm {
            listing_id: stay.listing_id.clone(),
            stay_id: stay.stay_id.clone(),
            order_id: order.order_id.clone(),
        };
        let confirmed = match self.handle_listing(confirm, metadata, None).await {
            Ok(_) => Some(Vec::new()),
            Err(CommandError::Refused(refusal)) => {
                tracing::info!(order_id = %order.order_id, %refusal, "a paid stay could not be confirmed; refunding");
                None
            }
            Err(other) => return Err(other),
        };
        self.stay_ended_for_guest(order, stay, metadata).await;
        Ok(confirmed)
    }

    /// An unpaid stay's order: the listing lets the nights go.
    pub(crate) async fn release_stay(
        &self,
        order: &domain::Order,
        stay: &domain::order::OrderedStay,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<(), CommandError> {
        let release = ListingCommand::Release {
            listing_id: stay.listing_id.clone(),
            stay_id: stay.stay_id.clone(),
            reason: reason.to_string(),
        };
        match self.handle_listing(release, metadata, None).await {
            Ok(_) | Err(CommandError::Refused(_)) => {}
            Err(other) => return Err(other),
        }
        self.stay_ended_for_guest(order, stay, metadata).await;
        Ok(())
    }

    /// The stay no longer counts against its guest's limits.
    async fn stay_ended_for_guest(
        &self,
        order: &domain::Order,
        stay: &domain::order::OrderedStay,
        metadata: &Metadata,
    ) {
        if let Some(guest) = &order.customer {
            self.uncount(
                guest,
                &domain::ids::stay_hold_id(&stay.listing_id, &stay.stay_id),
                metadata,
            )
            .await;
        }
    }
}
