//! `commerce`: the one binary. The command line is here; serving is `app`'s, the
//! HTTP face `api`'s, and the load generators `bench`'s (behind the `bench` feature,
//! on by default: a server built without it links none of the baselines' crates).

mod cli;

use std::time::Duration;

/// How long background work still running at exit (a search index commit, a
/// snapshot being written) may take before the process ends anyway: everything it
/// does is either committed already or rebuilt from the log.
const EXIT_GRACE: Duration = Duration::from_secs(5);

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    let result = runtime.block_on(cli::run());
    runtime.shutdown_timeout(EXIT_GRACE);
    if let Err(error) = result {
        eprintln!("commerce: {error:#}");
        std::process::exit(1);
    }
}
