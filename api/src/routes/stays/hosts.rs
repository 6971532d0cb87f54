//! What hosts do: create, change and unlist listings, set their calendars and
//! automatic pricing, answer requests to book, cancel stays, and see nightly price
//! suggestions. A host's token acts on its own listings only (another's is refused
//! 403 `not_your_listing` by the listing itself); a key with `stays:write` acts for
//! the listing's host.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{NaiveDate, Weekday};
use domain::stays::{Canceller, ListingView};
use domain::validate::Validator;
use domain::ListingCommand;
use event_schemas::stays::{CalendarChange, CancellationPolicy, ListingDetails, Photo};
use event_schemas::GeoPoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::delivery::operators::{parse_days, parse_time};
use super::super::warehouses::LocationBody;
use super::AppState;
use crate::auth::Principal;
use crate::idempotency::{self, stored_answer, Executed, MaybeReplayed};
use crate::problem::{Body, PathParams, Problem, QueryParams};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoBody {
    #[schema(example = "https://photos.example/l-1/1.jpg")]
    pub url: String,
    /// SHA-256 of the photo's bytes, 64 lower-case hex digits.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub content_hash: String,
}

/// A listing as its host describes it (prices in minor units of `currency`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingBody {
    /// Chosen by the client, or generated.
    #[schema(example = "canal-loft")]
    pub listing_id: Option<String>,
    /// The host, when a key creates the listing for one (a host's token is its own).
    #[schema(example = "host-7")]
    pub host_id: Option<String>,
    #[schema(example = "Loft by the canal")]
    pub title: String,
    #[schema(example = "Bright loft with a view of the canal, two minutes from the station.")]
    pub description: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub photos: Vec<PhotoBody>,
    pub location: LocationBody,
    /// IANA time zone of the listing: its nights are local dates there.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    #[schema(example = "apartment")]
    pub property_type: String,
    #[schema(example = 4)]
    pub capacity: u32,
    #[serde(default)]
    #[schema(example = json!(["wifi", "kitchen"]))]
    pub amenities: Vec<String>,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = 12000)]
    pub nightly_price: u64,
    #[serde(default)]
    #[schema(example = 3000)]
    pub cleaning_fee: u64,
    /// flexible, moderate or strict.
    #[schema(example = "moderate")]
    pub cancellation_policy: String,
    #[schema(example = 1)]
    pub min_nights: u32,
    #[schema(example = 30)]
    pub max_nights: u32,
    /// Local time, `HH:MM`.
    #[schema(example = "15:00")]
    pub check_in_time: String,
    #[schema(example = "11:00")]
    pub check_out_time: String,
    /// The weekdays whose nights may be booked (`mon` ... `sun`); none: every day.
    #[serde(default)]
    pub open_weekdays: Vec<String>,
    /// Booked at once, or requested and answered by the host within 24 hours.
    #[serde(default = "instant")]
    pub instant_book: bool,
}

fn instant() -> bool {
    true
}

/// A listing, after a host's command.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingAnswer {
    pub listing_id: String,
    pub host_id: String,
    /// active, flagged (hidden until an admin decides), unlisted or removed.
    #[schema(example = "active")]
    pub status: String,
    pub auto_pricing: bool,
    /// What fraud screening found, while flagged.
    #[schema(value_type = Vec<Object>)]
    pub signals: Vec<event_schemas::stays::FraudSignal>,
    /// False when nothing changed.
    pub changed: bool,
    /// Log position of the command's last event; pass it as `min_position`.
    pub position: i64,
}

