//! Logs and metrics.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use indicatif::ProgressBar;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// The progress bar a command line tool shows, if any: log lines are written around
/// it (it is cleared, the line written, the bar drawn again), so the two never
/// interleave.
static PROGRESS: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Show `bar` (or stop showing one) under the log lines.
pub fn show_progress(bar: Option<ProgressBar>) {
    *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Standard error, written around the progress bar.
struct AroundProgress;

impl Write for AroundProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = PROGRESS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Structured logs to stderr; `RUST_LOG` filters (default `info`), `json` for machines.
pub fn init_logging(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| AroundProgress);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0,
                    ],
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("the metrics recorder is installed once");
            describe_metrics();
            handle
        })
        .clone()
}

/// The HELP line of every metric the process records (Prometheus shows them; a
/// metric without one is a name to guess at).
fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("commands_total", "Commands handled, by command and outcome (accepted, refused, contended, overloaded, replayed, failed)");
    describe_histogram!(
        "command_duration_seconds",
        Unit::Seconds,
        "Time from a command's arrival to its answer, by command"
    );
    describe_counter!(
        "reads_total",
        "Reads of an aggregate (order, reservation, product), by what was read and outcome"
    );
    describe_histogram!(
        "read_duration_seconds",
        Unit::Seconds,
        "Time to read an aggregate, by what was read"
    );
    describe_gauge!(
        "projection_lag_events",
        "Events committed to the log that a projection has not applied yet"
    );
    describe_gauge!(
        "relay_leader",
        "1 while this process's relay holds the lease and publishes the log to NATS"
    );
    describe_gauge!(
        "relay_lag_events",
        "Log positions committed but not yet published to NATS (an upper bound on events)"
    );
    describe_gauge!(
        "relay_lag_seconds",
        Unit::Seconds,
        "Age of the oldest event not yet published to NATS (0 when caught up)"
    );
    describe_counter!(
        "relay_published_total",
        "Events this process published to NATS"
    );
    describe_gauge!(
        "copy_lag_messages",
        "Messages of the stream a query node has not copied yet"
    );
    describe_counter!(
        "copy_events_total",
        "Events a query node copied from the stream"
    );
    describe_counter!(
        "process_events_parked_total",
        "Events the order process could not act on and parked for a retry"
    );
    describe_gauge!(
        "flash_admission_entries",
        "Entries the in-process flash-sale admission keeps (tickets, limiters)"
    );
    describe_counter!(
        "requests_refused_total",
        "Requests refused before their handler, by reason (rate limits, caps, timeouts)"
    );
    describe_gauge!(
        "flash_sale_held_units",
        "Units of a flash sale held for buyers who have not paid yet"
    );
    describe_gauge!("flash_sale_sold_units", "Units of a flash sale sold");
    describe_gauge!(
        "stay_double_booked_nights",
        "Nights the booked-nights projection found recorded for two stays (the double-booking alarm; 0 when all is well)"
    );
    describe_counter!(
        "stay_double_bookings_total",
        "Nights of a stay event the booked-nights projection could not apply because another stay held them"
    );
    describe_gauge!(
        "flash_sale_remaining_units",
        "Units of a flash sale neither held nor sold"
    );
    describe_gauge!(
        "flash_sale_queue_length",
        "Buyers waiting in a flash sale's queue"
    );
    describe_counter!(
        "auth_failures_total",
        "Requests refused for their credential or signature, by reason"
    );
    describe_counter!(
        "activity_dropped_total",
        "Shopper activity dropped because its recorder's queue was full"
    );
    describe_counter!(
        "commands_overloaded_total",
        "Commands refused at once because their aggregate's queue was full"
    );
    describe_histogram!(
        "group_commit_batches",
        "Aggregate batches written per group-commit transaction"
    );
}

/// Count a read of an aggregate by what was read and outcome, and its time.
pub fn observe_read(what: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!("reads_total", "read" => what, "outcome" => outcome).increment(1);
    metrics::histogram!("read_duration_seconds", "read" => what).record(elapsed.as_secs_f64());
}

/// Count a command by type and outcome and record how long it took.
pub fn observe_command(command: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!("commands_total", "command" => command, "outcome" => outcome).increment(1);
    metrics::histogram!("command_duration_seconds", "command" => command)
        .record(elapsed.as_secs_f64());
    crate::console::recent::record(crate::console::recent::Outcome::of_label(outcome), elapsed);
}
