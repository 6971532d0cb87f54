//! The pricing model kept in memory in each process, following the log: cities,
//! the delivery feed, warehouses and orders placed for delivery to a point.
//! Read-your-writes as for every read model: `min_position` waits until the copy
//! has reached that position.

use std::sync::Arc;

use event_log::{Database, LogRecord};
use event_schemas::delivery::{CITY_AGGREGATE, DELIVERY_FEED_AGGREGATE};
use event_schemas::order::ORDER_AGGREGATE;
use event_schemas::warehouse::WAREHOUSE_AGGREGATE;
use event_schemas::RecordedEvent;
use projections::runtime::{InMemory, LiveCopy, ProjectionError};

use crate::config::PricingConfig;
use crate::zones::Zones;

impl InMemory for Zones {
    const WHAT: &'static str = "delivery pricing";
    const AGGREGATE_TYPE: Option<&'static str> = None;

    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError> {
        for record in records {
            self.advance(record.occurred_at);
            let wanted = match record.aggregate_type.as_str() {
                CITY_AGGREGATE | DELIVERY_FEED_AGGREGATE | WAREHOUSE_AGGREGATE => true,
                // A placed order is demand and a quoted delivery a charge; the rest
                // are not even parsed.
                ORDER_AGGREGATE => {
                    record.payload.starts_with("{\"OrderPlaced\"")
                        || record.payload.starts_with("{\"DeliveryQuoted\"")
                }
                _ => false,
            };
            if !wanted {
                continue;
            }
            let at = record.occurred_at;
            match record.decode()? {
                RecordedEvent::City(event) => self.city(event, record.position, at),
                RecordedEvent::DeliveryFeed(event) => self.feed(event, at),
                RecordedEvent::Warehouse(event) => self.warehouse(event),
                RecordedEvent::Order(event) => self.order(event, at),
                _ => {}
            }
        }
        Ok(())
    }

    fn fresh(&self) -> Self {
        Zones::new(self.config)
    }
}

/// The pricing model of this process, following the log, as of its position.
pub type LivePricing = LiveCopy<Zones>;

/// An empty model at position 0, to follow the whole log.
pub fn live(db: Database, config: PricingConfig) -> Arc<LivePricing> {
    LiveCopy::new(db, Zones::new(config), 0)
}