fn answer(view: &ListingView, events: usize, position: i64) -> ListingAnswer {
    ListingAnswer {
        listing_id: view.listing_id.clone(),
        host_id: view.host_id.clone(),
        status: serde_json::to_value(view.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        auto_pricing: view.auto_pricing,
        signals: view.signals.clone(),
        changed: events > 0,
        position,
    }
}

fn details(body: &ListingBody) -> Result<ListingDetails, Problem> {
    let mut v = Validator::new();
    let open_weekdays = if body.open_weekdays.is_empty() {
        vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
    } else {
        parse_days(&mut v, "open_weekdays", &body.open_weekdays)
    };
    let cancellation_policy = match body.cancellation_policy.as_str() {
        "flexible" => CancellationPolicy::Flexible,
        "moderate" => CancellationPolicy::Moderate,
        "strict" => CancellationPolicy::Strict,
        _ => {
            v.fail(
                "cancellation_policy",
                "must be flexible, moderate or strict",
            );
            CancellationPolicy::Strict
        }
    };
    let check_in_time = parse_time(&mut v, "check_in_time", &body.check_in_time);
    let check_out_time = parse_time(&mut v, "check_out_time", &body.check_out_time);
    v.check(
        body.photos.len() <= domain::stays::MAX_PHOTOS,
        "photos",
        "lists more than 50 photos",
    );
    v.finish().map_err(Problem::from)?;
    Ok(ListingDetails {
        title: body.title.clone(),
        description: body.description.clone(),
        photos: body
            .photos
            .iter()
            .map(|p| Photo {
                url: p.url.clone(),
                content_hash: p.content_hash.clone(),
            })
            .collect(),
        location: GeoPoint {
            lat: body.location.lat,
            lon: body.location.lon,
        },
        time_zone: body.time_zone.clone(),
        property_type: body.property_type.clone(),
        capacity: body.capacity,
        amenities: body.amenities.clone(),
        currency: body.currency.clone(),
        nightly_price: body.nightly_price,
        cleaning_fee: body.cleaning_fee,
        cancellation_policy,
        min_nights: body.min_nights,
        max_nights: body.max_nights,
        check_in_time,
        check_out_time,
        open_weekdays,
        instant_book: body.instant_book,
    })
}

/// The host a new listing is created for: a host's token for itself; a key or the
/// operator for the host it names.
fn creating_host(principal: &Principal, named: Option<String>) -> Result<String, Problem> {
    match principal {
        Principal::Host { subject } => match named {
            Some(other) if other != *subject => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "not_your_listing",
                "a host's token creates listings only for its own host",
            )),
            _ => Ok(subject.clone()),
        },
        _ => named.ok_or_else(|| {
            Problem::invalid(vec![domain::FieldError {
                field: "host_id".into(),
                message: "a key creates a listing for the host it names".into(),
            }])
        }),
    }
}

/// The host a command on an existing listing acts as: a host's token as itself
/// (the listing refuses it if it is another's); a key or the operator as the
/// listing's own host.
async fn acting_host(
    state: &AppState,
    principal: &Principal,
    listing_id: &str,
) -> Result<String, Problem> {
    if let Principal::Host { subject } = principal {
        return Ok(subject.clone());
    }
    let mut v = Validator::new();
    v.id("listing_id", listing_id);
    v.finish().map_err(Problem::from)?;
    let (_, view) = state
        .commands
        .listing(listing_id, 0)
        .await
        .map_err(Problem::from)?;
    if view.details.is_none() {
        return Err(Problem::not_found("there is no such listing"));
    }
    Ok(view.host_id)
}

/// Run a listing command under the request's idempotency key; `request` is what
/// identifies the request for it (what the client sent, never what the server adds,
/// such as screening's signals, which a retry may find otherwise).
async fn listing_command(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    name: &'static str,
    request: &serde_json::Value,
    command: ListingCommand,
) -> Result<(usize, ListingView, i64, bool), Problem> {
    let metadata = state.metadata(headers, principal);
    let executed = idempotency::run(state, principal, headers, name, request, |keyed| {
        state
            .commands
            .handle_listing(command.clone(), &metadata, keyed)
    })
    .await?;
    Ok(match executed {
        Executed::Fresh((outcome, view)) => (outcome.events, view, outcome.position, false),
        Executed::Replayed(receipt) => {
            let (events, view): (usize, ListingView) = stored_answer(&receipt)?;
            (events, view, receipt.position, true)
        }
    })
}

/// A host's command on an existing listing, made for the host it acts as, answered
/// with the listing.
async fn host_command(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    name: &'static str,
    listing_id: &str,
    command: impl FnOnce(String) -> ListingCommand,
) -> Result<MaybeReplayed<Json<ListingAnswer>>, Problem> {
    let host_id = acting_host(state, principal, listing_id).await?;
    let command = command(host_id);
    let request = serde_json::to_value(&command).unwrap_or_default();
    let (events, view, position, replayed) =
        listing_command(state, principal, headers, name, &request, command).await?;
    Ok(MaybeReplayed(
        Json(answer(&view, events, position)),
        replayed,
    ))
}

/// What fraud screening finds in a listing about to be created or changed, against
/// every other listing this process has read (it first catches up with the log,
/// for a second at most, so a listing another process just created is seen).
async fn screen(
    state: &AppState,
    listing_id: &str,
    host_id: &str,
    details: &ListingDetails,
) -> Vec<event_schemas::stays::FraudSignal> {
    let live = &state.stays.live;
    let head = state.commands.store().last_committed();
    let _ = live.wait_for(head, std::time::Duration::from_secs(1)).await;
    let now = state.commands.clock().now();
    live.read(|model| model.screen(listing_id, host_id, details, now))
        .0
}

