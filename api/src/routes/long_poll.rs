//! `?wait_for_status=a,b&timeout_ms=N` on a resource whose status a process decides
//! later (orders, reservations): the answer comes once the status is one of those
//! asked for, the status is final, or the time is up — woken by commits, never by
//! polling: by the resource's own commits in this process and any other process's
//! where the resource reports them (orders), else by every commit.

use std::future::Future;
use std::time::Duration;

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
#[serde(deny_unknown_fields)]
pub struct WaitParams {
    /// Answer once the resource is in one of these statuses (comma-separated).
    pub wait_for_status: Option<String>,
    /// How long to wait, at most 30,000 ms; 5,000 when absent.
    pub timeout_ms: Option<u64>,
}

/// What one look at the resource found: the answer, its status, and whether that
/// status can still change.
pub struct Look<T> {
    pub answer: T,
    pub status: &'static str,
    pub last: bool,
}

/// What wakes a waiter to look again.
pub enum WakeOn {
    /// Every commit (for a status that can change without a commit of its own).
    AnyCommit,
    /// This process's commits to the resource (subscribed before the first look),
    /// and other processes' commits.
    Changes(watch::Receiver<i64>),
}

/// Look at the resource until it is in a wanted status (or final, or the time is up).
pub async fn until_status<T, F, Fut>(
    state: &AppState,
    wait: &WaitParams,
    wake_on: WakeOn,
    mut look: F,
) -> Result<T, Problem>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, Problem>>,
{
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
    let timeout = wait
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_WAIT)
        .min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribed before the first look, so no commit between look and wait is missed.
    let store = state.commands.store();
    let (mut own, mut others) = match wake_on {
        WakeOn::AnyCommit => (None, store.committed()),
        WakeOn::Changes(own) => (Some(own), store.foreign_commits()),
    };
    loop {
        let seen = look().await?;
        let done = wanted.is_empty() || wanted.contains(&seen.status) || seen.last;
        if done || tokio::time::Instant::now() >= deadline {
            return Ok(seen.answer);
        }
        let own_change = async {
            match own.as_mut() {
                Some(own) => own.changed().await,
                None => std::future::pending().await,
            }
        };
        let _ = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                _ = own_change => {}
                _ = others.changed() => {}
            }
        })
        .await;
    }
}
