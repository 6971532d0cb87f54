//! The last five minutes of commands, second by second, kept in this process: what
//! the console's overview charts (commands/s, p50/p99 latency, refusals).
//!
//! Prometheus keeps totals since the start; an operator during a sale wants the
//! last minutes. Every command passes here ([`crate::telemetry::observe_command`]),
//! so recording is a few relaxed atomic adds into a ring of one-second slots, no
//! lock on the command path. A slot is claimed by the first command of its second;
//! two commands racing on a slot's turnover may lose a count, which a chart can bear.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds kept.
pub const SECONDS: usize = 300;
/// Latency buckets: four per power of two of microseconds, from 1 µs to ~70 s.
const BUCKETS: usize = 104;

struct Slot {
    /// The second (since the epoch) this slot counts; 0 for never.
    second: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

impl Slot {
    const fn new() -> Self {
        Slot {
            second: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    fn reset(&self) {
        self.accepted.store(0, Ordering::Relaxed);
        self.refused.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        for bucket in &self.latency {
            bucket.store(0, Ordering::Relaxed);
        }
    }
}

/// A ring of one-second slots.
pub struct RecentCommands {
    ring: [Slot; SECONDS],
}

/// The process's own.
static RECENT: RecentCommands = RecentCommands::new();

/// What commands ended in, as the console groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// Refused by the domain (out of stock, over a limit): the shop's answer.
    Refused,
    /// Contended, overloaded or failed in storage: the system's trouble.
    Failed,
}

impl Outcome {
    /// From the `outcome` label of `commands_total`.
    pub fn of_label(label: &str) -> Self {
        match label {
            "accepted" | "replayed" => Outcome::Accepted,
            "refused" => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }
}

fn now_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The bucket of a latency: four per octave of microseconds.
fn bucket_of(elapsed: Duration) -> usize {
    let micros = elapsed.as_micros().clamp(1, u64::MAX as u128) as u64;
    let octave = 63 - micros.leading_zeros() as usize;
    // Below 4 µs an octave has too few values to split: its whole range.
    let quarter = if octave >= 2 {
        ((micros >> (octave - 2)) & 3) as usize
    } else {
        3
    };
    (octave * 4 + quarter).min(BUCKETS - 1)
}

/// The upper bound of a bucket, in milliseconds.
fn bucket_upper_ms(bucket: usize) -> f64 {
    let octave = bucket / 4;
    let quarter = bucket % 4;
    let base = (1u64 << octave) as f64;
    base * (1.0 + (quarter as f64 + 1.0) / 4.0) / 1000.0
}

/// Count one command.
pub fn record(outcome: Outcome, elapsed: Duration) {
    RECENT.record_at(now_second(), outcome, elapsed)
}

/// The process's last `seconds` whole seconds (at most [`SECONDS`] − 1).
pub fn window(seconds: usize) -> Window {
    RECENT.window_at(now_second(), seconds)
}

impl RecentCommands {
    const fn new() -> Self {
        RecentCommands {
            ring: [const { Slot::new() }; SECONDS],
        }
    }

    fn record_at(&self, second: u64, outcome: Outcome, elapsed: Duration) {
        let slot = &self.ring[(second % SECONDS as u64) as usize];
        let seen = slot.second.load(Ordering::Acquire);
        if seen != second {
            if seen > second {
                return; // a command that finished before the slot turned over
            }
            if slot
                .second
                .compare_exchange(seen, second, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                slot.reset();
            }
        }
        let counter = match outcome {
            Outcome::Accepted => &slot.accepted,
            Outcome::Refused => &slot.refused,
            Outcome::Failed => &slot.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        slot.latency[bucket_of(elapsed)].fetch_add(1, Ordering::Relaxed);
    }

    fn window_at(&self, now: u64, seconds: usize) -> Window {
        let seconds = seconds.min(SECONDS - 1);
        let mut out = Vec::with_capacity(seconds);
        let mut latencies = Vec::with_capacity(seconds);
        let mut latency = [0u64; BUCKETS];
        for ago in (1..=seconds as u64).rev() {
            let slot = now
                .checked_sub(ago)
                .map(|second| (second, &self.ring[(second % SECONDS as u64) as usize]))
                .filter(|(second, slot)| slot.second.load(Ordering::Acquire) == *second);
            let Some((_, slot)) = slot else {
                out.push(Second::default());
                latencies.push([0; BUCKETS]);
                continue;
            };
            out.push(Second {
                accepted: slot.accepted.load(Ordering::Relaxed),
                refused: slot.refused.load(Ordering::Relaxed),
                failed: slot.failed.load(Ordering::Relaxed),
            });
            let mut this_second = [0u64; BUCKETS];
            for (count, bucket) in this_second.iter_mut().zip(&slot.latency) {
                *count = bucket.load(Ordering::Relaxed);
            }
            for (sum, count) in latency.iter_mut().zip(&this_second) {
                *sum += count;
            }
            latencies.push(this_second);
        }
        Window {
            seconds: out,
            p50_ms: quantile(&latency, 0.50),
            p99_ms: quantile(&latency, 0.99),
            latencies,
        }
    }
}

/// One second's commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Second {
    pub accepted: u64,
    pub refused: u64,
    pub failed: u64,
}

impl Second {
    pub fn total(&self) -> u64 {
        self.accepted + self.refused + self.failed
    }
}

/// The commands of a stretch of the last minutes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Oldest first, one per second (the current, partial second excluded).
    pub seconds: Vec<Second>,
    /// Latency of every command in the stretch, in milliseconds.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Each second's latency histogram, oldest first (for charts over time).
    latencies: Vec<[u64; BUCKETS]>,
}

impl Window {
    /// The p99 latency of each group of `size` seconds, oldest first (`None` for a
    /// group without commands).
    pub fn p99_series(&self, size: usize) -> Vec<Option<f64>> {
        self.latencies
            .chunks(size.max(1))
            .map(|group| {
                let mut merged = [0u64; BUCKETS];
                for second in group {
                    for (sum, count) in merged.iter_mut().zip(second) {
                        *sum += count;
                    }
                }
                quantile(&merged, 0.99)
            })
            .collect()
    }

