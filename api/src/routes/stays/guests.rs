//! What guests do: book a stay (the listing holds its nights for the payment, or
//! keeps them for the host's answer), see it, cancel it (refunded by the listing's
//! policy) and review it once it is over. A buyer's token acts for itself only; a
//! key with `stays:book` for the guest it names.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use commands::stays::Booked;
use domain::stays::{BookStay, Canceller, StayView};
use domain::validate::Validator;
use domain::ListingCommand;
use event_schemas::stays::{StayPrice, SubRatings};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{acting_guest, AppState};
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{Body, PathParams, Problem, QueryParams};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    /// Chosen by the client, or generated (from the `Idempotency-Key` when sent).
    #[schema(example = "stay-1")]
    pub stay_id: Option<String>,
    /// The guest, when a key books for one (a buyer's token is its own guest).
    #[schema(example = "guest-3")]
    pub guest_id: Option<String>,
    /// The first night, a local date of the listing.
    #[schema(value_type = String, example = "2027-07-01")]
    pub check_in: NaiveDate,
    /// The day the guest leaves (exclusive: it can be the next guest's check-in).
    #[schema(value_type = String, example = "2027-07-04")]
    pub check_out: NaiveDate,
    #[schema(example = 2)]
    pub guests: u32,
    /// The search the guest booked from (`search_id` of `GET /v1/stays/search`).
    pub search_id: Option<String>,
}

/// A stay as its guest sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StayAnswer {
    pub stay_id: String,
    pub listing_id: String,
    pub guest: String,
    /// requested (awaiting the host), held (awaiting payment), confirmed, lapsed or
    /// cancelled.
    #[schema(example = "held")]
    pub status: String,
    #[schema(value_type = String, example = "2027-07-01")]
    pub check_in: NaiveDate,
    #[schema(value_type = String, example = "2027-07-04")]
    pub check_out: NaiveDate,
    pub guests: u32,
    /// Each night's price, the cleaning fee and the total.
    #[schema(value_type = Object)]
    pub price: StayPrice,
    /// The order to pay (`POST /v1/payments/webhook` confirms the stay).
    pub order_id: String,
    /// Until when a hold or a request keeps the nights.
    pub ends: Option<DateTime<Utc>>,
    /// What a cancellation gave back.
    pub refund: Option<u64>,
    pub position: i64,
}

