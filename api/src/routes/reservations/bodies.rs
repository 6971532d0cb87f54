//! What the reservation routes take and answer.

use super::*;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(example = "MUG-1")]
    pub sku: String,
    #[schema(example = 2)]
    pub quantity: u64,
    /// Where to hold it; when absent, allocated (needs `ship_to`).
    #[schema(example = "ams-1")]
    pub warehouse_id: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// Your id for the reservation; repeating a request with it changes nothing.
    /// Generated when absent.
    pub reservation_id: Option<String>,
    pub lines: Vec<LineBody>,
    /// How long to hold, 1 s to 24 h; 15 minutes when absent.
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
    #[schema(example = "nl")]
    pub region: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// The holds end this many seconds from now (up to 24 h); must be later than now.
    pub ttl_seconds: u32,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
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