    /// Commands per second over the last `seconds` of the window.
    pub fn rate(&self, seconds: usize) -> f64 {
        let tail = &self.seconds[self.seconds.len().saturating_sub(seconds)..];
        if tail.is_empty() {
            return 0.0;
        }
        tail.iter().map(Second::total).sum::<u64>() as f64 / tail.len() as f64
    }

    /// Refusals per second over the last `seconds` of the window.
    pub fn refusal_rate(&self, seconds: usize) -> f64 {
        let tail = &self.seconds[self.seconds.len().saturating_sub(seconds)..];
        if tail.is_empty() {
            return 0.0;
        }
        tail.iter().map(|s| s.refused).sum::<u64>() as f64 / tail.len() as f64
    }
}

fn quantile(buckets: &[u64; BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(bucket_upper_ms(bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_by_quarter_octaves_and_bound_their_latencies() {
        for micros in [1u64, 3, 7, 100, 999, 1_000, 1_500, 20_000, 3_000_000] {
            let bucket = bucket_of(Duration::from_micros(micros));
            let upper = bucket_upper_ms(bucket) * 1000.0;
            assert!(
                upper >= micros as f64,
                "{micros} µs above bucket {bucket}'s bound {upper}"
            );
            assert!(
                upper <= micros as f64 * 1.5 + 1.0,
                "{micros} µs: bound {upper} too loose"
            );
        }
    }

    #[test]
    fn a_window_counts_each_second_and_reads_percentiles_of_the_whole_stretch() {
        let recent = RecentCommands::new();
        let base = 1_000_000_007;
        for _ in 0..98 {
            recent.record_at(base, Outcome::Accepted, Duration::from_millis(2));
        }
        recent.record_at(base, Outcome::Refused, Duration::from_millis(2));
        recent.record_at(base + 1, Outcome::Failed, Duration::from_millis(400));
        let window = recent.window_at(base + 2, 3);
        assert_eq!(
            window.seconds,
            vec![
                Second::default(),
                Second {
                    accepted: 98,
                    refused: 1,
                    failed: 0
                },
                Second {
                    accepted: 0,
                    refused: 0,
                    failed: 1
                },
            ]
        );
        let p50 = window.p50_ms.unwrap();
        let p99 = window.p99_ms.unwrap();
        assert!((2.0..=2.6).contains(&p50), "p50 {p50}");
        assert!(
            (2.0..=2.6).contains(&p99),
            "p99 {p99} (the 99th of 100 is a 2 ms one)"
        );
        assert_eq!(window.rate(2), 50.0);
        let series = window.p99_series(2);
        assert_eq!(series.len(), 2);
        // Groups of two from the oldest: (nothing, the 2 ms second), (the 400 ms one).
        let fast = series[0].unwrap();
        assert!((2.0..=2.6).contains(&fast), "{fast}");
        assert_eq!(
            window.p99_series(1)[0],
            None,
            "the first second had no commands"
        );
        let slow = series[1].unwrap();
        assert!(
            (400.0..=600.0).contains(&slow),
            "the 400 ms command is the p99 of its group: {slow}"
        );
        assert_eq!(window.refusal_rate(2), 0.5);
    }

    #[test]
    fn a_slot_of_an_older_second_is_not_counted() {
        let recent = RecentCommands::new();
        let base = 2_000_000_011;
        recent.record_at(base, Outcome::Accepted, Duration::from_millis(1));
        // The same slot, one ring later: the old count is gone.
        let later = base + SECONDS as u64;
        recent.record_at(later, Outcome::Accepted, Duration::from_millis(1));
        let window = recent.window_at(later + 1, 1);
        assert_eq!(window.seconds[0].accepted, 1);
        assert!(recent.window_at(base + 1, 1).seconds[0] == Second::default());
    }
}
