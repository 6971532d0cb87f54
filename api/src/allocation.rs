//! Allocation over what the read side knows: the warehouses shipping to a region and
//! their available stock, fed to the pure policy in `domain::allocation`. The holds
//! taken afterwards are what guarantee the stock; a plan made on a moment-old picture
//! can only fail, never oversell.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use commands::orders::Planner;
use commands::CommandService;
use domain::{
    allocate, offers_for_region, AllocationRequest, DomainError, ErrorKind, OrderLine, Plan,
};
use event_schemas::{Destination, ReservationLine};
use futures::future::BoxFuture;
use projections::availability::LiveAvailability;

use crate::routes::MIN_POSITION_WAIT;

/// Where to take `lines` from, over the warehouses shipping to `region`.
pub async fn plan(
    commands: &CommandService,
    availability: &LiveAvailability,
    region: &str,
    lines: Vec<OrderLine>,
    priority: bool,
    min_position: Option<i64>,
    max_shipments: usize,
) -> Result<Plan, DomainError> {
    let unavailable = |e: String| {
        DomainError::new(
            ErrorKind::Conflict,
            domain::Refusal::AllocationUnavailable,
            e,
        )
    };
    // Plan on a picture at least as new as asked (by default, everything committed).
    let wanted = min_position.unwrap_or_else(|| commands.store().last_committed());
    let _ = availability.wait_for(wanted, MIN_POSITION_WAIT).await;
    let warehouses = projections::warehouses::all(availability.db())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut stock: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for sku in lines.iter().map(|l| &l.sku).collect::<BTreeSet<_>>() {
        let (view, _) = availability.query(sku, None);
        for w in view.map(|v| v.warehouses).unwrap_or_default() {
            stock
                .entry(w.warehouse_id)
                .or_default()
                .insert(sku.clone(), w.available.max(0) as u64);
        }
    }
    let (currency, offers) = offers_for_region(
        region,
        warehouses.iter().map(|w| {
            (
                w.warehouse_id.as_str(),
                w.ships_to.as_slice(),
                stock.get(&w.warehouse_id).cloned().unwrap_or_default(),
            )
        }),
    );
    let mut request = AllocationRequest::new(region, currency, lines);
    request.priority = priority;
    request.max_shipments = max_shipments;
    allocate(&request, &offers).map_err(DomainError::from)
}

/// The order process's planner.
pub struct ReadSidePlanner {
    pub commands: Arc<CommandService>,
    /// Stock levels, from memory.
    pub availability: Arc<LiveAvailability>,
    /// Most warehouses one order may ship from.
    pub max_shipments: usize,
}

impl Planner for ReadSidePlanner {
    fn plan<'a>(
        &'a self,
        lines: Vec<(String, u64)>,
        ship_to: &'a Destination,
        priority: bool,
        min_position: i64,
    ) -> BoxFuture<'a, Result<(Vec<ReservationLine>, String), DomainError>> {
        Box::pin(async move {
            let lines = lines
                .into_iter()
                .map(|(sku, q)| OrderLine::new(sku, q))
                .collect();
            let plan = plan(
                &self.commands,
                &self.availability,
                &ship_to.region,
                lines,
                priority,
                Some(min_position),
                self.max_shipments,
            )
            .await?;
            let mut reserved = Vec::new();
            for shipment in plan.shipments {
                for line in shipment.lines {
                    reserved.push(ReservationLine {
                        sku: line.sku,
                        warehouse_id: shipment.warehouse_id.clone(),
                        quantity: line.quantity,
                    });
                }
            }
            Ok((reserved, plan.explanation))
        })
    }

    fn plan_from<'a>(
        &'a self,
        lines: Vec<(String, u64)>,
        warehouse_id: &'a str,
        min_position: i64,
    ) -> BoxFuture<'a, Result<(Vec<ReservationLine>, String), DomainError>> {
        Box::pin(async move {
            let _ = self
                .availability
                .wait_for(min_position, MIN_POSITION_WAIT)
                .await;
            let mut short = Vec::new();
            for (sku, quantity) in &lines {
                let (view, _) = self.availability.query(sku, Some(warehouse_id));
                let available = view
                    .and_then(|v| {
                        v.warehouses
                            .into_iter()
                            .find(|w| w.warehouse_id == warehouse_id)
                    })
                    .map_or(0, |w| w.available.max(0) as u64);
                if available < *quantity {
                    short.push(format!("{sku}: {available} of {quantity}"));
                }
            }
            if !short.is_empty() {
                return Err(DomainError::new(
                    ErrorKind::Conflict,
                    domain::Refusal::PickupWarehouseShort,
                    format!(
                        "the quoted pickup warehouse {warehouse_id} cannot fill the order ({}); the delivery is not priced from elsewhere",
                        short.join(", ")
                    ),
                ));
            }
            let reserved = lines
                .into_iter()
                .map(|(sku, quantity)| ReservationLine {
                    sku,
                    warehouse_id: warehouse_id.to_string(),
                    quantity,
                })
                .collect();
            Ok((
                reserved,
                format!("Single shipment from {warehouse_id}, the quoted pickup warehouse"),
            ))
        })
    }
}
