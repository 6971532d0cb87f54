//! The stays model kept in memory in each process, following the log: listings and
//! their stays, stay searches and views, and local events (from the delivery feed,
//! where `LocalEventScheduled` is defined). `min_position` waits until the copy has
//! reached that position.

use std::sync::Arc;

use event_log::{Database, LogRecord};
use event_schemas::delivery::DELIVERY_FEED_AGGREGATE;
use event_schemas::stays::{LISTING_AGGREGATE, STAY_SEARCH_AGGREGATE};
use event_schemas::{DeliveryFeedEvent, RecordedEvent};
use projections::runtime::{InMemory, LiveCopy, ProjectionError};

use crate::config::StaysConfig;
use crate::model::StaysModel;

impl InMemory for StaysModel {
    const WHAT: &'static str = "stays";
    const AGGREGATE_TYPE: Option<&'static str> = None;

    fn apply(&mut self, records: &[LogRecord]) -> Result<(), ProjectionError> {
        for record in records {
            let wanted = match record.aggregate_type.as_str() {
                LISTING_AGGREGATE | STAY_SEARCH_AGGREGATE => true,
                // Of the delivery feed only local events; the rest is not parsed.
                DELIVERY_FEED_AGGREGATE => record.payload.starts_with("{\"LocalEventScheduled\""),
                _ => false,
            };
            if wanted {
                let at = record.occurred_at;
                match record.decode()? {
                    RecordedEvent::Listing(event) => {
                        self.apply_listing(&event, record.position, at)
                    }
                    RecordedEvent::StaySearch(event) => {
                        self.apply_browsing(&event, record.position, at)
                    }
                    RecordedEvent::DeliveryFeed(DeliveryFeedEvent::LocalEventScheduled {
                        event_id,
                        location,
                        radius_km,
                        starts_at,
                        ends_at,
                        expected_attendance,
                        ..
                    }) => self.apply_local_event(
                        &event_id,
                        location,
                        radius_km,
                        starts_at,
                        ends_at,
                        expected_attendance,
                    ),
                    _ => {}
                }
            }
            self.advance(record.occurred_at);
        }
        Ok(())
    }

    fn fresh(&self) -> Self {
        StaysModel::new(*self.config())
    }
}

/// The stays model of this process, following the log, as of its position.
pub type LiveStays = LiveCopy<StaysModel>;

/// An empty model at position 0, to follow the whole log.
pub fn live(db: Database, config: StaysConfig) -> Arc<LiveStays> {
    LiveCopy::new(db, StaysModel::new(config), 0)
}
