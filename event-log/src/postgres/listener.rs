//! Hearing other processes' commits on PostgreSQL (LISTEN/NOTIFY).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use super::COMMIT_CHANNEL;
use crate::store::{advance, Heard};
use crate::types::StoreError;

/// Follow the commits of every process through LISTEN/NOTIFY. When the connection
/// drops, it reconnects and re-reads the head, so no wake-up is lost for good.
pub(super) async fn spawn_commit_listener(
    pool: PgPool,
    head: watch::Sender<i64>,
    heard: Arc<Heard>,
) -> Result<(), StoreError> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(COMMIT_CHANNEL).await?;
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    // "position:instance"; a bare position (an older writer) counts
                    // as another process's.
                    let (position, instance) = match notification.payload().split_once(':') {
                        Some((position, instance)) => {
                            (position, u64::from_str_radix(instance, 16).ok())
                        }
                        None => (notification.payload(), None),
                    };
                    if let Ok(position) = position.parse::<i64>() {
                        heard
                            .all_heard_through
                            .fetch_max(position, Ordering::AcqRel);
                        // Our own commits move the head when their append answers,
                        // after handing their records to the tail: moved here first,
                        // the tail would read back what it is about to be given.
                        if instance != Some(heard.instance) {
                            advance(&heard.others_head, position);
                            advance(&head, position);
                        }
                    }
                }
                // The connection was lost and is re-established on the next call;
                // notifications sent meanwhile are gone, so re-read the head.
                Ok(None) => {
                    if let Ok(Some(position)) =
                        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(position) FROM events")
                            .fetch_one(&pool)
                            .await
                    {
                        advance(&heard.others_head, position);
                        heard
                            .all_heard_through
                            .fetch_max(position, Ordering::AcqRel);
                        advance(&head, position);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "commit listener failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}
