//! `?wait_for_status=a,b&timeout_ms=N` on a resource whose status a process decides
//! later (orders, reservations): the answer comes once the status is one of those
//! asked for, the status is final, or the time is up — woken by the resource's own
//! commits in this process, by other processes' commits, and by the clock reaching
//! the time its status changes by itself (a reservation's end); never by polling.
//! How many a caller may hold open at once is capped in [`crate::limits`].

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::FieldError;
use serde::Deserialize;
use tokio::sync::watch;
use utoipa::IntoParams;

use super::AppState;
use crate::problem::Problem;

/// The longest a request may wait.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How long a request waits when it names statuses but no timeout.
const DEFAULT_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// Answer once the resource is in one of these statuses (comma-separated).
    #[param(example = "confirmed,released")]
    pub wait_for_status: Option<String>,
    /// How long to wait, at most 30,000 ms (a longer wait is cut to that); 5,000 when
    /// absent.
    #[param(minimum = 0, maximum = 30_000, example = 5_000)]
    pub timeout_ms: Option<u64>,
    /// Answer only once the log has reached this position (at most 2 s), so a write
    /// acknowledged elsewhere is seen.
    pub min_position: Option<i64>,
}

/// What one look at the resource found: the answer, its status, whether that status
/// can still change, and when it changes by itself if nothing is committed.
pub struct Look<T> {
    pub answer: T,
    pub status: &'static str,
    pub last: bool,
    pub changes_at: Option<DateTime<Utc>>,
}

/// The statuses a caller may wait for on one kind of resource.
pub struct Statuses(pub &'static [&'static str]);

/// Look at the resource until it is in a wanted status (or final, or the time is
/// up), waking on `own` (this process's commits to it, subscribed before the first
/// look) and on other processes' commits.
pub async fn until_status<T, F, Fut>(
    state: &AppState,
    wait: &WaitParams,
    statuses: &Statuses,
    mut own: watch::Receiver<i64>,
    mut look: F,
) -> Result<T, Problem>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, Problem>>,
{
    let wanted = wanted(wait, statuses)?;
    state.await_committed(wait.min_position).await?;
    let timeout = wait
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_WAIT)
        .min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribed before the first look, so no commit between look and wait is missed.
    let mut others = state.commands.store().foreign_commits();
    let clock = state.commands.clock();
    loop {
        let seen = look().await?;
        let done = wanted.is_empty() || wanted.contains(&seen.status) || seen.last;
        if done || tokio::time::Instant::now() >= deadline {
            return Ok(seen.answer);
        }
        let by_time = async {
            match seen.changes_at {
                Some(at) => clock.reached(at).await,
                None => std::future::pending().await,
            }
        };
        let _ = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                _ = own.changed() => {}
                _ = others.changed() => {}
                _ = by_time => {}
            }
        })
        .await;
    }
}

/// The statuses asked for, each one the resource can have (else 422).
fn wanted<'a>(wait: &'a WaitParams, statuses: &Statuses) -> Result<Vec<&'a str>, Problem> {
    let wanted: Vec<&str> = wait
        .wait_for_status
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = wanted.iter().find(|w| !statuses.0.contains(w)) {
        return Err(Problem::invalid(vec![FieldError {
            field: "wait_for_status".into(),
            message: format!(
                "'{}' is no status of this resource; it may be one of {}",
                unknown.chars().take(40).collect::<String>(),
                statuses.0.join(", ")
            ),
        }]));
    }
    Ok(wanted)
}

/// Whether a request is a long poll (held open until a status, up to 30 s): these
/// are capped per caller rather than timed out with ordinary requests.
pub fn is_long_poll(request: &axum::extract::Request) -> bool {
    request.method() == axum::http::Method::GET
        && request
            .uri()
            .query()
            .is_some_and(|query| query.contains("wait_for_status="))
}