impl StayAnswer {
    pub fn new(stay: StayView, position: i64) -> Self {
        Self {
            status: serde_json::to_value(stay.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            stay_id: stay.stay_id,
            listing_id: stay.listing_id,
            guest: stay.guest,
            check_in: stay.check_in,
            check_out: stay.check_out,
            guests: stay.guests,
            price: stay.price,
            order_id: stay.order_id,
            ends: stay.ends,
            refund: stay.refund,
            position,
        }
    }
}

/// The answer of a booking run under an idempotency key, fresh or stored (the
/// receipt is the stay's order's: the stay is read again as of its position).
pub(super) async fn stay_answer(
    state: &AppState,
    executed: Executed<Booked>,
) -> Result<(StayAnswer, bool), Problem> {
    Ok(match executed {
        Executed::Fresh(booked) => (StayAnswer::new(booked.stay, booked.outcome.position), false),
        Executed::Replayed(receipt) => {
            let (_, order): (usize, domain::Order) = stored_answer(&receipt)?;
            let ordered = order.stay.ok_or_else(|| {
                Problem::unavailable(
                    "storage_unavailable",
                    "the stored answer of this key is not a stay's",
                )
            })?;
            let (_, stay) = state
                .commands
                .stay(&ordered.listing_id, &ordered.stay_id, receipt.position)
                .await
                .map_err(Problem::from)?;
            (StayAnswer::new(stay, receipt.position), true)
        }
    })
}

/// Book a stay. Instant book: the nights are held for the payment window (15
/// minutes by default) and the stay's order is placed, to be paid through the
/// payment webhook; request to book: they are kept until the host answers (24
/// hours). Refused with nothing written: check-in not before check-out, in the past
/// at the listing, beyond two years, guests above capacity, nights outside the
/// listing's minimum and maximum (422); nights closed or taken (409).
#[utoipa::path(post, path = "/v1/stays/{listing_id}/bookings", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    request_body = BookingBody,
    responses(
        (status = 201, body = StayAnswer),
        (status = 200, description = "The same booking again", body = StayAnswer),
        (status = 403, description = "Over the guest's limits", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nights taken or closed, or the listing is not bookable", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn book(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
    Body(body): Body<BookingBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<StayAnswer>)>, Problem> {
    let guest = acting_guest(&principal, body.guest_id.clone())?;
    let stay_id = match &body.stay_id {
        Some(id) => id.clone(),
        None => idempotency::generated_id(&principal, &headers, "stay")?,
    };
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    // A client's id, or one generated from its key (`k-...`): never a derived one.
    v.id("stay_id", &stay_id);
    v.finish().map_err(Problem::from)?;
    let stay = BookStay {
        order_id: domain::ids::stay_order_id(&listing_id, &stay_id),
        stay_id,
        guest,
        check_in: body.check_in,
        check_out: body.check_out,
        guests: body.guests,
        search_id: body.search_id.clone(),
        hold_minutes: state.stays.hold_minutes,
    };
    let limits = matches!(principal, Principal::Buyer { .. }).then_some(state.limits.buyer);
    let metadata = state.metadata(&headers, &principal);
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "book_stay",
        &idempotency::AsValue(&body),
        |keyed| async {
            state
                .commands
                .book_stay(&listing_id, stay.clone(), limits, &metadata, keyed)
                .await
        },
    )
    .await?;
    let fresh = matches!(&executed, Executed::Fresh(booked) if booked.outcome.events > 0);
    let (answer, replayed) = stay_answer(&state, executed).await?;
    let status = if fresh || replayed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(MaybeReplayed((status, Json(answer)), replayed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StayParams {
    /// Wait (up to 2 s) until the answer reflects this log position.
    pub min_position: Option<i64>,
}

/// A stay, as its guest sees it (another guest's is not found).
#[utoipa::path(get, path = "/v1/stays/{listing_id}/bookings/{stay_id}", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ("stay_id" = String, Path, description = "The stay"), StayParams),
    responses(
        (status = 200, body = StayAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((listing_id, stay_id)): PathParams<(String, String)>,
    QueryParams(params): QueryParams<StayParams>,
) -> Result<Json<StayAnswer>, Problem> {
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    v.reference("stay_id", &stay_id);
    v.finish().map_err(Problem::from)?;
    if let Some(wanted) = params.min_position {
        state.known_position(wanted).await?;
    }
    let (outcome, stay) = state
        .commands
        .stay(&listing_id, &stay_id, params.min_position.unwrap_or(0))
        .await
        .map_err(Problem::from)?;
    principal.must_see(Some(&stay.guest), "stay")?;
    Ok(Json(StayAnswer::new(stay, outcome.position)))
}

/// The guest cancels a stay: a confirmed one is refunded by the listing's policy
/// (by days before the local check-in; the cleaning fee while the stay has not
/// begun), a held or requested one just lets its nights go.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/bookings/{stay_id}/cancellation", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ("stay_id" = String, Path, description = "The stay")),
    responses(
        (status = 200, body = StayAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stay is over", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((listing_id, stay_id)): PathParams<(String, String)>,
) -> Result<Json<StayAnswer>, Problem> {
    let (guest, stay) = guest_stay(&state, &principal, &listing_id, &stay_id).await?;
    let metadata = state.metadata(&headers, &principal);
    let (outcome, stay) = state
        .commands
        .cancel_stay(
            &listing_id,
            &stay.stay_id,
            Canceller::Guest(guest),
            &metadata,
        )
        .await
        .map_err(Problem::from)?;
    Ok(Json(StayAnswer::new(stay, outcome.position)))
}

/// The stay, if the caller may act for its guest: a buyer for its own stays, a key
/// or the operator for any (another guest's stay is, for a buyer, not there).
async fn guest_stay(
    state: &AppState,
    principal: &Principal,
    listing_id: &str,
    stay_id: &str,
) -> Result<(String, StayView), Problem> {
    let mut v = Validator::new();
    v.id("listing_id", listing_id);
    v.reference("stay_id", stay_id);
    v.finish().map_err(Problem::from)?;
    let (_, stay) = state
        .commands
        .stay(listing_id, stay_id, 0)
        .await
        .map_err(Problem::from)?;
    principal.must_see(Some(&stay.guest), "stay")?;
    Ok((stay.guest.clone(), stay))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// 1 to 5.
    #[schema(example = 5)]
    pub rating: u8,
    /// cleanliness, accuracy, communication, location, value: each 1 to 5.
    #[schema(value_type = Option<Object>)]
    pub sub_ratings: Option<SubRatings>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewAnswer {
    pub stay_id: String,
    /// False when the stay was reviewed already.
    pub recorded: bool,
    pub position: i64,
}

/// Review a stay once it is over (its local check-out date reached), once.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/bookings/{stay_id}/review", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ("stay_id" = String, Path, description = "The stay")),
    request_body = ReviewBody,
    responses(
        (status = 200, body = ReviewAnswer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a stay that took place, or not over yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((listing_id, stay_id)): PathParams<(String, String)>,
    Body(body): Body<ReviewBody>,
) -> Result<Json<ReviewAnswer>, Problem> {
    let (guest, _) = guest_stay(&state, &principal, &listing_id, &stay_id).await?;
    let command = ListingCommand::Review {
        listing_id,
        stay_id: stay_id.clone(),
        guest,
        rating: body.rating,
        sub_ratings: body.sub_ratings,
    };
    let metadata = state.metadata(&headers, &principal);
    let (outcome, _) = state
        .commands
        .handle_listing(command, &metadata, None)
        .await
        .map_err(Problem::from)?;
    Ok(Json(ReviewAnswer {
        stay_id,
        recorded: outcome.events > 0,
        position: outcome.position,
    }))
}