/// Create a listing. Fraud screening runs on it first: a listing with any signal is
/// recorded flagged (`ListingFlagged`) and hidden from search until an admin
/// approves it.
#[utoipa::path(post, path = "/v1/stays", tag = "stays",
    request_body = ListingBody,
    responses(
        (status = 201, body = ListingAnswer),
        (status = 200, description = "The same listing again", body = ListingAnswer),
        (status = 409, description = "The id is another listing's", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Body(body): Body<ListingBody>,
) -> Result<MaybeReplayed<(StatusCode, Json<ListingAnswer>)>, Problem> {
    let request = serde_json::to_value(&body).unwrap_or_default();
    let host_id = creating_host(&principal, body.host_id.clone())?;
    let listing_id = match &body.listing_id {
        Some(id) => id.clone(),
        None => idempotency::generated_id(&principal, &headers, "listing")?,
    };
    let details = details(&body)?;
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    v.id("host_id", &host_id);
    v.finish().map_err(Problem::from)?;
    domain::stays::validate_details(&details).map_err(Problem::from)?;
    let screening = screen(&state, &listing_id, &host_id, &details).await;
    let command = ListingCommand::Create {
        listing_id,
        host_id,
        details,
        screening,
    };
    let (events, view, position, replayed) = listing_command(
        &state,
        &principal,
        &headers,
        "create_listing",
        &request,
        command,
    )
    .await?;
    let status = if events > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(MaybeReplayed(
        (status, Json(answer(&view, events, position))),
        replayed,
    ))
}

/// Replace a listing's details (screened again; an unlisted listing is listed
/// again).
#[utoipa::path(put, path = "/v1/stays/{listing_id}", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    request_body = ListingBody,
    responses(
        (status = 200, body = ListingAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
    Body(body): Body<ListingBody>,
) -> Result<MaybeReplayed<Json<ListingAnswer>>, Problem> {
    let request = serde_json::json!({ "listing_id": listing_id, "body": body });
    let details = details(&body)?;
    let host_id = acting_host(&state, &principal, &listing_id).await?;
    domain::stays::validate_details(&details).map_err(Problem::from)?;
    let screening = screen(&state, &listing_id, &host_id, &details).await;
    let command = ListingCommand::Update {
        listing_id,
        host_id,
        details,
        screening,
    };
    let (events, view, position, replayed) = listing_command(
        &state,
        &principal,
        &headers,
        "update_listing",
        &request,
        command,
    )
    .await?;
    Ok(MaybeReplayed(
        Json(answer(&view, events, position)),
        replayed,
    ))
}

/// Unlist a listing: no longer found or bookable; stays booked are kept.
#[utoipa::path(delete, path = "/v1/stays/{listing_id}", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    responses(
        (status = 200, body = ListingAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unlist(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
) -> Result<MaybeReplayed<Json<ListingAnswer>>, Problem> {
    host_command(
        &state,
        &principal,
        &headers,
        "unlist_listing",
        &listing_id.clone(),
        |host_id| ListingCommand::Unlist {
            listing_id,
            host_id,
        },
    )
    .await
}

/// A calendar exception over the nights `[from, until)` (local dates).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    #[schema(value_type = String, example = "2027-07-01")]
    pub from: NaiveDate,
    /// Exclusive.
    #[schema(value_type = String, example = "2027-07-15")]
    pub until: NaiveDate,
    /// blocked, opened, price (with `nightly_price`) or price_cleared.
    #[schema(example = "price")]
    pub change: String,
    #[schema(example = 15000)]
    pub nightly_price: Option<u64>,
}

/// Block or open nights, or set or clear their price.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/calendar", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    request_body = CalendarBody,
    responses(
        (status = 200, body = ListingAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn calendar(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
    Body(body): Body<CalendarBody>,
) -> Result<MaybeReplayed<Json<ListingAnswer>>, Problem> {
    let change = match (body.change.as_str(), body.nightly_price) {
        ("blocked", None) => CalendarChange::Blocked,
        ("opened", None) => CalendarChange::Opened,
        ("price", Some(nightly_price)) => CalendarChange::PriceSet {
            nightly_price,
            suggested: false,
        },
        ("price_cleared", None) => CalendarChange::PriceCleared,
        _ => {
            return Err(Problem::invalid(vec![domain::FieldError {
                field: "change".into(),
                message: "must be blocked, opened, price_cleared, or price with nightly_price"
                    .into(),
            }]))
        }
    };
    host_command(
        &state,
        &principal,
        &headers,
        "change_calendar",
        &listing_id.clone(),
        |host_id| ListingCommand::ChangeCalendar {
            listing_id,
            host_id,
            from: body.from,
            until: body.until,
            change,
        },
    )
    .await
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoPricingBody {
    pub enabled: bool,
    /// The lowest nightly price automatic pricing may set (default: half the
    /// nightly price).
    #[schema(example = 8000)]
    pub min_price: Option<u64>,
    /// The highest (default: twice the nightly price).
    #[schema(example = 20000)]
    pub max_price: Option<u64>,
}

/// Switch automatic pricing on or off: while on, the nightly price suggestions
/// become the listing's prices (as calendar events), within the host's bounds.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/auto-pricing", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing")),
    request_body = AutoPricingBody,
    responses(
        (status = 200, body = ListingAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn auto_pricing(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams(listing_id): PathParams<String>,
    Body(body): Body<AutoPricingBody>,
) -> Result<MaybeReplayed<Json<ListingAnswer>>, Problem> {
    host_command(
        &state,
        &principal,
        &headers,
        "set_auto_pricing",
        &listing_id.clone(),
        |host_id| ListingCommand::SetAutoPricing {
            listing_id,
            host_id,
            enabled: body.enabled,
            min_price: body.min_price,
            max_price: body.max_price,
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestionParams {
    /// First night (a local date).
    #[param(value_type = String, example = "2027-07-01")]
    pub from: NaiveDate,
    /// Exclusive; at most 366 nights after `from`.
    #[param(value_type = String, example = "2027-07-08")]
    pub until: NaiveDate,
    /// Wait (up to 2 s) until the model reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionsAnswer {
    pub listing_id: String,
    /// Per night: the price suggested, the base it started from and every factor
    /// with its multiplier and why.
    #[schema(value_type = Vec<Object>)]
    pub nights: Vec<::stays::pricing::Suggestion>,
    pub position: i64,
}

/// Nightly price suggestions for the host: seasonality of comparable listings'
/// bookings, lead time, local events and search demand against free supply, each
/// explained.
#[utoipa::path(get, path = "/v1/stays/{listing_id}/price-suggestions", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), SuggestionParams),
    responses(
        (status = 200, body = SuggestionsAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn price_suggestions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(listing_id): PathParams<String>,
    QueryParams(params): QueryParams<SuggestionParams>,
) -> Result<Json<SuggestionsAnswer>, Problem> {
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    v.check(params.from < params.until, "until", "must be after from");
    v.check(
        (params.until - params.from).num_days() <= 366,
        "until",
        "must be at most 366 nights after from",
    );
    let today = state.commands.clock().now().date_naive();
    v.check(
        params.from >= today - chrono::Duration::days(1),
        "from",
        "must not lie before yesterday",
    );
    v.check(
        params.until <= today + chrono::Duration::days(domain::stays::HORIZON_DAYS + 1),
        "until",
        "must lie within the two-year calendar horizon",
    );
    v.finish().map_err(Problem::from)?;
    super::await_stays(&state, params.min_position).await?;
    let (found, position) = state.stays.live.read(|model| {
        model.listing(&listing_id).map(|listing| {
            (
                listing.host_id.clone(),
                model.suggest_prices(&listing_id, params.from, params.until),
            )
        })
    });
    let Some((host_id, Some(nights))) = found else {
        return Err(Problem::not_found("there is no such listing"));
    };
    if matches!(&principal, Principal::Host { subject } if *subject != host_id) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not_your_listing",
            "the listing belongs to another host",
        ));
    }
    Ok(Json(SuggestionsAnswer {
        listing_id,
        nights,
        position,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaysParams {
    /// Only stays in this state: requested (awaiting your answer), held, confirmed,
    /// lapsed or cancelled.
    pub status: Option<String>,
    /// Only stays checking out after this date (`YYYY-MM-DD`).
    #[param(value_type = Option<String>)]
    pub after: Option<NaiveDate>,
    /// Most stays answered (1–200, default 50).
    pub limit: Option<usize>,
    /// Stays skipped first (default 0).
    pub offset: Option<usize>,
    /// Wait (up to 2 s) until the answer reflects this log position.
    pub min_position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaysAnswer {
    pub listing_id: String,
    /// Stays matching, before `offset` and `limit`.
    pub total: usize,
    /// By check-in.
    pub stays: Vec<super::guests::StayAnswer>,
    pub position: i64,
}

const STAY_STATES: [&str; 5] = ["requested", "held", "confirmed", "lapsed", "cancelled"];

/// The listing's stays for its host: requests awaiting an answer (with the time
/// they lapse at), holds, confirmed, lapsed and cancelled stays, by check-in. A
/// host's token sees its own listings only; a key with `stays:write` any.
#[utoipa::path(get, path = "/v1/stays/{listing_id}/bookings", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), StaysParams),
    responses(
        (status = 200, body = StaysAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stays(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(listing_id): PathParams<String>,
    QueryParams(params): QueryParams<StaysParams>,
) -> Result<Json<StaysAnswer>, Problem> {
    let limit = params.limit.unwrap_or(50);
    let offset = params.offset.unwrap_or(0);
    let mut v = Validator::new();
    v.id("listing_id", &listing_id);
    v.check((1..=200).contains(&limit), "limit", "must be 1 to 200");
    v.check(offset <= 100_000, "offset", "must be at most 100000");
    if let Some(status) = &params.status {
        v.check(
            STAY_STATES.contains(&status.as_str()),
            "status",
            "must be requested, held, confirmed, lapsed or cancelled",
        );
    }
    v.finish().map_err(Problem::from)?;
    if let Some(wanted) = params.min_position {
        state.known_position(wanted).await?;
    }
    let host_id = acting_host(&state, &principal, &listing_id).await?;
    let (outcome, stays) = state
        .commands
        .listing_stays(&listing_id, &host_id, params.min_position.unwrap_or(0))
        .await
        .map_err(Problem::from)?;
    let matching: Vec<super::guests::StayAnswer> = stays
        .into_iter()
        .filter(|stay| params.after.is_none_or(|after| stay.check_out > after))
        .map(|stay| super::guests::StayAnswer::new(stay, outcome.position))
        .filter(|stay| params.status.as_ref().is_none_or(|s| stay.status == *s))
        .collect();
    Ok(Json(StaysAnswer {
        listing_id,
        total: matching.len(),
        stays: matching.into_iter().skip(offset).take(limit).collect(),
        position: outcome.position,
    }))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseBody {
    pub accept: bool,
}

/// Answer a request to book (within 24 hours of it): accepted, the nights are held
/// for the guest's payment and the order is placed; declined, they are free again.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/bookings/{stay_id}/response", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ("stay_id" = String, Path, description = "The stay")),
    request_body = ResponseBody,
    responses(
        (status = 200, body = super::guests::StayAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Answered already, or too late", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn respond(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((listing_id, stay_id)): PathParams<(String, String)>,
    Body(body): Body<ResponseBody>,
) -> Result<MaybeReplayed<Json<super::guests::StayAnswer>>, Problem> {
    let host_id = acting_host(&state, &principal, &listing_id).await?;
    let command = ListingCommand::Respond {
        listing_id,
        host_id,
        stay_id,
        accept: body.accept,
        hold_minutes: state.stays.hold_minutes,
    };
    let metadata = state.metadata(&headers, &principal);
    let executed = idempotency::run(
        &state,
        &principal,
        &headers,
        "respond_to_stay",
        &command,
        |keyed| {
            state
                .commands
                .respond_to_stay(command.clone(), &metadata, keyed)
        },
    )
    .await?;
    super::guests::stay_answer(&state, executed)
        .await
        .map(|(answer, replayed)| MaybeReplayed(Json(answer), replayed))
}

/// The host cancels a stay: a confirmed one is refunded in full (and counts in the
/// host's cancellation rate), a held or requested one just lets its nights go.
#[utoipa::path(post, path = "/v1/stays/{listing_id}/bookings/{stay_id}/host-cancellation", tag = "stays",
    params(("listing_id" = String, Path, description = "The listing"), ("stay_id" = String, Path, description = "The stay")),
    responses(
        (status = 200, body = super::guests::StayAnswer),
        (status = 403, description = "Another host's listing", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stay is over", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn host_cancel(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    PathParams((listing_id, stay_id)): PathParams<(String, String)>,
) -> Result<Json<super::guests::StayAnswer>, Problem> {
    let host_id = acting_host(&state, &principal, &listing_id).await?;
    let metadata = state.metadata(&headers, &principal);
    let (outcome, stay) = state
        .commands
        .cancel_stay(&listing_id, &stay_id, Canceller::Host(host_id), &metadata)
        .await
        .map_err(Problem::from)?;
    Ok(Json(super::guests::StayAnswer::new(stay, outcome.position)))
}
