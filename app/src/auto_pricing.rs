//! Automatic pricing: for every listing whose host switched it on, the nightly
//! price suggestions of the stays model become its prices, as calendar events
//! (`CalendarChanged` with `suggested: true`, within the host's minimum and
//! maximum). One process per database runs it, under a lease; the listing skips
//! nights already at their suggested price, so a pass repeated by a new lease
//! holder records nothing new.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Days;
use commands::lease::Lease;
use commands::CommandService;
use domain::stays::local_time::local_today;
use domain::ListingCommand;
use event_log::StoreError;
use event_schemas::stays::NightPrice;
use event_schemas::Metadata;
use stays::LiveStays;

/// Advisory lock key of the automatic pricing process's lease ("autoprc").
const LEASE_KEY: i64 = 0x6175_746f_7072_6300;
/// How often prices are looked at again: suggestions move with bookings, searches
/// and local events, none of which needs a price to follow it within the hour.
const PASS_EVERY: Duration = Duration::from_secs(15 * 60);
/// How far ahead prices are set, in nights.
pub const AHEAD_NIGHTS: i64 = 180;

/// Run the process for as long as this one lives.
pub fn spawn_auto_pricing(commands: Arc<CommandService>, model: Arc<LiveStays>) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_while_leased(&commands, &model).await {
                tracing::warn!(%error, "automatic pricing stopped; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// One pass: each listing with automatic pricing gets its suggested prices for
/// the next [`AHEAD_NIGHTS`] nights (from its local today). Answers how many
/// listings had a price changed.
pub async fn pass(commands: &CommandService, model: &LiveStays, metadata: &Metadata) -> usize {
    let now = commands.clock().now();
    let (plans, _) = model.read(|m| {
        m.auto_priced()
            .into_iter()
            .filter_map(|listing_id| {
                let zone = m.listing_time_zone(&listing_id)?;
                let today = local_today(zone, now);
                let nights =
                    m.suggest_prices(&listing_id, today, today + Days::days(AHEAD_NIGHTS))?;
                let prices = nights
                    .into_iter()
                    .map(|s| NightPrice {
                        night: s.night,
                        price: s.price,
                    })
                    .collect::<Vec<_>>();
                Some((listing_id, prices))
            })
            .collect::<Vec<_>>()
    });
    let mut changed = 0;
    for (listing_id, prices) in plans {
        let command = ListingCommand::ApplySuggestedPrices {
            listing_id: listing_id.clone(),
            prices,
        };
        match commands.handle_listing(command, metadata, None).await {
            Ok((outcome, _)) => changed += usize::from(outcome.events > 0),
            Err(error) => {
                tracing::warn!(%error, %listing_id, "suggested prices were not applied")
            }
        }
    }
    changed
}

async fn run_while_leased(
    commands: &Arc<CommandService>,
    model: &Arc<LiveStays>,
) -> Result<(), StoreError> {
    let Some(mut lease) = Lease::take(commands.store().database(), LEASE_KEY).await? else {
        // Another process runs it; look again later.
        tokio::time::sleep(Duration::from_secs(30)).await;
        return Ok(());
    };
    let metadata = Metadata {
        actor: Some("auto-pricing".into()),
        ..Default::default()
    };
    loop {
        pass(commands, model, &metadata).await;
        lease.check().await?;
        tokio::time::sleep(PASS_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commands::AppClock;
    use event_schemas::stays::ListingDetails;

    fn details() -> ListingDetails {
        testkit::stays::apartment("Loft")
    }

    #[tokio::test]
    async fn suggestions_become_prices_only_where_the_host_switched_it_on() {
        // Given two listings, one with automatic pricing within 90.00 to 95.00 (the
        // soonest nights' suggestions, discounted for lead time, fall below it)
        let log = testkit::TestLog::sqlite().await;
        let commands = CommandService::new(log.store.clone(), AppClock::System);
        let metadata = Metadata::default();
        for id in ["auto", "manual"] {
            let create = ListingCommand::Create {
                listing_id: id.into(),
                host_id: "host".into(),
                details: details(),
                screening: vec![],
            };
            commands
                .handle_listing(create, &metadata, None)
                .await
                .unwrap();
        }
        let switch_on = ListingCommand::SetAutoPricing {
            listing_id: "auto".into(),
            host_id: "host".into(),
            enabled: true,
            min_price: Some(9_000),
            max_price: Some(9_500),
        };
        commands
            .handle_listing(switch_on, &metadata, None)
            .await
            .unwrap();
        let model = stays::live(log.read.clone(), Default::default());
        model.catch_up().await.unwrap();

        // When a pass runs, then only that listing's nights are priced, within the
        // host's range; a second pass changes nothing
        assert_eq!(pass(&commands, &model, &metadata).await, 1);
        model.catch_up().await.unwrap();
        assert_eq!(pass(&commands, &model, &metadata).await, 0);
        let records = log
            .store
            .read_type_after("listing", 0, 1_000)
            .await
            .unwrap();
        let prices: Vec<(String, u64)> = records
            .iter()
            .filter_map(
                |r| match r.parse_as::<event_schemas::ListingEvent>().ok()? {
                    event_schemas::ListingEvent::CalendarChanged {
                        listing_id,
                        change:
                            event_schemas::stays::CalendarChange::PriceSet {
                                nightly_price,
                                suggested: true,
                            },
                        ..
                    } => Some((listing_id, nightly_price)),
                    _ => None,
                },
            )
            .collect();
        assert!(!prices.is_empty());
        assert!(prices
            .iter()
            .all(|(id, price)| id == "auto" && (9_000..=9_500).contains(price)));
    }
}
