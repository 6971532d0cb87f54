//! Clocks: the system's, and a manual one that tests and development advance by hand.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use domain::Clock;
use tokio::sync::watch;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until advanced, so TTLs are tested without sleeping.
#[derive(Debug)]
pub struct ManualClock {
    now: RwLock<DateTime<Utc>>,
    advanced: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: RwLock::new(start),
            advanced: watch::channel(start).0,
        }
    }

    /// Move time forward (never back) and wake whoever waits on the clock; `None`
    /// (and time unchanged) past the end of representable time.
    pub fn advance(&self, by: Duration) -> Option<DateTime<Utc>> {
        let mut now = self.now.write().expect("clock lock poisoned");
        *now = now.checked_add_signed(by.max(Duration::zero()))?;
        self.advanced.send_replace(*now);
        Some(*now)
    }

    pub fn subscribe(&self) -> watch::Receiver<DateTime<Utc>> {
        self.advanced.subscribe()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.read().expect("clock lock poisoned")
    }
}

/// The clock a process runs with.
#[derive(Debug, Clone)]
pub enum AppClock {
    System,
    Manual(Arc<ManualClock>),
}

impl AppClock {
    pub fn as_clock(&self) -> Arc<dyn Clock> {
        match self {
            AppClock::System => Arc::new(SystemClock),
            AppClock::Manual(clock) => clock.clone(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.as_clock().now()
    }

    /// Return once this clock reads `at` or later: a timer on the system clock, the
    /// next advances on the manual one.
    pub async fn reached(&self, at: DateTime<Utc>) {
        match self {
            AppClock::System => {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            AppClock::Manual(clock) => {
                let mut advanced = clock.subscribe();
                let _ = advanced.wait_for(|now| *now >= at).await;
            }
        }
    }
}
