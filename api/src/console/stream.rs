//! `GET /v1/admin/stream`: the console's live figures as Server-Sent Events, one
//! `snapshot` event a second ([`super::live::Snapshot`] as JSON). Browsers come with
//! the session cookie, scripts with a bearer `admin` key.
//!
//! One task makes the snapshot while anyone watches and every client reads the
//! latest from a watch channel, so a thousand idle clients cost a thousand small
//! connection states, not a thousand snapshots. Clients are capped
//! (`--console-stream-clients`); one over the cap is answered 503.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::problem::Problem;
use crate::routes::AppState;

/// How often a snapshot is made (and sent) while anyone watches.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Clients the stream holds by default.
pub const DEFAULT_MAX_CLIENTS: usize = 1_000;

/// The stream's side of the application state.
pub struct StreamState {
    clients: Arc<Semaphore>,
    feed: Mutex<Option<Arc<watch::Sender<Arc<str>>>>>,
}

impl StreamState {
    pub fn new(max_clients: usize) -> Self {
        StreamState {
            clients: Arc::new(Semaphore::new(max_clients)),
            feed: Mutex::new(None),
        }
    }

    /// A receiver of the snapshots, starting their maker on first use.
    fn subscribe(&self, state: &AppState) -> watch::Receiver<Arc<str>> {
        let mut feed = self.feed.lock().expect("stream feed lock");
        if let Some(sender) = feed.as_ref() {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(Arc::<str>::from(""));
        let sender = Arc::new(sender);
        *feed = Some(sender.clone());
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PERIOD);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if sender.receiver_count() == 0 {
                    continue;
                }
                let snapshot = super::live::snapshot(&state).await;
                match serde_json::to_string(&snapshot) {
                    Ok(json) => {
                        sender.send_replace(Arc::from(json));
                    }
                    Err(e) => tracing::warn!(error = %e, "a console snapshot did not serialise"),
                }
            }
        });
        receiver
    }
}

/// Live figures for the console: `event: snapshot` once a second, its data the
/// JSON of head, commands/s and latency, projections' lag and rebuilds, process
/// lag, the bus, and the newest flash sales' units, queue and estimated wait.
/// Admin only (bearer key, or the console's session cookie).
#[utoipa::path(get, path = "/v1/admin/stream", tag = "admin",
    responses(
        (status = 200, description = "Server-Sent Events: `snapshot` events", content_type = "text/event-stream", body = String,
            example = json!("event: snapshot\ndata: {\"head\":42,\"commands\":{\"per_second\":12.5}}\n\n")),
        (status = 503, description = "The stream holds as many clients as it may", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stream(State(state): State<AppState>) -> Response {
    let Ok(permit) = state.console.clients.clone().try_acquire_owned() else {
        return Problem::unavailable(
            "too_many_stream_clients",
            "the live stream holds as many clients as it may; try again later",
        )
        .retry_after(5)
        .into_response();
    };
    let receiver = state.console.subscribe(&state);
    Sse::new(events(receiver, permit))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Each new snapshot once, the latest first; the permit is held while it runs.
fn events(
    receiver: watch::Receiver<Arc<str>>,
    permit: OwnedSemaphorePermit,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(
        (receiver, permit, true),
        |(mut receiver, permit, first)| async move {
            loop {
                if !first || receiver.borrow().is_empty() {
                    receiver.changed().await.ok()?;
                }
                let data = receiver.borrow_and_update().clone();
                if data.is_empty() {
                    continue;
                }
                let event = Event::default().event("snapshot").data(&*data);
                return Some((Ok(event), (receiver, permit, false)));
            }
        },
    )
}
