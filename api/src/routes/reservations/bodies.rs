//! What the reservation routes take and answer.

use super::*;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "MUG-1"
    )]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1_000_000, example = 2)]
    pub quantity: u64,
    /// Where to hold it; when absent, allocated (needs `ship_to`).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "ams-1"
    )]
    pub warehouse_id: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// Your id for the reservation; repeating a request with it changes nothing.
    /// Generated when absent.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub reservation_id: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    /// How long to hold, 1 s to 24 h; 15 minutes when absent.
    #[schema(minimum = 1, maximum = 86_400)]
    pub ttl_seconds: Option<u32>,
    /// Where the order goes: needed for lines without a warehouse, which are then
    /// allocated over the warehouses shipping to `region`.
    pub ship_to: Option<ShipTo>,
    /// Allocate for the fastest delivery rather than the lowest cost.
    #[serde(default)]
    pub priority: bool,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipTo {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "nl"
    )]
    pub region: String,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// The holds end this many seconds from now (up to 24 h); must be later than now.
    #[schema(minimum = 1, maximum = 86_400)]
    pub ttl_seconds: u32,
}

impl ReserveBody {
    /// The request the command service runs, or every field that is wrong at once
    /// (checked before anything is planned or written). An empty `reservation_id` is
    /// left for the caller to generate.
    pub fn into_request(
        self,
        limits: &Limits,
        buyer: Option<(String, domain::BuyerLimits)>,
        now: DateTime<Utc>,
    ) -> Result<ReserveRequest, Problem> {
        let max_ttl = limits.max_ttl_seconds;
        let ttl = self.ttl_seconds.unwrap_or(
            DEFAULT_TTL_SECONDS
                .min(max_ttl)
                .min(u32::try_from(limits.buyer.max_ttl_seconds).unwrap_or(u32::MAX)),
        );
        let mut v = Validator::new();
        v.check(
            ttl != 0 && ttl <= max_ttl,
            "ttl_seconds",
            &format!("must be from 1 to {max_ttl}"),
        );
        // Ids with a ':' are the processes' own (an order's reservation).
        if let Some(id) = &self.reservation_id {
            v.id("reservation_id", id);
        }
        if let Some((_, buyer_limits)) = &buyer {
            let max = buyer_limits.max_ttl_seconds;
            v.check(
                i64::from(ttl) <= max,
                "ttl_seconds",
                &format!("a buyer may hold for at most {max} seconds"),
            );
        }
        // Checked before planning, which queries stock per SKU.
        let max_lines = domain::reservation::MAX_LINES;
        v.check(
            (1..=max_lines).contains(&self.lines.len()),
            "lines",
            &format!("must hold 1 to {max_lines} lines"),
        );
        if let Some(ship_to) = &self.ship_to {
            v.geo(
                "ship_to.",
                ship_to.lat.unwrap_or(0.0),
                ship_to.lon.unwrap_or(0.0),
            );
        }
        let mut placed = Vec::with_capacity(self.lines.len());
        let mut to_place = Vec::new();
        for line in self.lines {
            match line.warehouse_id {
                Some(warehouse_id) => placed.push(ReservationLine {
                    sku: line.sku,
                    warehouse_id,
                    quantity: line.quantity,
                }),
                None => to_place.push((line.sku, line.quantity)),
            }
        }
        v.check(
            to_place.is_empty() || self.ship_to.is_some(),
            "ship_to",
            "is needed to allocate lines without a warehouse_id",
        );
        v.finish()
            .map_err(|refusal| Problem::invalid(refusal.errors))?;
        Ok(ReserveRequest {
            reservation_id: self.reservation_id.unwrap_or_default(),
            buyer,
            placed,
            to_place,
            ship_to: self.ship_to.map(|s| Destination {
                region: s.region,
                lat: s.lat,
                lon: s.lon,
            }),
            priority: self.priority,
            expires_at: now + chrono::Duration::seconds(ttl.into()),
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    #[schema(min_length = 1, max_length = 200)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineAnswer {
    pub sku: String,
    pub warehouse_id: String,
    pub quantity: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationBody {
    pub reservation_id: String,
    /// requested, held, failed, confirmed, released or expired.
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub lines: Vec<LineAnswer>,
    /// Why the lines went where they did, when some were allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    pub position: i64,
}

pub(super) fn body(answer: &ReservationAnswer, now: DateTime<Utc>) -> ReservationBody {
    let r = &answer.reservation;
    ReservationBody {
        reservation_id: r.reservation_id.clone(),
        status: status_name(r.status_at(now)).to_string(),
        expires_at: r.expires_at,
        lines: r
            .lines
            .iter()
            .map(|l| LineAnswer {
                sku: l.sku.clone(),
                warehouse_id: l.warehouse_id.clone(),
                quantity: l.quantity,
            })
            .collect(),
        explanation: None,
        position: answer.position,
    }
}
