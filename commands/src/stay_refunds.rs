//! Stay refunds: a cancelled stay's refund (by the listing's policy) reaches its
//! order even when the request that cancelled it did not live to ask. Cancelling
//! commits on the listing first and asks the order second; a crash between the two
//! would leave a guest unrefunded. The request still asks at once (so its answer
//! shows the refund); this process follows listing events from its checkpoint,
//! under a lease (one process per database), and asks again for every cancellation
//! with a refund. The order takes a stay's refund once, so asking twice is harmless.

use std::sync::Arc;
use std::time::Duration;

use domain::{DomainError, OrderCommand};
use event_log::StoreError;
use event_schemas::stays::{ListingEvent, LISTING_AGGREGATE};
use event_schemas::{Metadata, RecordedEvent};

use crate::host::CommandError;
use crate::lease::Lease;
use crate::service::CommandService;

/// Advisory lock key of the process's lease ("styrefn").
const LEASE_KEY: i64 = 0x7374_7972_6566_6e00;
/// Where the process has read the log to.
pub const STAY_REFUNDS: &str = "stay_refunds";
/// Listing events read at a time.
const READ_BATCH: i64 = 512;
/// The longest wait without a wake-up (commits of other processes wake nobody here).
const TICK: Duration = Duration::from_secs(1);

/// Run the process for as long as this one lives.
pub fn spawn_stay_refunds(service: Arc<CommandService>) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_while_leased(&service).await {
                tracing::warn!(%error, "stay refunds stopped; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn run_while_leased(service: &CommandService) -> Result<(), StoreError> {
    let store = service.store();
    let Some(mut lease) = Lease::take(store.database(), LEASE_KEY).await? else {
        // Another process runs it; look again later.
        tokio::time::sleep(Duration::from_secs(2)).await;
        return Ok(());
    };
    let mut read_until = store.process_checkpoint(STAY_REFUNDS).await?;
    let mut written = (read_until, tokio::time::Instant::now());
    let mut readable = store.readable();
    loop {
        let recent = store
            .database()
            .read_recent(read_until, Some(LISTING_AGGREGATE), READ_BATCH)
            .await?;
        let mut refunded = false;
        for record in &recent.records {
            if !record.payload.starts_with("{\"StayCancelled\"") {
                continue;
            }
            if let RecordedEvent::Listing(ListingEvent::StayCancelled {
                listing_id,
                stay_id,
                refund,
                ..
            }) = record.decode()?
            {
                refund_once(service, &listing_id, &stay_id, refund).await?;
                refunded = true;
            }
        }
        read_until = recent.reached;
        // Asking twice is harmless, so the checkpoint is written when a refund was
        // asked and otherwise at most once a tick, not after every booking.
        if read_until > written.0 && (refunded || written.1.elapsed() >= TICK) {
            store
                .save_process_checkpoint(STAY_REFUNDS, read_until)
                .await?;
            written = (read_until, tokio::time::Instant::now());
        }
        lease.check().await?;
        if recent.full {
            continue;
        }
        tokio::select! {
            _ = readable.changed() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// Ask the stay's order for its refund. A refusal (nothing was paid: the stay
/// was cancelled before its payment landed) is logged and passed; a failure of
/// the store stops the pass, to be read again from the checkpoint.
async fn refund_once(
    service: &CommandService,
    listing_id: &str,
    stay_id: &str,
    refund: u64,
) -> Result<(), StoreError> {
    if refund == 0 {
        return Ok(());
    }
    let order_id = domain::ids::stay_order_id(listing_id, stay_id);
    let command = OrderCommand::RefundStay {
        amount: refund,
        reason: "stay_cancelled".into(),
    };
    match service
        .order
        .execute(&order_id, command, Metadata::default(), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(CommandError::Store(error)) => Err(error),
        Err(CommandError::Refused(DomainError { detail, .. })) => {
            // The usual case: the guest cancelled a hold before paying for it (a
            // payment that lands later is refunded by the order process).
            tracing::info!(%order_id, %detail, "a cancelled stay's refund was refused");
            Ok(())
        }
        Err(error) => Err(StoreError::Commit(error.to_string())),
    }
}
